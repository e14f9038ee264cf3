package scan_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/fixture"
	"github.com/ckpt-dev/ckpt/internal/testgen"
	"github.com/ckpt-dev/ckpt/scan"
	"github.com/ckpt-dev/ckpt/scan/scantest"
)

const fixtures = "../testdata/fixtures"

func scanFiles(t *testing.T, opt scan.Options, paths ...string) *scan.Report {
	t.Helper()
	s := scan.New(opt)
	for _, p := range paths {
		a, err := archive.Open(p, archive.Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Scan(context.Background(), a)
		a.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return s.Report()
}

// secretMarker reads where markers.tsv says the fixture's SECRET_TOKEN is,
// and returns where its value starts (past SECRET_TOKEN=): the place a
// scan reports.
func secretMarker(t *testing.T, archiveName string) (pid uint32, vaddr uint64, off int64) {
	t.Helper()
	for _, m := range fixture.Markers(t, fixtures, archiveName) {
		if strings.HasPrefix(m.Text, "SECRET_TOKEN=") {
			label := len("SECRET_TOKEN=")
			return m.PID, m.Vaddr + uint64(label), m.Offset + int64(label)
		}
	}
	t.Fatalf("%s: no SECRET_TOKEN in markers.tsv", archiveName)
	return
}

// TestFixtureSecretToken finds the token the simple fixtures planted in
// heap memory, where markers.tsv says, in every format, and nothing else.
func TestFixtureSecretToken(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(fixtures, "checkpoint-simple-*.tar"))
	more, _ := filepath.Glob(filepath.Join(fixtures, "podman-simple.tar*"))
	paths = append(paths, more...)
	if len(paths) != 4 {
		t.Fatalf("found %d simple fixtures, want 4", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			pid, vaddr, off := secretMarker(t, filepath.Base(p))
			for _, reveal := range []bool{false, true} {
				r := scanFiles(t, scan.Options{Reveal: reveal}, p)
				if len(r.Findings) != 1 {
					t.Fatalf("%d findings, want 1: %+v", len(r.Findings), r.Findings)
				}
				f := r.Findings[0]
				want := scan.Location{Archive: p, Source: scan.SourceMemory, File: "checkpoint/pages-1.img", Offset: off,
					PID: pid, Comm: "ckpt-simple", Address: vaddr, Mapping: "heap"}
				if f.Kind != scan.EnvSecret || f.Detail != "SECRET_TOKEN" || f.Preview != "hunt...ak" || f.Length != 19 ||
					f.Count != 1 || len(f.Locations) != 1 || f.Locations[0] != want {
					t.Errorf("finding %+v\nwant env-secret SECRET_TOKEN at %+v", f, want)
				}
				wantValue := ""
				if reveal {
					wantValue = "hunter2-do-not-leak"
				}
				if f.Value != wantValue || r.Revealed != reveal {
					t.Errorf("reveal %v: value %q", reveal, f.Value)
				}
				if r.Found([]scan.Kind{scan.EnvSecret}) != 1 || r.Found([]scan.Kind{scan.JWT, scan.PrivateKey}) != 0 {
					t.Errorf("summary %+v", r.Summary)
				}
			}
		})
	}
}

// TestFixturesRichClean: the rich fixtures hold markers, pipes, sockets
// and an environment of FOO and PATH, and no secret of any kind.
func TestFixturesRichClean(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(fixtures, "*rich*.tar*"))
	if len(paths) != 3 {
		t.Fatalf("found %d rich fixtures, want 3", len(paths))
	}
	r := scanFiles(t, scan.Options{}, paths...)
	if n := r.Found(scan.Kinds()); n != 0 || len(r.Findings) != 0 {
		t.Errorf("%d findings: %+v", n, r.Findings)
	}
	for _, a := range r.Archives {
		if a.Processes != 3 || len(a.Scanned) == 0 || a.Scanned[0].Source != scan.SourceMemory || a.Scanned[0].Items != 3 {
			t.Errorf("%s: %+v", a.Archive, a)
		}
	}
}

// planted is an archive with every fake in every place a secret can be.
type planted struct {
	path   string
	layout testgen.Layout
	fakes  []scantest.Fake
	starts []int // of each fake in the blob
	log    string
}

// tcp stands for either TCP stream image: which one holds ToServer depends
// on the server socket's inode.
const tcp = "checkpoint/tcp-stream-*"

func plantAll(t testing.TB, dir string, engine string, comp testgen.Compression) planted {
	fakes := scantest.Fakes()
	_, starts := scantest.Blob(fakes)
	path := filepath.Join(dir, "planted.tar"+comp.Ext())
	l, err := testgen.WriteFile(path, scantest.Planted(engine), comp, false)
	if err != nil {
		t.Fatal(err)
	}
	logName := "ctr.log"
	if engine == testgen.EngineContainerd {
		logName = "container.log"
	}
	return planted{path: path, layout: l, fakes: fakes, starts: starts, log: logName}
}

// expected lists where each fake must be found.
func (p planted) expected(t *testing.T) map[scan.Kind][]scan.Location {
	want := map[scan.Kind][]scan.Location{}
	for i, f := range p.fakes {
		var locs []scan.Location
		for _, mk := range p.layout.Markers {
			if k := bytes.Index(mk.Data, []byte(f.Text)); k >= 0 {
				locs = append(locs, scan.Location{Source: scan.SourceMemory, File: "checkpoint/" + mk.PagesImage, PID: uint32(mk.PID),
					Address: mk.Vaddr + uint64(k+f.ValueAt()), Offset: mk.Offset + int64(k+f.ValueAt())})
			}
		}
		zero := 0
		at := int64(p.starts[i] - f.Start + f.ValueAt()) // where the value is, past any label
		locs = append(locs,
			scan.Location{Source: scan.SourceRootFS, File: "rootfs-diff.tar", Path: "/app/secrets.env", Offset: at},
			scan.Location{Source: scan.SourcePayload, File: "checkpoint/sk-queues.img", Entry: &zero, Offset: at},
			scan.Location{Source: scan.SourcePayload, File: "checkpoint/pipes-data.img", Entry: &zero, Offset: at},
			scan.Location{Source: scan.SourcePayload, File: tcp, Entry: &zero, Offset: at},
			scan.Location{Source: scan.SourceLog, File: p.log, Offset: at})
		if f.Kind == scan.EnvSecret {
			locs = append(locs, scan.Location{Source: scan.SourceSpec, File: "spec.dump", Field: "process.env[2]", Offset: int64(f.ValueAt())})
			for _, pr := range p.layout.Processes {
				addr := pr.EnvStart + uint64(len("PATH=/usr/bin:/bin")+1+len("FOO=bar")+1+f.ValueAt())
				off, _ := pr.Offset(addr)
				locs = append(locs, scan.Location{Source: scan.SourceEnviron, File: "checkpoint/" + pr.PagesImage, PID: uint32(pr.PID),
					Address: addr, Offset: off, Field: "environ[2]"})
			}
		}
		want[f.Kind] = locs
	}
	return want
}

// TestPlantedEverywhere plants one secret of every kind in memory (also
// across page and pagemap-entry boundaries), the rootfs diff, socket,
// pipe and TCP queues, the log and the environment, and requires each
// where it is, with the right value, redacted unless revealed.
func TestPlantedEverywhere(t *testing.T) {
	for _, tc := range []struct {
		engine string
		comp   testgen.Compression
	}{{testgen.EnginePodman, testgen.None}, {testgen.EngineContainerd, testgen.Zstd}} {
		t.Run(tc.engine, func(t *testing.T) {
			p := plantAll(t, t.TempDir(), tc.engine, tc.comp)
			want := p.expected(t)
			for _, reveal := range []bool{false, true} {
				r := scanFiles(t, scan.Options{Reveal: reveal, MaxLocations: 100}, p.path)
				if len(r.Findings) != len(p.fakes) {
					for _, f := range r.Findings {
						t.Logf("%s %s %q %+v", f.Kind, f.Preview, f.Detail, f.Locations[0])
					}
					t.Fatalf("%d findings, want %d", len(r.Findings), len(p.fakes))
				}
				for i, f := range r.Findings {
					fk := p.fakes[i]
					if f.Kind != fk.Kind || f.Detail != fk.Detail || f.Length != len(fk.Value) || f.Preview != scan.Preview([]byte(fk.Value)) {
						t.Errorf("finding %d: %s %q %q, want %s %q", i, f.Kind, f.Preview, f.Detail, fk.Kind, fk.Detail)
					}
					if reveal && f.Value != fk.Value || !reveal && f.Value != "" {
						t.Errorf("%s: reveal %v, value %q", f.Kind, reveal, f.Value)
					}
					got := slices.Clone(f.Locations)
					for j := range got {
						if got[j].Archive != p.path {
							t.Errorf("%s: archive %q", f.Kind, got[j].Archive)
						}
						// Names of processes and mappings are checked below.
						got[j].Archive, got[j].Comm, got[j].Mapping, got[j].MappingFile = "", "", "", ""
						if strings.HasPrefix(got[j].File, "checkpoint/tcp-stream-") {
							got[j].File = tcp
						}
					}
					w := want[f.Kind]
					if f.Count != len(w) || !sameLocations(got, w) {
						t.Errorf("%s: %d locations\n got %s\nwant %s", f.Kind, f.Count, fmtLocs(got), fmtLocs(w))
					}
					for _, l := range f.Locations {
						if (l.Source == scan.SourceMemory || l.Source == scan.SourceEnviron) && (l.Mapping == "" || l.Comm == "") {
							t.Errorf("%s: memory location without process or mapping: %+v", f.Kind, l)
						}
					}
				}
				for _, s := range r.Summary {
					if s.Findings != 1 || s.Occurrences != len(want[s.Kind]) {
						t.Errorf("summary %+v, want 1 finding, %d occurrences", s, len(want[s.Kind]))
					}
				}
			}
		})
	}
}

func sameLocations(a, b []scan.Location) bool {
	key := func(l scan.Location) string { return fmtLocs([]scan.Location{l}) }
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		ka[i] = key(a[i])
	}
	for i := range b {
		kb[i] = key(b[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}

func fmtLocs(ls []scan.Location) string {
	var sb strings.Builder
	for _, l := range ls {
		e := -1
		if l.Entry != nil {
			e = *l.Entry
		}
		fmt.Fprintf(&sb, "\n  %s %s %s %s e%d +%d pid %d %#x", l.Source, l.File, l.Path, l.Field, e, l.Offset, l.PID, l.Address)
	}
	return sb.String()
}
