package diff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// readInTurn is the reference: each archive read alone, pages hashed into
// tables, then compared.
func readInTurn(t *testing.T, pathA, pathB string, opt Options) *Report {
	t.Helper()
	d := New(opt)
	sa, err := d.Read(context.Background(), open(t, pathA))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := d.Read(context.Background(), open(t, pathB))
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Compare(sa, sb)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Archives read at the same time, their pages compared as they stream,
// give the report reading them in turn gives: whether their processes and
// member orders line up or not, compressed, plain or mixed.
func TestReadBothMatchesReadInTurn(t *testing.T) {
	changed := base()
	changed.Markers = []testgen.Marker{
		{Data: bytes.Repeat([]byte("Z"), 3*4096), Process: 0, Region: testgen.RegionAnon},
		{Data: []byte("CHANGED"), Process: 2, Region: testgen.RegionAnon},
	}
	more := changed
	more.Processes = 5
	fewer := base()
	fewer.Processes = 2
	reverse, shuffled := changed, more
	reverse.Order, shuffled.Order = testgen.OrderReverse, testgen.OrderShuffled
	pairs := []struct {
		name string
		a, b testgen.Spec
	}{
		{"same", base(), base()},
		{"changed", base(), changed},
		{"added processes", base(), more},
		{"removed process", changed, fewer},
		{"reverse order", base(), reverse},
		{"shuffled order", shuffled, fewer},
	}
	kinds := [][2]testgen.Compression{{testgen.Zstd, testgen.Zstd}, {testgen.Gzip, testgen.Zstd}, {testgen.None, testgen.Zstd}, {testgen.Zstd, testgen.None}}
	for _, p := range pairs {
		for _, k := range kinds {
			t.Run(fmt.Sprintf("%s/%s-%s", p.name, k[0], k[1]), func(t *testing.T) {
				dir := t.TempDir()
				pa, _ := gen(t, dir, "a", p.a, k[0])
				pb, _ := gen(t, dir, "b", p.b, k[1])
				want := readInTurn(t, pa, pb, Options{})
				got := diffFiles(t, pa, pb, Options{})
				if !equalJSON(got, want) {
					t.Errorf("read at once:\n%+v\nread in turn:\n%+v", got.Summary, want.Summary)
				}
			})
		}
	}
}

// Two compressed archives of the same processes in the same order hold
// nothing per page: every pagemap is compared while both stream.
func TestReadBothHoldsNoHashes(t *testing.T) {
	dir := t.TempDir()
	b := base()
	b.Markers = []testgen.Marker{{Data: []byte("CHANGED"), Process: 1, Region: testgen.RegionAnon}}
	pa, _ := gen(t, dir, "a", base(), testgen.Zstd)
	pb, _ := gen(t, dir, "b", b, testgen.Zstd)
	d := New(Options{})
	sa, sb, err := d.ReadBoth(context.Background(), open(t, pa), open(t, pb))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range []*Snapshot{sa, sb} {
		for _, c := range s.containers {
			for name, ph := range c.pages {
				n++
				if ph.hashes != nil || ph.ix != nil || ph.compared == nil || ph.compared.lone {
					t.Errorf("%s: %s holds %d hashes, a pagemap: %v; compared while streaming: %v", s.side.Archive, name, len(ph.hashes), ph.ix != nil, ph.compared != nil)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no pagemaps")
	}
	r, err := d.Compare(sa, sb)
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.Pages.Changed == 0 {
		t.Errorf("no changed page: %+v", r.Summary.Pages)
	}
}

// Pages that find no counterpart streaming in the other archive are held
// as tables within Limits.MaxPending; past it the diff fails with a limit
// error rather than growing.
func TestReadBothUnmatchedBudget(t *testing.T) {
	dir := t.TempDir()
	reverse := base()
	reverse.Order = testgen.OrderReverse
	pa, _ := gen(t, dir, "a", base(), testgen.Zstd)
	pb, _ := gen(t, dir, "b", reverse, testgen.Zstd)
	_, err := Diff(context.Background(), open(t, pa), open(t, pb), Options{Limits: archive.Limits{MaxPending: 512}})
	if !errors.Is(err, ErrUnmatched) || !errors.Is(err, archive.ErrBudget) {
		t.Fatalf("err = %v, want ErrUnmatched and archive.ErrBudget", err)
	}
	// The default budget takes them.
	if r := diffFiles(t, pa, pb, Options{}); r.Different {
		t.Errorf("an archive and itself in reverse order differ: %+v", r.Summary)
	}
}

// A broken B is reported as reading the archives in turn reports it, and
// a broken A wins over a broken B whatever finishes first.
func TestReadBothErrors(t *testing.T) {
	dir := t.TempDir()
	pa, _ := gen(t, dir, "a", base(), testgen.Zstd)
	data, err := os.ReadFile(pa)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.tar.zst") // cut short
	if err := os.WriteFile(bad, data[:len(data)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	_, errRef := New(Options{}).Read(context.Background(), open(t, bad))
	for _, order := range [][2]string{{pa, bad}, {bad, pa}, {bad, bad}} {
		_, err := Diff(context.Background(), open(t, order[0]), open(t, order[1]), Options{})
		if err == nil || err.Error() != errRef.Error() {
			t.Errorf("%v: err = %v, want %v", order, err, errRef)
		}
	}
}
