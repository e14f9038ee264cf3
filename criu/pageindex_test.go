package criu

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
	"google.golang.org/protobuf/proto"
)

// plainIndex is the page index as a plain sorted []PageRun, built and
// looked up the straightforward way: the compact index must answer every
// question exactly as it does.
type plainIndex struct {
	runs       []PageRun
	imageBytes int64
}

func newPlainIndex(runs []PageRun) (*plainIndex, error) {
	p := &plainIndex{}
	for i, r := range runs {
		if r.Pages == 0 {
			continue
		}
		if r.Start%PageSize != 0 {
			return nil, fmt.Errorf("entry %d: address %#x is not page aligned", i+1, r.Start)
		}
		if r.Pages > (1<<64-1-r.Start)/PageSize || r.Pages > 1<<40 {
			return nil, fmt.Errorf("entry %d: %d pages at %#x overflow the address space", i+1, r.Pages, r.Start)
		}
		if r.Present() {
			p.imageBytes = r.Offset + int64(r.Pages)*PageSize
		}
		p.runs = append(p.runs, r)
	}
	slices.SortStableFunc(p.runs, func(a, b PageRun) int { return cmp.Compare(a.Start, b.Start) })
	for i := 1; i < len(p.runs); i++ {
		if p.runs[i].Start < p.runs[i-1].End() {
			return nil, fmt.Errorf("entries overlap at %#x", p.runs[i].Start)
		}
	}
	return p, nil
}

func (p *plainIndex) lookup(addr uint64) (PageRun, bool) {
	for _, r := range p.runs {
		if r.Start <= addr && addr < r.End() {
			return r, true
		}
	}
	return PageRun{}, false
}

// from is the runs that end after addr (sorted and apart, their ends
// ascend).
func (p *plainIndex) from(addr uint64) []PageRun {
	return p.runs[sort.Search(len(p.runs), func(i int) bool { return p.runs[i].End() > addr }):]
}

func (p *plainIndex) spans(addr, n uint64) []PageSpan {
	var out []PageSpan
	end := addr + n
	if end < addr {
		end = 1<<64 - 1
	}
	cur := addr
	for _, r := range p.from(addr) {
		if cur >= end || r.Start >= end {
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

func (p *plainIndex) bytes(start, end uint64) (present, parent, lazy int64) {
	if end <= start {
		return
	}
	for _, r := range p.from(start) {
		if r.Start >= end {
			break
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

func (p *plainIndex) ascending() bool {
	var off int64
	for _, r := range p.runs {
		if r.Present() {
			if r.Offset < off {
				return false
			}
			off = r.Offset + int64(r.Pages)*PageSize
		}
	}
	return true
}

// source picks numbers for a generated pagemap: from a random generator,
// or from fuzz bytes (zeros once they run out).
type source func(n uint64) uint64

func rngSource(rng *rand.Rand) source { return func(n uint64) uint64 { return rng.Uint64N(n) } }

func bytesSource(b []byte) source {
	return func(n uint64) uint64 {
		var v [8]byte
		k := copy(v[:], b)
		b = b[k:]
		return binary.LittleEndian.Uint64(v[:]) % n
	}
}

// genEntries makes a pagemap of up to max entries, in one of three
// kinds: as CRIU writes it (sorted; gaps, one or a few pages, now and
// then a huge count; present, lazy or in the parent; some entries in the
// old format), valid but irregular (also empty entries, odd flags, and
// entries out of order that do not overlap), or broken (also runs
// overlapping, unaligned or overflowing the address space).
func genEntries(pick source, max uint64) []*pagemap.PagemapEntry {
	kind := pick(3)
	n := pick(max + 1)
	var out []*pagemap.PagemapEntry
	addr := uint64(0x400000)
	for range n {
		switch k := pick(100); {
		case k < 35: // adjacent
		case k < 90:
			addr += (1 + pick(16)) * PageSize
		case k < 96:
			addr += pick(1<<28) * PageSize
		case kind < 2:
			addr += PageSize
		case k < 98: // back, into or before the runs so far
			addr -= min(addr, pick(64)*PageSize)
		case k < 99:
			addr = pick(1<<52) * PageSize
		default:
			addr += 1 + pick(PageSize-1)
		}
		var pages uint64
		switch k := pick(1000); {
		case k < 550:
			pages = 1
		case k < 950:
			pages = 2 + pick(15)
		case k < 955:
			pages = 1<<39 + pick(1<<39+1) // up to 2^40, the most an entry may have
		case k < 960:
			pages = 1<<32 + pick(16)
		case kind == 0:
			pages = 1
		case k < 990:
			pages = 0
		case kind == 1:
			pages = 3
		case k < 995:
			pages = 1<<40 + 1 + pick(16)
		default:
			pages = pick(1<<63) * 2
		}
		if addr > 1<<63 && kind < 2 {
			break // no room left
		}
		var flags uint32
		switch k := pick(100); {
		case k < 50:
			flags = PagePresent
		case k < 65:
			flags = PageLazy | PagePresent
		case k < 85:
			flags = PageParent
		case k < 90:
			flags = PageLazy
		case kind == 0:
			flags = PagePresent
		case k < 95:
			flags = uint32(pick(8))
		default:
			flags = uint32(pick(1 << 32))
		}
		e := &pagemap.PagemapEntry{Vaddr: proto.Uint64(addr), CompatNrPages: proto.Uint32(0), NrPages: proto.Uint64(pages), Flags: proto.Uint32(flags)}
		if pick(20) == 0 && pages < 1<<32 {
			// CRIU before 4.2: compat_nr_pages and in_parent.
			e = &pagemap.PagemapEntry{Vaddr: proto.Uint64(addr), CompatNrPages: proto.Uint32(uint32(pages)), InParent: proto.Bool(flags&PageParent != 0)}
		}
		out = append(out, e)
		addr += pages * PageSize
	}
	if kind > 0 && len(out) > 1 {
		// Out of order, without overlapping.
		for range pick(uint64(len(out))/8 + 2) {
			i, j := pick(uint64(len(out))), pick(uint64(len(out)))
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// runsOfEntries is what the pagemap says, in image order, with the
// offsets the pages image holds them at.
func runsOfEntries(entries []*pagemap.PagemapEntry) []PageRun {
	var out []PageRun
	var off int64
	for _, e := range entries {
		r := PageRun{Start: e.GetVaddr(), Pages: PageCount(e), Flags: PageFlags(e), Offset: -1}
		if r.Flags&PagePresent != 0 && r.Pages > 0 {
			r.Offset = off
			off += int64(min(r.Pages, 1<<40)) * PageSize
		}
		out = append(out, r)
	}
	return out
}

// checkIndex compares ix with the plain index of runs (in image order).
func checkIndex(t *testing.T, what string, ix *PageIndex, err error, runs []PageRun, pick source) {
	t.Helper()
	want, werr := newPlainIndex(runs)
	if (err == nil) != (werr == nil) || err != nil && err.Error() != "pagemap-1.img: "+werr.Error() && err.Error() != "pagemap: "+werr.Error() {
		t.Fatalf("%s: error %v, plain index: %v", what, err, werr)
	}
	if err != nil {
		return
	}
	if got := slices.Collect(ix.All()); !slices.Equal(got, want.runs) || ix.Len() != len(want.runs) {
		t.Fatalf("%s: runs\n got %+v\nwant %+v", what, got, want.runs)
	}
	var cursor []PageRun
	c := ix.Cursor()
	for r, ok := c.Next(); ok; r, ok = c.Next() {
		cursor = append(cursor, r)
	}
	if !slices.Equal(cursor, want.runs) {
		t.Fatalf("%s: cursor\n got %+v\nwant %+v", what, cursor, want.runs)
	}
	if ix.ImageBytes != want.imageBytes || ix.OffsetsAscend() != want.ascending() {
		t.Fatalf("%s: image bytes %d, ascending %v; want %d, %v", what, ix.ImageBytes, ix.OffsetsAscend(), want.imageBytes, want.ascending())
	}
	probes := []uint64{0, 1, PageSize, 1<<64 - 1, 1<<64 - PageSize}
	for range 16 {
		probes = append(probes, pick(1<<64-1))
	}
	for range min(len(want.runs), 30) {
		r := want.runs[pick(uint64(len(want.runs)))]
		probes = append(probes, r.Start-1, r.Start, r.Start+1, r.End()-1, r.End(), r.End()+PageSize)
	}
	for i, a := range probes {
		r, ok := ix.Lookup(a)
		wr, wok := want.lookup(a)
		if r != wr || ok != wok {
			t.Fatalf("%s: Lookup(%#x) = %+v %v, want %+v %v", what, a, r, ok, wr, wok)
		}
		off, err := ix.Locate(a)
		switch {
		case !wok:
			ok = errors.Is(err, ErrNotDumped)
		case wr.Present():
			ok = err == nil && off == wr.Offset+int64(a-wr.Start)
		case wr.Flags&PageParent != 0:
			ok = errors.Is(err, ErrInParent)
		default:
			ok = errors.Is(err, ErrLazy)
		}
		if !ok {
			t.Fatalf("%s: Locate(%#x) = %d, %v for run %+v", what, a, off, err, wr)
		}
		var from []PageRun
		for r := range ix.From(a) {
			if from = append(from, r); len(from) == 3 {
				break
			}
		}
		if w := want.from(a); !slices.Equal(from, w[:min(len(w), 3)]) {
			t.Fatalf("%s: From(%#x) = %+v, want %+v", what, a, from, w[:min(len(w), 3)])
		}
		lengths := []uint64{1, 3 * PageSize, pick(1 << 20)}
		if i%50 == 0 {
			// To the end of the address space: every run after a.
			lengths = append(lengths, pick(1<<40), 1<<64-1)
		}
		for _, n := range lengths {
			if got, w := ix.Spans(a, n), want.spans(a, n); !slices.Equal(got, w) {
				t.Fatalf("%s: Spans(%#x, %d)\n got %+v\nwant %+v", what, a, n, got, w)
			}
			end := a + n
			if end < a {
				end = 1<<64 - 1
			}
			p, q, l := ix.Bytes(a, end)
			wp, wq, wl := want.bytes(a, end)
			if p != wp || q != wq || l != wl {
				t.Fatalf("%s: Bytes(%#x, %#x) = %d %d %d, want %d %d %d", what, a, end, p, q, l, wp, wq, wl)
			}
		}
	}
}

// comparePagemap builds the index of entries three ways (decoded from the
// wire as ReadImage does, from messages, from runs) and checks each
// against the plain index; the image's runs must be the entries. It
// returns the image read from the wire.
func comparePagemap(t *testing.T, entries []*pagemap.PagemapEntry, pick source) *Image {
	t.Helper()
	runs := runsOfEntries(entries)
	held := &Image{Name: "pagemap-1.img", Entries: []proto.Message{&pagemap.PagemapHead{PagesId: proto.Uint32(1)}}}
	for _, e := range entries {
		held.Entries = append(held.Entries, e)
	}
	magic, _ := MagicByName("PAGEMAP")
	b, err := EncodeImage(magic, held.Entries...)
	if err != nil {
		t.Fatal(err)
	}
	img, err := ReadImage("pagemap-1.img", bytes.NewReader(b), Options{Size: int64(len(b))}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Collect(img.Runs.All()); !slices.Equal(got, runs) || img.Count() != len(entries)+1 {
		t.Fatalf("image runs\n got %+v\nwant %+v", got, runs)
	}
	ix, err := NewPageIndex(img)
	checkIndex(t, "from the wire", ix, err, runs, pick)
	ix, err = NewPageIndex(held)
	checkIndex(t, "from messages", ix, err, runs, pick)
	ix, err = PageIndexOf(runs)
	checkIndex(t, "from runs", ix, err, runs, pick)
	// Offsets that do not follow from the pagemap (a caller's own runs).
	for i := range runs {
		if pick(4) == 0 {
			runs[i].Offset = int64(pick(1<<50)) - 1<<20
		}
	}
	ix, err = PageIndexOf(runs)
	checkIndex(t, "from runs with their own offsets", ix, err, runs, pick)
	return img
}

// TestPageIndexMatchesPlain checks the compact index against the plain
// sorted []PageRun on random pagemaps: what CRIU writes, and what a broken
// or hostile pagemap holds.
func TestPageIndexMatchesPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	pick := rngSource(rng)
	for i := range 400 {
		max := uint64(10)
		switch i % 4 {
		case 1:
			max = 200
		case 2:
			max = 1500
		}
		comparePagemap(t, genEntries(pick, max), pick)
	}
}

// TestPageIndexClean covers a pagemap as CRIU writes it, long enough for
// many blocks and chunks: the index shares the image's runs, which take a
// few bytes per entry.
func TestPageIndexClean(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pick := rngSource(rng)
	var entries []*pagemap.PagemapEntry
	addr := uint64(0x7f0000000000)
	const n = 100_000
	for i := range n {
		pages := 1 + pick(3)
		flags := []uint32{PagePresent, PagePresent | PageLazy, PageParent, PageLazy}[pick(4)]
		entries = append(entries, &pagemap.PagemapEntry{Vaddr: proto.Uint64(addr), CompatNrPages: proto.Uint32(0), NrPages: proto.Uint64(pages), Flags: proto.Uint32(flags)})
		addr += (pages + pick(3)) * PageSize
		if i%10000 == 9999 {
			addr += 1 << 40
		}
	}
	img := comparePagemap(t, entries, pick)
	ix, err := NewPageIndex(img)
	if err != nil || len(img.Runs.chunks) < 3 || &ix.runs.chunks[2][0] != &img.Runs.chunks[2][0] {
		t.Fatalf("the index of clean runs does not share them: %v", err)
	}
	if per := float64(img.Runs.bytes()) / n; per > 6 {
		t.Errorf("%.1f bytes per entry", per)
	}
}

// FuzzPageIndex checks the compact index against the plain one on
// pagemaps made from the fuzzer's bytes.
func FuzzPageIndex(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{7, 1, 200, 30, 90, 0, 0, 0}, 40))
	f.Add([]byte("\x40\x00\x00\x00\x00\x00\x00\x00\x5d\x00\x00\x00\x00\x00\x00\x00\x58"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pick := bytesSource(b)
		comparePagemap(t, genEntries(pick, 200), pick)
	})
}

// BenchmarkBytes counts the bytes of each of 100,000 one-page mappings
// over as many one-page runs, as `mem maps` does on the mappings-100k
// shape: the compact index against the plain sorted runs.
func BenchmarkBytes(b *testing.B) {
	var runs []PageRun
	for i := range uint64(100_000) {
		runs = append(runs, PageRun{Start: 0x7f0000000000 + 2*i*PageSize, Pages: 1, Flags: PagePresent, Offset: int64(i) * PageSize})
	}
	ix, err := PageIndexOf(runs)
	if err != nil {
		b.Fatal(err)
	}
	plain, _ := newPlainIndex(runs)
	for _, bc := range []struct {
		name  string
		bytes func(start, end uint64) (int64, int64, int64)
	}{{"compact", ix.Bytes}, {"plain", plain.bytes}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				for _, r := range runs {
					bc.bytes(r.Start, r.End())
				}
			}
		})
	}
}
