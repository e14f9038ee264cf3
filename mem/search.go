package mem

import (
	"errors"
	"fmt"
	"io"

	"github.com/ckpt-dev/ckpt/criu"
)

// MaxContext is the most context, in bytes on each side, a search returns.
const MaxContext = 4096

// Pattern is what [Search] looks for in memory: a [Literal] (also from
// [ParseHex] and [UTF16]) or a [Regex]. Search hands it windows of
// contiguous memory and carries MaxLen bytes (plus context) from one
// window into the next, so that matches crossing page, pagemap-entry and
// read boundaries are found exactly once.
type Pattern interface {
	// Find returns the leftmost match in b that starts at or after from,
	// as indices into b, or start -1. b[:from] is context the pattern may
	// look at (a regex's \b) but must not match in.
	Find(b []byte, from int) (start, end int)
	// MaxLen is the longest match the pattern promises to find whole.
	MaxLen() int
}

// Hit is one match of a [Pattern] that [Search] found.
type Hit struct {
	Addr uint64
	// Before, Match and After are the match and up to the requested
	// context on either side, within the same contiguous memory. They are
	// valid only during the callback.
	Before, Match, After []byte
}

// SearchOptions tune [Search].
type SearchOptions struct {
	// Context is how many bytes around each match to return (at most
	// [MaxContext]).
	Context int
	// Buf is the read buffer; [BlockSize] bytes when nil.
	Buf []byte
}

// Search finds p in every present byte of the index, reading the pages
// image once, and calls fn for each match in address order. Matches do not
// overlap: after a match the search goes on at its end.
func Search(ix *criu.PageIndex, pages io.Reader, p Pattern, opt SearchOptions, fn func(Hit) error) error {
	if opt.Context < 0 || opt.Context > MaxContext {
		return fmt.Errorf("context of %d bytes: want 0 to %d", opt.Context, MaxContext)
	}
	maxLen := p.MaxLen()
	if maxLen < 1 {
		return errors.New("pattern promises no match length")
	}
	// keep is the most a window carries into the next: a match that may
	// still grow, context before it, and one byte of look-behind.
	keep := maxLen + 2*opt.Context + 1
	block := len(opt.Buf)
	if block == 0 {
		block = BlockSize
	}
	win := make([]byte, block+keep)
	s := &searcher{p: p, ctx: opt.Context, maxLen: maxLen, win: win, fn: fn}
	src := newSource(pages)
	// Ranges and spans are walked, not collected: a fragmented heap has
	// one per pagemap entry.
	if !src.random() {
		spans := func(yield func(criu.PageSpan) bool) {
			for r := range PresentRanges(ix) {
				for s := range ix.EachSpan(r.Start, r.Len()) {
					if !yield(s) {
						return
					}
				}
			}
		}
		if !offsetsAscend(spans) {
			return ErrUnordered
		}
	}
	for r := range PresentRanges(ix) {
		if err := s.stretch(ix, src, r); err != nil {
			return err
		}
	}
	return nil
}

type searcher struct {
	p      Pattern
	ctx    int
	maxLen int
	win    []byte
	fn     func(Hit) error
}

// stretch searches one range of contiguous present memory.
func (s *searcher) stretch(ix *criu.PageIndex, src *source, r Range) error {
	n, from := 0, 0 // bytes in the window; where matching resumes
	base := r.Start // address of win[0]
	// r is all present, so its spans follow one another to its end.
	for sp := range ix.EachSpan(r.Start, r.Len()) {
		for done := uint64(0); done < sp.Len; {
			c := min(uint64(len(s.win)-n), sp.Len-done)
			if err := src.readAt(s.win[n:n+int(c)], sp.Offset+int64(done)); err != nil {
				return fmt.Errorf("%#x: %w", sp.Addr+done, err)
			}
			n += int(c)
			done += c
			final := sp.Addr+done == r.End
			// A match starting at or after cutoff might grow with more
			// data, or lack its context after: it waits for the next
			// window unless this is the end of the stretch.
			cutoff := n
			if !final {
				cutoff = max(n-s.maxLen-s.ctx, 0)
			}
			var err error
			if from, err = s.matches(base, n, from, cutoff); err != nil {
				return err
			}
			if final {
				break
			}
			// Carry the undecided tail, with context and one byte of
			// look-behind before it.
			next := max(from, cutoff)
			ks := max(next-s.ctx-1, 0)
			copy(s.win, s.win[ks:n])
			n -= ks
			from = next - ks
			base += uint64(ks)
		}
	}
	return nil
}

// matches reports the matches in win[:n] that start before cutoff and
// returns where matching resumes.
func (s *searcher) matches(base uint64, n, from, cutoff int) (int, error) {
	for from < cutoff {
		st, en := s.p.Find(s.win[:n], from)
		if st < 0 || st >= cutoff {
			break
		}
		if en <= st { // an empty match finds nothing: step past it
			from = st + 1
			continue
		}
		h := Hit{
			Addr:   base + uint64(st),
			Before: s.win[max(st-s.ctx, 0):st],
			Match:  s.win[st:en],
			After:  s.win[en:min(en+s.ctx, n)],
		}
		if err := s.fn(h); err != nil {
			return 0, err
		}
		from = en
	}
	return from, nil
}
