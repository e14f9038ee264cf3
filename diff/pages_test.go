package diff

import (
	"bytes"
	"errors"
	"hash/maphash"
	"io"
	"slices"
	"testing"
	"testing/iotest"

	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/proc"
)

// pagemap builds page hashes from runs given as (start, pages, present),
// with page contents chosen by content(addr).
func pagemap(seed maphash.Seed, content func(addr uint64) byte, runs ...[3]uint64) *pageHashes {
	ph := &pageHashes{}
	var off int64
	var prs []criu.PageRun
	for _, r := range runs {
		run := criu.PageRun{Start: r[0], Pages: r[1], Offset: -1, Flags: criu.PageParent}
		if r[2] == 1 {
			run.Offset, run.Flags = off, criu.PagePresent
			off += int64(r[1]) * criu.PageSize
			for k := range r[1] {
				page := bytes.Repeat([]byte{content(r[0] + k*criu.PageSize)}, criu.PageSize)
				ph.hashes = append(ph.hashes, maphash.Bytes(seed, page))
			}
		}
		prs = append(prs, run)
	}
	ix, err := criu.PageIndexOf(prs)
	if err != nil {
		panic(err)
	}
	ph.ix = ix
	return ph
}

// pageIndex indexes runs built by a test.
func pageIndex(t testing.TB, runs []criu.PageRun) *criu.PageIndex {
	t.Helper()
	ix, err := criu.PageIndexOf(runs)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestComparePages(t *testing.T) {
	seed := maphash.MakeSeed()
	same := func(uint64) byte { return 1 }
	// B's content differs at 0x3000 and 0x4000.
	other := func(a uint64) byte {
		if a == 0x3000 || a == 0x4000 {
			return 2
		}
		return 1
	}
	a := pagemap(seed, same, [3]uint64{0x1000, 4, 1}, [3]uint64{0x10000, 2, 1}, [3]uint64{0x20000, 3, 0})
	b := pagemap(seed, other, [3]uint64{0x2000, 4, 1}, [3]uint64{0x10000, 1, 1}, [3]uint64{0x20000, 3, 1})
	maps := &mappingFinder{maps: []proc.Mapping{mapping(0x1000, 0x5000, "rw-p", "heap", "[heap]"), mapping(0x5000, 0x6000, "rw-p", "anonymous", ""), mapping(0x10000, 0x30000, "rw-p", "anonymous", "")}}
	d := comparePages(a, b, maps, maps)
	want := &PageDiff{
		Unchanged: 2, Changed: 2, Added: 1, Removed: 2, NotComparable: 3,
		Runs: []PageRun{
			{Start: 0x1000, End: 0x2000, Pages: 1, Change: Removed, Mapping: "[heap]"},
			{Start: 0x3000, End: 0x5000, Pages: 2, Change: Changed, Mapping: "[heap]"},
			// Contiguous with the run before, but in another mapping.
			{Start: 0x5000, End: 0x6000, Pages: 1, Change: Added, Mapping: "[anonymous]"},
			{Start: 0x11000, End: 0x12000, Pages: 1, Change: Removed, Mapping: "[anonymous]"},
		},
	}
	if !equalJSON(d, want) {
		t.Errorf("got  %+v\nwant %+v", d, want)
	}
}

// TestHugeAbsentRuns: a pagemap may claim 2^40 pages in a parent image;
// they hold no data and must not be walked page by page.
func TestHugeAbsentRuns(t *testing.T) {
	seed := maphash.MakeSeed()
	same := func(uint64) byte { return 0 }
	a := pagemap(seed, same, [3]uint64{0x1000, 1 << 40, 0})
	b := pagemap(seed, same, [3]uint64{0x1000, 1, 1}, [3]uint64{0x3000, 1 << 39, 0})
	d := comparePages(a, b, nil, nil)
	if d.NotComparable != 1<<40 || len(d.Runs) != 0 {
		t.Errorf("%+v", d)
	}
}

// TestHasherChunking feeds the hasher in odd pieces: page hashes must not
// depend on how the stream is cut.
func TestHasherChunking(t *testing.T) {
	seed := maphash.MakeSeed()
	data := make([]byte, 5*criu.PageSize)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	ix, err := criu.PageIndexOf([]criu.PageRun{{Start: 0, Pages: 5, Offset: 0, Flags: criu.PagePresent}})
	if err != nil || ix.ImageBytes != int64(len(data)) {
		t.Fatal(ix, err)
	}
	var want []uint64
	for p := range 5 {
		want = append(want, maphash.Bytes(seed, data[p*criu.PageSize:(p+1)*criu.PageSize]))
	}
	for _, r := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data)), iotest.HalfReader(bytes.NewReader(data))} {
		h := newPageHasher(seed, ix, true)
		// Part through Write, as the extractor's tee does, the rest by fill.
		head := make([]byte, 1234)
		io.ReadFull(r, head)
		h.Write(head)
		if err := h.fill(r, make([]byte, 3000)); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(h.hashes(ix).hashes, want) {
			t.Errorf("hashes differ with %T", r)
		}
	}
	// A pages image shorter than the pagemap says fails.
	h := newPageHasher(seed, ix, true)
	if err := h.fill(bytes.NewReader(data[:3*criu.PageSize+5]), make([]byte, 4096)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short pages image: %v", err)
	}
}
