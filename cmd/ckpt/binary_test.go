package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// builtBinaries holds the programs built for tests that need a real
// process (signals, inotify, peak RSS), built once per test run.
var builtBinaries sync.Map

// buildBinary builds the Go package pkg (relative to this directory) and
// returns its path. $CKPT_TEST_BINARY, when set, replaces the ckpt binary
// (to run the same tests against another build).
func buildBinary(t *testing.T, pkg string) string {
	t.Helper()
	if pkg == "." {
		if p := os.Getenv("CKPT_TEST_BINARY"); p != "" {
			return p
		}
	}
	v, _ := builtBinaries.LoadOrStore(pkg, sync.OnceValues(func() (string, error) {
		// One directory per checkout, reused by every run, so that runs
		// leave nothing behind but the latest build.
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256([]byte(wd))
		dir := filepath.Join(os.TempDir(), "ckpt-test-bin-"+hex.EncodeToString(sum[:6]))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
		out := filepath.Join(dir, filepath.Base(filepath.Clean(pkg)))
		if pkg == "." {
			out = filepath.Join(dir, "ckpt")
		}
		cmd := exec.Command("go", "build", "-o", out, pkg)
		var msg bytes.Buffer
		cmd.Stderr = &msg
		if err := cmd.Run(); err != nil {
			return "", &buildError{pkg, err, msg.String()}
		}
		return out, nil
	}))
	p, err := v.(func() (string, error))()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type buildError struct {
	pkg string
	err error
	msg string
}

func (e *buildError) Error() string { return "go build " + e.pkg + ": " + e.err.Error() + "\n" + e.msg }

// ckptBinary returns the ckpt binary for a test that runs it as a process;
// such tests are skipped with -short.
func ckptBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	return buildBinary(t, ".")
}

// keyedBinary is ckptBinary with a temporary work directory that holds
// key.txt, a new age identity: where the end-to-end tests of sealed files
// start.
func keyedBinary(t *testing.T) (ckpt, work, key string, id *age.X25519Identity) {
	t.Helper()
	ckpt = ckptBinary(t)
	work = t.TempDir()
	key = filepath.Join(work, "key.txt")
	return ckpt, work, key, writeIdentity(t, key)
}

// writeIdentity writes a new age identity to path (0600, as age-keygen
// writes it) and returns it.
func writeIdentity(t *testing.T, path string) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return id
}

// sealTo runs `ckpt seal src -r <id's recipient> args...` and fails the
// test, with what seal printed, unless it succeeds.
func sealTo(t *testing.T, ckpt string, id *age.X25519Identity, src string, args ...string) {
	t.Helper()
	args = append([]string{"seal", src, "-r", id.Recipient().String()}, args...)
	if out, err := exec.Command(ckpt, args...).CombinedOutput(); err != nil {
		t.Fatalf("seal: %v\n%s", err, out)
	}
}

// sealedSynthetic is a synthetic archive and its sealed copy.
type sealedSynthetic struct {
	path   string // the plaintext archive, dir/x.tar
	sealed string // its sealed copy, dir/x.tar.age
	plain  []byte // the plaintext archive's bytes
}

// sealArchive writes dir/x.tar, a synthetic checkpoint archive with about
// size bytes of pages (testgen's default when 0), and seals it to id.
func sealArchive(t *testing.T, ckpt string, id *age.X25519Identity, dir string, size int, seed int64) sealedSynthetic {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "x.tar")
	if _, err := testgen.WriteFile(src, testgen.Spec{Seed: seed, PageBytes: int64(size)}, testgen.None, false); err != nil {
		t.Fatal(err)
	}
	plain, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	sealTo(t, ckpt, id, src)
	return sealedSynthetic{path: src, sealed: src + ".age", plain: plain}
}
