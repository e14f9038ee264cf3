package shred

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// findMount returns the mountinfo entry of the mount holding the open
// file: by the mount id statx reports (Linux 5.8+), else by device number
// and the longest mount point that prefixes the file's path.
func (h host) findMount(fd int, canonical string, st *unix.Stat_t) (*mount, error) {
	f, err := os.Open(h.procPath("self", "mountinfo"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ms, err := parseMountinfo(f)
	if err != nil {
		return nil, err
	}
	var stx unix.Statx_t
	if unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &stx) == nil && stx.Mask&unix.STATX_MNT_ID != 0 {
		for i := range ms {
			if uint64(ms[i].ID) == stx.Mnt_id {
				return &ms[i], nil
			}
		}
	}
	var best *mount
	maj, min := unix.Major(st.Dev), unix.Minor(st.Dev)
	for i := range ms {
		m := &ms[i]
		if m.Major != maj || m.Minor != min || !underPath(canonical, m.Point) {
			continue
		}
		if best == nil || len(m.Point) > len(best.Point) {
			best = m
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no mount of device %d:%d holds %s", maj, min, canonical)
	}
	return best, nil
}

// canonicalPath is the kernel's name for an open file, which resolves
// every symbolic link on the way; it falls back to the absolute path.
func canonicalPath(fd int, path string) string {
	if p, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); err == nil && strings.HasPrefix(p, "/") {
		return strings.TrimSuffix(p, " (deleted)")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	return abs
}

// mountDevice returns the block device a mount is on: its device number
// when that is a real one, else the device its source names (btrfs reports
// anonymous device numbers).
func mountDevice(m *mount) (major, minor uint32, ok bool) {
	if m.Major != 0 {
		return m.Major, m.Minor, true
	}
	if strings.HasPrefix(m.Source, "/dev/") {
		var st unix.Stat_t
		if unix.Stat(m.Source, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK {
			return unix.Major(st.Rdev), unix.Minor(st.Rdev), true
		}
	}
	return 0, 0, false
}
