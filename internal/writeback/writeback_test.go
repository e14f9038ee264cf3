package writeback

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestWriterWritesEverything(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("head"))
	w := NewWriter(f)
	chunk := bytes.Repeat([]byte{7}, 1<<20)
	for range 3 * Window >> 20 {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if w.off != 4+3*Window || w.t.flushed != 4+3*Window {
		t.Fatalf("offset %d, handed to writeback up to %d", w.off, w.t.flushed)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	if st.Size() != 4+3*Window {
		t.Fatalf("size %d", st.Size())
	}
}
