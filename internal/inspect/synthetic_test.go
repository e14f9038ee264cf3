package inspect

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/testgen"
)

func generated(t *testing.T, s testgen.Spec, c testgen.Compression) (string, testgen.Layout) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x"+c.Ext())
	l, err := testgen.WriteFile(p, s, c, false)
	if err != nil {
		t.Fatal(err)
	}
	return p, l
}

func tryBuild(path string) ([]*Report, error) {
	a, err := archive.Open(path, archive.Options{})
	if err != nil {
		return nil, err
	}
	defer a.Close()
	return Build(a, Options{Sections: All()})
}

func TestGeneratedMatchesLayout(t *testing.T) {
	for _, c := range []testgen.Compression{testgen.None, testgen.Zstd} {
		spec := testgen.Spec{Processes: 5, ThreadsPerProcess: 3, Zombies: 1, PageBytes: 4 << 20, Seed: 7,
			Cmdline: []string{"/app/server", "--port", "8080"}, Env: []string{"A=1", "B=2"}}
		p, l := generated(t, spec, c)
		rs, err := tryBuild(p)
		if err != nil {
			t.Fatal(err)
		}
		r := rs[0]
		if len(r.Processes) != len(l.Processes) {
			t.Fatalf("%d processes, generated %d", len(r.Processes), len(l.Processes))
		}
		for _, lp := range l.Processes {
			i := slices.IndexFunc(r.Processes, func(p Process) bool { return int(p.PID) == lp.PID })
			if i < 0 {
				t.Fatalf("pid %d missing", lp.PID)
			}
			p := r.Processes[i]
			if int(p.PPID) != lp.PPID || p.Comm != lp.Comm {
				t.Errorf("pid %d: ppid %d comm %q, generated %d %q", lp.PID, p.PPID, p.Comm, lp.PPID, lp.Comm)
			}
			if lp.Zombie {
				if p.State != "zombie" || len(p.Cmdline) != 0 || p.Memory.Mappings != 0 {
					t.Errorf("zombie %d: %+v", lp.PID, p)
				}
				continue
			}
			if !slices.Equal(p.Cmdline, spec.Cmdline) || !slices.Equal(p.Env, spec.Env) || len(p.Threads) != 3 {
				t.Errorf("pid %d: cmdline %q env %q threads %d", lp.PID, p.Cmdline, p.Env, len(p.Threads))
			}
		}
		if len(r.Warnings) != 0 {
			t.Errorf("warnings: %q", r.Warnings)
		}
	}
}

func TestGeneratedBreakage(t *testing.T) {
	base := testgen.Spec{Processes: 2, PageBytes: 1 << 20, Seed: 3}
	fails := map[string]struct {
		brk  testgen.Break
		want string
	}{
		"pagemap past end": {testgen.Break{PagemapPastEnd: true}, "points past the end of pages-1.img"},
		"overlap":          {testgen.Break{OverlapPagemap: true}, "entries overlap"},
	}
	for name, tc := range fails {
		s := base
		s.Break = tc.brk
		p, _ := generated(t, s, testgen.None)
		_, err := tryBuild(p)
		var ae *archive.Error
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(ae.Entry, "pages-") && !strings.Contains(err.Error(), "pagemap-") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A missing pages image loses command lines, not the report.
	s := base
	s.Break = testgen.Break{Omit: []string{"checkpoint/pages-1.img"}}
	p, _ := generated(t, s, testgen.None)
	rs, err := tryBuild(p)
	if err != nil || !slices.ContainsFunc(rs[0].Warnings, func(w string) bool { return strings.Contains(w, "pid 1: pages-1.img missing from the dump") }) ||
		!slices.Equal(rs[0].Processes[0].MissingImages, []string{"pages-1.img"}) {
		t.Errorf("missing pages image: %v %v", err, rs)
	}
	// Pages before their pagemap in a compressed file are read in a
	// second pass: every command line is there, with no warning.
	s = base
	s.Break = testgen.Break{PagesBeforePagemap: true}
	p, _ = generated(t, s, testgen.Zstd)
	rs, err = tryBuild(p)
	if err != nil || len(rs[0].Warnings) != 0 || slices.ContainsFunc(rs[0].Processes, func(p Process) bool { return len(p.Cmdline) == 0 }) {
		t.Errorf("pages before pagemap: %v %+v", err, rs)
	}
}

// TestMissingImagesAreUnknown: without files.img or fs-N.img a process's
// files and cwd are unknown, listed as missing images and warned about,
// not reported as empty.
func TestMissingImagesAreUnknown(t *testing.T) {
	s := testgen.Spec{Processes: 2, PageBytes: 1 << 20, Seed: 3}
	_, l := generated(t, s, testgen.None)
	pid := l.Processes[1].PID
	s.Break = testgen.Break{Omit: []string{"checkpoint/files.img", fmt.Sprintf("checkpoint/fs-%d.img", pid)}}
	p, _ := generated(t, s, testgen.None)
	rs, err := tryBuild(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, rp := range rs[0].Processes {
		want := []string{"files.img"}
		if int(rp.PID) == pid {
			want = []string{fmt.Sprintf("fs-%d.img", pid), "files.img"}
		}
		if !slices.Equal(rp.MissingImages, want) || rp.FDs != nil {
			t.Errorf("pid %d: missing %q, fds %v; want %q and no fds", rp.PID, rp.MissingImages, rp.FDs, want)
		}
		if !slices.ContainsFunc(rs[0].Warnings, func(w string) bool {
			return strings.HasPrefix(w, fmt.Sprintf("pid %d: ", rp.PID)) && strings.Contains(w, "open files")
		}) {
			t.Errorf("pid %d: no warning in %q", rp.PID, rs[0].Warnings)
		}
	}
}
