package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "a.tar.zst")
	lay := filepath.Join(dir, "a.json")
	var stderr bytes.Buffer
	args := []string{"-o", out, "-size", "1MiB", "-procs", "3", "-threads", "2", "-compress", "zstd", "-engine", "podman", "-seed", "9", "-fill", "text", "-layout", lay}
	if code := run(args, os.Stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "Podman archive, 3 processes, 1048576 bytes of pages") {
		t.Errorf("summary: %s", stderr.String())
	}
	a, err := archive.Open(out, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c, err := archive.Load(a, archive.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Compression() != archive.Zstd || c.Checkpoints[0].Identity.Engine != archive.EnginePodman || c.Checkpoints[0].Sizes.Pages != 1<<20 {
		t.Errorf("%v %+v %+v", a.Compression(), c.Checkpoints[0].Identity, c.Checkpoints[0].Sizes)
	}
	for _, p := range []string{out, lay} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", p, st, err)
		}
	}
	// Existing files are refused without -force, and nothing is left.
	stderr.Reset()
	if code := run(args, os.Stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "exists") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
	if code := run(append(args, "-force"), os.Stdout, &stderr); code != 0 {
		t.Errorf("-force: exit %d: %s", code, stderr.String())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("directory holds %d files", len(ents))
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-o", "x", "-size", "lots"},
		{"-o", "x", "-engine", "docker"},
		{"-o", "x", "-compress", "bzip2"},
		{"-o", "x", "-fill", "ones"},
		{"-o", "x", "extra"},
		{"-bogus"},
	} {
		var stderr bytes.Buffer
		if code := run(args, os.Stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2: %s", args, code, stderr.String())
		}
	}
	var stderr bytes.Buffer
	if code := run([]string{"-o", filepath.Join(t.TempDir(), "x.tar"), "-procs", "0"}, os.Stdout, &stderr); code != 0 {
		// -procs 0 means the default, one process.
		t.Errorf("exit %d: %s", code, stderr.String())
	}
	if code := run([]string{"-o", filepath.Join(t.TempDir(), "x.tar"), "-procs", "-3"}, os.Stdout, &stderr); code != 1 {
		t.Errorf("negative -procs: exit %d", code)
	}
}
