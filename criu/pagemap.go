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
