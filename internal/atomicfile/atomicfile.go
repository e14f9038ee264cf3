// Package atomicfile writes files that either appear whole or not at all.
//
// A checkpoint's plaintext or a sealed copy that is half written is worse
// than none: it looks like a result. So every file ckpt creates is written to
// a temporary name in the target directory (mode 0600), synced, renamed into
// place and its directory synced; on any error the temporary file is removed
// and the target is untouched.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrExists is returned by Create's Commit when the target exists and
// overwriting was not allowed.
var ErrExists = errors.New("file exists (use --force to overwrite)")

// File is a file being written. Write to it, then call Commit to publish it
// or Abort to discard it. Abort after Commit is a no-op, so
// `defer f.Abort()` is always safe.
type File struct {
	*os.File
	target    string
	overwrite bool
	done      bool
}

// Create starts writing path. When overwrite is false, an existing path is
// refused now (so no work is wasted) and again at Commit (so a file that
// appeared meanwhile is not replaced).
func Create(path string, overwrite bool) (*File, error) {
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return nil, fmt.Errorf("%s: %w", path, ErrExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, "."+base+".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return &File{File: f, target: path, overwrite: overwrite}, nil
}

// Target is the name the file will have after Commit.
func (f *File) Target() string { return f.target }

// Commit syncs the data, moves the file into place and syncs the directory.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: already committed or aborted")
	}
	if err := f.File.Sync(); err != nil {
		f.Abort()
		return err
	}
	if err := f.File.Close(); err != nil {
		f.Abort()
		return err
	}
	if f.overwrite {
		if err := os.Rename(f.Name(), f.target); err != nil {
			f.Abort()
			return err
		}
	} else {
		// A hard link fails if the target exists, unlike rename: that closes
		// the window between the check in Create and now.
		if err := os.Link(f.Name(), f.target); err == nil {
			if err := os.Remove(f.Name()); err != nil {
				return err
			}
		} else if errors.Is(err, fs.ErrExist) {
			f.Abort()
			return fmt.Errorf("%s: %w", f.target, ErrExists)
		} else if _, serr := os.Lstat(f.target); serr == nil || !errors.Is(serr, fs.ErrNotExist) {
			// The filesystem has no hard links (vfat, some FUSE): fall back
			// to check-then-rename, which is as good as it gets there.
			f.Abort()
			return fmt.Errorf("%s: %w", f.target, ErrExists)
		} else if err := os.Rename(f.Name(), f.target); err != nil {
			f.Abort()
			return err
		}
	}
	f.done = true
	return SyncDir(filepath.Dir(f.target))
}

// Abort closes and removes the temporary file. It is safe to call more than
// once and after Commit.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.Name())
}

// SyncDir fsyncs a directory so that a rename or unlink in it is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
