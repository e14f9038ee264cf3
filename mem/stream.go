package mem

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"

	"github.com/ckpt-dev/ckpt/criu"
)

// BlockSize is how much of a pages image is read at a time: large enough
// that system calls and callbacks cost nothing next to the bytes, small
// enough to keep memory flat.
const BlockSize = 1 << 20

// Range is the virtual address range [Start, End).
type Range struct{ Start, End uint64 }

// Len is the range's length in bytes.
func (r Range) Len() uint64 { return r.End - r.Start }

func (r Range) String() string { return fmt.Sprintf("%#x-%#x", r.Start, r.End) }

// Block is a piece of memory that Stream delivers, in address order:
// either bytes present in the dump or a stretch that is absent, and why.
type Block struct {
	Addr uint64
	Len  uint64
	// Data holds the bytes of a present block. It is valid only during
	// the callback.
	Data []byte
	// Absent is why the bytes are not in the dump (criu.ErrNotDumped,
	// criu.ErrInParent or criu.ErrLazy); nil for present bytes.
	Absent error
}

// Stream reads the ranges (in address order, not overlapping) from the
// pages image and calls fn for each present block of at most len(buf)
// bytes (BlockSize when buf is nil) and for each absent stretch. pages may
// be a stream: a pages image in pagemap order, as CRIU writes it, is read
// in one forward pass. Problems a pagemap alone reveals (disorder on a
// stream) are reported before fn is first called.
func Stream(ix *criu.PageIndex, pages io.Reader, ranges []Range, buf []byte, fn func(Block) error) error {
	if len(buf) == 0 {
		buf = make([]byte, BlockSize)
	}
	for i, r := range ranges {
		if r.End < r.Start || i > 0 && r.Start < ranges[i-1].End {
			return errors.New("ranges must be in address order and must not overlap")
		}
	}
	// The spans are walked, not collected: on a fragmented heap there is
	// one per pagemap entry.
	spans := func(yield func(criu.PageSpan) bool) {
		for _, r := range ranges {
			for s := range ix.EachSpan(r.Start, r.Len()) {
				if !yield(s) {
					return
				}
			}
		}
	}
	src := newSource(pages)
	if !src.random() && !offsetsAscend(spans) {
		return ErrUnordered
	}
	for s := range spans {
		if s.Absent != nil {
			if err := fn(Block{Addr: s.Addr, Len: s.Len, Absent: s.Absent}); err != nil {
				return err
			}
			continue
		}
		for done := uint64(0); done < s.Len; {
			n := min(uint64(len(buf)), s.Len-done)
			p := buf[:n]
			if err := src.readAt(p, s.Offset+int64(done)); err != nil {
				return fmt.Errorf("%#x: %w", s.Addr+done, err)
			}
			if err := fn(Block{Addr: s.Addr + done, Len: n, Data: p}); err != nil {
				return err
			}
			done += n
		}
	}
	return nil
}

// offsetsAscend says whether the present spans can be read from a stream
// in address order.
func offsetsAscend(spans iter.Seq[criu.PageSpan]) bool {
	var next int64
	for s := range spans {
		if s.Absent != nil {
			continue
		}
		if s.Offset < next {
			return false
		}
		next = s.Offset + int64(s.Len)
	}
	return true
}

// Present returns the present bytes of the index as ranges of contiguous
// memory, in address order: adjacent runs are merged, because a string
// that crosses from one pagemap entry into the next is contiguous in the
// process.
func Present(ix *criu.PageIndex) []Range {
	return slices.Collect(PresentRanges(ix))
}

// PresentRanges yields the ranges Present returns, one at a time, so that
// a walk over them holds nothing per range.
func PresentRanges(ix *criu.PageIndex) iter.Seq[Range] {
	return func(yield func(Range) bool) {
		var cur Range
		for r := range ix.All() {
			if !r.Present() {
				continue
			}
			if cur.End == r.Start && cur.Len() > 0 {
				cur.End = r.End()
				continue
			}
			if cur.Len() > 0 && !yield(cur) {
				return
			}
			cur = Range{r.Start, r.End()}
		}
		if cur.Len() > 0 {
			yield(cur)
		}
	}
}

// PresentBytes is how many bytes of memory the pages image holds for ix:
// the sum of Present's lengths, without the list.
func PresentBytes(ix *criu.PageIndex) uint64 {
	var n uint64
	for r := range ix.All() {
		if r.Present() {
			n += r.End() - r.Start
		}
	}
	return n
}
