package testgen

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"path"
	"slices"
	"strings"
	"time"
)

// nestedEntry is one member of a tar inside the archive.
type nestedEntry struct {
	name    string
	dir     bool
	content []byte
	mode    int64
}

// writeTar returns a tar of entries, gzipped when gz is set.
func writeTar(entries []nestedEntry, mtime time.Time, format tar.Format, gz bool) ([]byte, error) {
	var b bytes.Buffer
	var w = &b
	var zw *gzip.Writer
	var tw *tar.Writer
	if gz {
		zw, _ = gzip.NewWriterLevel(w, gzip.DefaultCompression)
		zw.ModTime = mtime // a fixed header keeps the output deterministic
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(w)
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: mtime, Uname: "root", Gname: "root", Format: format}
		if e.dir {
			h.Typeflag = tar.TypeDir
			if !strings.HasSuffix(h.Name, "/") {
				h.Name += "/"
			}
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.content))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.content); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// rootfsDiff is rootfs-diff.tar: the files the container changed, with
// their parent directories. containerd's is the gzipped layer diff, where
// deleted files are whiteouts, and is always there; CRI-O and Podman list
// deleted files in deleted.files and leave the tar out when no file was
// added or changed.
func (p *plan) rootfsDiff() ([]byte, error) {
	s := &p.s
	byName := map[string]nestedEntry{}
	addDirs := func(name string) {
		for d := path.Dir(name); d != "." && d != "/"; d = path.Dir(d) {
			byName[d] = nestedEntry{name: d, dir: true, mode: 0o755}
		}
	}
	for _, f := range s.RootFS {
		name := strings.TrimPrefix(path.Clean("/"+f.Path), "/")
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		byName[name] = nestedEntry{name: name, content: f.Content, mode: mode}
		addDirs(name)
	}
	gz := s.Engine == EngineContainerd
	if gz {
		for _, d := range s.Deleted {
			name := strings.TrimPrefix(path.Clean("/"+d), "/")
			wh := path.Join(path.Dir(name), ".wh."+path.Base(name))
			byName[wh] = nestedEntry{name: wh, mode: 0o644}
			addDirs(wh)
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	entries := make([]nestedEntry, len(names))
	for i, n := range names {
		entries[i] = byName[n]
	}
	format := tar.FormatUSTAR
	if gz {
		format = tar.FormatPAX
	}
	return writeTar(entries, s.Checkpointed, format, gz)
}

// devShm is Podman's devshm-checkpoint.tar: the container's empty /dev/shm.
func (p *plan) devShm() ([]byte, error) {
	return writeTar([]nestedEntry{{name: "./", dir: true, mode: 0o1777}}, p.s.Checkpointed, tar.FormatUSTAR, false)
}

// tmpfsDev is CRIU's tmpfs-dev-<mnt id>.tar.gz.img: the content of the
// container's /dev tmpfs as a gzipped tar, a raw image with no magic.
func (p *plan) tmpfsDev() ([]byte, error) {
	return writeTar([]nestedEntry{
		{name: "./", dir: true, mode: 0o755},
		{name: "./pts", dir: true, mode: 0o755},
		{name: "./mqueue", dir: true, mode: 0o755},
		{name: "./shm", dir: true, mode: 0o1777},
	}, p.s.Checkpointed, tar.FormatGNU, true)
}
