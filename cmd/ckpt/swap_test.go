package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestSwapAttack: someone who can write the sealed file rewrites it in
// place (a sealed file of their own, to the same recipient, of the same
// size) as soon as ckpt first reads it. Whatever the timing, open and
// verify --deep must either report the original plaintext or fail; the
// attacker's plaintext must never come out. Before open read the file once,
// `open -o -` printed the attacker's plaintext in most runs.
func TestSwapAttack(t *testing.T) {
	ckpt, work, key, id := keyedBinary(t)
	swapper := buildBinary(t, "./testdata/swapper")
	for _, size := range []int{200 << 10, 3 << 20} {
		sub := filepath.Join(work, strconv.Itoa(size))
		good := sealArchive(t, ckpt, id, filepath.Join(sub, "good"), size, 1)
		evil := sealArchive(t, ckpt, id, filepath.Join(sub, "evil"), size, 2)
		for _, path := range []string{"stdout", "file", "verify-deep"} {
			for run := range 4 {
				dir := filepath.Join(sub, "run", path, strconv.Itoa(run))
				if err := os.MkdirAll(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				sealed := filepath.Join(dir, "x.tar.age")
				for _, suffix := range []string{"", ".sha256", ".json"} {
					copyFile(t, good.sealed+suffix, sealed+suffix)
				}
				sw := exec.Command(swapper, sealed, evil.sealed)
				out, _ := sw.StdoutPipe()
				var swErr bytes.Buffer
				sw.Stderr = &swErr
				if err := sw.Start(); err != nil {
					t.Fatal(err)
				}
				if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
					sw.Wait()
					t.Fatalf("swapper: %q %s", line, swErr.String())
				}
				var args []string
				plainOut := filepath.Join(dir, "x.tar")
				switch path {
				case "stdout":
					args = []string{"open", sealed, "-i", key, "-o", "-"}
				case "file":
					args = []string{"open", sealed, "-i", key, "-o", plainOut}
				case "verify-deep":
					args = []string{"verify", "--deep", sealed, "-i", key}
				}
				cmd := exec.Command(ckpt, args...)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				runErr := cmd.Run()
				waitOrKill(t, sw)
				got := stdout.Bytes()
				if path == "file" {
					got, _ = os.ReadFile(plainOut)
				}
				if len(got) > 0 && bytes.Equal(got, evil.plain) {
					t.Fatalf("%d bytes, %s run %d: the attacker's plaintext came out (exit %v, swapper %q)\n%s", size, path, run, runErr, swErr.String(), stderr.String())
				}
				switch {
				case runErr == nil && path == "verify-deep":
					// The swap came after the only read.
				case runErr == nil && !bytes.Equal(got, good.plain):
					t.Fatalf("%d bytes, %s run %d: exit 0 but the output is not the sealed plaintext", size, path, run)
				case runErr != nil:
					if path == "file" {
						if _, err := os.Stat(plainOut); err == nil {
							t.Fatalf("%s: failed but left %s", path, plainOut)
						}
					}
					if path == "stdout" && len(got) > 0 {
						t.Fatalf("stdout: failed after writing %d bytes of plaintext", len(got))
					}
					if code := cmd.ProcessState.ExitCode(); code != exitChecksum {
						t.Errorf("%d bytes, %s run %d: exit %d, want %d (checksum): %s", size, path, run, code, exitChecksum, stderr.String())
					}
				}
				assertNoStrayFiles(t, dir, "x.tar.age", "x.tar.age.sha256", "x.tar.age.json", "x.tar")
			}
		}
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func waitOrKill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not finish", cmd.Path)
	}
}

// assertNoStrayFiles fails when dir holds anything but the names allowed
// (a temporary file left behind, say).
func assertNoStrayFiles(t *testing.T, dir string, allowed ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		ok := false
		for _, a := range allowed {
			ok = ok || e.Name() == a
		}
		if !ok {
			t.Errorf("%s: stray file %s", dir, e.Name())
		}
	}
}
