package scan_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ckpt-dev/ckpt/archive"
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
			m := scan.NewMatcher(func(scan.Match) {})
			b.SetBytes(int64(len(data)))
			cpu := cpuTime()
			for b.Loop() {
				m.Write(data)
				m.End()
			}
			reportCPU(b, cpu, int64(len(data)))
		})
	}
}

// benchSize is the pages of the benchmark archives: 1 GiB, or
// CKPT_BENCH_SIZE.
func benchSize(b *testing.B) int64 {
	size := int64(1 << 30)
	if s := os.Getenv("CKPT_BENCH_SIZE"); s != "" {
		n, err := testgen.ParseSize(s)
		if err != nil {
			b.Fatal(err)
		}
		size = n
	}
	return size
}

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
			cpu := cpuTime()
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
	bin := filepath.Join(b.TempDir(), "ckpt")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/ckpt").CombinedOutput(); err != nil {
		b.Skipf("cannot build ckpt: %v\n%s", err, out)
	}
	big := int64(4 << 30)
	if s := os.Getenv("CKPT_BENCH_BIG_SIZE"); s != "" {
		n, err := testgen.ParseSize(s)
		if err != nil {
			b.Fatal(err)
		}
		big = n
	}
	for _, tc := range []struct {
		name string
		size int64
		c    testgen.Compression
	}{{"1GiB", benchSize(b), testgen.None}, {"1GiB-zstd", benchSize(b), testgen.Zstd}, {"4GiB", big, testgen.None}} {
		b.Run(tc.name, func(b *testing.B) {
			path := benchArchive(b, testgen.FillRandom, tc.size, tc.c)
			b.SetBytes(tc.size)
			var rss, cpu float64
			for b.Loop() {
				r, c := runMeasured(b, bin, "scan", "-o", "json", path)
				rss, cpu = max(rss, r), cpu+c
			}
			b.ReportMetric(rss, "peak-RSS-MiB")
			b.ReportMetric(float64(tc.size)*float64(b.N)/cpu/1e6, "MB/cpu-s")
		})
	}
}

// runMeasured runs a command and returns its peak RSS in MiB and its CPU
// seconds. The peak comes from GNU time when it is installed: a child's
// ru_maxrss counts its parent's pages from before exec, and this parent
// is a benchmark with a gigabyte in the page cache of its own.
func runMeasured(b *testing.B, name string, args ...string) (rssMiB, cpuSeconds float64) {
	timeBin, err := exec.LookPath("/usr/bin/time")
	if err != nil {
		cmd := exec.Command(name, args...)
		runOrFail(b, cmd)
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		return float64(ru.Maxrss) / 1024, time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	report := filepath.Join(b.TempDir(), "time")
	runOrFail(b, exec.Command(timeBin, append([]string{"-o", report, "-f", "%M %U %S", name}, args...)...))
	out, err := os.ReadFile(report)
	if err != nil {
		b.Fatal(err)
	}
	var kib, user, sys float64
	if _, err := fmt.Sscanf(string(out), "%f %f %f", &kib, &user, &sys); err != nil {
		b.Fatalf("GNU time wrote %q: %v", out, err)
	}
	return kib / 1024, user + sys
}

func runOrFail(b *testing.B, cmd *exec.Cmd) {
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
	}
}

// cpuTime is the process's CPU time so far. Wall-clock rates mean little
// on a shared machine; CPU time says what the scan costs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds MB per CPU-second, and the peak RSS.
func reportCPU(b *testing.B, start time.Duration, bytes int64) {
	used := cpuTime() - start
	if used > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/used.Seconds()/1e6, "MB/cpu-s")
	}
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
			m := scan.NewMatcher(func(scan.Match) {})
			b.SetBytes(int64(len(data)))
			cpu := cpuTime()
			for b.Loop() {
				m.Write(data)
				m.End()
			}
			reportCPU(b, cpu, int64(len(data)))
		})
	}
}
