package shred

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// secret returns n bytes of recognisable "plaintext" and the marker that
// starts every 64-byte line of it, unique to this call.
func secret(n int) (data, marker []byte) {
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	marker = []byte("CKPT-SECRET-" + hex.EncodeToString(id) + "-")
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		line := fmt.Sprintf("%s%08d", marker, i)
		b.WriteString(line + string(bytes.Repeat([]byte{'.'}, 63-len(line))) + "\n")
	}
	return b.Bytes()[:n], marker
}

// writeSecret writes data to path durably and dates it a minute back, so
// the settle watch has nothing to wait for.
func writeSecret(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

// names lists a directory, to prove a name (and no random leftover) is
// gone.
func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// extentsOf returns the file's physical extents.
func extentsOf(t *testing.T, path string) []extent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	es, err := fiemap(int(f.Fd()))
	if err != nil {
		t.Fatalf("FIEMAP %s: %v", path, err)
	}
	return es
}

// secretAt writes n bytes of secret to path, as writeSecret does, and
// returns them and their marker.
func secretAt(t *testing.T, path string, n int) (data, marker []byte) {
	t.Helper()
	data, marker = secret(n)
	writeSecret(t, path, data)
	return data, marker
}

// secretFile writes n bytes of secret to a new file in a temporary
// directory, as writeSecret does, and returns its path and its bytes.
func secretFile(t *testing.T, n int) (string, []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	data, _ := secretAt(t, p, n)
	return p, data
}

// refused shreds path and fails the test unless File refuses it, with the
// refusing finding code (unless code is empty) and a reason that says
// reason.
func refused(t *testing.T, path string, opt Options, code, reason string) Result {
	t.Helper()
	r, err := File(context.Background(), path, opt)
	if !errors.Is(err, ErrRefused) || code != "" && !hasFinding(r, code, Refused) || !strings.Contains(strings.Join(r.Reasons, " "), reason) {
		t.Fatalf("%+v, %v; want refused (finding %q, reason %q)", r, err, code, reason)
	}
	return r
}

func hasFinding(r Result, code string, lv Assurance) bool {
	for _, f := range r.Findings {
		if f.Code == code && f.Assurance == lv {
			return true
		}
	}
	return false
}

func needRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("skipped: %s needs root (running as uid %d)", why, os.Geteuid())
	}
}

func statOf(t *testing.T, path string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func mustNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("%s still exists (%v)", filepath.Base(path), err)
	}
}
