package diff

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// The synthetic pairs below are two archives whose specs differ in one
// thing; each test requires exactly that difference and nothing else.

// base is the spec every pair starts from: three processes with some bulk
// memory, a fixed identity and an environment with a variable to change.
func base() testgen.Spec {
	return testgen.Spec{
		Seed: 11, Processes: 3, PageBytes: 2 << 20, MaxRunPages: 8,
		Env:         []string{"PATH=/usr/bin:/bin", "MODE=blue", "HOME=/"},
		ContainerID: "c0ffee0000000000000000000000000000000000000000000000000000000001",
		PodUID:      "5e1f0000-0000-4000-a000-000000000001", Pod: "web-0", Namespace: "shop", Container: "app",
	}
}

// gen writes spec to a file in dir and returns its path and layout.
func gen(t testing.TB, dir, name string, s testgen.Spec, c testgen.Compression) (string, testgen.Layout) {
	t.Helper()
	path := filepath.Join(dir, name+c.Ext())
	l, err := testgen.WriteFile(path, s, c, false)
	if err != nil {
		t.Fatal(err)
	}
	return path, l
}

func genPair(t *testing.T, a, b testgen.Spec) (string, string, testgen.Layout, testgen.Layout) {
	t.Helper()
	dir := t.TempDir()
	pa, la := gen(t, dir, "a", a, testgen.None)
	// B compressed: one side read at random, the other as a stream.
	pb, lb := gen(t, dir, "b", b, testgen.Zstd)
	return pa, pb, la, lb
}

// requireSummary compares the summary's change counts (unchanged counts
// aside) with want.
func requireSummary(t *testing.T, r *Report, want Summary) {
	t.Helper()
	got := r.Summary
	strip := func(s *Summary) {
		for _, c := range []*Counts{&s.Containers, &s.Processes, &s.Threads, &s.Files, &s.Sockets, &s.Maps, &s.Env, &s.RootFS, &s.Deleted} {
			c.Unchanged = 0
		}
		s.Pages.Unchanged = 0
	}
	strip(&got)
	want.Containers = Counts{Changed: 1}
	if got != want {
		t.Errorf("summary\n got %+v\nwant %+v", got, want)
	}
}

func TestSyntheticIdentical(t *testing.T) {
	s := base()
	s.TCP = []testgen.TCPConn{{ToServer: []byte("ping"), ToClient: []byte("pong")}}
	s.Files = []testgen.OpenFile{{Path: "/data/log", Flags: 2, Pos: 10, Size: 100, Lock: true}}
	s.RootFS = []testgen.File{{Path: "etc/motd", Content: []byte("hello\n")}}
	s.Deleted = []string{"/bin/ls"}
	pa, pb, _, _ := genPair(t, s, s)
	r := diffFiles(t, pa, pb, Options{})
	if r.Different {
		t.Fatalf("the same spec, plain and compressed, differs: %+v", r.Summary)
	}
	if r.Summary.Pages.Unchanged == 0 || r.Summary.Sockets.Unchanged != 3 || r.Summary.RootFS.Unchanged == 0 {
		t.Errorf("nothing was compared: %+v", r.Summary)
	}
}

func TestSyntheticAddedProcess(t *testing.T) {
	a, b := base(), base()
	// The generator shares PageBytes among the processes: without bulk
	// memory the others keep theirs.
	a.PageBytes, b.PageBytes = 0, 0
	a.Processes = 2
	pa, pb, _, lb := genPair(t, a, b)
	r := diffFiles(t, pa, pb, Options{})
	lp := lb.ProcessByPID(3)
	// Every fact of the new process is added with it.
	nmaps, nfds := len(lp.VMAs), len(lp.FDs)
	requireSummary(t, r, Summary{Processes: Counts{Added: 1}, Threads: Counts{Added: len(lp.Threads)}, Files: Counts{Added: nfds}, Maps: Counts{Added: nmaps}})
	p := processByPID(r, 3)
	if len(p) != 1 || p[0].Change != Added || p[0].Reason != ReasonNew || p[0].Info == nil {
		t.Fatalf("pid 3: %+v", p)
	}
	if len(p[0].Maps) != nmaps || len(p[0].Files) != nfds || len(p[0].Threads) != len(lp.Threads) {
		t.Errorf("pid 3: %d maps, %d files, %d threads listed", len(p[0].Maps), len(p[0].Files), len(p[0].Threads))
	}
	if p[0].Comm != lp.Comm || p[0].Info.Threads != len(lp.Threads) || p[0].Info.Mappings != len(lp.VMAs) {
		t.Errorf("pid 3 described as %+v %+v, layout says comm %s, %d threads, %d mappings", p[0], p[0].Info, lp.Comm, len(lp.Threads), len(lp.VMAs))
	}
	// The other way round, the process exited.
	r = diffFiles(t, pb, pa, Options{})
	requireSummary(t, r, Summary{Processes: Counts{Removed: 1}, Threads: Counts{Removed: len(lp.Threads)}, Files: Counts{Removed: nfds}, Maps: Counts{Removed: nmaps}})
	if p := processByPID(r, 3); len(p) != 1 || p[0].Change != Removed || p[0].Reason != ReasonExited {
		t.Errorf("pid 3: %+v", p)
	}
}

func TestSyntheticPIDReuse(t *testing.T) {
	// Another seed is another execve: other randomised addresses. The pid
	// is the same; the process is not.
	a, b := base(), base()
	a.Processes, b.Processes = 1, 1
	b.Seed = 12
	pa, pb, la, lb := genPair(t, a, b)
	r := diffFiles(t, pa, pb, Options{})
	pA, pB := la.ProcessByPID(1), lb.ProcessByPID(1)
	requireSummary(t, r, Summary{Processes: Counts{Added: 1, Removed: 1}, Threads: Counts{Added: len(pB.Threads), Removed: len(pA.Threads)},
		Files: Counts{Added: len(pB.FDs), Removed: len(pA.FDs)}, Maps: Counts{Added: len(pB.VMAs), Removed: len(pA.VMAs)}})
	ps := r.Containers[0].Processes
	if len(ps) != 2 || ps[0].Change != Removed || ps[1].Change != Added || ps[0].PID != 1 || ps[1].PID != 1 ||
		ps[0].Reason != ReasonReused || ps[1].Reason != ReasonReused {
		t.Errorf("pid 1 reused: %+v", ps)
	}
}

func TestSyntheticChangedPages(t *testing.T) {
	a := base()
	dir := t.TempDir()
	pa, la := gen(t, dir, "a", a, testgen.None)
	// Plant bytes in chosen pages of the bulk memory of pids 1 and 2.
	pick := func(pid int, minPages uint64) testgen.PageRange {
		p := la.ProcessByPID(pid)
		for _, r := range p.Pages {
			for _, v := range p.VMAs {
				if v.Kind == "anon" && v.Start <= r.Vaddr && r.Vaddr < v.End && r.Offset >= 0 && r.Pages >= minPages {
					return r
				}
			}
		}
		t.Fatalf("pid %d has no present run of %d pages", pid, minPages)
		return testgen.PageRange{}
	}
	r1, r2 := pick(1, 3), pick(2, 1)
	b := base()
	b.Markers = []testgen.Marker{
		// Across the boundary of the run's second and third pages.
		{Data: bytes.Repeat([]byte("X"), 200), Process: 0, Vaddr: r1.Vaddr + 2*criu.PageSize - 100},
		{Data: []byte("changed"), Process: 1, Vaddr: r2.Vaddr + 8},
	}
	pb, _ := gen(t, dir, "b", b, testgen.Gzip)
	r := diffFiles(t, pa, pb, Options{})
	requireSummary(t, r, Summary{Processes: Counts{Changed: 2}, Pages: PageCounts{Changed: 3}})
	want := map[uint32][]PageRun{
		1: {{Start: r1.Vaddr + criu.PageSize, End: r1.Vaddr + 3*criu.PageSize, Pages: 2, Change: Changed, Mapping: "[anonymous]"}},
		2: {{Start: r2.Vaddr, End: r2.Vaddr + criu.PageSize, Pages: 1, Change: Changed, Mapping: "[anonymous]"}},
		3: {},
	}
	for pid, runs := range want {
		p := processByPID(r, pid)
		if len(p) != 1 || p[0].Pages == nil {
			t.Fatalf("pid %d: %+v", pid, p)
		}
		if !slices.Equal(p[0].Pages.Runs, runs) {
			t.Errorf("pid %d runs\n got %+v\nwant %+v", pid, p[0].Pages.Runs, runs)
		}
	}
	checkAgainstReference(t, r, pa, pb)
}

func TestSyntheticResizedHeap(t *testing.T) {
	a, b := base(), base()
	a.PageBytes, b.PageBytes = 0, 0 // else the heap's growth comes out of the bulk memory
	// A large marker on the heap makes the heap grow, as malloc would.
	b.Markers = []testgen.Marker{{Data: bytes.Repeat([]byte("H"), 300<<10), Process: 0}}
	pa, pb, la, lb := genPair(t, a, b)
	heap := func(l testgen.Layout) testgen.VMA {
		for _, v := range l.ProcessByPID(1).VMAs {
			if v.Kind == "heap" {
				return v
			}
		}
		t.Fatal("no heap")
		return testgen.VMA{}
	}
	ha, hb := heap(la), heap(lb)
	if ha.Start != hb.Start || hb.End <= ha.End {
		t.Fatalf("the generator did not grow the heap: %#x-%#x, %#x-%#x", ha.Start, ha.End, hb.Start, hb.End)
	}
	r := diffFiles(t, pa, pb, Options{})
	p := processByPID(r, 1)[0]
	want := []MapChange{{Change: Resized, Start: hb.Start, End: hb.End, Perms: "rw-p", Kind: "heap", File: "[heap]",
		Fields: []FieldChange{{Field: "end", Old: ha.End, New: hb.End}}}}
	if !equalJSON(p.Maps, want) {
		t.Errorf("maps\n got %+v\nwant %+v", p.Maps, want)
	}
	// Expected pages from the layouts: the heap pages B adds, and those of
	// A's heap the marker overwrites.
	present := func(l testgen.Layout) map[uint64]bool {
		out := map[uint64]bool{}
		for _, r := range l.ProcessByPID(1).Pages {
			for k := uint64(0); r.Offset >= 0 && k < r.Pages; k++ {
				out[r.Vaddr+k*criu.PageSize] = true
			}
		}
		return out
	}
	pA, pB := present(la), present(lb)
	mk := lb.Markers[0]
	var added, changed uint64
	for addr := range pB {
		switch {
		case !pA[addr]:
			added++
		case addr+criu.PageSize > mk.Vaddr && addr < mk.Vaddr+uint64(len(mk.Data)):
			changed++
		}
	}
	if added == 0 || changed == 0 {
		t.Fatalf("bad test: marker adds %d and changes %d pages", added, changed)
	}
	requireSummary(t, r, Summary{Processes: Counts{Changed: 1}, Maps: Counts{Changed: 1}, Pages: PageCounts{Changed: changed, Added: added}})
	for _, run := range p.Pages.Runs {
		if run.Mapping != "[heap]" {
			t.Errorf("run %+v outside the heap", run)
		}
	}
	checkAgainstReference(t, r, pa, pb)
}

func TestSyntheticNewSocket(t *testing.T) {
	a, b := base(), base()
	b.TCP = []testgen.TCPConn{{Port: 8443, ToServer: []byte("GET /"), ToClient: []byte("200")}}
	pa, pb, _, lb := genPair(t, a, b)
	r := diffFiles(t, pa, pb, Options{})
	requireSummary(t, r, Summary{Processes: Counts{Changed: 2}, Sockets: Counts{Added: 3}})
	for _, pid := range []int{1, 2} {
		var want []uint32
		for _, fd := range lb.ProcessByPID(pid).FDs {
			if fd.Type == "INETSK" {
				want = append(want, fd.FD)
			}
		}
		var got []uint32
		for _, s := range processByPID(r, uint32(pid))[0].Sockets {
			if s.Change != Added || s.Family != "inet" || s.Proto != "tcp" {
				t.Errorf("pid %d: socket %+v", pid, s)
			}
			got = append(got, s.FD)
		}
		if !slices.Equal(got, want) {
			t.Errorf("pid %d: sockets added at fds %v, want %v", pid, got, want)
		}
	}
	states := map[string]int{}
	for _, pid := range []uint32{1, 2} {
		for _, s := range processByPID(r, pid)[0].Sockets {
			states[s.State]++
			if s.Local == "" || s.Inode == 0 {
				t.Errorf("socket %+v lacks its address or inode", s)
			}
		}
	}
	if states["LISTEN"] != 1 || states["ESTABLISHED"] != 2 {
		t.Errorf("states %v, want a listener and both ends of a connection", states)
	}
}

func TestSyntheticChangedEnv(t *testing.T) {
	a, b := base(), base()
	// The same length, as when a program rewrites its environment in
	// place: the process is the same, one page of its stack changed.
	b.Env = []string{"PATH=/usr/bin:/bin", "MODE=gree", "HOME=/"}
	pa, pb, la, _ := genPair(t, a, b)
	for _, reveal := range []bool{false, true} {
		r := diffFiles(t, pa, pb, Options{RevealEnv: reveal})
		requireSummary(t, r, Summary{Processes: Counts{Changed: 3}, Env: Counts{Changed: 3}, Pages: PageCounts{Changed: 3}})
		if r.EnvValuesShown != reveal {
			t.Errorf("env_values_shown %v", r.EnvValuesShown)
		}
		for _, lp := range la.Processes {
			p := processByPID(r, uint32(lp.PID))[0]
			want := []EnvChange{{Name: "MODE", Occurrence: 1, Change: Changed}}
			if reveal {
				want[0].Old, want[0].New = "blue", "gree"
			}
			if !slices.Equal(p.Env, want) {
				t.Errorf("pid %d env %+v, want %+v", lp.PID, p.Env, want)
			}
			// "MODE=blue" follows "PATH=/usr/bin:/bin\x00" in the env area.
			at := lp.EnvStart + uint64(len("PATH=/usr/bin:/bin")+1+len("MODE="))
			page := at &^ (criu.PageSize - 1)
			runs := []PageRun{{Start: page, End: page + criu.PageSize, Pages: 1, Change: Changed, Mapping: "[stack]"}}
			if !slices.Equal(p.Pages.Runs, runs) {
				t.Errorf("pid %d runs %+v, want %+v", lp.PID, p.Pages.Runs, runs)
			}
			if p.CmdlineChange != nil {
				t.Errorf("pid %d: cmdline changed: %+v", lp.PID, p.CmdlineChange)
			}
		}
	}
}

func TestSyntheticRootFS(t *testing.T) {
	a, b := base(), base()
	a.RootFS = []testgen.File{{Path: "etc/motd", Content: []byte("hello\n")}, {Path: "data/old", Content: []byte("x")}, {Path: "data/same", Content: []byte("same")}}
	b.RootFS = []testgen.File{{Path: "etc/motd", Content: []byte("HELLO\n")}, {Path: "data/new", Content: []byte("y")}, {Path: "data/same", Content: []byte("same")}}
	a.Deleted = []string{"/bin/ls"}
	b.Deleted = []string{"/bin/ls", "/bin/cat"}
	pa, pb, _, _ := genPair(t, a, b)
	r := diffFiles(t, pa, pb, Options{})
	requireSummary(t, r, Summary{RootFS: Counts{Added: 1, Removed: 1, Changed: 1}, Deleted: Counts{Added: 1}})
	c := r.Containers[0]
	got := map[string]string{}
	for _, f := range c.RootFS {
		got[f.Path] = f.Change
		if f.Path == "/etc/motd" && (len(f.Fields) != 1 || f.Fields[0].Field != "content") {
			t.Errorf("/etc/motd fields %+v, want content only", f.Fields)
		}
	}
	want := map[string]string{"/data/new": Added, "/data/old": Removed, "/etc/motd": Changed}
	if len(got) != len(want) {
		t.Errorf("rootfs changes %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if !slices.Equal(c.Deleted, []PathChange{{Path: "/bin/cat", Change: Added}}) {
		t.Errorf("deleted %+v", c.Deleted)
	}
}

// equalJSON compares two values by their JSON form, which is what users
// see (FieldChange values are interfaces).
func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// TestSyntheticBroken: damaged archives give a clear error naming the
// archive and the image, or, when only the pages of a process are missing,
// a report that says so instead of calling the memory unchanged.
func TestSyntheticBroken(t *testing.T) {
	dir := t.TempDir()
	good, _ := gen(t, dir, "good", base(), testgen.None)
	for _, tc := range []struct {
		name  string
		brk   testgen.Break
		err   string // the error, or "" for a report
		warn  string // a warning the report must carry
		nilPg uint32 // a pid whose pages are not compared
		// same: the damage must not show (the order of members, which
		// the answer never depends on).
		same bool
	}{
		{name: "pagemap past end", brk: testgen.Break{PagemapPastEnd: true}, err: "pagemap-1.img: points past the end of pages-1.img"},
		{name: "overlapping pagemap", brk: testgen.Break{OverlapPagemap: true}, err: "entries overlap"},
		{name: "no pstree", brk: testgen.Break{Omit: []string{"checkpoint/pstree.img"}}, err: "pstree.img: missing"},
		{name: "corrupt image", brk: testgen.Break{CorruptLength: "checkpoint/core-1.img"}, err: "core-1.img"},
		{name: "pages missing", brk: testgen.Break{Omit: []string{"checkpoint/pages-2.img"}}, warn: "pid 2: its pages image is missing", nilPg: 2},
		// Read in a second pass when compressed: nothing differs.
		{name: "pages before pagemap", brk: testgen.Break{PagesBeforePagemap: true}, same: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			s.Break = tc.brk
			for _, c := range []testgen.Compression{testgen.None, testgen.Gzip} {
				path, _ := gen(t, dir, strings.ReplaceAll(tc.name, " ", "-"), s, c)
				r, err := Diff(context.Background(), open(t, good), open(t, path), Options{})
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), filepath.Base(path)) {
						t.Errorf("%s: err = %v, want one naming the file and %q", c, err, tc.err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", c, err)
				}
				if tc.same {
					if r.Different || len(r.Warnings) > 0 {
						t.Errorf("%s: the member order shows: %+v %q", c, r.Summary, r.Warnings)
					}
					continue
				}
				if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, tc.warn) }) {
					t.Errorf("%s: warnings %q, want %q", c, r.Warnings, tc.warn)
				}
				if p := processByPID(r, tc.nilPg); len(p) != 1 || p[0].Pages != nil {
					t.Errorf("%s: pid %d: %+v, want its pages not compared", c, tc.nilPg, p)
				}
			}
		})
	}
}
