package diff

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// Two plain archives are compared by reading their pages again at Compare
// time, with nothing held per page; the report must be the one the hashes
// of two streamed archives give.
func TestRandomAccessMatchesStream(t *testing.T) {
	dir := t.TempDir()
	a := base()
	b := base()
	b.Markers = []testgen.Marker{{Data: bytes.Repeat([]byte("Z"), 3*4096), Process: 0, Region: testgen.RegionAnon}}
	pa, _ := gen(t, dir, "a", a, testgen.None)
	pb, _ := gen(t, dir, "b", b, testgen.None)
	za, _ := gen(t, dir, "a", a, testgen.Zstd)
	zb, _ := gen(t, dir, "b", b, testgen.Zstd)
	plain := diffFiles(t, pa, pb, Options{})
	stream := diffFiles(t, za, zb, Options{})
	if plain.Summary.Pages.Changed == 0 {
		t.Fatalf("no changed pages: %+v", plain.Summary.Pages)
	}
	plain.A, plain.B, stream.A, stream.B = Side{}, Side{}, Side{}, Side{}
	if !equalJSON(plain, stream) {
		t.Errorf("plain and zstd archives give different reports:\n%+v\n%+v", plain.Summary, stream.Summary)
	}
	checkAgainstReference(t, diffFiles(t, pa, pb, Options{}), pa, pb)
}

// A random-access snapshot whose archive is closed before Compare fails,
// naming the pages image, rather than reporting pages it could not read.
func TestCompareAfterCloseFails(t *testing.T) {
	dir := t.TempDir()
	pa, _ := gen(t, dir, "a", base(), testgen.None)
	d := New(Options{})
	read := func() *Snapshot {
		ar, err := archive.Open(pa, archive.Options{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := d.Read(context.Background(), ar)
		if err != nil {
			t.Fatal(err)
		}
		ar.Close()
		return s
	}
	sa, sb := read(), read()
	_, err := d.Compare(sa, sb)
	if err == nil || !strings.Contains(err.Error(), "pages-") {
		t.Fatalf("Compare after Close: %v", err)
	}
}
