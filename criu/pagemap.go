package criu

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

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
// image holds them, as callers see it; the page index holds runs
// delta-encoded ([PageRuns]), about 4 bytes an entry.
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

// entry rebuilds the pagemap entry r was decoded from, in CRIU 4.2's form
// when the image used nr_pages (PageCount and PageFlags read it back as r).
func (r PageRun) entry(nrPages bool) *pagemap.PagemapEntry {
	e := &pagemap.PagemapEntry{Vaddr: proto.Uint64(r.Start), Flags: proto.Uint32(r.Flags)}
	if nrPages || r.Pages > 1<<32-1 {
		e.CompatNrPages, e.NrPages = proto.Uint32(0), proto.Uint64(r.Pages)
	} else {
		e.CompatNrPages = proto.Uint32(uint32(r.Pages))
	}
	return e
}

// pagemapEntryBytes is the typical size of an encoded pagemap entry with
// its length prefix (a 48-bit address, a page count and flags: about 18
// bytes; one less, so that a count of ordinary entries is not short).
const pagemapEntryBytes = 17

// readPagemap decodes a pagemap image: its head as a message, its entries
// straight from the wire into compact runs. A fragmented heap has millions
// of entries; decoding each into a message would allocate four times per
// entry and hold a hundred times the bytes.
func readPagemap(img *Image, rd *Reader, opt Options, maxBytes int64) (*Image, error) {
	head, err := rd.Next()
	if err == io.EOF {
		return img, nil
	}
	if err != nil {
		return nil, err
	}
	img.Entries = append(img.Entries, head)
	held := int64(proto.Size(head))
	img.Runs = &PageRuns{}
	if opt.Size > 0 {
		// An ordinary entry takes 2 to 4 bytes as a run: sized so, the
		// runs of a million entries are allocated once, or regrown by a
		// quarter at a time.
		entries := opt.Size / pagemapEntryBytes
		img.Runs.grow(entries*5/2+16, entries)
	}
	var off int64
	for {
		b, err := rd.nextRaw()
		if err == io.EOF {
			return img, nil
		}
		if err != nil {
			return nil, err
		}
		held += int64(len(b))
		if maxBytes > 0 && held > maxBytes {
			return nil, fmt.Errorf("%w: entries exceed the %d-byte image limit%w", ErrFormat, maxBytes, quietError{ErrImageLimit})
		}
		r, nrPages, err := decodePagemapEntry(b)
		if err != nil {
			return nil, rd.errorf("%w", err)
		}
		img.NrPages = img.NrPages || nrPages
		r.Offset = nextOffset(r, off)
		off = follows(r, off)
		img.Runs.add(r)
	}
}

// decodePagemapEntry decodes one pagemap_entry as PageCount and PageFlags
// read it: nr_pages (5) over compat_nr_pages (2), flags (4) over in_parent
// (3). Unknown fields are skipped, as proto.Unmarshal does.
func decodePagemapEntry(b []byte) (r PageRun, nrPages bool, err error) {
	var compat, flags uint64
	var hasFlags, inParent, hasVaddr, hasCompat bool
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return r, false, protowire.ParseError(n)
		}
		b = b[n:]
		if typ != protowire.VarintType || num < 1 || num > 5 {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return r, false, protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return r, false, protowire.ParseError(n)
		}
		b = b[n:]
		switch num {
		case 1:
			r.Start, hasVaddr = v, true
		case 2:
			compat, hasCompat = uint64(uint32(v)), true
		case 3:
			inParent = protowire.DecodeBool(v)
		case 4:
			flags, hasFlags = uint64(uint32(v)), true
		case 5:
			r.Pages, nrPages = v, true
		}
	}
	if !hasVaddr || !hasCompat {
		// Both are required in CRIU's pagemap.proto, as proto.Unmarshal
		// insists.
		return r, false, errors.New("pagemap entry without vaddr or compat_nr_pages")
	}
	if !nrPages {
		r.Pages = compat
	}
	switch {
	case hasFlags:
		r.Flags = uint32(flags)
	case inParent:
		r.Flags = PageParent
	default:
		r.Flags = PagePresent
	}
	r.Offset = -1
	return r, nrPages, nil
}

// SniffNrPages reads a pagemap image only as far as its first few entries
// and says whether they count pages in nr_pages, new in CRIU 4.2. A listing
// that wants the CRIU version of an archive without a dump.log learns it
// from this, not from decoding every entry of a heap fragmented a million
// ways.
func SniffNrPages(r io.Reader, opt Options) (bool, error) {
	rd, err := NewReader(r, opt)
	if err != nil {
		return false, err
	}
	if _, err := rd.Next(); err != nil {
		if err == io.EOF {
			return false, nil
		}
		return false, err
	}
	for range 16 {
		b, err := rd.nextRaw()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		_, nrPages, err := decodePagemapEntry(b)
		if err != nil {
			return false, rd.errorf("%w", err)
		}
		if nrPages {
			return true, nil
		}
	}
	return false, nil
}
