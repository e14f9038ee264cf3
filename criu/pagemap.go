package criu

import (
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
)

// Page flags of a pagemap entry (CRIU's PE_*).
const (
	PageParent  = 1 << 0 // the pages are in the parent (pre-dump) image
	PageLazy    = 1 << 1 // the pages may be fetched lazily on restore
	PagePresent = 1 << 2 // the pages are in this dump's pages image
)

// PageCount returns how many pages a pagemap entry covers. CRIU 4.2 moved
// the count to nr_pages (field 5) and writes compat_nr_pages (field 2) as
// 0; older images have only field 2. A decoder that reads field 2 alone
// sees every CRIU 4.2 dump as empty.
func PageCount(e *pagemap.PagemapEntry) uint64 {
	if e.NrPages != nil {
		return e.GetNrPages()
	}
	return uint64(e.GetCompatNrPages())
}

// PageFlags returns the entry's PE_* flags. Images from before CRIU had
// flags mark parent pages with in_parent and all others as present.
func PageFlags(e *pagemap.PagemapEntry) uint32 {
	if e.Flags != nil {
		return e.GetFlags()
	}
	if e.GetInParent() {
		return PageParent
	}
	return PagePresent
}

// pagesIDOf returns the pages_id of a pagemap image's head.
func pagesIDOf(img *Image) (uint32, bool) {
	if img == nil || !strings.HasPrefix(img.Name, "pagemap-") || len(img.Entries) == 0 {
		return 0, false
	}
	h, ok := img.Entries[0].(*pagemap.PagemapHead)
	if !ok {
		return 0, false
	}
	return h.GetPagesId(), true
}

// PageSize is the page size of the dumps a pagemap describes (x86-64 and
// arm64 with 4K pages).
const PageSize = 4096

// PageRun is one pagemap entry: a stretch of pages and where the pages
// image holds them. It is 32 bytes, what the page index holds per entry.
type PageRun struct {
	Start uint64 // first virtual address
	Pages uint64
	Flags uint32 // Page* flags
	// Offset of the first page in the pages image; -1 when the pages are
	// not in this image.
	Offset int64
}

// End is the first address after the run.
func (r PageRun) End() uint64 { return r.Start + r.Pages*PageSize }

// Present says whether the run's bytes are in this image.
func (r PageRun) Present() bool { return r.Offset >= 0 }

// pageRunner turns decoded pagemap entries into runs, giving each present
// run its offset in the pages image in entry order, as CRIU writes pages.
type pageRunner struct{ off int64 }

func (p *pageRunner) add(img *Image, e *pagemap.PagemapEntry) {
	if e.NrPages != nil {
		img.NrPages = true
	}
	r := PageRun{Start: e.GetVaddr(), Pages: PageCount(e), Flags: PageFlags(e), Offset: -1}
	if r.Flags&PagePresent != 0 && r.Pages > 0 {
		// The page index rejects counts past 2^40 pages; until then the
		// offsets stay far from overflowing.
		r.Offset = p.off
		p.off += int64(min(r.Pages, 1<<40)) * PageSize
	}
	img.Runs = append(img.Runs, r)
}
