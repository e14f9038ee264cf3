package mem

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/ckpt-dev/ckpt/criu"
)

// Chunk is a range of memory an Extractor collects.
type Chunk struct {
	Addr uint64
	// Data holds the bytes; Have marks which of them were in the image.
	Data []byte
	Have []bool
}

// Complete reports whether every byte of the chunk was in the image.
func (c *Chunk) Complete() bool { return !slices.Contains(c.Have, false) }

// Prefix returns the leading bytes that were in the image.
func (c *Chunk) Prefix() []byte {
	if i := slices.Index(c.Have, false); i >= 0 {
		return c.Data[:i]
	}
	return c.Data
}

// Extractor collects chosen ranges of one process's memory from its pages
// image in a single forward pass, for archives that can only be read in
// order.
type Extractor struct {
	ix     *criu.PageIndex
	pieces []piece
}

type piece struct {
	off   int64 // in the pages image
	n     int64
	chunk *Chunk
	at    int // index into chunk.Data
}

// NewExtractor returns an Extractor over the pages of ix.
func NewExtractor(ix *criu.PageIndex) *Extractor { return &Extractor{ix: ix} }

// Want asks for n bytes at addr and returns the chunk that Feed fills.
func (x *Extractor) Want(addr uint64, n int) *Chunk {
	c := &Chunk{Addr: addr, Data: make([]byte, n), Have: make([]bool, n)}
	at := 0
	for _, s := range x.ix.Spans(addr, uint64(n)) {
		if s.Absent == nil {
			x.pieces = append(x.pieces, piece{off: s.Offset, n: int64(s.Len), chunk: c, at: at})
		}
		at += int(s.Len)
	}
	return c
}

// Feed reads the pages image and fills the chunks. A reader that is also
// an io.ReaderAt is read only where wanted.
func (x *Extractor) Feed(r io.Reader) error {
	slices.SortFunc(x.pieces, func(a, b piece) int { return cmp.Compare(a.off, b.off) })
	if ra, ok := r.(io.ReaderAt); ok {
		for _, p := range x.pieces {
			if err := p.fill(func(b []byte) (int, error) { return ra.ReadAt(b, p.off) }); err != nil {
				return err
			}
		}
		return nil
	}
	var pos int64
	buf := make([]byte, 64<<10)
	for _, p := range x.pieces {
		// Pieces may overlap when chunks do; seek back by re-reading is
		// impossible on a stream, so serve the overlap from what a previous
		// piece already holds.
		if p.off < pos {
			if err := x.fromEarlier(p); err != nil {
				return err
			}
			continue
		}
		if skip := p.off - pos; skip > 0 {
			if _, err := io.CopyBuffer(io.Discard, io.LimitReader(r, skip), buf); err != nil {
				return err
			}
			pos += skip
		}
		if err := p.fill(func(b []byte) (int, error) { return io.ReadFull(r, b) }); err != nil {
			return err
		}
		pos += p.n
	}
	return nil
}

func (p piece) fill(read func([]byte) (int, error)) error {
	dst := p.chunk.Data[p.at : p.at+int(p.n)]
	n, err := read(dst)
	for i := range n {
		p.chunk.Have[p.at+i] = true
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF || (err == nil && n < len(dst)) {
		return fmt.Errorf("pages image ends at offset %d, before the pagemap says: %w", p.off+int64(n), io.ErrUnexpectedEOF)
	}
	return err
}

// fromEarlier copies an overlapping piece from the chunk that already read
// those image bytes.
func (x *Extractor) fromEarlier(p piece) error {
	for _, q := range x.pieces {
		if q.off <= p.off && p.off+p.n <= q.off+q.n && q.chunk.Have[q.at+int(p.off-q.off)] {
			copy(p.chunk.Data[p.at:p.at+int(p.n)], q.chunk.Data[q.at+int(p.off-q.off):])
			for i := range int(p.n) {
				p.chunk.Have[p.at+i] = true
			}
			return nil
		}
	}
	return errors.New("overlapping ranges that are not contained in each other are not supported on a stream")
}
