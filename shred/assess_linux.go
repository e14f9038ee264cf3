package shred

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// newHost reads the running kernel's /proc and /sys.
func newHost() host {
	return host{proc: "/proc", sys: "/sys", assessPath: assessPath}
}

// Assess reports what overwriting the regular file at path would achieve,
// without writing anything. A symbolic link is not followed.
func Assess(path string) (Assessment, error) {
	h := newHost()
	return h.assessPath(h, path)
}

// assessPath assesses the regular file at path. Storage stacked on files
// (loop devices, overlay layers) is assessed through it, one layer deeper.
func assessPath(h host, path string) (Assessment, error) {
	f, err := os.OpenFile(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Assessment{}, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return Assessment{}, fmt.Errorf("%s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return Assessment{}, fmt.Errorf("%s: %s, not a regular file", path, fileType(st.Mode))
	}
	return h.assess(f, path, &st, Options{}), nil
}

// assess gathers the facts about an open regular file and judges them.
func (h host) assess(f *os.File, path string, st *unix.Stat_t, opt Options) Assessment {
	fd := int(f.Fd())
	var fx facts
	a := Assessment{BlockSize: 4096}

	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		a.Findings = []Finding{{"statfs", BestEffort, fmt.Sprintf("statfs failed (%v): the filesystem is unknown", err)}}
		a.Assurance = level(a.Findings)
		return a
	}
	fx.magic = int64(sfs.Type)
	fx.readOnly = sfs.Flags&unix.ST_RDONLY != 0
	if bs := int64(sfs.Bsize); bs >= 512 && bs <= 1<<20 {
		a.BlockSize = bs
	}

	canonical := canonicalPath(fd, path)
	if m, err := h.findMount(fd, canonical, st); err == nil {
		fx.mount = m
		a.MountPoint = m.Point
	}

	fx.flags, fx.flagsErr = unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if es, err := fiemap(fd); err != nil {
		fx.extentsErr = err
	} else {
		fx.extents = summarize(es)
	}

	kind := lookupFS(fx.magic).kind
	if kind.blockBacked() || kind == kindCOW || kind == kindLog {
		h.gatherDevice(&fx, st)
	}
	switch kind {
	case kindExt:
		if fx.device != "" {
			p := h.procPath("fs", "ext4", fx.device, "options")
			if s, err := h.read(p); err == nil {
				fx.ext4Options, fx.ext4OptionsPath = strings.Fields(strings.ReplaceAll(s, ",", " ")), p
			}
		}
	case kindMemory:
		h.gatherMemory(&fx)
	case kindOverlay:
		h.gatherOverlay(&fx, canonical)
	}

	a.Filesystem = fx.name()
	a.Device = fx.device
	a.Findings = judge(fx, opt)
	a.Assurance = level(a.Findings)
	return a
}

// gatherDevice finds the block device under the file and walks it.
func (h host) gatherDevice(fx *facts, st *unix.Stat_t) {
	var maj, min uint32
	ok := false
	if fx.mount != nil {
		maj, min, ok = mountDevice(fx.mount)
	}
	if !ok && unix.Major(st.Dev) != 0 {
		maj, min, ok = unix.Major(st.Dev), unix.Minor(st.Dev), true
	}
	if !ok {
		return // judge reports the device as unknown
	}
	fx.device, fx.media = h.media(maj, min)
}

// gatherMemory reads what decides whether memory-backed files leave
// copies: active swap and whether freed pages are cleared.
func (h host) gatherMemory(fx *facts) {
	if s, err := h.read(h.procPath("swaps")); err != nil {
		fx.swapsErr = err
	} else {
		fx.swaps = swapAreas(s)
	}
	if s, err := h.read(h.procPath("cmdline")); err == nil {
		for _, arg := range strings.Fields(s) {
			if arg == "init_on_free=1" {
				fx.initOnFree = true
			}
		}
	}
}

// gatherOverlay finds the overlay's layers in its mount options and which
// of them hold the file, and assesses the upper-layer copy.
func (h host) gatherOverlay(fx *facts, canonical string) {
	m := fx.mount
	if m == nil {
		return
	}
	o := &fx.overlay
	rel := strings.TrimPrefix(canonical, m.Point)
	if m.Point == "/" {
		rel = canonical
	}
	o.rel = filepath.Join(m.Root, rel)
	for _, opt := range m.Super {
		switch {
		case strings.HasPrefix(opt, "upperdir="):
			o.upper = strings.TrimPrefix(opt, "upperdir=")
		case strings.HasPrefix(opt, "lowerdir="):
			o.lowers = append(o.lowers, splitLowerdir(strings.TrimPrefix(opt, "lowerdir="))...)
		case strings.HasPrefix(opt, "lowerdir+="):
			o.lowers = append(o.lowers, strings.TrimPrefix(opt, "lowerdir+="))
		}
	}
	if o.upper != "" {
		p := filepath.Join(o.upper, o.rel)
		if h.exists(p) {
			o.found = append(o.found, "upper: "+p)
			o.upperPath = p
		}
	}
	for _, l := range o.lowers {
		p := filepath.Join(l, o.rel)
		if h.exists(p) {
			o.found = append(o.found, "lower: "+p)
		}
	}
	if o.upperPath != "" && h.assessPath != nil && h.depth < maxDepth {
		if a, err := h.assessPath(h.deeper(), o.upperPath); err == nil {
			a.Findings = capLevel(a.Findings, BestEffort)
			o.upperAssessment = &a
		}
	}
}

// fileType names the kind of file a mode describes.
func fileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "device"
	}
	return "unknown"
}
