package mem

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"

	"github.com/ckpt-dev/ckpt/criu"
)

// layout builds an index and its pages image from run lengths (pages);
// gaps[i] unmapped pages precede run i. Present runs hold data.
func layout(t testing.TB, runs, gaps []int, data func(i int) byte) (*criu.PageIndex, []byte) {
	var entries []*entryArgs
	addr := uint64(0x10000)
	for i, n := range runs {
		addr += uint64(gaps[i]) * criu.PageSize
		entries = append(entries, &entryArgs{addr, uint64(n)})
		addr += uint64(n) * criu.PageSize
	}
	img := pagemapImage(nil)
	for _, e := range entries {
		img.Entries = append(img.Entries, entry(e.vaddr, e.pages, criu.PagePresent))
	}
	ix, err := criu.NewPageIndex(img)
	if err != nil {
		t.Fatal(err)
	}
	pages := make([]byte, ix.ImageBytes)
	for i := range pages {
		pages[i] = data(i)
	}
	return ix, pages
}

type entryArgs struct{ vaddr, pages uint64 }

// naive finds non-overlapping leftmost matches in each stretch of
// contiguous memory, the reference Search must agree with.
func naive(ix *criu.PageIndex, pages []byte, m Pattern) []uint64 {
	var out []uint64
	for _, r := range Present(ix) {
		var mem []byte
		for _, s := range ix.Spans(r.Start, r.Len()) {
			mem = append(mem, pages[s.Offset:s.Offset+int64(s.Len)]...)
		}
		switch m := m.(type) {
		case Literal:
			for i := 0; ; {
				j := bytes.Index(mem[i:], m)
				if j < 0 {
					break
				}
				out = append(out, r.Start+uint64(i+j))
				i += j + len(m)
			}
		case *Regex:
			for _, loc := range m.re.FindAllIndex(mem, -1) {
				out = append(out, r.Start+uint64(loc[0]))
			}
		}
	}
	return out
}

// streamOnly hides ReaderAt, to test the one-pass path.
type streamOnly struct{ io.Reader }

func search(t testing.TB, ix *criu.PageIndex, pages []byte, m Pattern, ctx, buf int, stream bool) ([]uint64, []Hit) {
	var r io.Reader = bytes.NewReader(pages)
	if stream {
		r = streamOnly{r}
	}
	var addrs []uint64
	var hits []Hit
	err := Search(ix, r, m, SearchOptions{Context: ctx, Buf: make([]byte, buf)}, func(h Hit) error {
		addrs = append(addrs, h.Addr)
		hits = append(hits, Hit{h.Addr, slices.Clone(h.Before), slices.Clone(h.Match), slices.Clone(h.After)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return addrs, hits
}

// TestSearchAcrossBoundaries plants a pattern across every page and entry
// boundary of contiguous memory and across a gap (where it must not
// match), and searches with read buffers from 1 byte to 1 MiB.
func TestSearchAcrossBoundaries(t *testing.T) {
	pat := []byte("NEEDLE-0123456789")
	runs, gaps := []int{2, 1, 3, 1}, []int{0, 0, 2, 0}
	ix, pages := layout(t, runs, gaps, func(i int) byte { return byte(i*7+1) | 0x80 })
	// Every page boundary in the image, at every split of the pattern.
	var want []uint64
	for _, r := range Present(ix) {
		for b := r.Start + criu.PageSize; b < r.End; b += criu.PageSize {
			split := int(b/criu.PageSize) % len(pat)
			if split == 0 {
				split = 1
			}
			at := b - uint64(split)
			off, _ := ix.Locate(at)
			for k := range pat {
				o, _ := ix.Locate(at + uint64(k))
				pages[o] = pat[k]
			}
			_ = off
			want = append(want, at)
		}
	}
	// Across the gap: the halves are not contiguous, so no match.
	last := Present(ix)[0].End
	o1, _ := ix.Locate(last - 5)
	copy(pages[o1:], pat[:5])
	o2, _ := ix.Locate(Present(ix)[1].Start)
	copy(pages[o2:], pat[5:])
	if got := naive(ix, pages, Literal(pat)); !slices.Equal(got, want) {
		t.Fatalf("reference finds %x, planted %x", got, want)
	}
	re, err := NewRegex(`NEEDLE-[0-9]+`, 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, buf := range []int{1, 5, 16, 4095, 4096, 3 * 4096, 1 << 20} {
		for _, stream := range []bool{false, true} {
			for _, m := range []Pattern{Literal(pat), re} {
				got, hits := search(t, ix, pages, m, 8, buf, stream)
				if !slices.Equal(got, want) {
					t.Errorf("buf %d stream %v %T: found %x, want %x", buf, stream, m, got, want)
				}
				for _, h := range hits {
					if !bytes.Equal(h.Match, pat) || len(h.Before) != 8 || len(h.After) != 8 {
						t.Errorf("buf %d: hit %x: %q before %d after %d", buf, h.Addr, h.Match, len(h.Before), len(h.After))
					}
				}
			}
		}
	}
}

// TestSearchContextStopsAtGaps: context never reaches across memory that
// is not contiguous.
func TestSearchContextStopsAtGaps(t *testing.T) {
	ix, pages := layout(t, []int{1, 1}, []int{0, 1}, func(int) byte { return 'x' })
	copy(pages[2:], "AB")
	copy(pages[criu.PageSize+criu.PageSize-3:], "CD")
	_, hits := search(t, ix, pages, Literal("AB"), 10, 64, true)
	if len(hits) != 1 || string(hits[0].Before) != "xx" || len(hits[0].After) != 10 {
		t.Fatalf("hits %+v", hits)
	}
	_, hits = search(t, ix, pages, Literal("CD"), 10, 64, false)
	if len(hits) != 1 || len(hits[0].Before) != 10 || string(hits[0].After) != "x" {
		t.Fatalf("hits %+v", hits)
	}
}

func TestSearchOverlappingCandidates(t *testing.T) {
	ix, pages := layout(t, []int{2}, []int{0}, func(int) byte { return 'a' })
	// "aa" in 8192 a's: 4096 non-overlapping matches, the same with any
	// buffer.
	for _, buf := range []int{1, 3, 4096} {
		got, _ := search(t, ix, pages, Literal("aa"), 0, buf, true)
		if len(got) != 4096 || got[1]-got[0] != 2 {
			t.Fatalf("buf %d: %d matches", buf, len(got))
		}
	}
}

func TestRegexRefusals(t *testing.T) {
	for _, expr := range []string{`^abc`, `abc$`, `\Aabc`, `x*`, `(`, `a|`} {
		if _, err := NewRegex(expr, 0); err == nil {
			t.Errorf("%q accepted", expr)
		}
	}
	for _, expr := range []string{`(?m)^abc`, `\bkey\b`, `AKIA[0-9A-Z]{16}`} {
		if _, err := NewRegex(expr, 0); err != nil {
			t.Errorf("%q: %v", expr, err)
		}
	}
}

func TestParseHexAndUTF16(t *testing.T) {
	for in, want := range map[string]string{"de ad be ef": "\xde\xad\xbe\xef", "0xDEADBEEF": "\xde\xad\xbe\xef", "de:ad": "\xde\xad"} {
		got, err := ParseHex(in)
		if err != nil || string(got) != want {
			t.Errorf("ParseHex(%q) = %x, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "abc", "zz"} {
		if _, err := ParseHex(in); err == nil {
			t.Errorf("ParseHex(%q) accepted", in)
		}
	}
	if got := UTF16("Aé€"); string(got) != "A\x00\xe9\x00\xac\x20" {
		t.Errorf("UTF16 = %x", got)
	}
}

// FuzzSearch compares Search with the reference on random layouts,
// patterns, buffer sizes and readers.
func FuzzSearch(f *testing.F) {
	f.Add([]byte("abc"), uint64(1), uint8(3), uint8(2), uint16(7), uint8(3), false, false)
	f.Add([]byte("x"), uint64(2), uint8(1), uint8(1), uint16(1), uint8(0), true, true)
	f.Add([]byte("ab+c"), uint64(3), uint8(4), uint8(3), uint16(100), uint8(9), true, false)
	f.Fuzz(func(t *testing.T, pat []byte, seed uint64, nruns, alpha uint8, buf uint16, ctx uint8, stream, isRegex bool) {
		if len(pat) == 0 || len(pat) > 64 || nruns == 0 || nruns > 6 || buf == 0 {
			return
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		var runs, gaps []int
		for range nruns {
			runs = append(runs, 1+rng.IntN(2))
			gaps = append(gaps, rng.IntN(2))
		}
		k := int(alpha%4) + 1 // a small alphabet makes matches common
		ix, pages := layout(t, runs, gaps, func(int) byte { return pat[rng.IntN(len(pat))%len(pat)] + byte(rng.IntN(k)) - byte(k/2) })
		var m Pattern = Literal(pat)
		if isRegex {
			re, err := NewRegex(string(pat), 128)
			if err != nil {
				return
			}
			// The promise holds only for matches no longer than MaxLen.
			for _, r := range Present(ix) {
				var mem []byte
				for _, s := range ix.Spans(r.Start, r.Len()) {
					mem = append(mem, pages[s.Offset:s.Offset+int64(s.Len)]...)
				}
				for _, loc := range re.re.FindAllIndex(mem, -1) {
					if loc[1]-loc[0] > re.MaxLen() || loc[1] == loc[0] {
						return
					}
				}
				if regexp.MustCompile(`\\b|\\B|\(\?[a-z]*m`).MatchString(string(pat)) {
					return // look-behind at seams is approximate by design
				}
			}
			m = re
		}
		want := naive(ix, pages, m)
		got, hits := search(t, ix, pages, m, int(ctx%17), int(buf%9000)+1, stream)
		if !slices.Equal(got, want) {
			t.Fatalf("found %x, reference %x", got, want)
		}
		for _, h := range hits {
			if l, ok := m.(Literal); ok && !bytes.Equal(h.Match, l) {
				t.Fatalf("match %q", h.Match)
			}
			if len(h.Before) > int(ctx%17) || len(h.After) > int(ctx%17) {
				t.Fatalf("context %d/%d > %d", len(h.Before), len(h.After), ctx%17)
			}
		}
	})
}

func ExampleSearch() {
	// pagemapImage and entry build a pagemap in tests; a real one comes
	// from criu.ReadImage.
	img := pagemapImage(nil)
	img.Entries = append(img.Entries, entry(0x10000, 1, criu.PagePresent), entry(0x11000, 1, criu.PagePresent))
	ix, _ := criu.NewPageIndex(img)
	pages := make([]byte, 2*criu.PageSize)
	copy(pages[criu.PageSize-3:], "SECRET") // across the page boundary
	Search(ix, bytes.NewReader(pages), Literal("SECRET"), SearchOptions{}, func(h Hit) error {
		fmt.Printf("%#x %s\n", h.Addr, h.Match)
		return nil
	})
	// Output: 0x10ffd SECRET
}
