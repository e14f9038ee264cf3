package procmem

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/internal/fixture"
	"github.com/ckpt-dev/ckpt/mem"
)

const fixtures = "../../testdata/fixtures"

// fixtureArchives are the real archives, plain and compressed.
func fixtureArchives(t *testing.T) []string {
	t.Helper()
	dirs, err := os.ReadDir(filepath.Join(fixtures, "expected"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range dirs {
		out = append(out, d.Name())
	}
	if len(out) < 7 {
		t.Fatalf("only %d fixture archives", len(out))
	}
	return out
}

// TestSearchFindsEveryFixtureMarker: searching every process for each
// marker finds exactly the places markers.tsv lists, including the
// SECRET_TOKEN and FOO=bar, on plain, gzip and zstd archives.
func TestSearchFindsEveryFixtureMarker(t *testing.T) {
	for _, name := range fixtureArchives(t) {
		t.Run(name, func(t *testing.T) {
			ms := fixture.Markers(t, fixtures, name)
			want := map[string][]string{}
			for _, m := range ms {
				want[m.Text] = append(want[m.Text], fmt.Sprintf("%d@%#x", m.PID, m.Vaddr))
			}
			if want["FOO=bar"] == nil {
				t.Fatal("markers.tsv lists no FOO=bar")
			}
			if strings.Contains(name, "simple") && want["SECRET_TOKEN=hunter2-do-not-leak"] == nil {
				t.Fatal("markers.tsv lists no SECRET_TOKEN")
			}
			for text, places := range want {
				res, err := Search(context.Background(), open(t, filepath.Join(fixtures, name)), SearchOptions{Pattern: mem.Literal(text)})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, h := range res.Hits {
					got = append(got, fmt.Sprintf("%d@%#x", h.PID, h.Address))
					if string(h.Match) != text || h.Mapping == nil || h.Comm == "" {
						t.Errorf("%s: hit %+v", text, h)
					}
				}
				slices.Sort(got)
				slices.Sort(places)
				if !slices.Equal(got, places) {
					t.Errorf("%s: found at %v, markers.tsv says %v", text, got, places)
				}
			}
		})
	}
}

// TestReadMarkers: reading each marker's address returns the marker.
func TestReadMarkers(t *testing.T) {
	for _, name := range fixtureArchives(t) {
		for _, m := range fixture.Markers(t, fixtures, name) {
			var got []byte
			plan, err := Read(context.Background(), open(t, filepath.Join(fixtures, name)), ReadOptions{
				Select: Select{PID: m.PID}, Range: mem.Range{Start: m.Vaddr, End: m.Vaddr + uint64(len(m.Text))},
				Block: func(b mem.Block) error {
					if b.Absent != nil {
						return b.Absent
					}
					got = append(got, b.Data...)
					return nil
				},
			})
			if err != nil {
				t.Fatalf("%s: %s: %v", name, m.Text, err)
			}
			if string(got) != m.Text || plan.Present != uint64(len(m.Text)) || plan.Absent != 0 {
				t.Errorf("%s: pid %d %#x: read %q (plan %+v), want %q", name, m.PID, m.Vaddr, got, plan, m.Text)
			}
		}
	}
}

// TestMapsAgreeWithCrit compares every mapping with `crit x mems`.
func TestMapsAgreeWithCrit(t *testing.T) {
	for _, name := range fixtureArchives(t) {
		t.Run(name, func(t *testing.T) {
			crit := critMems(t, name)
			procs, err := Maps(open(t, filepath.Join(fixtures, name)), MapsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(procs) != len(crit) {
				t.Fatalf("%d processes, crit has %d", len(procs), len(crit))
			}
			for _, p := range procs {
				lines := crit[p.PID]
				if len(lines) != len(p.Mappings) {
					t.Fatalf("pid %d: %d mappings, crit has %d", p.PID, len(p.Mappings), len(lines))
				}
				for i, m := range p.Mappings {
					if c := lines[i]; !agrees(m, c) {
						t.Errorf("pid %d: %#x-%#x %s %s %q +%#x, crit: %q", p.PID, m.Start, m.End, m.Perms, m.Kind, m.File, m.Offset, c)
					}
					if m.Index != i+1 {
						t.Errorf("pid %d: mapping %d numbered %d", p.PID, i+1, m.Index)
					}
				}
			}
		})
	}
}

// critMems parses crit-x-mems.txt: per pid, the mapping lines.
func critMems(t *testing.T, name string) map[uint32][]string {
	b, err := os.ReadFile(filepath.Join(fixtures, "expected", name, "crit-x-mems.txt"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint32][]string{}
	var pid uint32
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if !strings.HasPrefix(l, "\t") {
			n, err := strconv.ParseUint(l, 10, 32)
			if err != nil {
				t.Fatalf("crit line %q", l)
			}
			pid = uint32(n)
			out[pid] = []string{}
			continue
		}
		if l = strings.TrimSpace(l); !strings.HasPrefix(l, "exe ") {
			out[pid] = append(out[pid], l)
		}
	}
	return out
}

// agrees says whether a mapping matches a crit line such as
// "55d5aec98000-55d5aec99000 r-x /path + 0x1000", "... rw- [stack?]" or
// "ffffffffff600000-ffffffffff601000 --x [vsyscall] *".
func agrees(m NumberedMapping, line string) bool {
	f := strings.Fields(strings.TrimSuffix(line, " *"))
	if len(f) < 2 || f[0] != fmt.Sprintf("%08x-%08x", m.Start, m.End) || f[1] != m.Perms[:3] {
		return false
	}
	rest := strings.Join(f[2:], " ")
	switch rest {
	case "":
		return m.Kind == "anonymous" || m.Kind == "heap" || m.Kind == "vvar"
	case "[stack]", "[stack?]":
		return m.Kind == "stack"
	case "[vdso]", "[vsyscall]":
		return "["+m.Kind+"]" == rest
	}
	want := m.File
	if m.Offset != 0 {
		want += fmt.Sprintf(" + %#x", m.Offset)
	}
	return m.Kind == "file" && rest == want
}

// TestHexdumpOfFixtureMatchesHexdumpC reads the heap of the simple
// fixture, which holds the markers, and compares the hexdump with
// hexdump -C of the same bytes.
func TestHexdumpOfFixtureMatchesHexdumpC(t *testing.T) {
	ms := fixture.Markers(t, fixtures, "podman-simple.tar")
	var raw bytes.Buffer
	var dump bytes.Buffer
	hd := mem.NewHexdump(&dump)
	start := ms[0].Vaddr&^0xfff + 5
	_, err := Read(context.Background(), open(t, filepath.Join(fixtures, "podman-simple.tar")), ReadOptions{
		Select: Select{PID: ms[0].PID}, Range: mem.Range{Start: start, End: start + criu.PageSize - 12},
		Block: func(b mem.Block) error {
			if b.Absent != nil {
				return b.Absent
			}
			raw.Write(b.Data)
			return hd.Write(b.Addr-start, b.Data)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := hd.Close(); err != nil {
		t.Fatal(err)
	}
	want := fixture.HexdumpC(t, raw.Bytes())
	if dump.String() != want {
		t.Errorf("hexdump differs from hexdump -C:\n%s\nwant\n%s", dump.String(), want)
	}
	if !strings.Contains(dump.String(), "*\n") || !strings.Contains(dump.String(), "|MARKER-7f3a9c") {
		t.Errorf("the range should show the marker and a folded row:\n%s", dump.String())
	}
}
