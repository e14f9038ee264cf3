package testgen

import (
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/ckpt-dev/ckpt/internal/atomicfile"
)

// Compression is the layer WriteFile puts around the tar. (bzip2 has no
// writer in the standard library or in our modules.)
type Compression int

const (
	None Compression = iota
	Gzip
	Zstd
	Xz
)

var compressionNames = [...]string{"none", "gzip", "zstd", "xz"}

func (c Compression) String() string { return enumName(c, compressionNames[:], "Compression") }

// Ext is the usual file name extension of a tar with this compression.
func (c Compression) Ext() string {
	switch c {
	case Gzip:
		return ".tar.gz"
	case Zstd:
		return ".tar.zst"
	case Xz:
		return ".tar.xz"
	}
	return ".tar"
}

// ParseCompression returns the Compression called s ("tar" means none).
func ParseCompression(s string) (Compression, error) {
	if strings.EqualFold(s, "tar") || s == "" {
		return None, nil
	}
	return parseEnum[Compression](s, compressionNames[:], "compression")
}

// Compress wraps w in the compressor c; closing the result flushes the
// compressed stream but does not close w.
func Compress(w io.Writer, c Compression) (io.WriteCloser, error) {
	switch c {
	case None:
		return nopCloser{w}, nil
	case Gzip:
		return gzip.NewWriterLevel(w, gzip.DefaultCompression)
	case Zstd:
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault))
	case Xz:
		return xz.NewWriter(w)
	}
	return nil, fmt.Errorf("testgen: unknown compression %d", c)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// WriteFile writes the archive to path, compressed with c, atomically: the
// file appears complete (mode 0600) or not at all. An existing file is
// replaced only when overwrite is set.
func WriteFile(path string, s Spec, c Compression, overwrite bool) (Layout, error) {
	f, err := atomicfile.Create(path, overwrite)
	if err != nil {
		return Layout{}, err
	}
	defer f.Abort()
	zw, err := Compress(f, c)
	if err != nil {
		return Layout{}, err
	}
	l, err := Write(zw, s)
	if err != nil {
		zw.Close()
		return Layout{}, err
	}
	if err := zw.Close(); err != nil {
		return Layout{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Commit(); err != nil {
		return Layout{}, err
	}
	return l, nil
}

// ParseSize reads a size such as "4096", "64MiB", "1GiB", "1G" (binary,
// as dd has it) or "500MB" (decimal).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(t)
	}
	var n int64
	if _, err := fmt.Sscan(t[:i], &n); err != nil || i == 0 {
		return 0, fmt.Errorf("size %q: want a number with an optional unit (KiB, MiB, GiB, TiB, K, M, G, T, KB, MB, GB, TB)", s)
	}
	units := map[string]int64{
		"": 1, "B": 1,
		"K": 1 << 10, "KIB": 1 << 10, "M": 1 << 20, "MIB": 1 << 20, "G": 1 << 30, "GIB": 1 << 30, "T": 1 << 40, "TIB": 1 << 40,
		"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	}
	u, ok := units[strings.ToUpper(strings.TrimSpace(t[i:]))]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q", s, t[i:])
	}
	if n > (1<<62)/u {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * u, nil
}
