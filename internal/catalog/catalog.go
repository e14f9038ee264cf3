// Package catalog lists the checkpoint archives in directories such as
// /var/lib/kubelet/checkpoints: who each is of, how it is stored, and
// whether it is protected the way the Kubernetes documentation asks
// (root-only files in a root-only directory).
//
// Listing never decrypts: a sealed archive's identity comes from its
// manifest sidecar, or failing that from its file name.
package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/crypto/seal"
)

// DefaultDir is where the kubelet writes checkpoints.
const DefaultDir = "/var/lib/kubelet/checkpoints"

// Catalog is the result of listing directories.
type Catalog struct {
	Directories []Directory `json:"directories"`
	Archives    []Entry     `json:"archives"`
}

// Directory is a listed directory.
type Directory struct {
	Path     string   `json:"path"`
	Mode     uint32   `json:"mode"`
	UID      int      `json:"uid"`
	GID      int      `json:"gid"`
	Problems []string `json:"problems"`
	Error    string   `json:"error"`
}

// Entry is one archive, or one file that should have been one.
type Entry struct {
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	Mode    uint32    `json:"mode"`
	UID     int       `json:"uid"`
	GID     int       `json:"gid"`
	ModTime time.Time `json:"mod_time"`
	// Storage is "plain", a compression ("zstd", "gzip", ...), or "sealed".
	Storage  string           `json:"storage"`
	Layers   []archive.Format `json:"layers"`
	Identity archive.Identity `json:"identity"`
	// IdentitySource says where Identity came from: "metadata" (read from
	// the archive), "manifest" (a sealed archive's .json sidecar) or
	// "file name" (a guess from the kubelet's naming).
	IdentitySource string   `json:"identity_source"`
	Sidecars       []string `json:"sidecars"` // checksum, manifest, signature
	Problems       []string `json:"problems"`
	Error          string   `json:"error"`
}

// Options tune List.
type Options struct {
	Limits archive.Limits
}

// List lists each directory (or single file) in paths, in name order.
func List(paths []string, opt Options) *Catalog {
	c := &Catalog{Directories: []Directory{}, Archives: []Entry{}}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			c.Directories = append(c.Directories, Directory{Path: p, Problems: []string{}, Error: err.Error()}) // *PathError names p
			continue
		}
		if !st.IsDir() {
			c.Archives = append(c.Archives, describe(p, opt))
			continue
		}
		d := Directory{Path: p, Mode: uint32(st.Mode().Perm()), Problems: []string{}}
		d.UID, d.GID = owner(st)
		if st.Mode().Perm()&0o077 != 0 {
			d.Problems = append(d.Problems, fmt.Sprintf("directory mode %04o lets others list it: want 0700", st.Mode().Perm()))
		}
		if d.UID != 0 {
			d.Problems = append(d.Problems, fmt.Sprintf("directory owned by uid %d: want root", d.UID))
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			d.Error = err.Error()
		}
		c.Directories = append(c.Directories, d)
		names := map[string]bool{}
		for _, e := range ents {
			names[e.Name()] = true
		}
		for _, e := range ents {
			name := e.Name()
			if isSidecar(name, names) || ownHidden(name) {
				continue // described with its archive; or one of our own temporary names
			}
			full := filepath.Join(p, name)
			if e.Type()&fs.ModeSymlink != 0 {
				c.Archives = append(c.Archives, Entry{Path: full, Problems: []string{}, Sidecars: []string{}, Error: full + ": symbolic link: not followed"})
				continue
			}
			if e.IsDir() {
				continue
			}
			c.Archives = append(c.Archives, describe(full, opt))
		}
	}
	return c
}

// ownHidden says whether name is one of the hidden names ckpt's writers
// use: a file being written (.NAME.tmp-...), or the previous file a seal
// keeps while it replaces a sealed set (.NAME.prev-PID, .NAME.new-PID),
// which the next seal of the set clears.
func ownHidden(name string) bool {
	if !strings.HasPrefix(name, ".") {
		return false
	}
	for _, k := range []string{".tmp-", ".prev-", ".new-"} {
		if strings.Contains(name, k) {
			return true
		}
	}
	return false
}

// isSidecar says whether name is a sealed archive's sidecar whose archive
// is also in the directory.
func isSidecar(name string, names map[string]bool) bool {
	for _, s := range []string{seal.SignatureSuffix, seal.ChecksumSuffix, seal.ManifestSuffix} {
		if base, ok := strings.CutSuffix(name, s); ok && names[base] {
			return true
		}
	}
	return false
}

// describe examines one file.
func describe(path string, opt Options) Entry {
	e := Entry{Path: path, Problems: []string{}, Sidecars: []string{}}
	st, err := os.Lstat(path)
	if err != nil {
		e.Error = err.Error()
		return e
	}
	e.Size, e.Mode, e.ModTime = st.Size(), uint32(st.Mode().Perm()), st.ModTime().UTC()
	e.UID, e.GID = owner(st)
	if !st.Mode().IsRegular() {
		e.Error = path + ": not a regular file"
		return e
	}
	if e.Mode&0o077 != 0 {
		e.Problems = append(e.Problems, fmt.Sprintf("mode %04o lets others read it: want 0600", e.Mode))
	}
	if e.UID != 0 {
		e.Problems = append(e.Problems, fmt.Sprintf("owned by uid %d: want root", e.UID))
	}
	sc := seal.SidecarsFor(path)
	for _, s := range []struct{ path, name string }{{sc.Checksum, "checksum"}, {sc.Manifest, "manifest"}, {sc.Signature, "signature"}} {
		if _, err := os.Stat(s.path); err == nil {
			e.Sidecars = append(e.Sidecars, s.name)
		}
	}
	a, err := archive.Open(path, archive.Options{Limits: opt.Limits})
	switch {
	case errors.Is(err, archive.ErrSealed):
		e.Storage, e.Layers = "sealed", []archive.Format{archive.Age}
		e.identityFromManifest(sc.Manifest)
		return e
	case err != nil:
		e.Error = err.Error()
		e.identityFromName()
		return e
	}
	defer a.Close()
	e.Layers = a.Layers()
	e.Storage = "plain"
	if f := a.Compression(); f != archive.Unknown {
		e.Storage = f.String()
	}
	contents, err := archive.Identify(a)
	if err != nil {
		e.Error = err.Error()
		e.identityFromName()
		return e
	}
	e.Identity, e.IdentitySource = contents.Checkpoints[0].Identity, "metadata"
	if len(e.Identity.FromFileName) > 0 {
		e.IdentitySource = "metadata and file name"
	}
	e.Problems = append(e.Problems, contents.Warnings...)
	return e
}

func (e *Entry) identityFromManifest(path string) {
	data, err := os.ReadFile(path)
	if err == nil {
		if m, err := seal.ParseManifest(data); err == nil {
			e.Identity = m.Identity
			e.IdentitySource = "manifest"
			return
		}
		e.Problems = append(e.Problems, "manifest sidecar does not parse")
	}
	e.identityFromName()
}

func (e *Entry) identityFromName() {
	e.Identity = archive.IdentityFromFileName(e.Path)
	if e.Identity.Pod != "" {
		e.IdentitySource = "file name"
	}
}

func owner(st fs.FileInfo) (uid, gid int) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid), int(s.Gid)
	}
	return -1, -1
}

// Broken returns the entries that could not be read.
func (c *Catalog) Broken() []Entry {
	var out []Entry
	for _, e := range c.Archives {
		if e.Error != "" {
			out = append(out, e)
		}
	}
	for _, d := range c.Directories {
		if d.Error != "" {
			out = append(out, Entry{Path: d.Path, Error: d.Error})
		}
	}
	return slices.Clip(out)
}
