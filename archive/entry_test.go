package archive_test

import (
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
)

func TestImageOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  archive.EntryType
		want string
		kind archive.ImageKind
	}{
		{"checkpoint/pstree.img", archive.TypeFile, "pstree.img", archive.ImageEntries},
		{"app/checkpoint/core-1.img", archive.TypeFile, "core-1.img", archive.ImageEntries}, // a pod archive's container
		{"stats-dump", archive.TypeFile, "stats-dump", archive.ImageEntries},
		{"checkpoint/stats-dump", archive.TypeFile, "stats-dump", archive.ImageEntries},
		{"checkpoint/pages-1.img", archive.TypeFile, "pages-1.img", archive.ImageRaw},
		{"checkpoint/tmpfs-dev-60.tar.gz.img", archive.TypeFile, "tmpfs-dev-60.tar.gz.img", archive.ImageRaw},
		{"checkpoint/dump.log", archive.TypeFile, "", archive.ImageNone},
		{"checkpoint/sub/core-1.img", archive.TypeFile, "", archive.ImageNone},
		{"checkpoint/core-1.img", archive.TypeDir, "", archive.ImageNone},
		{"config.dump", archive.TypeFile, "", archive.ImageNone},
		{"core-1.img", archive.TypeFile, "", archive.ImageNone}, // not in checkpoint/
		{"notes/core-1.img", archive.TypeFile, "", archive.ImageNone},
	} {
		name, kind := archive.ImageOf(&archive.Entry{Name: tc.name, Type: tc.typ})
		if name != tc.want || kind != tc.kind {
			t.Errorf("%s (%s): %q kind %d, want %q kind %d", tc.name, tc.typ, name, kind, tc.want, tc.kind)
		}
	}
}

// TestImageOfAgreesWithLoad: the images Load decodes and the pages it hands
// over are exactly the members ImageOf names, in a real dump.
func TestImageOfAgreesWithLoad(t *testing.T) {
	m, _ := filepath.Glob("../testdata/fixtures/checkpoint-rich-*.tar")
	if len(m) == 0 {
		t.Fatal("no rich fixture")
	}
	a, err := archive.Open(m[0], archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var decoded, pages []string
	contents, err := archive.Load(a, archive.LoadOptions{
		Image: func(_ *archive.Checkpoint, img *criu.Image) error {
			decoded = append(decoded, img.Name)
			return nil
		},
		Pages: func(_ *archive.Checkpoint, p *archive.PagesImage) error {
			pages = append(pages, filepath.Base(p.Entry.Name))
			_, err := io.Copy(io.Discard, p.R)
			return err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var entries, raw []string
	for _, e := range contents.Checkpoints[0].Entries {
		switch name, kind := archive.ImageOf(e); {
		case kind == archive.ImageEntries && name != "stats-dump": // Load reads it as the checkpoint's Stats
			entries = append(entries, name)
		case kind == archive.ImageRaw && strings.HasPrefix(name, "pages-"):
			raw = append(raw, name)
		}
	}
	slices.Sort(decoded)
	slices.Sort(entries)
	slices.Sort(pages)
	slices.Sort(raw)
	if len(decoded) < 10 || !slices.Equal(decoded, entries) {
		t.Errorf("Load decoded %q\nImageOf names %q", decoded, entries)
	}
	if len(pages) == 0 || !slices.Equal(pages, raw) {
		t.Errorf("Load handed pages %q\nImageOf names %q", pages, raw)
	}
}
