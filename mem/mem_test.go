package mem

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
	"google.golang.org/protobuf/proto"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/internal/fixture"
)

const fixtures = "../testdata/fixtures"

// argsEnv collects every process's command line, environment and marker
// bytes through Load's pages hook, which on a plain tar runs after the pass
// with random access and on a compressed one during it, on the stream.
func collect(t *testing.T, path string, ms []fixture.Marker) (map[uint32][]string, map[uint32][]string, map[fixture.Marker][]byte) {
	t.Helper()
	a, err := archive.Open(path, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	argv, env, found := map[uint32][]string{}, map[uint32][]string{}, map[fixture.Marker][]byte{}
	_, err = archive.Load(a, archive.LoadOptions{Pages: func(c *archive.Checkpoint, p *archive.PagesImage) error {
		name, pid, ok := criu.PagemapFor(c.Images, p.ID)
		if !ok {
			t.Fatalf("no pagemap for pages-%d.img", p.ID)
		}
		ix, err := criu.NewPageIndex(c.Images.Get(name))
		if err != nil {
			return err
		}
		m := criu.First[*mm.MmEntry](c.Images, "mm-"+strconv.Itoa(int(pid))+".img")
		x := NewExtractor(ix)
		ae := WantArgsEnv(x, m)
		chunks := map[fixture.Marker]*Chunk{}
		for _, mk := range ms {
			if mk.PID == pid {
				chunks[mk] = x.Want(mk.Vaddr, len(mk.Text))
			}
		}
		if err := x.Feed(p.R); err != nil {
			return err
		}
		argv[pid], _ = ae.Argv()
		env[pid], _ = ae.Environ()
		for mk, c := range chunks {
			found[mk] = c.Prefix()
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return argv, env, found
}

func TestArgsEnvAndMarkers(t *testing.T) {
	for _, tc := range []struct {
		glob, expect string
		argv0        string
		nargs        int
	}{
		{"checkpoint-rich-*.tar", "", "/tmp/ckpt-work/bin/rich", 4},
		{"checkpoint-simple-*.tar", "", "/tmp/ckpt-work/bin/simple", 2},
		{"podman-simple.tar", "podman-simple.tar", "", 0},
		{"podman-simple.tar.gz", "podman-simple.tar.gz", "", 0},
		{"podman-rich.tar.zst", "podman-rich.tar.zst", "", 0},
	} {
		t.Run(tc.glob, func(t *testing.T) {
			m, _ := filepath.Glob(filepath.Join(fixtures, tc.glob))
			ms := fixture.Markers(t, fixtures, filepath.Base(m[0]))
			argv, env, found := collect(t, m[0], ms)
			if len(argv) == 0 {
				t.Fatal("no process memory read")
			}
			for pid, e := range env {
				if !slices.Contains(e, "FOO=bar") {
					t.Errorf("pid %d environment %q lacks FOO=bar", pid, e)
				}
				if len(argv[pid]) == 0 {
					t.Errorf("pid %d: empty command line", pid)
				}
				if tc.argv0 != "" && (argv[pid][0] != tc.argv0 || len(argv[pid]) != tc.nargs) {
					t.Errorf("pid %d argv %q", pid, argv[pid])
				}
			}
			if len(found) != len(ms) {
				t.Errorf("found %d of %d markers", len(found), len(ms))
			}
			for mk, b := range found {
				if string(b) != mk.Text {
					t.Errorf("pid %d %#x: %q, want %q", mk.PID, mk.Vaddr, b, mk.Text)
				}
			}
		})
	}
}

// pagemapImage encodes entries and decodes them as Load does, into runs;
// the index must read the same from entries held as messages. With a nil
// t it returns the messages, for callers that add entries themselves.
func pagemapImage(t *testing.T, entries ...*pagemap.PagemapEntry) *criu.Image {
	held := &criu.Image{Name: "pagemap-1.img", Entries: nil}
	held.Entries = append(held.Entries, &pagemap.PagemapHead{PagesId: proto.Uint32(1)})
	for _, e := range entries {
		held.Entries = append(held.Entries, e)
	}
	if t == nil {
		return held
	}
	t.Helper()
	magic, _ := criu.MagicByName("PAGEMAP")
	b, err := criu.EncodeImage(magic, held.Entries...)
	if err != nil {
		t.Fatal(err)
	}
	img, err := criu.ReadImage("pagemap-1.img", bytes.NewReader(b), criu.Options{Size: int64(len(b))}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, werr := criu.NewPageIndex(held)
	got, gerr := criu.NewPageIndex(img)
	if fmt.Sprint(werr) != fmt.Sprint(gerr) || (werr == nil && (!slices.Equal(slices.Collect(want.All()), slices.Collect(got.All())) || want.ImageBytes != got.ImageBytes)) {
		t.Fatalf("index from runs differs from index from messages:\n%+v %v\n%+v %v", got, gerr, want, werr)
	}
	return img
}

func entry(vaddr uint64, pages uint64, flags uint32) *pagemap.PagemapEntry {
	return &pagemap.PagemapEntry{Vaddr: proto.Uint64(vaddr), CompatNrPages: proto.Uint32(0), NrPages: proto.Uint64(pages), Flags: proto.Uint32(flags)}
}

func TestIndexLayoutAndAbsence(t *testing.T) {
	ix, err := criu.NewPageIndex(pagemapImage(t,
		entry(0x10000, 2, criu.PagePresent),
		entry(0x20000, 1, criu.PageParent),
		entry(0x30000, 1, criu.PageLazy),
		entry(0x40000, 3, criu.PageLazy|criu.PagePresent)))
	if err != nil {
		t.Fatal(err)
	}
	if ix.ImageBytes != 5*criu.PageSize {
		t.Fatalf("image bytes %d", ix.ImageBytes)
	}
	for addr, want := range map[uint64]int64{0x10000: 0, 0x11fff: 2*criu.PageSize - 1, 0x40000: 2 * criu.PageSize, 0x42001: 4*criu.PageSize + 1} {
		if off, err := ix.Locate(addr); err != nil || off != want {
			t.Errorf("Locate(%#x) = %d, %v; want %d", addr, off, err, want)
		}
	}
	for addr, want := range map[uint64]error{0x20000: criu.ErrInParent, 0x30010: criu.ErrLazy, 0x12000: criu.ErrNotDumped, 0: criu.ErrNotDumped, 0x43000: criu.ErrNotDumped} {
		if _, err := ix.Locate(addr); !errors.Is(err, want) {
			t.Errorf("Locate(%#x) = %v, want %v", addr, err, want)
		}
	}
	present, parent, lazy := ix.Bytes(0x10000, 0x50000)
	if present != 5*criu.PageSize || parent != criu.PageSize || lazy != criu.PageSize {
		t.Errorf("Bytes = %d %d %d", present, parent, lazy)
	}

	// Reading across a hole stops there and says why.
	pages := strings.NewReader(strings.Repeat("A", 2*criu.PageSize) + strings.Repeat("B", 3*criu.PageSize))
	buf := make([]byte, 3*criu.PageSize)
	n, err := ix.ReadAt(pages, buf, 0x11000)
	if n != criu.PageSize || !errors.Is(err, criu.ErrNotDumped) {
		t.Errorf("ReadAt across hole: %d, %v", n, err)
	}
	// A pages image shorter than the pagemap says is an error, not zeros.
	n, err = ix.ReadAt(strings.NewReader("short"), buf[:10], 0x10000)
	if n != 5 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadAt short image: %d, %v", n, err)
	}
	x := NewExtractor(ix)
	c := x.Want(0x40000, 10)
	if err := x.Feed(io.LimitReader(pages, 3)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Feed short stream: %v", err)
	}
	if c.Complete() {
		t.Error("chunk complete after a short stream")
	}
}

func TestIndexRejectsBadPagemaps(t *testing.T) {
	for name, img := range map[string]*criu.Image{
		"overlap":   pagemapImage(t, entry(0x10000, 2, criu.PagePresent), entry(0x11000, 1, criu.PagePresent)),
		"unaligned": pagemapImage(t, entry(0x10001, 1, criu.PagePresent)),
		"overflow":  pagemapImage(t, entry(0xfffffffffffff000, 2, criu.PagePresent)),
		"no head":   {Name: "pagemap-1.img", Entries: []proto.Message{entry(0, 1, 0)}},
	} {
		if _, err := criu.NewPageIndex(img); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzIndex builds indexes from arbitrary entries and checks the lookups
// agree with a linear scan.
func FuzzIndex(f *testing.F) {
	f.Add(uint64(0x10000), uint64(2), uint32(4), uint64(0x20000), uint64(1), uint32(1), uint64(0x10800))
	f.Fuzz(func(t *testing.T, a1, n1 uint64, f1 uint32, a2, n2 uint64, f2 uint32, probe uint64) {
		ix, err := criu.NewPageIndex(pagemapImage(t, entry(a1&^0xfff, n1%1024, f1&7), entry(a2&^0xfff, n2%1024, f2&7)))
		if err != nil {
			return
		}
		r, ok := ix.Lookup(probe)
		var want *criu.PageRun
		for run := range ix.All() {
			if run.Start <= probe && probe < run.End() {
				want = &run
			}
		}
		if ok != (want != nil) || ok && r != *want {
			t.Fatalf("Lookup(%#x) = %+v %v, linear scan %+v", probe, r, ok, want)
		}
		var total uint64
		for _, s := range ix.Spans(probe, 3*criu.PageSize) {
			total += s.Len
		}
		if probe <= 1<<64-1-3*criu.PageSize && total != 3*criu.PageSize {
			t.Fatalf("spans cover %d bytes", total)
		}
		// Present ranges are the present runs merged where they touch,
		// and count what PresentBytes counts.
		var present, runs uint64
		var last Range
		for i, r := range Present(ix) {
			if r.Len() == 0 || i > 0 && r.Start <= last.End {
				t.Fatalf("present ranges %v then %v: empty, unmerged or out of order", last, r)
			}
			present += r.Len()
			last = r
		}
		for run := range ix.All() {
			if run.Present() {
				runs += run.Pages * criu.PageSize
			}
		}
		if present != runs || PresentBytes(ix) != runs {
			t.Fatalf("present ranges hold %d bytes, PresentBytes %d, runs %d", present, PresentBytes(ix), runs)
		}
	})
}

func TestStringsKeepTheirAddresses(t *testing.T) {
	c := &Chunk{Addr: 0x1000, Data: []byte("a\x00\x00bc\x00d"), Have: []bool{true, true, true, true, true, true, true}}
	got := splitAt(c)
	want := []String{{0x1000, "a"}, {0x1003, "bc"}, {0x1006, "d"}}
	if !slices.Equal(got, want) {
		t.Fatalf("%+v, want %+v", got, want)
	}
}
