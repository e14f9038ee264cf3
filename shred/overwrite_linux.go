package shred

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/ckpt-dev/ckpt/internal/writeback"
)

// chunkSize is the unit of writing and of noticing an interruption: large
// enough that syscalls cost nothing next to the copy, small enough that
// SIGINT takes effect within a few milliseconds.
const chunkSize = 1 << 20

// overwriter writes passes over one open file, counting every byte.
type overwriter struct {
	f        *os.File
	length   int64 // bytes per pass: the size rounded up to the block size
	buf      []byte
	written  int64 // bytes written so far, all passes
	progress func(int64)
}

func newOverwriter(f *os.File, length int64, progress func(int64)) *overwriter {
	return &overwriter{f: f, length: length, buf: make([]byte, min(chunkSize, max(length, 1))), progress: progress}
}

// pass writes p over the whole length and makes it durable. It stops
// between two writes when ctx is cancelled.
func (w *overwriter) pass(ctx context.Context, p pattern) error {
	// Handing each window to writeback as it is written keeps a 1 GiB pass
	// from flooding memory or stalling at the end, and the progress bar
	// follows the disk rather than the cache.
	wb := writeback.New(w.f)
	for off := int64(0); off < w.length; {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := w.buf[:min(int64(len(w.buf)), w.length-off)]
		p.fill(b)
		n, err := w.f.WriteAt(b, off)
		off += int64(n)
		w.written += int64(n)
		if w.progress != nil {
			w.progress(w.written)
		}
		if err != nil {
			return err
		}
		wb.Wrote(off)
	}
	return w.sync()
}

// sync makes what was written durable: data only, the size is restored or
// the file removed afterwards.
func (w *overwriter) sync() error {
	if err := unix.Fdatasync(int(w.f.Fd())); err != nil {
		return fmt.Errorf("fdatasync: %w", err)
	}
	return nil
}

// verify drops the file's cached pages so that reads come from the
// device, then compares every byte with p replayed from its start.
func (w *overwriter) verify(ctx context.Context, p pattern) error {
	if err := unix.Fadvise(int(w.f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("dropping cached pages: %w", err)
	}
	p.rewind()
	want := make([]byte, len(w.buf))
	for off := int64(0); off < w.length; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(int64(len(w.buf)), w.length-off)
		got, exp := w.buf[:n], want[:n]
		if _, err := w.f.ReadAt(got, off); err != nil {
			return fmt.Errorf("reading back at byte %d: %w", off, err)
		}
		p.fill(exp)
		if !bytes.Equal(got, exp) {
			i := 0
			for got[i] == exp[i] {
				i++
			}
			return fmt.Errorf("%w: byte %d differs from the last pass", ErrVerify, off+int64(i))
		}
		off += n
	}
	return nil
}
