package diff

import (
	"context"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/internal/benchutil"
	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// The large benchmarks compare two synthetic archives with 1 GiB of memory
// pages each (CKPT_BENCH_SIZE to change it): four processes, the second
// archive with 256 markers planted through the bulk memory, so that a few
// hundred pages differ. The archives are kept in CKPT_BENCH_DIR when it is
// set, so that they are generated once and stay in the page cache. Bytes
// per second count the pages of both archives. `make bench-diff` runs
// them; they are not part of `make test`.

func benchSize(b *testing.B) int64 { return benchutil.Size(b, "CKPT_BENCH_SIZE", 1<<30) }

// benchPair returns the two archives, generating them when needed.
func benchPair(b *testing.B, c testgen.Compression) (string, string) {
	b.Helper()
	size := benchSize(b)
	dir := os.Getenv("CKPT_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	spec := testgen.Spec{Seed: 1, Processes: 4, PageBytes: size}
	var paths [2]string
	for i := range paths {
		if i == 1 {
			for k := range 256 {
				spec.Markers = append(spec.Markers, testgen.Marker{Data: []byte(fmt.Sprintf("CHANGED-%04d", k)), Process: k % 4, Region: testgen.RegionAnon})
			}
		}
		paths[i] = filepath.Join(dir, fmt.Sprintf("bench-diff-%d-%s-%d%s", i, c, size, c.Ext()))
		if _, err := os.Stat(paths[i]); err == nil {
			continue
		}
		if _, err := testgen.WriteFile(paths[i], spec, c, false); err != nil {
			b.Fatal(err)
		}
	}
	return paths[0], paths[1]
}

// BenchmarkDiff1GiB runs Diff in this process, with its CPU time and the
// process's peak RSS.
func BenchmarkDiff1GiB(b *testing.B) {
	for _, c := range []testgen.Compression{testgen.None, testgen.Zstd} {
		b.Run(c.String(), func(b *testing.B) {
			pa, pb := benchPair(b, c)
			b.SetBytes(2 * benchSize(b))
			cpu := benchutil.CPUTime()
			var r *Report
			for b.Loop() {
				a, err := archive.Open(pa, archive.Options{})
				if err != nil {
					b.Fatal(err)
				}
				bb, err := archive.Open(pb, archive.Options{})
				if err != nil {
					b.Fatal(err)
				}
				r, err = Diff(context.Background(), a, bb, Options{})
				if err != nil {
					b.Fatal(err)
				}
				a.Close()
				bb.Close()
			}
			if r.Summary.Pages.Changed == 0 || r.Summary.Pages.Changed > 256 || r.Summary.Processes.Changed != 4 {
				b.Fatalf("unexpected report: %+v", r.Summary)
			}
			used := benchutil.CPUTime() - cpu
			b.ReportMetric(float64(2*benchSize(b))*float64(b.N)/used.Seconds()/1e6, "MB/cpu-s")
			var ru syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
		})
	}
}

// BenchmarkDiffCLI1GiB runs `ckpt diff -o json` as a child process and
// reports its peak RSS. Linux counts the RSS a child had at fork (which,
// with Go's vfork-style spawn, is the parent's) in its ru_maxrss, so the
// command is started by a small spawner process (this test binary, run
// afresh), not by the benchmark process, which holds the archives' memory
// of the benchmarks before it.
func BenchmarkDiffCLI1GiB(b *testing.B) {
	bin := benchutil.Binary(b, "..")
	for _, c := range []testgen.Compression{testgen.None, testgen.Zstd} {
		b.Run(c.String(), func(b *testing.B) {
			pa, pb := benchPair(b, c)
			benchutil.Measure(b, 2*benchSize(b), bin, "diff", "-o", "json", pa, pb)
		})
	}
}

// BenchmarkHashPages is the page hashing alone, in memory.
func BenchmarkHashPages(b *testing.B) {
	data := make([]byte, 64<<20)
	for i := 0; i < len(data); i += criu.PageSize {
		testgen.FillPage(data[i:i+criu.PageSize], testgen.FillRandom, 1, 1, uint64(i))
	}
	ix := &criu.PageIndex{ImageBytes: int64(len(data))}
	seed := maphash.MakeSeed()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		h := newPageHasher(seed, ix, true)
		h.Write(data)
	}
}
