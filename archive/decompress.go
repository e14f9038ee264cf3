package archive

import (
	"compress/bzip2"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/ckpt-dev/ckpt/internal/countio"
)

// decompressor wraps r in the decoder for format f. The returned closer
// releases decoder resources (zstd runs goroutines).
func decompressor(f Format, r io.Reader) (io.Reader, func(), error) {
	switch f {
	case Gzip:
		z, err := gzip.NewReader(r)
		if err != nil {
			if strings.HasPrefix(err.Error(), "gzip: ") {
				return nil, nil, err // compress/gzip names itself
			}
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return z, func() { z.Close() }, nil
	case Zstd:
		// A bounded window keeps a hostile frame from asking for gigabytes.
		z, err := zstd.NewReader(r, zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(64<<20), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return z, z.Close, nil
	case Bzip2:
		return bzip2.NewReader(r), func() {}, nil
	case Xz:
		z, err := xz.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("xz: %w", err)
		}
		return z, func() {}, nil
	}
	return nil, nil, fmt.Errorf("%v is not a compression", f)
}

// ratioGuard fails the stream when out/in exceeds max after the grace.
type ratioGuard struct {
	r   io.Reader
	in  *countio.Reader
	out int64
	max int64
}

func (g *ratioGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.out += int64(n)
	if g.out > ratioGrace && g.out > g.max*max(g.in.N, 1) {
		return n, fmt.Errorf("%w: %d bytes from %d compressed (limit %d:1)", ErrBomb, g.out, g.in.N, g.max)
	}
	return n, err
}
