package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ckpt-dev/ckpt/internal/tartest"
)

// TestMain lets the scripts run the real ckpt command in a subprocess, with
// its real exit codes and streams.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ckpt": func() { os.Exit(Main()) },
		// The same binary as a kubectl plugin (kube_script_test.go).
		"kubectl-ckpt": func() { os.Exit(Main()) },
	})
}

// TestScript runs testdata/script/*.txtar end to end. $FIXTURES is the
// repository's testdata/fixtures (read-only real archives: copy before
// changing them), $PEER its testdata/peer (archives from checkpointctl's
// test suite). Besides the standard commands, scripts have
// `status N prog args...`, which runs prog and requires exit status N, so
// the documented exit codes are tested exactly.
func TestScript(t *testing.T) {
	peer := repoDir(t, "testdata/peer")
	testscript.Run(t, scriptParams(t, "testdata/script", scriptCmds{
		"mkbad":  cmdMkbad,
		"memgen": cmdMemgen,
		"unzst":  cmdUnzst,
	}, nil, func(e *testscript.Env) error {
		e.Setenv("PEER", peer)
		return nil
	}))
}

// scriptCmds are a script suite's own commands.
type scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string)

// scriptParams is what the script suites share: the scripts in dir, exec
// explicit, `status` besides cmds, the conditions [root] and [devnull]
// (/dev/null is a character device) besides conds, and
// $FIXTURES set before setup (which may be nil) runs.
func scriptParams(t *testing.T, dir string, cmds scriptCmds, conds map[string]bool, setup func(*testscript.Env) error) testscript.Params {
	fixtures := repoDir(t, "testdata/fixtures")
	all := scriptCmds{"status": cmdStatus}
	maps.Copy(all, cmds)
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Cmds:                all,
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			case "devnull":
				return isCharDevice("/dev/null"), nil
			}
			if v, ok := conds[cond]; ok {
				return v, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(e *testscript.Env) error {
			e.Setenv("FIXTURES", fixtures)
			if setup == nil {
				return nil
			}
			return setup(e)
		},
	}
}

// isCharDevice reports whether path is a character device: a test that
// hands a device to shred checks first, so that it never removes a regular
// file left where the device should be.
func isCharDevice(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// repoDir is the absolute path of a directory of the repository.
func repoDir(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("../..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status N prog [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("status: %v", err)
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("status: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// cmdMkbad writes one of internal/tartest's bad archives, built from the
// simple kubelet-style fixture: `mkbad KIND FILE`.
func cmdMkbad(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mkbad KIND FILE")
	}
	base, err := filepath.Glob(filepath.Join(ts.Getenv("FIXTURES"), "checkpoint-simple-*.tar"))
	if err != nil || len(base) != 1 {
		ts.Fatalf("simple fixture not found")
	}
	b, err := tartest.Bad(args[0], base[0])
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o600))
}

// cmdUnzst decompresses a zstd file: `unzst SRC DST`. The peer archives
// are stored compressed; their scripts read the plain tar too.
func cmdUnzst(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: unzst SRC DST")
	}
	in, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer in.Close()
	d, err := zstd.NewReader(in)
	ts.Check(err)
	defer d.Close()
	out, err := os.OpenFile(ts.MkAbs(args[1]), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	ts.Check(err)
	_, err = io.Copy(out, d)
	ts.Check(err)
	ts.Check(out.Close())
}
