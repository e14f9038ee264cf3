package regfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpen: Open takes only a regular file, OpenStream also a FIFO (without
// blocking on one that has no writer); neither takes a device or a directory.
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	file, fifo := filepath.Join(dir, "file"), filepath.Join(dir, "fifo")
	if err := os.WriteFile(file, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		open   func(string) (*os.File, error)
		path   string
		wantOK bool
	}{
		{"Open file", Open, file, true},
		{"Open FIFO", Open, fifo, false},
		{"Open device", Open, "/dev/null", false},
		{"Open directory", Open, dir, false},
		{"OpenStream file", OpenStream, file, true},
		{"OpenStream FIFO", OpenStream, fifo, true},
		{"OpenStream device", OpenStream, "/dev/null", false},
		{"OpenStream directory", OpenStream, dir, false},
	} {
		f, err := c.open(c.path)
		if c.wantOK != (err == nil) {
			t.Errorf("%s: error %v, want ok %v", c.name, err, c.wantOK)
		}
		if err != nil && !errors.Is(err, ErrNotRegular) {
			t.Errorf("%s: %v does not wrap ErrNotRegular", c.name, err)
		}
		if f == nil {
			continue
		}
		// Fd would make the descriptor blocking: read the flags through
		// SyscallConn.
		var flags int
		rc, err := f.SyscallConn()
		if err == nil {
			err = rc.Control(func(fd uintptr) { flags, err = unix.FcntlInt(fd, unix.F_GETFL, 0) })
		}
		if err != nil {
			t.Fatal(err)
		}
		// A regular file reads as os.Open's would; a FIFO stays non-blocking.
		if nonblock := flags&unix.O_NONBLOCK != 0; nonblock != (c.path == fifo) {
			t.Errorf("%s: O_NONBLOCK %v", c.name, nonblock)
		}
		f.Close()
	}
	if b, err := ReadSmall(file, 4); err != nil || string(b) != "data" {
		t.Errorf("ReadSmall at the limit: %q, %v", b, err)
	}
	if _, err := ReadSmall(file, 3); err == nil {
		t.Error("ReadSmall over the limit succeeded")
	}
}
