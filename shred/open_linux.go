package shred

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// openFlags never follow a final symbolic link, never block on a FIFO or
// device that raced into the name's place, and never acquire a terminal.
const openFlags = unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC

// openDir opens a directory for *at calls and fsync.
func openDir(path string) (*os.File, error) {
	return os.OpenFile(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// openAt opens name in dir with flags, refusing to follow a link.
func openAt(dir *os.File, name string, flags int) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, flags|openFlags, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// notRegular explains why a file of type t is refused.
func notRegular(t string) (code, text string) {
	switch t {
	case "symlink":
		return "symlink", "is a symbolic link: ckpt does not follow links; shred the target by its own path"
	case "directory":
		return "directory", "is a directory"
	case "fifo":
		return "not-regular", "is a FIFO, not a regular file"
	case "socket":
		return "not-regular", "is a socket, not a regular file"
	case "device":
		return "not-regular", "is a device, not a regular file: ckpt shreds files, not disks"
	}
	return "not-regular", "is not a regular file"
}

// lock takes the exclusive lock a shred holds until it is done, so that
// two shreds (or a cooperating writer) never work on one file at once.
func lock(f *os.File) (held bool, err error) {
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// openWriteRefusal explains an error opening a checked file for writing,
// or returns "" when the error is a plain failure.
func openWriteRefusal(err error) (code, text string) {
	switch {
	case errors.Is(err, unix.EROFS):
		return "read-only", "the filesystem is read-only (EROFS)"
	case errors.Is(err, unix.ETXTBSY):
		return "in-use", "is a program being executed (ETXTBSY)"
	case errors.Is(err, unix.EPERM):
		return "not-writable", "the kernel refuses to open it for writing (EPERM): it may be immutable, append-only or sealed"
	case errors.Is(err, unix.ELOOP):
		return "symlink", "became a symbolic link while being checked; not followed"
	}
	return "", ""
}

// statEqual reports whether two stats describe the same inode.
func statEqual(a, b *unix.Stat_t) bool { return a.Dev == b.Dev && a.Ino == b.Ino }

// replaced is the refusal when a name changes inode under us.
const replaced = "was replaced by another file while being checked"

// permissionProblem explains why this process could not overwrite the
// file, or could overwrite but not remove it, so that neither is found
// out halfway (or only in the real run after a dry run said yes). It
// returns the refusal's code and text, or "" when nothing stands in the
// way.
func permissionProblem(dir *os.File, name string, st *unix.Stat_t, keep bool) (code, text string) {
	dfd := int(dir.Fd())
	if err := unix.Faccessat(dfd, name, unix.W_OK, unix.AT_EACCESS); errors.Is(err, unix.EACCES) {
		return "permission", "this user may not write it (permission denied)"
	}
	if keep {
		return "", ""
	}
	if err := unix.Faccessat(dfd, ".", unix.W_OK|unix.X_OK, unix.AT_EACCESS); errors.Is(err, unix.EACCES) {
		return "permission", "this user may not remove it: its directory is not writable (permission denied)"
	}
	var dst unix.Stat_t
	euid := uint32(os.Geteuid())
	if unix.Fstat(dfd, &dst) == nil && dst.Mode&unix.S_ISVTX != 0 && euid != 0 && euid != st.Uid && euid != dst.Uid {
		return "permission", "this user may not remove it: its directory is sticky and neither the file nor the directory is theirs"
	}
	return "", ""
}
