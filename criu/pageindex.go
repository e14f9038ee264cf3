package criu

import (
	"cmp"
	"errors"
	"fmt"
	"io"
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
type PageIndex struct {
	// Name is the pagemap image the index was built from.
	Name string
	// PagesID is N of the pages-N.img that holds the present pages.
	PagesID uint32
	Runs    []PageRun
	// ImageBytes is how many bytes the present pages occupy in pages-N.img.
	ImageBytes int64
}

// NewPageIndex builds the index of a decoded pagemap image. It rejects a
// pagemap whose entries overlap or whose sizes overflow: either would make
// addresses ambiguous.
//
// The index shares the image's runs when they are already clean (the
// common case: CRIU writes them sorted, without empty entries), so
// building one costs a pass over them and no copy; callers must not
// modify Runs.
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
	ix := &PageIndex{Name: img.Name, PagesID: head.GetPagesId()}
	runs := img.Runs
	if len(img.Entries) > 1 {
		// Built by hand (tests, or a caller's own image): decoded entries.
		runs = nil
		var off int64
		for _, m := range img.Entries[1:] {
			e, ok := m.(*pagemap.PagemapEntry)
			if !ok {
				return nil, fmt.Errorf("%s: not a pagemap image", img.Name)
			}
			r := PageRun{Start: e.GetVaddr(), Pages: PageCount(e), Flags: PageFlags(e), Offset: -1}
			if r.Flags&PagePresent != 0 && r.Pages > 0 {
				r.Offset = off
				off += int64(min(r.Pages, 1<<40)) * PageSize
			}
			runs = append(runs, r)
		}
	}
	clean := true
	for i, r := range runs {
		if r.Pages == 0 {
			clean = false
			continue
		}
		if r.Start%PageSize != 0 {
			return nil, fmt.Errorf("%s: entry %d: address %#x is not page aligned", img.Name, i+1, r.Start)
		}
		if r.Pages > (1<<64-1-r.Start)/PageSize || r.Pages > 1<<40 {
			return nil, fmt.Errorf("%s: entry %d: %d pages at %#x overflow the address space", img.Name, i+1, r.Pages, r.Start)
		}
		if r.Present() {
			ix.ImageBytes = r.Offset + int64(r.Pages)*PageSize
		}
		if i > 0 && r.Start < runs[i-1].Start {
			clean = false
		}
	}
	if clean {
		ix.Runs = slices.Clip(runs)
	} else {
		ix.Runs = slices.DeleteFunc(slices.Clone(runs), func(r PageRun) bool { return r.Pages == 0 })
		// CRIU writes entries in address order; sort anyway.
		slices.SortStableFunc(ix.Runs, func(a, b PageRun) int { return cmp.Compare(a.Start, b.Start) })
	}
	// Then insist on no overlap.
	for i := 1; i < len(ix.Runs); i++ {
		if ix.Runs[i].Start < ix.Runs[i-1].End() {
			return nil, fmt.Errorf("%s: entries overlap at %#x", img.Name, ix.Runs[i].Start)
		}
	}
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

// Lookup returns the run holding addr.
func (ix *PageIndex) Lookup(addr uint64) (PageRun, bool) {
	i, found := slices.BinarySearchFunc(ix.Runs, addr, func(r PageRun, a uint64) int {
		switch {
		case r.End() <= a:
			return -1
		case r.Start > a:
			return 1
		}
		return 0
	})
	if !found {
		return PageRun{}, false
	}
	return ix.Runs[i], true
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
	var out []PageSpan
	end := addr + n
	if end < addr {
		end = 1<<64 - 1
	}
	i, _ := slices.BinarySearchFunc(ix.Runs, addr, func(r PageRun, a uint64) int {
		if r.End() <= a {
			return -1
		}
		return 1
	})
	cur := addr
	for ; cur < end && i < len(ix.Runs); i++ {
		r := ix.Runs[i]
		if r.Start >= end {
			break
		}
		if cur < r.Start {
			out = append(out, PageSpan{Addr: cur, Len: r.Start - cur, Offset: -1, Absent: ErrNotDumped})
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
		out = append(out, s)
		cur = stop
	}
	if cur < end {
		out = append(out, PageSpan{Addr: cur, Len: end - cur, Offset: -1, Absent: ErrNotDumped})
	}
	return out
}

// Bytes counts the bytes of [start, end) that are present in the image,
// in the parent image, and lazy. It allocates nothing: it runs once per
// mapping, over runs a fragmented heap has thousands of.
func (ix *PageIndex) Bytes(start, end uint64) (present, parent, lazy int64) {
	if end <= start {
		return
	}
	i, _ := slices.BinarySearchFunc(ix.Runs, start, func(r PageRun, a uint64) int {
		if r.End() <= a {
			return -1
		}
		return 1
	})
	for ; i < len(ix.Runs) && ix.Runs[i].Start < end; i++ {
		r := ix.Runs[i]
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
