// Package regfile opens files that must be regular files.
//
// A FIFO, a character device or a socket put where ckpt expects a sealed file
// or an archive makes open(2) block (a FIFO with no writer) or read forever
// (/dev/zero), and a blocked open(2) ignores SIGINT and SIGTERM. rsync -a
// copies FIFOs along, so this is an ordinary accident, not only an attack.
// Opening with O_NONBLOCK never blocks, and the descriptor is checked with
// fstat before anything reads it.
package regfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// ErrNotRegular is returned, wrapped with the path and the file's type, for
// anything but a regular file.
var ErrNotRegular = errors.New("not a regular file")

// Open opens path read-only after checking, on the open descriptor, that it
// is a regular file. It never blocks on a FIFO or a device. Symbolic links
// are followed, as os.Open does.
func Open(path string) (*os.File, error) { return open(path, false) }

// OpenStream opens path read-only without blocking and accepts a regular
// file or a FIFO (a pipe from process substitution, say): a FIFO keeps
// O_NONBLOCK, so Go's poller waits for its data and a FIFO without a writer
// reads as empty instead of blocking open(2) for ever. Devices, sockets and
// directories are refused.
func OpenStream(path string) (*os.File, error) { return open(path, true) }

// open opens path with O_NONBLOCK, so that open(2) itself never blocks, and
// checks the descriptor: a regular file, or a FIFO when fifo is set.
func open(path string, fifo bool) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		// O_NONBLOCK means nothing for a regular file's reads, but clear it
		// so the descriptor behaves as os.Open's would.
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err == nil {
			unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags&^unix.O_NONBLOCK)
		}
	case unix.S_IFIFO:
		if fifo {
			// A FIFO keeps O_NONBLOCK: Go's poller then waits for its data.
			break
		}
		fallthrough
	default:
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, kind(st.Mode))
	}
	return os.NewFile(uintptr(fd), path), nil
}

// Check returns an error wrapping ErrNotRegular when path exists and is not
// a regular file, without opening it; nil otherwise (including when it does
// not exist, which the caller's own open reports).
func Check(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, kind(st.Mode))
	}
	return nil
}

func kind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFLNK:
		return "a symbolic link"
	}
	return fmt.Sprintf("mode %#o", mode&unix.S_IFMT)
}

// ReadSmall reads a small regular file whole (a sidecar, a manifest),
// refusing one larger than limit rather than reading it into memory.
func ReadSmall(path string, limit int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return data, nil
}
