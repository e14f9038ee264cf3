package agent

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// An archive reads to its end marker only when whole; every cut short of
// it is "truncated" (the writer is not done), and what is not a tar at all
// is another error (sealed anyway).
func TestTarEnd(t *testing.T) {
	var buf bytes.Buffer
	if _, err := testgen.Write(&buf, testgen.Spec{PageBytes: 64 << 10}); err != nil {
		t.Fatal(err)
	}
	whole := buf.Bytes()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := tarEnd(write("whole.tar", whole)); err != nil {
		t.Fatalf("whole archive: %v", err)
	}
	// Cuts at a block boundary, inside a header, inside data, and between
	// the two zero blocks of the end marker.
	for _, n := range []int{512, 700, len(whole) / 2, len(whole) - 1024, len(whole) - 512, len(whole) - 1} {
		if err := tarEnd(write("cut.tar", whole[:n])); !errors.Is(err, errTruncated) {
			t.Errorf("cut at %d of %d: got %v, want truncated", n, len(whole), err)
		}
	}
	if err := tarEnd(write("empty.tar", nil)); !errors.Is(err, errTruncated) {
		t.Errorf("empty file: got %v, want truncated", err)
	}
	for name, data := range map[string][]byte{
		"short.tar":   []byte("garbage"),
		"garbage.tar": bytes.Repeat([]byte("x"), 4096),
	} {
		if err := tarEnd(write(name, data)); err == nil || errors.Is(err, errTruncated) {
			t.Errorf("%s: got %v, want a not-a-tar error", name, err)
		}
	}
	var z bytes.Buffer
	zw, _ := zstd.NewWriter(&z)
	zw.Write(whole)
	zw.Close()
	if err := tarEnd(write("whole.tar.zst", z.Bytes())); err != nil {
		t.Errorf("zstd archive: %v", err)
	}
	if err := tarEnd(write("cut.tar.zst", z.Bytes()[:z.Len()/2])); !errors.Is(err, errTruncated) {
		t.Errorf("cut zstd archive: got %v, want truncated", err)
	}
}
