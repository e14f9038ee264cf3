package mem

import (
	"errors"
	"fmt"
	"io"
)

// ErrUnordered is returned when memory must be read from a stream in an
// order the pages image does not have: CRIU writes pages in pagemap order,
// which is address order, so only a damaged or unusual pagemap gets this.
var ErrUnordered = errors.New("pagemap entries are not in address order, which a stream cannot follow (use a plain tar file)")

// source reads a pages image at offsets: with ReadAt when it can, or else
// forward only, skipping what nobody asked for.
type source struct {
	ra  io.ReaderAt
	r   io.Reader
	pos int64
}

func newSource(r io.Reader) *source {
	if ra, ok := r.(io.ReaderAt); ok {
		return &source{ra: ra}
	}
	return &source{r: r}
}

// random reports whether reads may come in any order.
func (s *source) random() bool { return s.ra != nil }

// readAt fills p with the bytes at off. A pages image shorter than the
// pagemap says is an error, never zeros.
func (s *source) readAt(p []byte, off int64) error {
	if s.ra != nil {
		n, err := s.ra.ReadAt(p, off)
		if n == len(p) {
			return nil
		}
		if err == nil || err == io.EOF {
			return shortImage(off + int64(n))
		}
		return err
	}
	if off < s.pos {
		return ErrUnordered
	}
	if skip := off - s.pos; skip > 0 {
		n, err := io.CopyN(io.Discard, s.r, skip)
		s.pos += n
		if err == io.EOF {
			return shortImage(s.pos)
		}
		if err != nil {
			return err
		}
	}
	n, err := io.ReadFull(s.r, p)
	s.pos += int64(n)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return shortImage(s.pos)
	}
	return err
}

func shortImage(at int64) error {
	return fmt.Errorf("pages image ends at offset %d, before the pagemap says: %w", at, io.ErrUnexpectedEOF)
}
