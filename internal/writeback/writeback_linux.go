package writeback

import (
	"golang.org/x/sys/unix"
)

// start asks the kernel to write [from, to) out now, and waits for the
// window before it, so that at most two windows are dirty at a time.
func start(f File, from, to int64) {
	fd := int(f.Fd())
	_ = unix.SyncFileRange(fd, from, to-from, unix.SYNC_FILE_RANGE_WRITE)
	if from >= Window {
		_ = unix.SyncFileRange(fd, from-Window, Window,
			unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
	}
}
