package procmem

import (
	"context"
	"io"
)

// watched is a pages image reader that stops once ctx is done, so that an
// interrupted search of gigabytes ends at the next block, and reports the
// bytes it reads to a progress bar.
type watched struct {
	ctx      context.Context
	r        io.Reader
	progress func(int64)
}

func (w watched) Read(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := w.r.Read(p)
	w.progress(int64(n))
	return n, err
}

// watchedAt is watched for random-access pages images, which mem reads
// with ReadAt.
type watchedAt struct {
	watched
	ra io.ReaderAt
}

func (w watchedAt) ReadAt(p []byte, off int64) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := w.ra.ReadAt(p, off)
	w.progress(int64(n))
	return n, err
}

func watch(ctx context.Context, r io.Reader, progress func(int64)) io.Reader {
	if ctx == nil {
		ctx = context.Background()
	}
	if progress == nil {
		progress = func(int64) {}
	}
	w := watched{ctx, r, progress}
	if ra, ok := r.(io.ReaderAt); ok {
		return watchedAt{w, ra}
	}
	return w
}
