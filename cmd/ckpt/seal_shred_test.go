package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ckpt-dev/ckpt/crypto/keys"
)

// TestSealShredSource seals with --shred-source: the archive is gone only
// after its sealed copy verified, and the output says how well it was
// destroyed. It runs in-process because whether shredding is possible
// depends on the filesystem under the test's temporary directory.
func TestSealShredSource(t *testing.T) {
	dir := t.TempDir()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err == nil && st.Type == unix.OVERLAYFS_SUPER_MAGIC {
		t.Skip("the temporary directory is on overlayfs, where shred refuses (and must)")
	}
	fixtures, _ := filepath.Glob("../../testdata/fixtures/checkpoint-simple-*.tar")
	if len(fixtures) == 0 {
		t.Fatal("no fixture")
	}
	data, err := os.ReadFile(fixtures[0])
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "checkpoint-web-7d9f8b6c5-x2x7q_default-web-2025-01-02T03:04:05Z.tar")
	if err := os.WriteFile(archive, data, 0o600); err != nil {
		t.Fatal(err)
	}
	key, _ := keys.Generate(false, time.Now())
	keyFile := filepath.Join(dir, "key.txt")
	os.WriteFile(keyFile, key.File(), 0o600)

	var stdout, stderr bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := run([]string{"seal", archive, "-r", key.Recipient, "--shred-source", "--format", "json"}, a); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var out sealReport
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	s := out.Sealed[0]
	if !s.ReadBack || s.Shred == nil || s.Shred.Status != "removed" {
		t.Fatalf("report: %+v", s)
	}
	if a := s.Shred.Assurance; a != "overwritten" && a != "best-effort" {
		t.Errorf("assurance %q", a)
	}
	if s.Shred.Assurance == "best-effort" && len(s.Shred.Reasons) == 0 {
		t.Error("best-effort without a reason")
	}
	if _, err := os.Stat(archive); !os.IsNotExist(err) {
		t.Fatalf("the archive is still there: %v", err)
	}
	// The sealed copy holds the archive.
	stdout.Reset()
	if code := run([]string{"open", archive + ".age", "-i", keyFile, "-o", "-"}, a); code != 0 {
		t.Fatalf("open: exit %d: %s", code, stderr.String())
	}
	if !bytes.Equal(stdout.Bytes(), data) {
		t.Fatal("the sealed copy does not hold the archive")
	}
}
