// Package writeback has the kernel write a big file out while it is still
// being written. Left alone, the page cache holds a whole archive dirty and
// the final fsync waits for all of it; handing each window to writeback as
// soon as it is written overlaps the disk with the work that produces the
// data, keeps dirty memory on the node to two windows, and lets the fsync
// wait for one.
package writeback

import "os"

// Window is how much is written before the kernel is asked to start
// writing it out.
const Window = 32 << 20

// File is what a Tracker needs of a file: *os.File, or a type embedding
// one.
type File interface{ Fd() uintptr }

// Tracker hands the ranges of a file written so far to writeback. It is
// only a hint: errors are left to the fsync that makes the file durable.
type Tracker struct {
	f       File
	flushed int64 // start of the window not yet handed to writeback
}

// New returns a Tracker for f.
func New(f File) *Tracker { return &Tracker{f: f} }

// Wrote tells the tracker that everything before end has been written.
func (t *Tracker) Wrote(end int64) {
	if end-t.flushed >= Window {
		start(t.f, t.flushed, end)
		t.flushed = end
	}
}

// Writer counts sequential writes to f and tracks them.
type Writer struct {
	f   *os.File
	off int64
	t   *Tracker
}

// NewWriter returns a Writer appending to f from its current size.
func NewWriter(f *os.File) *Writer {
	w := &Writer{f: f, t: New(f)}
	if st, err := f.Stat(); err == nil {
		w.off = st.Size()
		w.t.flushed = w.off
	}
	return w
}

func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	w.t.Wrote(w.off)
	return n, err
}
