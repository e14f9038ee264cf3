package scan

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/ckpt-dev/ckpt/archive"
)

// Decompression bomb guard for nested tarballs, as the archive reader has
// for the archive: past ratioGrace bytes out, at most Limits.MaxRatio out
// per byte in (by default the archive reader's default).
const (
	ratioGrace      = 64 << 20
	defaultMaxRatio = 10000
)

var errRatio = errors.New("decompression ratio exceeds the limit (possible decompression bomb)")

// tarball scans the regular files of a tar, plain or gzipped, held in an
// archive member: CRIU's tmpfs-*.tar.gz.img, the content of the tmpfs
// mounts it dumped. A tarball that cannot be read is listed as not
// scanned, with the reason, and the rest of the archive is scanned.
func (as *archiveScan) tarball(e *archive.Entry, base Location, r io.Reader) error {
	in := &countingIn{r: r}
	br := bufio.NewReaderSize(in, 64<<10)
	head, _ := br.Peek(512)
	var src io.Reader = br
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return as.unreadable(e, r, err)
		}
		maxRatio := as.s.opt.Limits.MaxRatio
		if maxRatio <= 0 {
			maxRatio = defaultMaxRatio
		}
		src = &ratioReader{r: zr, in: in, max: maxRatio}
	case len(head) < 262 || !bytes.Equal(head[257:262], []byte("ustar")):
		return as.unreadable(e, r, errors.New("neither a tar nor a gzipped tar"))
	}
	tr := tar.NewReader(src)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return as.unreadable(e, r, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		l := base
		l.Path = path.Clean("/" + h.Name)
		n, err := as.stream(tr, func(m Match) (Location, bool) {
			l := l
			l.Offset = m.Start
			return l, true
		})
		as.scanned(base.Source, n)
		if err != nil {
			if as.ctx.Err() != nil {
				return err
			}
			return as.unreadable(e, r, err)
		}
	}
}

// unreadable lists a member as not scanned and skips the rest of it.
func (as *archiveScan) unreadable(e *archive.Entry, r io.Reader, why error) error {
	as.sum.NotScanned = append(as.sum.NotScanned, fmt.Sprintf("%s: %v", e.Name, why))
	_, err := io.Copy(io.Discard, r)
	return err
}

type countingIn struct {
	r io.Reader
	n int64
}

func (c *countingIn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type ratioReader struct {
	r   io.Reader
	in  *countingIn
	out int64
	max int64
}

func (g *ratioReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.out += int64(n)
	if g.out > ratioGrace && g.out > g.max*max(g.in.n, 1) {
		return n, errRatio
	}
	return n, err
}
