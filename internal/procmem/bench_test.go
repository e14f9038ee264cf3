package procmem

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckpt-dev/ckpt/internal/benchutil"
	"github.com/ckpt-dev/ckpt/internal/testgen"
	"github.com/ckpt-dev/ckpt/mem"
)

// Benchmarks run with `make bench-mem`, outside `make test`. Archives are
// cached in $CKPT_BENCH_DIR (default a directory in the temp dir): the
// figures are for an archive in the page cache, an operator on a node.
// The machine is shared, so next to wall-clock MB/s they report MB per
// CPU-second, what the work costs.

// benchSpec has size bytes of random pages in four processes, with a
// marker that crosses a pagemap-entry boundary and an AWS-style key.
func benchSpec(size int64) testgen.Spec {
	return testgen.Spec{Processes: 4, PageBytes: size, Seed: 42, Markers: []testgen.Marker{
		{Data: []byte("AKIAIOSFODNN7EXAMPLE"), Process: 1, Region: testgen.RegionAnon},
		{Data: []byte("BENCH-NEEDLE-0123456789"), Process: 3, Region: testgen.RegionAnon, Straddle: testgen.StraddleEntry},
	}}
}

func benchSize(b *testing.B) int64 { return benchutil.Size(b, "CKPT_BENCH_SIZE", 1<<30) }

func benchArchive(b *testing.B, size int64) string {
	return benchutil.Archive(b, fmt.Sprintf("mem-%d.tar", size), benchSpec(size), testgen.None)
}

// BenchmarkSearch: the library on 1 GiB of pages. Targets: literal
// 1 GiB/s, regex 200 MB/s.
func BenchmarkSearch(b *testing.B) {
	size := benchSize(b)
	path := benchArchive(b, size)
	for _, tc := range []struct {
		name, expr string
		regex      bool
		want       int
	}{
		{"literal", "BENCH-NEEDLE-0123456789", false, 1},
		{"regex-prefix", `AKIA[0-9A-Z]{16}`, true, 1},
		{"regex-class", `[0-9a-f]{40}|BENCH-NEEDLE-[0-9]{10}`, true, 1},
		{"regex-fold", `(?i)password\s*[:=]`, true, 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var m mem.Pattern = mem.Literal(tc.expr)
			if tc.regex {
				re, err := mem.NewRegex(tc.expr, 0)
				if err != nil {
					b.Fatal(err)
				}
				m = re
			}
			b.SetBytes(size)
			cpu := benchutil.CPUTime()
			for b.Loop() {
				res, err := Search(context.Background(), open(b, path), SearchOptions{Pattern: m})
				if err != nil {
					b.Fatal(err)
				}
				if res.Total != tc.want {
					b.Fatalf("%d matches, want %d", res.Total, tc.want)
				}
			}
			benchutil.ReportCPU(b, cpu, size)
		})
	}
}

// bulk returns the pid and number of the largest mapping.
func bulk(b *testing.B, path string) (uint32, NumberedMapping) {
	procs, err := Maps(open(b, path), MapsOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var pid uint32
	var best NumberedMapping
	for _, p := range procs {
		for _, m := range p.Mappings {
			if m.Present > best.Present {
				pid, best = p.PID, m
			}
		}
	}
	return pid, best
}

// BenchmarkHexdump: the largest mapping read and formatted like
// hexdump -C into /dev/null. Target: 200 MiB/s.
func BenchmarkHexdump(b *testing.B) {
	path := benchArchive(b, benchSize(b))
	pid, m := bulk(b, path)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	b.SetBytes(m.Present)
	cpu := benchutil.CPUTime()
	for b.Loop() {
		hd := mem.NewHexdump(null)
		_, err := Read(context.Background(), open(b, path), ReadOptions{
			Select: Select{PID: pid}, Map: MapRef{Index: m.Index},
			Block: func(bl mem.Block) error {
				if bl.Absent != nil {
					return hd.Absent(bl.Addr, bl.Len, bl.Absent)
				}
				return hd.Write(bl.Addr, bl.Data)
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := hd.Close(); err != nil {
			b.Fatal(err)
		}
	}
	benchutil.ReportCPU(b, cpu, m.Present)
}

// BenchmarkCLI runs every mem command of the real binary on 1 GiB and on
// 4 GiB (CKPT_BENCH_BIG_SIZE) of pages, output to /dev/null, and reports
// peak RSS, which must stay under 64 MiB.
func BenchmarkCLI(b *testing.B) {
	bin := benchutil.Binary(b, "..")
	big := benchutil.Size(b, "CKPT_BENCH_BIG_SIZE", 4<<30)
	for _, size := range []int64{benchSize(b), big} {
		path := benchArchive(b, size)
		pid, m := bulk(b, path)
		core := filepath.Join(benchutil.Dir(b), "mem-bench.core")
		for _, tc := range []struct {
			name  string
			bytes int64
			args  []string
		}{
			{"maps", size, []string{"mem", "maps", path}},
			{"search-literal", size, []string{"mem", "search", path, "BENCH-NEEDLE-0123456789"}},
			{"search-regex", size, []string{"mem", "search", path, "--regex", `AKIA[0-9A-Z]{16}`}},
			{"search-regex-class", size, []string{"mem", "search", path, "--regex", `[0-9a-f]{40}`}},
			{"read-hexdump", m.Present, []string{"mem", "read", path, "--pid", fmt.Sprint(pid), "--map", fmt.Sprint(m.Index), "-o", "table"}},
			{"read-raw", m.Present, []string{"mem", "read", path, "--pid", fmt.Sprint(pid), "--map", fmt.Sprint(m.Index), "--fill-absent"}},
			{"core", m.Present, []string{"mem", "core", path, "--pid", fmt.Sprint(pid), "-o", core, "--force"}},
		} {
			b.Run(fmt.Sprintf("%dMiB/%s", size>>20, tc.name), func(b *testing.B) {
				if r := benchutil.Measure(b, tc.bytes, bin, tc.args...); r.MaxRSS >= 64<<20 {
					b.Errorf("peak RSS %.1f MiB, over the 64 MiB budget", float64(r.MaxRSS)/(1<<20))
				}
			})
		}
		os.Remove(core)
	}
}
