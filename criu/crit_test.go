package criu

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// fixtureImages returns the members under checkpoint/ (and stats-dump) of a
// fixture archive, plain or compressed.
func fixtureImages(t *testing.T, archive string) map[string][]byte {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	switch {
	case strings.HasSuffix(archive, ".gz"):
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case strings.HasSuffix(archive, ".zst"):
		zr, err := zstd.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	}
	out := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasPrefix(h.Name, "checkpoint/") && h.Name != "stats-dump" {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[path.Base(h.Name)] = b
	}
}

func allFixtures(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob("../testdata/fixtures/*.tar*")
	if err != nil || len(m) < 7 {
		t.Fatalf("fixtures missing: %v %v", m, err)
	}
	return m
}

// TestMatchesCrit decodes every image with a magic in every fixture and
// compares it, value by value, with what CRIU's own crit printed.
func TestMatchesCrit(t *testing.T) {
	for _, archive := range allFixtures(t) {
		images := fixtureImages(t, archive)
		expectDir := filepath.Join("../testdata/fixtures/expected", filepath.Base(archive), "show")
		compared := 0
		for name, data := range images {
			want, err := os.ReadFile(filepath.Join(expectDir, name+".json"))
			if os.IsNotExist(err) {
				if !IsRaw(name) && strings.HasSuffix(name, ".img") {
					t.Errorf("%s: %s: no crit reference", filepath.Base(archive), name)
				}
				continue
			}
			var got bytes.Buffer
			if err := WriteJSON(&got, bytes.NewReader(data), JSONOptions{Options: Options{Size: int64(len(data))}}); err != nil {
				t.Errorf("%s: %s: %v", filepath.Base(archive), name, err)
				continue
			}
			var g, w any
			if err := json.Unmarshal(got.Bytes(), &g); err != nil {
				t.Fatalf("%s: our JSON does not parse: %v\n%s", name, err, got.String())
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s: %s differs from crit:\nours: %.2000s\ncrit: %.2000s", filepath.Base(archive), name, got.String(), want)
			}
			compared++
		}
		t.Logf("%s: %d images match crit", filepath.Base(archive), compared)
		if compared < 10 {
			t.Errorf("%s: only %d images compared", filepath.Base(archive), compared)
		}
	}
}
