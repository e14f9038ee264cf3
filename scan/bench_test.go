package scan_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/benchutil"
	"github.com/ckpt-dev/ckpt/internal/testgen"
	"github.com/ckpt-dev/ckpt/scan"
)

// BenchmarkMatcher measures the matcher alone on memory-like content.
func BenchmarkMatcher(b *testing.B) {
	for _, fill := range []testgen.FillKind{testgen.FillRandom, testgen.FillText, testgen.FillZeros} {
		b.Run(fill.String(), func(b *testing.B) {
			data := make([]byte, 64<<20)
			for i := 0; i < len(data); i += 4096 {
				testgen.FillPage(data[i:i+4096], fill, 1, 1, uint64(i))
			}
			benchMatcher(b, data)
		})
	}
}

// benchMatcher runs the matcher over data as one stream per iteration.
func benchMatcher(b *testing.B, data []byte) {
	m := scan.NewMatcher(func(scan.Match) {})
	b.SetBytes(int64(len(data)))
	cpu := benchutil.CPUTime()
	for b.Loop() {
		m.Write(data)
		m.End()
	}
	reportCPU(b, cpu, int64(len(data)))
}

// benchSize is the pages of the benchmark archives: 1 GiB, or
// CKPT_BENCH_SIZE.
func benchSize(b *testing.B) int64 { return benchutil.Size(b, "CKPT_BENCH_SIZE", 1<<30) }

// benchArchive returns a synthetic archive of four processes with size
// bytes of pages, generated once into CKPT_BENCH_DIR when that is set
// (then it stays in the page cache between runs) or into a temp dir.
func benchArchive(b *testing.B, fill testgen.FillKind, size int64, c testgen.Compression) string {
	dir := os.Getenv("CKPT_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("bench-scan-%s-%d%s", fill, size, c.Ext()))
	if _, err := os.Stat(path); err != nil {
		if _, err := testgen.WriteFile(path, testgen.Spec{PageBytes: size, Processes: 4, Fill: fill}, c, false); err != nil {
			b.Fatal(err)
		}
	}
	return path
}

// BenchmarkScanArchive scans a synthetic plain tar with 1 GiB of pages in
// process. The bytes per second are pages per second.
func BenchmarkScanArchive(b *testing.B) {
	size := benchSize(b)
	for _, fill := range []testgen.FillKind{testgen.FillRandom, testgen.FillText} {
		b.Run(fill.String(), func(b *testing.B) {
			path := benchArchive(b, fill, size, testgen.None)
			b.SetBytes(size)
			cpu := benchutil.CPUTime()
			for b.Loop() {
				a, err := archive.Open(path, archive.Options{})
				if err != nil {
					b.Fatal(err)
				}
				s := scan.New(scan.Options{})
				if err := s.Scan(context.Background(), a); err != nil {
					b.Fatal(err)
				}
				a.Close()
			}
			reportCPU(b, cpu, size)
		})
	}
}

// BenchmarkScanCLI runs `ckpt scan -o json` on archives with 1 GiB of
// pages, plain and zstd, and with 4 GiB (CKPT_BENCH_BIG_SIZE), reporting
// the command's CPU time and peak RSS.
func BenchmarkScanCLI(b *testing.B) {
	bin := benchutil.Binary(b, "..")
	big := benchutil.Size(b, "CKPT_BENCH_BIG_SIZE", 4<<30)
	for _, tc := range []struct {
		name string
		size int64
		c    testgen.Compression
	}{{"1GiB", benchSize(b), testgen.None}, {"1GiB-zstd", benchSize(b), testgen.Zstd}, {"4GiB", big, testgen.None}} {
		b.Run(tc.name, func(b *testing.B) {
			path := benchArchive(b, testgen.FillRandom, tc.size, tc.c)
			benchutil.Measure(b, tc.size, bin, "scan", "-o", "json", path)
		})
	}
}

// reportCPU adds MB per CPU-second, and the benchmark process's peak RSS.
func reportCPU(b *testing.B, start time.Duration, bytes int64) {
	benchutil.ReportCPU(b, start, bytes)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
}

// BenchmarkMatcherAdversarial measures memory crafted to make detectors
// work: every few bytes an anchor whose check reads far.
func BenchmarkMatcherAdversarial(b *testing.B) {
	for name, unit := range map[string]string{
		"keywords": "KEYTOKENSECRETPASSCREDAUTH",
		"names":    "A_SECRET_TOKEN_KEY=" + strings.Repeat("v", 200) + "\x00",
		"pem":      "-----BEGIN CERTIFICATE-----" + strings.Repeat("QUFB", 100),
		"gcp":      `"private_key": "-----BEGIN PRIVATE KEY-----", `,
		"jwt":      "eyJhbGciOiJIUzI1NiJ9.eyJ9.",
		"aws":      "AKIAAAAAAAAAAAAAAAAA aws_secret_access_key=",
		"azure":    "AccountKey=" + strings.Repeat("QUFB", 22) + ";",
	} {
		b.Run(name, func(b *testing.B) {
			data := []byte(strings.Repeat(unit, (16<<20)/len(unit)))
			benchMatcher(b, data)
		})
	}
}
