// Package ctxio makes readers stop once a context is done, so that an
// interrupted pass over gigabytes ends at the next block rather than at the
// end, and lets them report progress as they go.
package ctxio

import (
	"context"
	"io"
)

// reader stops with ctx's error once ctx is done and reports the bytes it
// reads to progress.
type reader struct {
	ctx      context.Context
	r        io.Reader
	progress func(int64)
}

func (w reader) Read(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := w.r.Read(p)
	w.progress(int64(n))
	return n, err
}

// readerAt is reader for sources that are also read at offsets.
type readerAt struct {
	reader
	ra io.ReaderAt
}

func (w readerAt) ReadAt(p []byte, off int64) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := w.ra.ReadAt(p, off)
	w.progress(int64(n))
	return n, err
}

// Reader returns r reading only until ctx is done. It hides every method
// of r but Read.
func Reader(ctx context.Context, r io.Reader) io.Reader {
	return reader{ctx, r, func(int64) {}}
}

// Watch is Reader that also reports the bytes read to progress (nil for
// none) and, when r is an io.ReaderAt, is one too. A nil ctx never ends.
func Watch(ctx context.Context, r io.Reader, progress func(int64)) io.Reader {
	if ctx == nil {
		ctx = context.Background()
	}
	if progress == nil {
		progress = func(int64) {}
	}
	w := reader{ctx, r, progress}
	if ra, ok := r.(io.ReaderAt); ok {
		return readerAt{w, ra}
	}
	return w
}
