package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ckpt-dev/ckpt/internal/benchutil"
	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// shape is an archive whose cost grows in one direction: processes,
// pagemap entries, mappings, descriptors or pages.
type shape struct {
	name string
	spec testgen.Spec
	// runs are the commands measured on it; "A" stands for the archive.
	runs [][]string
	big  bool // written only with CKPT_SHAPES_BIG=1 (16 GiB)
}

func shapes() []shape {
	inspect := []string{"inspect", "--all", "-o", "json", "A"}
	images := []string{"images", "-o", "json", "A"}
	maps := []string{"mem", "maps", "-o", "json", "A"}
	diff := []string{"diff", "-o", "json", "A", "A"}
	procs := func(n int) shape {
		return shape{name: fmt.Sprintf("procs-%d", n), spec: testgen.Spec{Processes: n, Seed: 1}, runs: [][]string{inspect, images}}
	}
	pages := func(gib int64, big bool) shape {
		return shape{name: fmt.Sprintf("pages-%dGiB", gib), spec: testgen.Spec{Processes: 8, PageBytes: gib << 30, Fill: testgen.FillZeros, Seed: 1}, runs: [][]string{diff}, big: big}
	}
	files := make([]testgen.OpenFile, 100_000)
	for i := range files {
		files[i] = testgen.OpenFile{Path: fmt.Sprintf("/data/file-%06d", i), Flags: 2, Size: 4096}
	}
	return []shape{
		procs(100), procs(1000), procs(3000), procs(10000),
		// 1,048,576 one-page runs: a fragmented heap.
		{name: "pagemap-1M", spec: testgen.Spec{PageBytes: 4 << 30, MaxRunPages: 1, Fill: testgen.FillZeros, Seed: 1}, runs: [][]string{inspect, maps}},
		// One mapping per page.
		{name: "mappings-100k", spec: testgen.Spec{PageBytes: 100_000 * 4096, MaxRunPages: 1, MappingPages: 1, Fill: testgen.FillZeros, Seed: 1}, runs: [][]string{maps}},
		{name: "fds-100k", spec: testgen.Spec{Files: files, Seed: 1}, runs: [][]string{inspect}},
		pages(1, false), pages(4, false), pages(16, true),
	}
}

// BenchmarkShapes runs `make bench-shapes`: it builds each shape with
// testgen (cached in $CKPT_BENCH_DIR), runs each command CKPT_SHAPES_RUNS
// times (default 3) through GNU time, and prints the median wall time, the
// median CPU time (user and system: on a shared machine it says what the
// work costs when the wall clock says little) and the highest peak RSS as
// a table. CKPT_SHAPES selects shapes by name prefix (comma-separated; a
// prefix never stops inside a number); the 16 GiB shape needs
// CKPT_SHAPES_BIG=1. CKPT_SHAPES_BIN measures another build of ckpt.
func BenchmarkShapes(b *testing.B) {
	bin := os.Getenv("CKPT_SHAPES_BIN")
	if bin == "" {
		bin = benchutil.Binary(b, "../..")
	}
	runs := 3
	if s := os.Getenv("CKPT_SHAPES_RUNS"); s != "" {
		fmt.Sscan(s, &runs)
	}
	var only []string
	if s := os.Getenv("CKPT_SHAPES"); s != "" {
		only = strings.Split(s, ",")
	}
	big := os.Getenv("CKPT_SHAPES_BIG") == "1"
	var table strings.Builder
	fmt.Fprintf(&table, "\n| shape | command | median wall | median CPU | peak RSS |\n|---|---|---|---|---|\n")
	for _, sh := range shapes() {
		if (sh.big && !big) || (only != nil && !slices.ContainsFunc(only, func(p string) bool { return selects(p, sh.name) })) {
			continue
		}
		path := benchutil.Archive(b, "shape-"+sh.name+".tar", sh.spec, testgen.None)
		for _, cmd := range sh.runs {
			args := slices.Clone(cmd)
			for i, a := range args {
				if a == "A" {
					args[i] = path
				}
			}
			label := strings.Join(slices.DeleteFunc(slices.Clone(cmd), func(a string) bool { return a == "A" || a == "-o" || a == "json" }), " ")
			b.Run(sh.name+"/"+strings.ReplaceAll(label, " ", "_"), func(b *testing.B) {
				var walls, cpus []time.Duration
				var rss int64
				for range runs {
					r := benchutil.Run(b, bin, args...)
					walls = append(walls, r.Wall)
					cpus = append(cpus, r.CPU)
					rss = max(rss, r.MaxRSS)
				}
				slices.Sort(walls)
				slices.Sort(cpus)
				med, cpu := walls[len(walls)/2], cpus[len(cpus)/2]
				b.ReportMetric(med.Seconds()*1000, "median-wall-ms")
				b.ReportMetric(cpu.Seconds()*1000, "median-cpu-ms")
				b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
				b.ReportMetric(0, "ns/op")
				fmt.Fprintf(&table, "| %s | %s | %.2f s | %.2f s | %.0f MiB |\n", sh.name, label, med.Seconds(), cpu.Seconds(), float64(rss)/(1<<20))
			})
		}
	}
	fmt.Fprintf(os.Stdout, "%s\narchives in %s\n", table.String(), filepath.Clean(benchutil.Dir(b)))
}

// selects says whether p picks the shape called name: a prefix that does
// not stop inside a number ("procs" and "procs-100" pick procs-100,
// "procs-100" does not pick procs-1000).
func selects(p, name string) bool {
	if !strings.HasPrefix(name, p) {
		return false
	}
	rest := name[len(p):]
	return rest == "" || p == "" || !isDigit(p[len(p)-1]) || !isDigit(rest[0])
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
