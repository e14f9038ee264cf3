package main

import (
	"fmt"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// cmdMemgen writes a synthetic archive for the mem scripts:
// `memgen KIND FILE`, compressed by FILE's extension (.gz, .zst). KIND is
// good (three processes, the last a zombie, markers across a page and a
// pagemap-entry boundary), past-end, overlap or no-pages. It sets
// $PID, $ZOMBIE, and $PAGE_ADDR, $ENTRY_ADDR for the markers
// PAGE-STRADDLE-MARKER and ENTRY-STRADDLE-MARKER (in process $PID).
func cmdMemgen(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: memgen KIND FILE")
	}
	spec := testgen.Spec{Processes: 3, Zombies: 1, PageBytes: 2 << 20, MaxRunPages: 4, Seed: 11,
		Markers: []testgen.Marker{
			{Data: []byte("PAGE-STRADDLE-MARKER"), Region: testgen.RegionAnon, Straddle: testgen.StraddlePage},
			{Data: []byte("ENTRY-STRADDLE-MARKER"), Region: testgen.RegionAnon, Straddle: testgen.StraddleEntry},
		}}
	switch args[0] {
	case "good":
	case "past-end":
		spec.Break.PagemapPastEnd = true
	case "overlap":
		spec.Break.OverlapPagemap = true
	case "no-pages":
		spec.Break.Omit = []string{"checkpoint/pages-1.img"}
	default:
		ts.Fatalf("memgen: unknown kind %q", args[0])
	}
	c := testgen.None
	switch {
	case strings.HasSuffix(args[1], ".gz"):
		c = testgen.Gzip
	case strings.HasSuffix(args[1], ".zst"):
		c = testgen.Zstd
	}
	l, err := testgen.WriteFile(ts.MkAbs(args[1]), spec, c, true)
	ts.Check(err)
	for _, p := range l.Processes {
		switch {
		case p.Zombie:
			ts.Setenv("ZOMBIE", fmt.Sprint(p.PID))
		case p.Index == 0:
			ts.Setenv("PID", fmt.Sprint(p.PID))
		}
	}
	ts.Setenv("PAGE_ADDR", fmt.Sprintf("%#x", l.Markers[0].Vaddr))
	ts.Setenv("ENTRY_ADDR", fmt.Sprintf("%#x", l.Markers[1].Vaddr))
}
