package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/inspect"
	"github.com/ckpt-dev/ckpt/internal/render"
	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// The streaming JSON writer of inspect must give exactly what encoding the
// whole value at once gives, for several reports, with every section, and
// with strings that hold JSON-looking text.
func TestInspectJSONStreamsSameBytes(t *testing.T) {
	gen := filepath.Join(t.TempDir(), "gen.tar")
	spec := testgen.Spec{Processes: 6, ThreadsPerProcess: 2, Zombies: 1, Seed: 5, SpecialFDs: true,
		Cmdline: []string{"/bin/app", "\n    \"processes\": []", "<&>"}, Env: []string{"K=v\"x"},
		Files: []testgen.OpenFile{{Path: "/data/a", Flags: 2, Size: 10, Lock: true}, {Path: "/data/\"fds\": [", Flags: 0, Size: 1}}}
	if _, err := testgen.WriteFile(gen, spec, testgen.None, false); err != nil {
		t.Fatal(err)
	}
	var reports []*inspect.Report
	for _, p := range []string{gen, "../../testdata/fixtures/podman-rich.tar", "../../testdata/fixtures/checkpoint-rich-5d4f8b9c7-k8m2n_ckpt-test-rich-2026-11-28T22:28:10Z.tar"} {
		a, err := archive.Open(p, archive.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := inspect.Build(a, inspect.Options{Sections: inspect.All()})
		a.Close()
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, rs...)
	}
	for _, rs := range [][]*inspect.Report{reports, reports[:1], {}, nil} {
		var want, got bytes.Buffer
		if err := render.JSON(&want, rs); err != nil {
			t.Fatal(err)
		}
		if err := writeInspectJSON(&got, rs); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want.Bytes(), got.Bytes()) {
			t.Errorf("%d reports: streamed JSON differs (%d bytes, want %d)", len(rs), got.Len(), want.Len())
		}
	}
}
