package archive

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// TestPagesAskedForLater: a hook that needs the pagemap returns ErrNotYet
// for pages that come before it; Load hands them over again, Final, from
// a second pass over a file (said in a debug line) or from memory on a
// stream, within MaxPending, and otherwise fails naming the cause.
func TestPagesAskedForLater(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reverse.tar.zst")
	if _, err := testgen.WriteFile(path, testgen.Spec{Processes: 3, PageBytes: 1 << 20, Order: testgen.OrderReverse}, testgen.Zstd, false); err != nil {
		t.Fatal(err)
	}
	load := func(a *Archive, lim Limits) (map[uint32]int64, int, error) {
		got := map[uint32]int64{}
		early := 0
		_, err := Load(a, LoadOptions{Limits: lim, Pages: func(c *Checkpoint, p *PagesImage) error {
			if !p.Final && c.Images.Get("pagemap-1.img") == nil {
				early++
				return ErrNotYet
			}
			n, err := io.Copy(io.Discard, p.R)
			got[p.ID] = n
			return err
		}})
		return got, early, err
	}
	var debug []string
	a, err := Open(path, Options{Debug: func(m string) { debug = append(debug, m) }})
	if err != nil {
		t.Fatal(err)
	}
	got, early, err := load(a, Limits{})
	a.Close()
	if err != nil || early != 3 || len(got) != 3 || len(debug) != 1 || !strings.Contains(debug[0], "reading the archive a second time") {
		t.Fatalf("file: err %v, %d early, pages %v, debug %q", err, early, got, debug)
	}
	for _, maxHeld := range []int64{0, 64 << 10} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		a, err := OpenReader("-", f, Options{Limits: Limits{MaxPending: maxHeld}})
		if err != nil {
			t.Fatal(err)
		}
		held, _, err := load(a, Limits{})
		f.Close()
		switch {
		case maxHeld == 0 && (err != nil || len(held) != 3):
			t.Errorf("pipe: err %v, pages %v", err, held)
		case maxHeld == 0:
			for id, n := range held {
				if n != got[id] {
					t.Errorf("pipe: pages-%d.img %d bytes, the file gave %d", id, n, got[id])
				}
			}
		case !errors.Is(err, ErrOutOfOrder) || !strings.Contains(err.Error(), "pages-") || !strings.Contains(err.Error(), "65536-byte limit"):
			t.Errorf("pipe over the limit: %v", err)
		}
	}
}

// TestGzipHeaderNamedOnce: compress/gzip names itself in its errors.
func TestGzipHeaderNamedOnce(t *testing.T) {
	bad := append([]byte{0x1f, 0x8b, 0x08, 0xe0}, bytes.Repeat([]byte{'a'}, 600)...)
	_, err := OpenReader("bad.tar.gz", bytes.NewReader(bad), Options{})
	if err == nil || strings.Count(err.Error(), "gzip:") != 1 {
		t.Errorf("err %v", err)
	}
}
