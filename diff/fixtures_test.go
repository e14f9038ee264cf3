package diff

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/mem"
)

const fixtures = "../testdata/fixtures"

// fixture returns the path of the one fixture matching glob.
func fixture(t testing.TB, glob string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(fixtures, glob))
	if len(m) != 1 {
		t.Fatalf("fixture %s: %v", glob, m)
	}
	return m[0]
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

func diffFiles(t testing.TB, pathA, pathB string, opt Options) *Report {
	t.Helper()
	r, err := Diff(context.Background(), open(t, pathA), open(t, pathB), opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pageChange is one page's change as the brute-force reference sees it.
type pageChange struct {
	addr   uint64
	change string
}

// referencePages compares the memory of every pid in both archives the
// slow way: every page's bytes in full, hashed with SHA-256. It shares
// nothing with the package but the archive reader and the page index.
func referencePages(t *testing.T, pathA, pathB string) map[uint32][]pageChange {
	t.Helper()
	read := func(path string) map[uint32]map[uint64][32]byte {
		out := map[uint32]map[uint64][32]byte{}
		a := open(t, path)
		_, err := archive.Load(a, archive.LoadOptions{Pages: mem.Pages(a, func(c *archive.Checkpoint, pid uint32, ix *criu.PageIndex, r io.Reader) error {
			data, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			pages := map[uint64][32]byte{}
			for run := range ix.All() {
				for k := uint64(0); k < run.Pages && run.Present(); k++ {
					off := run.Offset + int64(k)*criu.PageSize
					pages[run.Start+k*criu.PageSize] = sha256.Sum256(data[off : off+criu.PageSize])
				}
			}
			if pid != 0 {
				out[pid] = pages
			}
			return nil
		}, mem.PagesOptions{})})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := read(pathA), read(pathB)
	out := map[uint32][]pageChange{}
	for pid, pa := range a {
		pb, ok := b[pid]
		if !ok {
			continue
		}
		var ch []pageChange
		for addr, h := range pa {
			hb, ok := pb[addr]
			switch {
			case !ok:
				ch = append(ch, pageChange{addr, Removed})
			case hb != h:
				ch = append(ch, pageChange{addr, Changed})
			}
		}
		for addr := range pb {
			if _, ok := pa[addr]; !ok {
				ch = append(ch, pageChange{addr, Added})
			}
		}
		slices.SortFunc(ch, func(x, y pageChange) int { return cmp.Compare(x.addr, y.addr) })
		out[pid] = ch
	}
	return out
}

// expand lists the pages of a page diff's runs, checking that the runs
// are sorted, disjoint and agree with the counts.
func expand(t *testing.T, d *PageDiff) []pageChange {
	t.Helper()
	var out []pageChange
	var counts = map[string]uint64{}
	var last uint64
	for i, r := range d.Runs {
		if r.End-r.Start != r.Pages*criu.PageSize || r.Pages == 0 {
			t.Errorf("run %d: %#x-%#x is not %d pages", i, r.Start, r.End, r.Pages)
		}
		if i > 0 && r.Start < last {
			t.Errorf("run %d at %#x overlaps or precedes the one before (ends %#x)", i, r.Start, last)
		}
		last = r.End
		for a := r.Start; a < r.End; a += criu.PageSize {
			out = append(out, pageChange{a, r.Change})
		}
		counts[r.Change] += r.Pages
	}
	if counts[Changed] != d.Changed || counts[Added] != d.Added || counts[Removed] != d.Removed {
		t.Errorf("runs hold %v pages, counts say changed %d, added %d, removed %d", counts, d.Changed, d.Added, d.Removed)
	}
	return out
}

// checkAgainstReference requires the report's page runs of every matched
// process to be exactly what the brute-force comparison finds.
func checkAgainstReference(t *testing.T, r *Report, pathA, pathB string) {
	t.Helper()
	ref := referencePages(t, pathA, pathB)
	for _, p := range r.Containers[0].Processes {
		if p.Pages == nil {
			continue
		}
		got := expand(t, p.Pages)
		if !slices.Equal(got, ref[p.PID]) {
			t.Errorf("pid %d: page changes\n got %v\nwant %v", p.PID, got, ref[p.PID])
		}
	}
}

func processByPID(r *Report, pid uint32) []Process {
	var out []Process
	for _, p := range r.Containers[0].Processes {
		if p.PID == pid {
			out = append(out, p)
		}
	}
	return out
}

// requireOnlyPages requires every process to be matched and nothing but
// memory pages to differ: what two dumps of one idle container a second
// apart look like.
func requireOnlyPages(t *testing.T, r *Report) {
	t.Helper()
	s := r.Summary
	for name, c := range map[string]Counts{"processes": {Added: s.Processes.Added, Removed: s.Processes.Removed}, "threads": s.Threads, "files": s.Files,
		"sockets": s.Sockets, "maps": s.Maps, "env": s.Env, "rootfs": s.RootFS, "deleted": s.Deleted} {
		if c.any() {
			t.Errorf("%s: %+v, want no change", name, c)
		}
	}
	if s.Cmdlines != 0 {
		t.Errorf("%d command lines changed", s.Cmdlines)
	}
	for _, p := range r.Containers[0].Processes {
		if len(p.Fields) > 0 {
			t.Errorf("pid %d: fields changed: %v", p.PID, p.Fields)
		}
		if p.Pages == nil {
			t.Errorf("pid %d: pages not compared", p.PID)
		}
	}
}

func TestPodmanSimpleThreeCheckpoints(t *testing.T) {
	names := []string{"podman-simple.tar", "podman-simple.tar.gz", "podman-simple.tar.zst"}
	for i := range names {
		for j := range names {
			if i == j {
				continue
			}
			a, b := fixture(t, names[i]), fixture(t, names[j])
			t.Run(names[i]+"-"+names[j], func(t *testing.T) {
				r := diffFiles(t, a, b, Options{})
				if len(r.Containers) != 1 || !r.Containers[0].SameContainer {
					t.Fatalf("containers: %+v", r.Containers)
				}
				if len(r.Containers[0].Processes) != 1 || r.Containers[0].Processes[0].PID != 1 {
					t.Fatalf("processes: %+v", r.Containers[0].Processes)
				}
				requireOnlyPages(t, r)
				// Three live dumps a second apart: the heap and stack moved on.
				if r.Summary.Pages.Changed == 0 || !r.Different {
					t.Errorf("no page changed between two dumps of a running process: %+v", r.Summary.Pages)
				}
				checkAgainstReference(t, r, a, b)
			})
		}
	}
}

func TestPodmanRichTwoCheckpoints(t *testing.T) {
	a, b := fixture(t, "podman-rich.tar"), fixture(t, "podman-rich.tar.zst")
	r := diffFiles(t, a, b, Options{})
	var pids []uint32
	for _, p := range r.Containers[0].Processes {
		pids = append(pids, p.PID)
	}
	if !slices.Equal(pids, []uint32{1, 6, 8}) {
		t.Errorf("pids %v, want the three processes matched once each", pids)
	}
	requireOnlyPages(t, r)
	// The sockets (listening, established, socketpair) are all there and
	// compared, not skipped.
	if r.Summary.Sockets.Unchanged < 4 {
		t.Errorf("%d unchanged sockets, want the rich fixture's sockets compared", r.Summary.Sockets.Unchanged)
	}
	checkAgainstReference(t, r, a, b)
}

func TestArchiveWithItself(t *testing.T) {
	for _, glob := range []string{"podman-simple.tar", "podman-rich.tar.zst", "checkpoint-rich-*.tar", "checkpoint-simple-*.tar"} {
		t.Run(glob, func(t *testing.T) {
			path := fixture(t, glob)
			r := diffFiles(t, path, path, Options{})
			if r.Different {
				t.Errorf("an archive differs from itself: %+v", r.Summary)
			}
			for _, p := range r.Containers[0].Processes {
				if p.Change != Unchanged {
					t.Errorf("pid %d: %s", p.PID, p.Change)
				}
				if p.Pages != nil && (p.Pages.Unchanged == 0 || len(p.Pages.Runs) > 0) {
					t.Errorf("pid %d pages: %+v", p.PID, p.Pages)
				}
			}
			if len(r.Containers[0].IdentityChanges) != 0 {
				t.Errorf("identity changes: %v", r.Containers[0].IdentityChanges)
			}
		})
	}
}

func TestDifferentContainersRefused(t *testing.T) {
	a, b := fixture(t, "podman-simple.tar"), fixture(t, "checkpoint-simple-*.tar")
	_, err := Diff(context.Background(), open(t, a), open(t, b), Options{})
	if !errors.Is(err, ErrDifferentContainers) {
		t.Fatalf("err = %v, want ErrDifferentContainers", err)
	}
	r := diffFiles(t, a, b, Options{Force: true})
	if r.Containers[0].SameContainer || len(r.Warnings) == 0 {
		t.Errorf("forced comparison: same_container %v, warnings %v", r.Containers[0].SameContainer, r.Warnings)
	}
	// Different programs at pid 1... and the host dump's pid: nothing is
	// matched by pid alone.
	for _, p := range r.Containers[0].Processes {
		if p.Change != Added && p.Change != Removed {
			t.Errorf("pid %d of two different containers matched: %s", p.PID, p.Change)
		}
	}
}

func TestSnapshotsOfAnotherDiffer(t *testing.T) {
	path := fixture(t, "podman-simple.tar")
	d1, d2 := New(Options{}), New(Options{})
	s1, err := d1.Read(context.Background(), open(t, path))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := d2.Read(context.Background(), open(t, path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d1.Compare(s1, s2); err == nil {
		t.Fatal("compared page hashes made with different seeds")
	}
}

func Example() {
	a, _ := archive.Open("../testdata/fixtures/podman-rich.tar", archive.Options{})
	defer a.Close()
	b, _ := archive.Open("../testdata/fixtures/podman-rich.tar.zst", archive.Options{})
	defer b.Close()
	r, err := Diff(context.Background(), a, b, Options{})
	if err != nil {
		panic(err)
	}
	for _, p := range r.Containers[0].Processes {
		fmt.Printf("%d %s: %d files, %d sockets changed\n", p.PID, p.Comm, len(p.Files), len(p.Sockets))
	}
	// Output:
	// 1 rich-parent: 0 files, 0 sockets changed
	// 6 rich-child: 0 files, 0 sockets changed
	// 8 rich-grandchild: 0 files, 0 sockets changed
}

// TestCancel: an interrupted diff stops reading pages and says why.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, name := range []string{"podman-rich.tar", "podman-rich.tar.zst"} {
		_, err := New(Options{}).Read(ctx, open(t, fixture(t, name)))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", name, err)
		}
	}
}
