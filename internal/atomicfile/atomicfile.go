// Package atomicfile writes files that either appear whole or not at all.
//
// A checkpoint's plaintext or a sealed copy that is half written is worse
// than none: it looks like a result. So every file ckpt creates is written
// without a name (O_TMPFILE, where the filesystem has it) or under a
// temporary name in the target directory, with mode 0600, then synced,
// linked or renamed into place, and its directory synced. On any error the
// file is discarded and the target is untouched. An unnamed file also
// vanishes when the process is killed (SIGKILL, a crash): nothing is left
// for anyone to read. Temporary names are left only on filesystems without
// O_TMPFILE; they carry the writer's pid, and a later Create in the same
// directory removes those of processes that no longer run.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrExists is returned by Create's Commit when the target exists and
// overwriting was not allowed.
var ErrExists = errors.New("file exists")

// ErrNotRegular is returned when the path to be replaced is a device, a
// FIFO, a socket or a directory: only a regular file is ever replaced.
var ErrNotRegular = errors.New("exists and is not a regular file")

// File is a file being written. Write to it, then call Commit to publish it
// or Abort to discard it. Abort after Commit is a no-op, so
// `defer f.Abort()` is always safe.
type File struct {
	*os.File
	target    string
	overwrite bool
	done      bool
	// tmp is the temporary name; empty while the file is unnamed.
	tmp string
}

// Create starts writing path. When overwrite is false, an existing path is
// refused now (so no work is wasted) and again at Commit (so a file that
// appeared meanwhile is not replaced).
func Create(path string, overwrite bool) (*File, error) {
	if fi, err := os.Lstat(path); err == nil {
		if !overwrite {
			return nil, fmt.Errorf("%s: %w", path, ErrExists)
		}
		// Renaming over /dev/null or a FIFO would replace the device
		// with a regular file holding the output.
		if !fi.Mode().IsRegular() && fi.Mode()&fs.ModeSymlink == 0 {
			return nil, fmt.Errorf("%s: %w", path, ErrNotRegular)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	dir := filepath.Dir(path)
	RemoveStale(path)
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	switch {
	case err == nil:
		// O_TMPFILE applies the umask; 0600 is the most it leaves.
		return &File{File: os.NewFile(uintptr(fd), path), target: path, overwrite: overwrite}, nil
	case !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EINVAL):
		// A full disk, no permission: a named file would fail too.
		return nil, &os.PathError{Op: "create", Path: path, Err: err}
	}
	tmp, err := tempName(path)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return &File{File: f, target: path, overwrite: overwrite, tmp: tmp}, nil
}

// tempPrefix is how the temporary names for path begin; the writer's pid
// and a random suffix follow.
func tempPrefix(path string) string {
	dir, base := filepath.Split(path)
	return filepath.Join(dir, "."+base+".tmp-")
}

func tempName(path string) (string, error) {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	return tempPrefix(path) + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(rnd[:]), nil
}

// RemoveStale removes the temporary files that writers of path left behind
// when they were killed: names of our pattern whose pid no longer runs. It
// returns the names removed. Errors are ignored: this is tidying.
func RemoveStale(path string) []string {
	prefix := tempPrefix(path)
	dir := filepath.Dir(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	base := filepath.Base(prefix)
	for _, e := range ents {
		pid, ok := tempPID(base, e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if err := unix.Kill(pid, 0); !errors.Is(err, unix.ESRCH) {
			continue // running (or not ours to ask about): leave it
		}
		p := filepath.Join(dir, e.Name())
		if os.Remove(p) == nil {
			removed = append(removed, p)
		}
	}
	return removed
}

// tempPID returns the pid in name when name is one of our temporary names
// beginning with prefix: prefix, a decimal pid, "-", 12 hex digits.
func tempPID(prefix, name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	pidStr, rnd, ok := strings.Cut(rest, "-")
	if !ok || len(rnd) != 12 || pidStr == "" || pidStr[0] == '0' || len(pidStr) > 10 {
		return 0, false
	}
	for _, c := range pidStr {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	if _, err := hex.DecodeString(rnd); err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 || pid > 1<<22 {
		return 0, false
	}
	return pid, true
}

// Target is the name the file will have after Commit.
func (f *File) Target() string { return f.target }

// Unnamed reports whether the file is being written without a name
// (O_TMPFILE), so that a killed process leaves nothing behind.
func (f *File) Unnamed() bool { return f.tmp == "" }

// Commit syncs the data, moves the file into place and syncs the directory.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: already committed or aborted")
	}
	if err := f.File.Sync(); err != nil {
		f.Abort()
		return err
	}
	if f.tmp == "" {
		if err := f.linkUnnamed(); err != nil {
			f.Abort()
			return err
		}
	}
	if err := f.File.Close(); err != nil {
		f.Abort()
		return err
	}
	if f.overwrite {
		if err := os.Rename(f.tmp, f.target); err != nil {
			f.Abort()
			return err
		}
	} else if f.tmp != "" {
		// A hard link fails if the target exists, unlike rename: that closes
		// the window between the check in Create and now.
		if err := os.Link(f.tmp, f.target); err == nil {
			if err := os.Remove(f.tmp); err != nil {
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
		} else if err := os.Rename(f.tmp, f.target); err != nil {
			f.Abort()
			return err
		}
	}
	f.done = true
	return SyncDir(filepath.Dir(f.target))
}

// linkUnnamed gives the unnamed file its name: the target itself when it
// must not be replaced (linkat fails if it exists), else a temporary name
// that Commit renames over the target.
func (f *File) linkUnnamed() error {
	name := f.target
	if f.overwrite {
		tmp, err := tempName(f.target)
		if err != nil {
			return err
		}
		name = tmp
	}
	err := linkFd(f.File, name)
	if errors.Is(err, fs.ErrExist) && !f.overwrite {
		return fmt.Errorf("%s: %w", f.target, ErrExists)
	}
	if err != nil {
		return err
	}
	if f.overwrite {
		f.tmp = name
	}
	return nil
}

// linkFd links the open unnamed file to name, through /proc (which needs no
// privilege) or, without /proc, AT_EMPTY_PATH (which needs
// CAP_DAC_READ_SEARCH).
func linkFd(file *os.File, name string) error {
	fd := int(file.Fd())
	err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, name, unix.AT_SYMLINK_FOLLOW)
	if errors.Is(err, unix.ENOENT) {
		if _, serr := os.Stat("/proc/self/fd"); serr != nil {
			err = unix.Linkat(fd, "", unix.AT_FDCWD, name, unix.AT_EMPTY_PATH)
		}
	}
	if err != nil {
		return &os.LinkError{Op: "link", Old: "(unnamed file)", New: name, Err: err}
	}
	return nil
}

// Abort closes the file and removes its temporary name, if it has one. It
// is safe to call more than once and after Commit.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	if f.tmp != "" {
		os.Remove(f.tmp)
	}
}

// WriteFile writes data to path as Create and Commit do: the file appears
// whole, 0600, or not at all. It is os.WriteFile for small files (keys,
// markers) that must not be left half written.
func WriteFile(path string, data []byte, overwrite bool) error {
	f, err := Create(path, overwrite)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
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
