package scan_test

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/tartest"
	"github.com/ckpt-dev/ckpt/internal/testgen"
	"github.com/ckpt-dev/ckpt/scan"
	"github.com/ckpt-dev/ckpt/scan/scantest"
)

// TestTmpfsTarball scans the files of the tmpfs mounts CRIU dumped as
// tarballs (a Podman fixture's, with a file added to one of them), and
// lists a tarball it cannot read as not scanned without failing the scan.
func TestTmpfsTarball(t *testing.T) {
	ms, err := tartest.Read(filepath.Join(fixtures, "podman-simple.tar"))
	if err != nil {
		t.Fatal(err)
	}
	f := fakesByKind()[scan.AWSAccessKeyID]
	inner := tartest.Tar([]tartest.Member{
		{Name: "./", Type: tar.TypeDir},
		{Name: "./creds", Type: tar.TypeReg, Body: []byte("key " + f.Text + "\n")},
	})
	var tmpfs []string
	for i, m := range ms {
		if strings.HasPrefix(m.Name, "checkpoint/tmpfs-") {
			tmpfs = append(tmpfs, m.Name)
			switch len(tmpfs) {
			case 1:
				ms[i].Body = tartest.Gzip(inner)
			case 2:
				ms[i].Body = []byte("not a tarball")
			case 3:
				// 400 MiB of zeros, past the reader's 256 MiB grace.
				bomb, err := tartest.Bad("bomb-gzip", filepath.Join(fixtures, "podman-simple.tar"))
				if err != nil {
					t.Fatal(err)
				}
				ms[i].Body = bomb
			}
		}
	}
	if len(tmpfs) < 3 {
		t.Fatalf("%d tmpfs images in the fixture", len(tmpfs))
	}
	path := filepath.Join(t.TempDir(), "tmpfs.tar")
	if err := os.WriteFile(path, tartest.Tar(ms), 0o600); err != nil {
		t.Fatal(err)
	}
	r := scanFiles(t, scan.Options{Limits: archive.Limits{MaxRatio: 100}}, path)
	var got *scan.Finding
	for i := range r.Findings {
		if r.Findings[i].Kind == scan.AWSAccessKeyID {
			got = &r.Findings[i]
		}
	}
	want := scan.Location{Archive: path, Source: scan.SourceFile, File: tmpfs[0], Path: "/creds", Offset: 4}
	if got == nil || got.Count != 1 || got.Locations[0] != want {
		t.Fatalf("finding %+v, want one at %+v", got, want)
	}
	if ns := r.Archives[0].NotScanned; len(ns) != 2 || ns[0] != tmpfs[1]+": not a tar archive" ||
		!strings.HasPrefix(ns[1], tmpfs[2]+": decompression ratio exceeds limit (possible decompression bomb)") {
		t.Errorf("not scanned: %q", ns)
	}
	if r.Found([]scan.Kind{scan.EnvSecret}) != 1 {
		t.Errorf("the heap's token was not found after the bad tarball")
	}
}

// TestPagesBeforePagemap: on a stream whose pages come before the pagemap
// that maps them, the pages are scanned as in CRIU's order, with the
// process and the address, from a second pass over the file or from
// memory on a pipe.
func TestPagesBeforePagemap(t *testing.T) {
	spec := testgen.Spec{Markers: []testgen.Marker{{Data: []byte("\x00" + scantest.EnvPassword + "\x00")}},
		Break: testgen.Break{PagesBeforePagemap: true}}
	path := filepath.Join(t.TempDir(), "early.tar.zst")
	l, err := testgen.WriteFile(path, spec, testgen.Zstd, false)
	if err != nil {
		t.Fatal(err)
	}
	r := scanFiles(t, scan.Options{}, path)
	mk := l.Markers[0]
	at := 1 + len("DB_PASSWORD=") // the value, past the NUL and the name
	want := scan.Location{Archive: path, Source: scan.SourceMemory, File: "checkpoint/" + mk.PagesImage, Offset: mk.Offset + int64(at),
		PID: uint32(l.Processes[0].PID), Comm: l.Processes[0].Comm, Address: mk.Vaddr + uint64(at), Mapping: "heap"}
	if len(r.Findings) != 1 || r.Findings[0].Kind != scan.EnvSecret || r.Findings[0].Locations[0] != want {
		t.Fatalf("findings %+v, want env-secret at %+v", r.Findings, want)
	}
	if w := r.Archives[0].Warnings; len(w) != 0 {
		t.Errorf("warnings %q", w)
	}
}

// TestPodArchive scans a pod archive (two containers side by side, built
// from the simple and rich fixtures): findings name their container, and
// processes and mappings are looked up in that container's dump.
func TestPodArchive(t *testing.T) {
	pod := []tartest.Member{{Name: "pod.options", Type: tar.TypeReg, Body: []byte(`{"version":1,"containers":{"app":"app","side":"side"}}`)}}
	for name, glob := range map[string]string{"app": "checkpoint-simple-*.tar", "side": "checkpoint-rich-*.tar"} {
		paths, _ := filepath.Glob(filepath.Join(fixtures, glob))
		ms, err := tartest.Read(paths[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			m.Name = name + "/" + m.Name
			pod = append(pod, m)
		}
	}
	path := filepath.Join(t.TempDir(), "pod.tar")
	if err := os.WriteFile(path, tartest.Tar(pod), 0o600); err != nil {
		t.Fatal(err)
	}
	pid, vaddr, off := secretMarker(t, func() string {
		p, _ := filepath.Glob(filepath.Join(fixtures, "checkpoint-simple-*.tar"))
		return filepath.Base(p[0])
	}())
	r := scanFiles(t, scan.Options{}, path)
	want := scan.Location{Archive: path, Container: "app", Source: scan.SourceMemory, File: "app/checkpoint/pages-1.img", Offset: off,
		PID: pid, Comm: "ckpt-simple", Address: vaddr, Mapping: "heap"}
	if len(r.Findings) != 1 || r.Findings[0].Locations[0] != want {
		t.Fatalf("findings %+v\nwant one at %+v", r.Findings, want)
	}
	if a := r.Archives[0]; a.Containers != 2 || a.Processes != 4 {
		t.Errorf("archive summary %+v", a)
	}
}

// TestFindingLimits caps the distinct values listed and the locations
// per value: what is not listed is still counted.
func TestFindingLimits(t *testing.T) {
	p := plantAll(t, t.TempDir(), testgen.EnginePodman, testgen.None)
	full := scanFiles(t, scan.Options{MaxLocations: 100}, p.path)
	r := scanFiles(t, scan.Options{MaxFindings: 2, MaxLocations: 3}, p.path)
	if len(r.Findings) != 2 || r.Found(scan.Kinds()) != full.Found(scan.Kinds()) {
		t.Fatalf("%d findings listed, %d occurrences (want 2, %d)", len(r.Findings), r.Found(scan.Kinds()), full.Found(scan.Kinds()))
	}
	first := map[scan.Kind]scan.Location{}
	for _, f := range full.Findings {
		first[f.Kind] = f.Locations[0]
	}
	listed := 0
	for _, f := range r.Findings {
		listed += f.Count
		if len(f.Locations) != 3 || f.LocationsOmitted != f.Count-3 || f.Locations[0] != first[f.Kind] {
			t.Errorf("%s: %d locations, %d omitted, count %d", f.Kind, len(f.Locations), f.LocationsOmitted, f.Count)
		}
	}
	if r.Unlisted != full.Found(scan.Kinds())-listed {
		t.Errorf("unlisted %d, want %d", r.Unlisted, full.Found(scan.Kinds())-listed)
	}
}

// TestBrokenPagemaps: a pagemap that claims more pages than its image
// holds, or whose entries overlap, makes addresses meaningless: the scan
// fails, naming the image, on plain and compressed archives alike.
func TestBrokenPagemaps(t *testing.T) {
	for name, br := range map[string]testgen.Break{
		"past end": {PagemapPastEnd: true},
		"overlap":  {OverlapPagemap: true},
	} {
		for _, c := range []testgen.Compression{testgen.None, testgen.Zstd} {
			path := filepath.Join(t.TempDir(), "broken.tar"+c.Ext())
			if _, err := testgen.WriteFile(path, testgen.Spec{Break: br}, c, false); err != nil {
				t.Fatal(err)
			}
			a, err := archive.Open(path, archive.Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = scan.New(scan.Options{}).Scan(context.Background(), a)
			a.Close()
			if err == nil || !strings.Contains(err.Error(), "pagemap-1.img") {
				t.Errorf("%s, %s: %v", name, c, err)
			}
		}
	}
}

// TestCommandLineOptions finds secrets given as options or variables on a
// command line, in memory and in spec.dump, each place counted once.
func TestCommandLineOptions(t *testing.T) {
	argv := []string{"/app", "--db-password=fake-opt-pw-1", "--api-token", "fake-opt-token-2", "AUTH_TOKEN=fake-opt-3",
		"--PASSWORD=fake-opt-4", "--password-file=/run/pw", "--token", "-v", "--secret=$SECRET", "--", "--key=fake-not-an-option"}
	path := filepath.Join(t.TempDir(), "args.tar")
	l, err := testgen.WriteFile(path, testgen.Spec{Cmdline: argv}, testgen.None, false)
	if err != nil {
		t.Fatal(err)
	}
	p := l.Processes[0]
	argAddr := func(i int) uint64 {
		a := p.ArgStart
		for _, s := range argv[:i] {
			a += uint64(len(s)) + 1
		}
		return a
	}
	want := map[string][2]any{ // value: name, the argument that holds the value
		"fake-opt-pw-1":    {"db-password", 1},
		"fake-opt-token-2": {"api-token", 3},
		"fake-opt-3":       {"AUTH_TOKEN", 4},
		"fake-opt-4":       {"PASSWORD", 5},
	}
	r := scanFiles(t, scan.Options{Reveal: true}, path)
	if len(r.Findings) != len(want) {
		t.Fatalf("%d findings, want %d: %+v", len(r.Findings), len(want), r.Findings)
	}
	for _, f := range r.Findings {
		w, ok := want[f.Value]
		if !ok || f.Kind != scan.EnvSecret || f.Detail != w[0] || f.Count != 2 {
			t.Errorf("%s %q %q count %d", f.Kind, f.Value, f.Detail, f.Count)
			continue
		}
		// Both places are where the value starts: past --NAME= in its
		// argument, or the start of the argument after --NAME.
		arg := w[1].(int)
		at := strings.Index(argv[arg], f.Value)
		mem, spec := f.Locations[0], f.Locations[1]
		if mem.Source != scan.SourceCmdline || mem.PID != uint32(p.PID) || mem.Address != argAddr(arg)+uint64(at) ||
			spec.Source != scan.SourceSpec || spec.Field != fmt.Sprintf("process.args[%d]", arg) || spec.Offset != int64(at) {
			t.Errorf("%s: locations %+v", f.Value, f.Locations)
		}
	}
}

// TestDevShm scans the files of a Podman export's /dev/shm tarball.
func TestDevShm(t *testing.T) {
	ms, err := tartest.Read(filepath.Join(fixtures, "podman-simple.tar"))
	if err != nil {
		t.Fatal(err)
	}
	f := fakesByKind()[scan.AWSAccessKeyID]
	found := false
	for i, m := range ms {
		if m.Name == "devshm-checkpoint.tar" {
			ms[i].Body = tartest.Tar([]tartest.Member{{Name: "shared-buf", Type: tar.TypeReg, Body: []byte("xx " + f.Text + "\n")}})
			found = true
		}
	}
	if !found {
		t.Fatal("no devshm-checkpoint.tar in the fixture")
	}
	path := filepath.Join(t.TempDir(), "devshm.tar")
	if err := os.WriteFile(path, tartest.Tar(ms), 0o600); err != nil {
		t.Fatal(err)
	}
	r := scanFiles(t, scan.Options{}, path)
	want := scan.Location{Archive: path, Source: scan.SourceFile, File: "devshm-checkpoint.tar", Path: "/shared-buf", Offset: 3}
	for _, fd := range r.Findings {
		if fd.Kind == scan.AWSAccessKeyID && fd.Locations[0] == want {
			return
		}
	}
	t.Fatalf("no finding at %+v in %+v", want, r.Findings)
}
