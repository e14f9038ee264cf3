package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/procmem"
	"github.com/ckpt-dev/ckpt/internal/render"
	"github.com/ckpt-dev/ckpt/internal/testgen"
	"github.com/ckpt-dev/ckpt/mem"
)

// mem maps writes one process at a time: its JSON must be the bytes
// render.JSON gives for everything procmem.Maps collects, and its table the
// bytes render.Table gives for all the rows at once, on fixtures, a generated archive with a zombie and names that
// look like JSON, and filters that keep some, none or no mappings.
func TestMemMapsStreamsSameBytes(t *testing.T) {
	gen := filepath.Join(t.TempDir(), "gen.tar")
	spec := testgen.Spec{Processes: 5, Zombies: 1, Seed: 9, ParentEntries: 2, Comms: []string{"\n    \"mappings\": []", "a\x1bb"},
		Files: []testgen.OpenFile{{Path: "/data/\"mappings\": [", Flags: 2, Size: 10}, {Path: "/data/wide 世界 ", Size: 1}}}
	if _, err := testgen.WriteFile(gen, spec, testgen.None, false); err != nil {
		t.Fatal(err)
	}
	archives := []string{gen, "../../testdata/fixtures/podman-rich.tar", "../../testdata/fixtures/checkpoint-rich-5d4f8b9c7-k8m2n_ckpt-test-rich-2026-11-28T22:28:10Z.tar"}
	heap, _ := mem.ParseMapKinds("heap")
	none, _ := mem.ParseRange("1-2")
	filters := []mem.MapFilter{{}, {Kinds: heap}, {Ranges: []mem.Range{none}}}
	for _, p := range archives {
		for fi, f := range filters {
			opt := procmem.MapsOptions{Filter: f}
			a, err := archive.Open(p, archive.Options{})
			if err != nil {
				t.Fatal(err)
			}
			procs, err := procmem.Maps(a, opt)
			if err != nil {
				t.Fatal(err)
			}
			each := func(fn func(*procmem.ProcessMaps) error) error { return procmem.EachMaps(a, opt, fn) }
			var want, got bytes.Buffer
			if err := render.JSON(&want, procs); err != nil {
				t.Fatal(err)
			}
			if err := writeMapsJSON(&got, each); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(want.Bytes(), got.Bytes()) {
				t.Errorf("%s, filter %d: streamed JSON differs (%d bytes, want %d)", filepath.Base(p), fi, got.Len(), want.Len())
			}
			want.Reset()
			got.Reset()
			if err := mapsTable(&want, procs); err != nil {
				t.Fatal(err)
			}
			if err := renderMaps(&got, each); err != nil {
				t.Fatal(err)
			}

			if !bytes.Equal(want.Bytes(), got.Bytes()) {
				t.Errorf("%s, filter %d: table differs:\n%s\nwant\n%s", filepath.Base(p), fi, got.String(), want.String())
			}
			a.Close()
		}
	}
}

// mapsTable is the table of every row at once through render.Table, as mem
// maps wrote it before it held rows as render.Rows.
func mapsTable(w io.Writer, procs []procmem.ProcessMaps) error {
	pod := false
	for _, p := range procs {
		pod = pod || p.Container != ""
	}
	header := []string{"pid", "#", "range", "perms", "offset", "kind", "present", "file"}
	if pod {
		header = append([]string{"container"}, header...)
	}
	var rows [][]string
	for _, p := range procs {
		for _, m := range p.Mappings {
			present := render.Bytes(m.Present)
			if m.InParent > 0 {
				present += fmt.Sprintf(" (+%s in parent)", render.Bytes(m.InParent))
			}
			if m.Lazy > 0 {
				present += fmt.Sprintf(" (+%s lazy)", render.Bytes(m.Lazy))
			}
			row := []string{fmt.Sprint(p.PID), fmt.Sprint(m.Index), fmt.Sprintf("%08x-%08x", m.Start, m.End), m.Perms, fmt.Sprintf("%08x", m.Offset), m.Kind, present, m.File}
			if pod {
				row = append([]string{p.Container}, row...)
			}
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		_, err := io.WriteString(w, "no mappings match\n")
		return notesOf(w, procs, err)
	}
	return notesOf(w, procs, render.Table(w, header, rows))
}

// notesOf appends the notes' lines, which the comparison leaves to
// renderMaps: only their presence after the table is checked here.
func notesOf(w io.Writer, procs []procmem.ProcessMaps, err error) error {
	if err != nil {
		return err
	}
	for _, p := range procs {
		if p.State == "zombie" || p.State == "dead" {
			render.Println(w, fmt.Sprintf("pid %d (%s) is a zombie: it has no memory", p.PID, p.Comm))
		}
		if len(p.MissingImages) > 0 {
			return fmt.Errorf("pid %d: missing images %s: not covered by this test", p.PID, strings.Join(p.MissingImages, " "))
		}
	}
	return nil
}

// A process whose memory cannot be read fails mem maps before anything is
// written, even when processes before it were fine: no partial output.
func TestMemMapsFailsBeforeWriting(t *testing.T) {
	gen := filepath.Join(t.TempDir(), "gen.tar")
	spec := testgen.Spec{Processes: 3, Seed: 3, Break: testgen.Break{Omit: []string{"checkpoint/pagemap-3.img"}}}
	if _, err := testgen.WriteFile(gen, spec, testgen.None, false); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"mem", "maps", gen}, {"mem", "maps", "-o", "json", gen}} {
		code, stdout, stderr := runCkpt(args...)
		if code == 0 || stdout != "" || !strings.Contains(stderr, "pagemap-3.img") {
			t.Errorf("%q: exit %d, %d bytes of stdout, stderr %q; want a failure naming pagemap-3.img and no output", args, code, len(stdout), stderr)
		}
	}
}
