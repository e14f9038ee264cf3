package diff

import (
	"context"
	"io"
)

// ctxReader stops reading once ctx is done, so that an interrupted diff of
// gigabytes of pages ends at the next block rather than at the end.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
