package shred

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// nameChars are safe in every filesystem's names.
const nameChars = "0123456789abcdefghijklmnopqrstuvwxyz"

// randomName returns n random characters from nameChars.
func randomName(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	for i := range b {
		b[i] = nameChars[int(b[i])%len(nameChars)]
	}
	return string(b)
}

// sameFile reports whether name in dir is still the inode st describes,
// so that a name swapped underneath us is never removed.
func sameFile(dir *os.File, name string, st *unix.Stat_t) bool {
	var now unix.Stat_t
	err := unix.Fstatat(int(dir.Fd()), name, &now, unix.AT_SYMLINK_NOFOLLOW)
	return err == nil && now.Dev == st.Dev && now.Ino == st.Ino
}

// renameRandom renames name in dir to a random name of the same length,
// so the directory no longer records the original name, and returns the
// new name. It never replaces an existing entry.
func renameRandom(dir *os.File, name string) (string, error) {
	fd := int(dir.Fd())
	for range 16 {
		tmp := randomName(len(name))
		if tmp == name {
			continue
		}
		err := unix.Renameat2(fd, name, fd, tmp, unix.RENAME_NOREPLACE)
		switch {
		case err == nil:
			return tmp, nil
		case errors.Is(err, unix.EEXIST):
			continue
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS):
			// No RENAME_NOREPLACE here (some FUSE and network
			// filesystems): check, then rename.
			var st unix.Stat_t
			if unix.Fstatat(fd, tmp, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
				continue
			}
			if err := unix.Renameat(fd, name, fd, tmp); err != nil {
				return "", fmt.Errorf("rename: %w", err)
			}
			return tmp, nil
		default:
			return "", fmt.Errorf("rename: %w", err)
		}
	}
	return "", errors.New("rename: no free random name after 16 tries")
}

// syncDir makes the directory's entries durable.
func syncDir(dir *os.File) error {
	if err := dir.Sync(); err != nil {
		return fmt.Errorf("fsync directory: %w", err)
	}
	return nil
}

// removeFile renames, truncates and unlinks an overwritten file: the
// order the issue prescribes, each step durable before the next.
func removeFile(dir *os.File, name string, f *os.File, st *unix.Stat_t) error {
	if !sameFile(dir, name, st) {
		return errors.New("the name no longer refers to the file that was overwritten; not removed")
	}
	tmp, err := renameRandom(dir, name)
	if err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("renamed to %s: %w", tmp, err)
	}
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("renamed to %s: truncate: %w", tmp, err)
	}
	if err := unix.Unlinkat(int(dir.Fd()), tmp, 0); err != nil {
		return fmt.Errorf("renamed to %s: unlink: %w", tmp, err)
	}
	return syncDir(dir)
}

// removeDir renames an empty directory to a random name and removes it.
func removeDir(parent *os.File, name string, st *unix.Stat_t) error {
	if !sameFile(parent, name, st) {
		return errors.New("the name no longer refers to the directory that was emptied; not removed")
	}
	tmp, err := renameRandom(parent, name)
	if err != nil {
		return err
	}
	if err := unix.Unlinkat(int(parent.Fd()), tmp, unix.AT_REMOVEDIR); err != nil {
		// Put the name back so the user finds what is left where it was.
		_ = unix.Renameat2(int(parent.Fd()), tmp, int(parent.Fd()), name, unix.RENAME_NOREPLACE)
		return fmt.Errorf("rmdir: %w", err)
	}
	return syncDir(parent)
}
