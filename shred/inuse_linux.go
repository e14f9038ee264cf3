package shred

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The "still being written" rule. A file is refused as still being written
// when
//
//  1. any process, this one included, holds it open for writing or has it
//     mapped shared and writable (found through /proc/*/fd,
//     /proc/*/fdinfo and /proc/*/maps), or
//  2. it was modified less than the settle window ago (Options.Settle,
//     2 s by default) and its size or modification time changes while ckpt
//     watches it for that window.
//
// The second part catches writers that open, append and close in a loop.
// A writer that pauses for longer than the window between two appends,
// with the file closed, cannot be told from a finished one; a process
// that opens the file after the checks is caught only if the file grows
// during the overwrite, which fails the shred before removal.

// holder is a process that can still change a file, or runs it as its
// program (the kernel then refuses writes with ETXTBSY).
type holder struct {
	pid  int
	comm string
	how  string // "has fd 3 open for writing", "maps it shared and writable", "runs it"
	exec bool
}

func (w holder) String() string {
	return fmt.Sprintf("%s (pid %d) %s", w.comm, w.pid, w.how)
}

// settle watches a recently modified file for the settle window and
// returns a reason when it changed.
func settle(ctx context.Context, f *os.File, st *unix.Stat_t, window time.Duration) (string, error) {
	if window < 0 {
		return "", nil
	}
	mtime := time.Unix(st.Mtim.Unix())
	if age := time.Since(mtime); age >= window {
		return "", nil
	}
	t := time.NewTimer(window)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case <-t.C:
	}
	var now unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &now); err != nil {
		return "", err
	}
	if now.Size != st.Size || now.Mtim != st.Mtim {
		return fmt.Sprintf("still being written: it changed while ckpt watched it for %s (size %d, now %d)", window, st.Size, now.Size), nil
	}
	return "", nil
}

// writers lists the processes that hold the file with device dev and
// inode ino open for writing or mapped shared and writable, skipping this
// process's descriptor skipFD (-1 for none). hidden counts the processes
// whose descriptors could not be read, which happens without root.
func (h host) writers(dev, ino uint64, skipFD int) (found []holder, hidden int, err error) {
	entries, err := os.ReadDir(h.proc)
	if err != nil {
		return nil, 0, err
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		ws, denied := h.processWriters(pid, self, dev, ino, skipFD)
		if denied {
			hidden++
		}
		found = append(found, ws...)
	}
	return found, hidden, nil
}

// processWriters checks one process's descriptors and mappings.
func (h host) processWriters(pid, self int, dev, ino uint64, skipFD int) (found []holder, denied bool) {
	dir := h.procPath(strconv.Itoa(pid))
	fds, err := os.ReadDir(dir + "/fd")
	if err != nil {
		return nil, errors.Is(err, fs.ErrPermission)
	}
	comm, _ := h.read(dir + "/comm")
	var exe unix.Stat_t
	if unix.Stat(dir+"/exe", &exe) == nil && exe.Dev == dev && exe.Ino == ino {
		found = append(found, holder{pid, comm, "runs it", true})
	}
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || (pid == self && fd == skipFD) {
			continue
		}
		var st unix.Stat_t
		if unix.Stat(dir+"/fd/"+e.Name(), &st) != nil || st.Dev != dev || st.Ino != ino {
			continue
		}
		info, err := os.ReadFile(dir + "/fdinfo/" + e.Name())
		if err != nil {
			continue // closed since the listing
		}
		if flags, err := fdinfoFlags(string(info)); err == nil && openForWriting(flags) {
			found = append(found, holder{pid, comm, fmt.Sprintf("has fd %d open for writing", fd), false})
		}
	}
	if maps, err := os.ReadFile(dir + "/maps"); err == nil {
		for _, m := range sharedWritableMappings(string(maps)) {
			if m.Major == unix.Major(dev) && m.Minor == unix.Minor(dev) && m.Inode == ino {
				found = append(found, holder{pid, comm, "maps it shared and writable", false})
				break
			}
		}
	}
	return found, false
}

// describeHolders turns holders into one refusal: its code and reason.
func describeHolders(ws []holder) (code, text string) {
	var writing, running []string
	for _, w := range ws {
		if w.exec {
			running = append(running, w.String())
		} else {
			writing = append(writing, w.String())
		}
	}
	if len(writing) > 0 {
		return "being-written", "still being written: " + strings.Join(writing, ", ")
	}
	return "in-use", "is a program being executed: " + strings.Join(running, ", ")
}

// Writers lists the processes that hold the file at path open for writing
// or map it shared and writable, as "comm (pid N) has fd 3 open for
// writing": the "still being written" check File makes, for callers that
// wait for a file to be finished rather than refuse it. Processes whose
// descriptors cannot be read (without root) are not seen.
func Writers(path string) ([]string, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("%s: no device and inode", path)
	}
	ws, _, err := newHost().writers(uint64(sys.Dev), sys.Ino, -1)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, w := range ws {
		if !w.exec {
			out = append(out, w.String())
		}
	}
	return out, nil
}
