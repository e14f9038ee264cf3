package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// TestTerminalEscapes: names taken from an archive (rootfs diff paths,
// comm, cmdline, environment) reach the terminal escaped: no escape
// sequence retitles or clears it and no newline adds a row.
func TestTerminalEscapes(t *testing.T) {
	ckpt := ckptBinary(t)
	p := filepath.Join(t.TempDir(), "x.tar")
	spec := testgen.Spec{
		Seed:    3,
		Comms:   []string{"evil\x1b[2J\u202e"},
		Cmdline: []string{"/bin/evil\x1b]0;owned\x07", "arg\nnewrow"},
		Env:     []string{"TERM=\x1b[31mred"},
		RootFS: []testgen.File{
			{Path: "/etc/\x1b]0;pwned\x07", Content: []byte("x")},
			{Path: "/tmp/line\nbreak", Content: []byte("y")},
		},
	}
	if _, err := testgen.WriteFile(p, spec, testgen.None, false); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"inspect", p}, {"inspect", "--all", p}, {"scan", p}} {
		out, err := exec.Command(ckpt, args...).CombinedOutput()
		if err != nil {
			if _, ok := err.(*exec.ExitError); !ok {
				t.Fatal(err)
			}
		}
		s := string(out)
		if strings.ContainsAny(s, "\x1b\x07\u202e") {
			t.Errorf("%v: raw control characters in the output:\n%q", args, s)
		}
		if strings.Contains(s, "\nbreak") || strings.Contains(s, "\nnewrow") {
			t.Errorf("%v: a newline from the archive broke a line:\n%s", args, s)
		}
		if args[1] == "--all" && !strings.Contains(s, `/etc/\x1b]0;pwned\x07`) {
			t.Errorf("%v: the escaped name is missing:\n%s", args, s)
		}
	}
}
