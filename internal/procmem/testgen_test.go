package procmem

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/testgen"
	"github.com/ckpt-dev/ckpt/mem"
)

// generate writes a synthetic archive and opens it.
func generate(t testing.TB, spec testgen.Spec, c testgen.Compression) (string, testgen.Layout) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "checkpoint-gen.tar")
	l, err := testgen.WriteFile(path, spec, c, false)
	if err != nil {
		t.Fatal(err)
	}
	return path, l
}

func open(t testing.TB, path string) *archive.Archive {
	t.Helper()
	a, err := archive.Open(path, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestSearchFindsStraddlingMarkers plants markers across page boundaries
// and across contiguous pagemap entries, in several processes, and wants
// each found exactly once, at its address, on a plain and on a compressed
// archive.
func TestSearchFindsStraddlingMarkers(t *testing.T) {
	spec := testgen.Spec{
		Processes: 3, PageBytes: 8 << 20, MaxRunPages: 4, Seed: 7,
		Markers: []testgen.Marker{
			{Data: []byte("STRADDLE-PAGE-0-1234567890"), Process: 0, Region: testgen.RegionAnon, Straddle: testgen.StraddlePage},
			{Data: []byte("STRADDLE-ENTRY-0-abcdefghij"), Process: 0, Region: testgen.RegionAnon, Straddle: testgen.StraddleEntry},
			{Data: []byte("STRADDLE-ENTRY-2-klmnopqrst"), Process: 2, Region: testgen.RegionAnon, Straddle: testgen.StraddleEntry},
			{Data: []byte("HEAP-MARKER-1"), Process: 1},
		},
	}
	for _, c := range []testgen.Compression{testgen.None, testgen.Zstd} {
		path, l := generate(t, spec, c)
		for _, pm := range l.Markers {
			for _, m := range []mem.Pattern{mem.Literal(pm.Data), mustRegex(t, strings.ReplaceAll(string(pm.Data), "-", "[-]"))} {
				res, err := Search(context.Background(), open(t, path), SearchOptions{Pattern: m})
				if err != nil {
					t.Fatal(err)
				}
				if res.Total != 1 || len(res.Hits) != 1 || res.Hits[0].PID != uint32(pm.PID) || res.Hits[0].Address != pm.Vaddr {
					t.Errorf("compression %v, %q: hits %+v, want one at pid %d %#x", c, pm.Data, res.Hits, pm.PID, pm.Vaddr)
					continue
				}
				if !bytes.Equal(res.Hits[0].Match, pm.Data) || res.Hits[0].Mapping == nil {
					t.Errorf("%q: match %q mapping %v", pm.Data, res.Hits[0].Match, res.Hits[0].Mapping)
				}
			}
		}
	}
}

func mustRegex(t testing.TB, expr string) *mem.Regex {
	re, err := mem.NewRegex(expr, 0)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

// TestBadInputs: each damaged archive gives an error that names the
// archive and the entry, and the read delivers nothing.
func TestBadInputs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  testgen.Spec
		pid   func(l testgen.Layout) uint32
		entry string
		want  string
		is    error
	}{
		{"past end", testgen.Spec{Break: testgen.Break{PagemapPastEnd: true}}, first, "checkpoint/pagemap-1.img", "points past the end of pages-1.img", nil},
		{"overlap", testgen.Spec{Break: testgen.Break{OverlapPagemap: true}}, first, "checkpoint/pagemap-1.img", "entries overlap", nil},
		{"missing pages", testgen.Spec{Break: testgen.Break{Omit: []string{"checkpoint/pages-1.img"}}}, first, "checkpoint/pages-1.img", "missing", archive.ErrMissing},
		{"zombie", testgen.Spec{Processes: 2, Zombies: 1}, func(l testgen.Layout) uint32 { return uint32(l.Processes[1].PID) }, "checkpoint/core-", "zombie", ErrNoMemory},
		{"no such pid", testgen.Spec{}, func(testgen.Layout) uint32 { return 4242 }, "checkpoint/pstree.img", "no such process", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range []testgen.Compression{testgen.None, testgen.Gzip} {
				path, l := generate(t, tc.spec, c)
				pid := tc.pid(l)
				var got int
				_, err := Read(context.Background(), open(t, path), ReadOptions{
					Select: Select{PID: pid}, Map: MapRef{Index: 1},
					Block: func(b mem.Block) error { got++; return nil },
				})
				checkErr(t, err, path, tc.entry, tc.want, tc.is)
				if got != 0 {
					t.Errorf("%d blocks delivered before the error", got)
				}
				f, _ := os.CreateTemp(t.TempDir(), "core")
				_, err = WriteCore(context.Background(), open(t, path), f, CoreOptions{Select: Select{PID: pid}})
				checkErr(t, err, path, tc.entry, tc.want, tc.is)
				_, err = Search(context.Background(), open(t, path), SearchOptions{Select: Select{PID: pid}, Pattern: mem.Literal("x")})
				checkErr(t, err, path, tc.entry, tc.want, tc.is)
			}
		})
	}
}

func first(l testgen.Layout) uint32 { return uint32(l.Processes[0].PID) }

func checkErr(t *testing.T, err error, path, entry, want string, is error) {
	t.Helper()
	var ae *archive.Error
	switch {
	case err == nil:
		t.Errorf("no error, want %q", want)
	case !errors.As(err, &ae) || ae.Archive != path || !strings.HasPrefix(ae.Entry, entry):
		t.Errorf("error %q does not name %s and %s*", err, path, entry)
	case !strings.Contains(err.Error(), want):
		t.Errorf("error %q, want %q", err, want)
	case is != nil && !errors.Is(err, is):
		t.Errorf("error %q is not %v", err, is)
	case strings.Contains(err.Error(), "\n"):
		t.Errorf("error spans lines: %q", err)
	}
}

// TestReadOutsideMappings: an address in no mapping is an error naming
// the mm image, with nothing delivered.
func TestReadOutsideMappings(t *testing.T) {
	for _, c := range []testgen.Compression{testgen.None, testgen.Zstd} {
		path, l := generate(t, testgen.Spec{}, c)
		got := 0
		for _, opt := range []ReadOptions{
			{Range: mem.Range{Start: 0x1000, End: 0x2000}},
			{Map: MapRef{Addr: 0x1000, ByAddr: true}},
			{Map: MapRef{Index: 999}},
		} {
			opt.PID = first(l)
			opt.Block = func(mem.Block) error { got++; return nil }
			_, err := Read(context.Background(), open(t, path), opt)
			want := "outside every mapping"
			is := ErrOutside
			if opt.Map.Index != 0 {
				want, is = "no such mapping", ErrNoMapping
			}
			checkErr(t, err, path, "checkpoint/mm-1.img", want, is)
		}
		if got != 0 {
			t.Errorf("%d blocks delivered", got)
		}
	}
}
