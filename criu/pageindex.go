package criu

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
)

// Why an address has no bytes in the dump.
var (
	ErrNotDumped = errors.New("not in the dump (unmapped, or never touched)")
	ErrInParent  = errors.New("in the parent (pre-dump) image, not in this checkpoint")
	ErrLazy      = errors.New("lazy page not present in the image")
)

// PageIndex is one pagemap: a process's (or a shared memory segment's) dumped
// pages, in address order.
//
// It holds its runs compactly (see [PageRuns]): a few bytes per pagemap
// entry, looked up in O(log n) by a binary search over blocks of runs and
// a short decode. Read them with Lookup, All and From.
type PageIndex struct {
	// Name is the pagemap image the index was built from.
	Name string
	// PagesID is N of the pages-N.img that holds the present pages.
	PagesID uint32
	// ImageBytes is how many bytes the present pages occupy in pages-N.img.
	ImageBytes int64
	runs       *PageRuns // sorted by address, without empty runs; never nil
	// ascending says the present runs' pages lie in the pages image in
	// address order, as CRIU writes them.
	ascending bool
}

// NewPageIndex builds the index of a decoded pagemap image. It rejects a
// pagemap whose entries overlap or whose sizes overflow: either would make
// addresses ambiguous.
//
// The index shares the image's runs when they are already clean (the
// common case: CRIU writes them sorted, without empty entries), so
// building one costs neither a pass over them nor a copy.
func NewPageIndex(img *Image) (*PageIndex, error) {
	if img == nil {
		return nil, errors.New("pagemap image missing")
	}
	if len(img.Entries) == 0 {
		return nil, fmt.Errorf("%s: empty pagemap", img.Name)
	}
	head, ok := img.Entries[0].(*pagemap.PagemapHead)
	if !ok {
		return nil, fmt.Errorf("%s: not a pagemap image", img.Name)
	}
	runs := img.Runs
	if runs == nil {
		runs = &PageRuns{}
	}
	if len(img.Entries) > 1 {
		// Built by hand (tests, or a caller's own image): decoded entries.
		runs = &PageRuns{}
		var off int64
		for _, m := range img.Entries[1:] {
			e, ok := m.(*pagemap.PagemapEntry)
			if !ok {
				return nil, fmt.Errorf("%s: not a pagemap image", img.Name)
			}
			r := PageRun{Start: e.GetVaddr(), Pages: PageCount(e), Flags: PageFlags(e)}
			r.Offset = nextOffset(r, off)
			off = follows(r, off)
			runs.add(r)
		}
	}
	ix, err := newIndex(img.Name, runs)
	if err != nil {
		return nil, err
	}
	ix.PagesID = head.GetPagesId()
	return ix, nil
}

// PageIndexOf builds the index of runs given in pagemap order, with their
// offsets, checking them as NewPageIndex does. It is for pagemaps that
// were not read from an image (tests, generated dumps); its Name is
// "pagemap" and its PagesID 0 until the caller sets them.
func PageIndexOf(runs []PageRun) (*PageIndex, error) {
	return newIndex("pagemap", runsOf(runs))
}

// newIndex checks runs (in image order) and indexes them by address.
func newIndex(name string, runs *PageRuns) (*PageIndex, error) {
	if !runs.irregular {
		// Sorted, without empty or overlapping runs, as CRIU writes
		// them: add has checked them all.
		return &PageIndex{Name: name, ImageBytes: runs.imageBytes, runs: runs, ascending: !runs.descending}, nil
	}
	// Otherwise (rare, and at most the image limit) the runs are checked
	// one by one for the error to name, then sorted as plain runs and
	// encoded again.
	ix := &PageIndex{Name: name}
	plain := make([]PageRun, 0, runs.Len())
	i := 0
	for r := range runs.All() {
		i++
		if r.Pages == 0 {
			continue
		}
		if r.Start%PageSize != 0 {
			return nil, fmt.Errorf("%s: entry %d: address %#x is not page aligned", name, i, r.Start)
		}
		if r.Pages > (1<<64-1-r.Start)/PageSize || r.Pages > maxPages {
			return nil, fmt.Errorf("%s: entry %d: %d pages at %#x overflow the address space", name, i, r.Pages, r.Start)
		}
		if r.Present() {
			ix.ImageBytes = r.Offset + int64(r.Pages)*PageSize
		}
		plain = append(plain, r)
	}
	// CRIU writes entries in address order; sort anyway.
	slices.SortStableFunc(plain, func(a, b PageRun) int { return cmp.Compare(a.Start, b.Start) })
	for i := 1; i < len(plain); i++ {
		if plain[i].Start < plain[i-1].End() {
			return nil, fmt.Errorf("%s: entries overlap at %#x", name, plain[i].Start)
		}
	}
	ix.runs = runsOf(plain)
	ix.ascending = !ix.runs.descending
	return ix, nil
}

// PageIndexFor builds the index of process pid from pagemap-<pid>.img.
func PageIndexFor(images *ImageSet, pid uint32) (*PageIndex, error) {
	name := fmt.Sprintf("pagemap-%d.img", pid)
	img := images.Get(name)
	if img == nil {
		return nil, fmt.Errorf("%s: missing (a zombie, or a dump without memory)", name)
	}
	return NewPageIndex(img)
}

// PagemapFor returns the name of the pagemap image whose pages live in
// pages-<id>.img, and the pid for a process pagemap (0 for shared memory).
// It costs O(1): it is called once per pages image, hence once per process.
func PagemapFor(images *ImageSet, id uint32) (name string, pid uint32, ok bool) {
	name, ok = images.Pagemap(id)
	if !ok {
		return "", 0, false
	}
	if n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, "pagemap-"), ".img"), 10, 32); err == nil {
		pid = uint32(n)
	}
	return name, pid, true
}

// Len is the number of runs (pagemap entries with pages).
func (ix *PageIndex) Len() int { return ix.runs.Len() }

// All yields the runs in address order.
func (ix *PageIndex) All() iter.Seq[PageRun] { return ix.runs.All() }

// RunCursor reads the runs of an index one at a time, in address order.
// It is for walks that advance over two pagemaps side by side, which a
// range over All cannot do; it holds nothing per run.
type RunCursor struct{ c runCursor }

// Cursor returns a cursor before the first run. A nil index has no runs.
func (ix *PageIndex) Cursor() RunCursor {
	if ix == nil {
		return RunCursor{c: (*PageRuns)(nil).at(0)}
	}
	return RunCursor{c: ix.runs.at(0)}
}

// Next returns the next run; ok is false past the last.
func (c *RunCursor) Next() (r PageRun, ok bool) { return c.c.next() }

// From yields the runs that end after addr, in address order: the run
// holding addr, if any, then those after it.
func (ix *PageIndex) From(addr uint64) iter.Seq[PageRun] {
	return func(yield func(PageRun) bool) {
		c := ix.runs.at(ix.block(addr))
		for r, ok := c.next(); ok; r, ok = c.next() {
			if r.End() <= addr {
				continue
			}
			if !yield(r) {
				return
			}
		}
	}
}

// block returns the block whose runs may hold addr: the last that starts
// at or before it (runs before that block end before it starts), or the
// first.
func (ix *PageIndex) block(addr uint64) int {
	b, _ := slices.BinarySearchFunc(ix.runs.blocks, addr, func(k runBlock, a uint64) int {
		if k.start <= a {
			return -1
		}
		return 1
	})
	return max(b-1, 0)
}

// OffsetsAscend says whether the present runs lie in the pages image in
// address order, as CRIU writes them: then a reader of the pages image
// can follow the runs in address order in one forward pass.
func (ix *PageIndex) OffsetsAscend() bool { return ix.ascending }

// Lookup returns the run holding addr.
func (ix *PageIndex) Lookup(addr uint64) (PageRun, bool) {
	c := ix.runs.at(ix.block(addr))
	for r, ok := c.next(); ok && r.Start <= addr; r, ok = c.next() {
		if addr < r.End() {
			return r, true
		}
	}
	return PageRun{}, false
}

// Locate returns where addr's byte is in the pages image, or why it is not
// there.
func (ix *PageIndex) Locate(addr uint64) (int64, error) {
	r, ok := ix.Lookup(addr)
	switch {
	case !ok:
		return 0, fmt.Errorf("%#x: %w", addr, ErrNotDumped)
	case r.Present():
		return r.Offset + int64(addr-r.Start), nil
	case r.Flags&PageParent != 0:
		return 0, fmt.Errorf("%#x: %w", addr, ErrInParent)
	}
	return 0, fmt.Errorf("%#x: %w", addr, ErrLazy)
}

// PageSpan is a piece of a virtual range: either where its bytes are in the
// pages image, or why they are absent.
type PageSpan struct {
	Addr   uint64
	Len    uint64
	Offset int64 // -1 when absent
	Absent error // nil when present
}

// Spans splits [addr, addr+n) into present and absent pieces, in address
// order.
func (ix *PageIndex) Spans(addr, n uint64) []PageSpan {
	return slices.Collect(ix.EachSpan(addr, n))
}

// EachSpan yields the pieces Spans returns, one at a time: a range over a
// fragmented heap has a piece per pagemap entry, and a walk that reads
// them in order need not hold them all (48 bytes each).
func (ix *PageIndex) EachSpan(addr, n uint64) iter.Seq[PageSpan] {
	return func(yield func(PageSpan) bool) {
		end := addr + n
		if end < addr {
			end = 1<<64 - 1
		}
		cur := addr
		c := ix.runs.at(ix.block(addr))
		for r, ok := c.next(); ok && cur < end && r.Start < end; r, ok = c.next() {
			if r.End() <= addr {
				continue
			}
			if cur < r.Start {
				if !yield(PageSpan{Addr: cur, Len: r.Start - cur, Offset: -1, Absent: ErrNotDumped}) {
					return
				}
				cur = r.Start
			}
			stop := min(end, r.End())
			s := PageSpan{Addr: cur, Len: stop - cur, Offset: -1}
			switch {
			case r.Present():
				s.Offset = r.Offset + int64(cur-r.Start)
			case r.Flags&PageParent != 0:
				s.Absent = ErrInParent
			default:
				s.Absent = ErrLazy
			}
			if !yield(s) {
				return
			}
			cur = stop
		}
		if cur < end {
			yield(PageSpan{Addr: cur, Len: end - cur, Offset: -1, Absent: ErrNotDumped})
		}
	}
}

// Bytes counts the bytes of [start, end) that are present in the image,
// in the parent image, and lazy. It allocates nothing: it runs once per
// mapping, over runs a fragmented heap has thousands of.
func (ix *PageIndex) Bytes(start, end uint64) (present, parent, lazy int64) {
	if end <= start {
		return
	}
	c := ix.runs.at(ix.block(start))
	for r, ok := c.next(); ok && r.Start < end; r, ok = c.next() {
		if r.End() <= start {
			continue
		}
		n := int64(min(end, r.End()) - max(start, r.Start))
		switch {
		case r.Present():
			present += n
		case r.Flags&PageParent != 0:
			parent += n
		default:
			lazy += n
		}
	}
	return
}

// ReadAt fills p with the process memory at addr from a random-access pages
// image. It stops at the first byte that is not in the image and returns
// how many bytes it read and why it stopped, so absent memory is never
// mistaken for zeros.
func (ix *PageIndex) ReadAt(pages io.ReaderAt, p []byte, addr uint64) (int, error) {
	n := 0
	for _, s := range ix.Spans(addr, uint64(len(p))) {
		if s.Absent != nil {
			return n, fmt.Errorf("%#x: %w", s.Addr, s.Absent)
		}
		m, err := pages.ReadAt(p[n:n+int(s.Len)], s.Offset)
		n += m
		if err != nil {
			if err == io.EOF {
				err = fmt.Errorf("%#x: pages image ends at offset %d, before the pagemap says: %w", s.Addr+uint64(m), s.Offset+int64(m), io.ErrUnexpectedEOF)
			}
			return n, err
		}
	}
	return n, nil
}
