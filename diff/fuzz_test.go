package diff

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/internal/testgen"
	"github.com/ckpt-dev/ckpt/proc"
)

// FuzzRead feeds arbitrary archives to Read: it must fail cleanly or give
// a snapshot that does not differ from itself.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"podman-simple.tar", "podman-simple.tar.zst"} {
		b, err := os.ReadFile(fixture(f, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var buf bytes.Buffer
	if _, err := testgen.Write(&buf, testgen.Spec{Seed: 3, Processes: 2, TCP: []testgen.TCPConn{{}}, RootFS: []testgen.File{{Path: "a", Content: []byte("x")}}}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		d := New(Options{Limits: archive.Limits{MaxImage: 8 << 20, MaxEntry: 1 << 20, MaxMetadata: 1 << 20}})
		read := func() *Snapshot {
			a, err := archive.OpenReader("fuzz", bytes.NewReader(data), archive.Options{})
			if err != nil {
				return nil
			}
			defer a.Close()
			s, err := d.Read(context.Background(), a)
			if err != nil {
				return nil
			}
			return s
		}
		sa := read()
		if sa == nil {
			return
		}
		sb := read()
		if sb == nil {
			t.Fatal("the same bytes read once and failed the second time")
		}
		r, err := d.Compare(sa, sb)
		if err != nil {
			t.Fatal(err)
		}
		if r.Different {
			t.Fatalf("an archive differs from itself: %+v", r.Summary)
		}
		// Read at the same time, compared while streaming: the same report.
		var ars [2]*archive.Archive
		for i := range ars {
			a, err := archive.OpenReader("fuzz", bytes.NewReader(data), archive.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			ars[i] = a
		}
		sa, sb, err = d.ReadBoth(context.Background(), ars[0], ars[1])
		if err != nil {
			t.Fatalf("read in turn, then failed read at once: %v", err)
		}
		both, err := d.Compare(sa, sb)
		if err != nil {
			t.Fatal(err)
		}
		if !equalJSON(both, r) {
			t.Fatalf("read at once: %+v\nin turn: %+v", both.Summary, r.Summary)
		}
	})
}

// FuzzComparePages checks the run-based page walk against a page-by-page
// comparison of two pagemaps decoded from the input.
func FuzzComparePages(f *testing.F) {
	f.Add([]byte{0, 3, 1, 1, 2, 2, 1, 1, 0, 4, 0, 0, 0xff, 1, 3, 1, 1, 2, 1, 2, 5, 1, 0, 0})
	f.Add([]byte{1, 1, 1, 0, 0, 1, 1, 1})
	f.Fuzz(fuzzComparePagesBody)
}

// pageContent holds the hash of a page filled with each byte value.
var pageContent = func() (h [256]uint64) {
	seed := maphash.MakeSeed()
	for c := range h {
		h[c] = maphash.Bytes(seed, bytes.Repeat([]byte{byte(c)}, criu.PageSize))
	}
	return h
}()

func fuzzComparePagesBody(t *testing.T, data []byte) {
	if len(data) > 4096 {
		return
	}
	half := len(data) / 2
	// Each 4 bytes: gap before the run (pages), length, present,
	// content of its pages.
	decode := func(b []byte) (*pageHashes, map[uint64]int) {
		ph := &pageHashes{}
		var runs []criu.PageRun
		pages := map[uint64]int{} // addr -> content byte, or -1 when absent
		addr := uint64(0x10000)
		var off int64
		for ; len(b) >= 4; b = b[4:] {
			addr += uint64(b[0]%8) * criu.PageSize
			n := uint64(b[1]%16) + 1
			run := criu.PageRun{Start: addr, Pages: n, Offset: -1, Flags: criu.PageParent}
			if b[2]%2 == 1 {
				run.Offset, run.Flags = off, criu.PagePresent
				off += int64(n) * criu.PageSize
			}
			for k := range n {
				a := addr + k*criu.PageSize
				if run.Present() {
					c := b[3] ^ byte(k%2)
					pages[a] = int(c)
					ph.hashes = append(ph.hashes, pageContent[c])
				} else {
					pages[a] = -1
				}
			}
			runs = append(runs, run)
			addr += n * criu.PageSize
		}
		ph.ix = pageIndex(t, runs)
		return ph, pages
	}
	a, pa := decode(data[:half])
	b, pb := decode(data[half:])
	d := comparePages(a, b, nil, nil)
	var want []pageChange
	var counts PageDiff
	for _, addr := range slices.Sorted(maps.Keys(mergeKeys(pa, pb))) {
		ca, okA := pa[addr]
		cb, okB := pb[addr]
		switch {
		case okA && okB && ca >= 0 && cb >= 0 && ca == cb:
			counts.Unchanged++
		case okA && okB && ca >= 0 && cb >= 0:
			counts.Changed++
			want = append(want, pageChange{addr, Changed})
		case (okA && ca < 0) || (okB && cb < 0):
			counts.NotComparable++
		case okA:
			counts.Removed++
			want = append(want, pageChange{addr, Removed})
		default:
			counts.Added++
			want = append(want, pageChange{addr, Added})
		}
	}
	if got := expand(t, d); !slices.Equal(got, want) {
		t.Errorf("runs give %v, want %v", got, want)
	}
	if d.Unchanged != counts.Unchanged || d.NotComparable != counts.NotComparable {
		t.Errorf("unchanged %d, not comparable %d; want %d, %d", d.Unchanged, d.NotComparable, counts.Unchanged, counts.NotComparable)
	}
	// Hashes streamed in batches give the same comparison as a table.
	sa, sb := streamed(a), streamed(b)
	s := comparePages(sa, sb, nil, nil)
	sa.stream.drain()
	sb.stream.drain()
	if !equalJSON(s, d) {
		t.Errorf("streamed: %+v, want %+v", s, d)
	}
	// Naming mappings afterwards gives what naming them during the walk
	// gives: mappings of 3 pages with 1-page gaps, from data.
	var ms []proc.Mapping
	for i, addr := 0, uint64(0x10000); i < len(data) && addr < 0x10000+512*criu.PageSize; i++ {
		addr += uint64(data[i]%2) * criu.PageSize
		ms = append(ms, mapping(addr, addr+3*criu.PageSize, "rw-p", "anonymous", fmt.Sprint("m", i)))
		addr += 3 * criu.PageSize
	}
	finders := func() (*mappingFinder, *mappingFinder) {
		return &mappingFinder{maps: ms}, &mappingFinder{maps: ms[len(ms)/2:]}
	}
	fa, fb := finders()
	want2 := comparePages(a, b, fa, fb)
	fa, fb = finders()
	if got := labelled(d, fa, fb); !equalJSON(got, want2) {
		t.Errorf("labelled afterwards:\n%+v\nwant\n%+v", got, want2)
	}
}

// streamed returns ph with its hashes coming from a goroutine in batches
// of three, as a streamed archive's do.
func streamed(ph *pageHashes) *pageHashes {
	ch := make(chan []uint64)
	go func() {
		defer close(ch)
		for h := ph.hashes; len(h) > 0; {
			n := min(3, len(h))
			ch <- h[:n]
			h = h[n:]
		}
	}()
	return &pageHashes{ix: ph.ix, stream: &digestStream{ch: ch}}
}

func mergeKeys(a, b map[uint64]int) map[uint64]bool {
	out := map[uint64]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// FuzzEnv applies the changes compareEnv reports to A's environment and
// requires B's.
func FuzzEnv(f *testing.F) {
	f.Add("PATH=/bin\x00HOME=/\x00A=1\x00A=2", "PATH=/usr/bin\x00A=1\x00B=\x00NOEQ")
	f.Add("", "X=1")
	f.Fuzz(func(t *testing.T, a, b string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, "\x00")
		}
		ea, eb := split(a), split(b)
		var sum Counts
		type key struct {
			name string
			n    int
		}
		env := map[key]string{}
		for _, v := range parseEnv(ea) {
			env[key{v.name, v.n}] = v.value
		}
		changes := compareEnv(ea, eb, true, &sum)
		for _, c := range changes {
			switch c.Change {
			case Removed:
				delete(env, key{c.Name, c.Occurrence})
			case Added, Changed:
				env[key{c.Name, c.Occurrence}] = c.New
			}
		}
		want := map[key]string{}
		for _, v := range parseEnv(eb) {
			want[key{v.name, v.n}] = v.value
		}
		if !maps.Equal(env, want) {
			t.Errorf("A with the changes applied is %v, B is %v", env, want)
		}
		if !slices.IsSortedFunc(changes, func(x, y EnvChange) int {
			return cmp.Or(strings.Compare(x.Name, y.Name), cmp.Compare(x.Occurrence, y.Occurrence))
		}) {
			t.Errorf("changes not sorted: %v", changes)
		}
	})
}
