package testgen_test

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/checkpoint-restore/go-criu/v8/crit"

	"github.com/ckpt-dev/ckpt/internal/tartest"
	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// TestGoCriuReference reads a generated dump with go-criu's crit, the
// reference decoder, as a second opinion: its process tree, its file
// listing and its memory reader must agree with the layout. crit works on
// a directory, so the (synthetic) images are extracted to a temporary one.
func TestGoCriuReference(t *testing.T) {
	s := richSpec(testgen.EngineCRIO)
	s.ParentEntries = 0 // crit's memory reader counts PE_PARENT pages as if they were in the image
	data, l := generateBuf(t, s)
	dir := t.TempDir()
	ms, err := tartest.ReadAll(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		name, ok := strings.CutPrefix(m.Name, "checkpoint/")
		if !ok || m.Type != tar.TypeReg {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), m.Body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := crit.New(nil, nil, dir, false, false)
	root, err := c.ExplorePs()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	var walk func(ps *crit.PsTree, ppid int)
	walk = func(ps *crit.PsTree, ppid int) {
		seen++
		p := l.ProcessByPID(int(ps.PID))
		if p == nil || p.PPID != ppid || ps.Comm != p.Comm || int(ps.SID) != p.SID {
			t.Errorf("crit: pid %d comm %q sid %d under %d; layout %+v", ps.PID, ps.Comm, ps.SID, ppid, p)
		}
		for _, c := range ps.Children {
			walk(c, int(ps.PID))
		}
	}
	walk(root, 0)
	if seen != len(l.Processes) {
		t.Errorf("crit sees %d processes, layout %d", seen, len(l.Processes))
	}
	fds, err := c.ExploreFds()
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		p := l.ProcessByPID(int(fd.PId))
		var paths []string
		for _, f := range fd.Files {
			paths = append(paths, f.Path)
		}
		joined := strings.Join(paths, " ")
		if p.Index == 0 && (!strings.Contains(joined, "/data/data.txt") || !strings.Contains(joined, "unix[")) {
			t.Errorf("crit fds of init: %q", paths)
		}
	}
	if _, err := c.ExploreMems(); err != nil {
		t.Errorf("crit mems: %v", err)
	}
	for _, p := range l.Processes {
		mr, err := crit.NewMemoryReader(dir, uint32(p.PID), 4096)
		if err != nil {
			t.Fatal(err)
		}
		args, err := mr.GetPsArgs()
		if err != nil || args.String() != string(nulJoined(p.Cmdline)) {
			t.Errorf("crit: pid %d args %q (%v)", p.PID, args, err)
		}
		env, err := mr.GetPsEnvVars()
		if err != nil || env.String() != string(nulJoined(p.Env)) {
			t.Errorf("crit: pid %d env %q (%v)", p.PID, env, err)
		}
	}
	for i, mk := range l.Markers {
		mr, err := crit.NewMemoryReader(dir, uint32(mk.PID), 4096)
		if err != nil {
			t.Fatal(err)
		}
		got, err := mr.GetMemPages(mk.Vaddr, mk.Vaddr+uint64(len(mk.Data)))
		if err != nil || !bytes.Equal(got.Bytes(), mk.Data) {
			t.Errorf("crit: marker %d at %#x reads %q (%v)", i, mk.Vaddr, got, err)
		}
	}
}
