// Package benchutil runs the real ckpt binary on synthetic archives for
// benchmarks: it builds the binary once, keeps generated archives in a
// cache directory (they take minutes to write and gigabytes of disk), and
// measures wall time and peak RSS of each run.
package benchutil

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// Dir is where archives are cached: $CKPT_BENCH_DIR, or a directory under
// the system temp dir that survives between runs.
func Dir(b testing.TB) string {
	d := os.Getenv("CKPT_BENCH_DIR")
	if d == "" {
		d = filepath.Join(os.TempDir(), "ckpt-bench")
	}
	if err := os.MkdirAll(d, 0o700); err != nil {
		b.Fatal(err)
	}
	return d
}

// Archive returns the path of a cached archive named name, generating it
// from spec when it is missing.
func Archive(b testing.TB, name string, spec testgen.Spec, c testgen.Compression) string {
	b.Helper()
	p := filepath.Join(Dir(b), name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	start := time.Now()
	if _, err := testgen.WriteFile(p, spec, c, false); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %s in %v", name, time.Since(start).Round(time.Millisecond))
	return p
}

// Binary builds ./cmd/ckpt from the module root into the cache directory.
func Binary(b testing.TB, moduleRoot string) string {
	b.Helper()
	out := filepath.Join(Dir(b), "ckpt")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/ckpt")
	cmd.Dir = moduleRoot
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, msg)
	}
	return out
}

// Result is one measured run.
type Result struct {
	Wall   time.Duration
	CPU    time.Duration // user and system
	MaxRSS int64         // bytes
}

// Run runs prog with args, its output discarded, and measures it; the
// benchmark fails when prog does.
//
// Peak RSS is taken through GNU time when it is installed: a child that Go
// starts directly reports its parent's resident set in its own peak (the
// child shares the parent's memory until exec), which inflates figures run
// from a test binary that has generated archives.
func Run(b testing.TB, prog string, args ...string) Result {
	b.Helper()
	r, err := run(b, os.Stderr, prog, args...)
	if err != nil {
		b.Fatalf("%s %v: %v", prog, args, err)
	}
	return r
}

// RunStatus runs and measures prog as Run does, but a non-zero exit is a
// result, not a failure: it returns the exit code and what prog wrote to
// stderr.
func RunStatus(b testing.TB, prog string, args ...string) (Result, int, string) {
	b.Helper()
	var stderr bytes.Buffer
	r, err := run(b, &stderr, prog, args...)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		b.Fatalf("%s %v: %v", prog, args, err)
	}
	code := 0
	if exit != nil {
		code = exit.ExitCode()
	}
	return r, code, stderr.String()
}

// run runs and measures prog, its stderr to stderr, and returns the
// measures with cmd.Run's error.
func run(b testing.TB, stderr io.Writer, prog string, args ...string) (Result, error) {
	b.Helper()
	rssFile := filepath.Join(b.TempDir(), "rss")
	cmd := exec.Command(prog, args...)
	viaTime := false
	if t, err := exec.LookPath("/usr/bin/time"); err == nil {
		cmd = exec.Command(t, append([]string{"-f", "%M %U %S", "-o", rssFile, prog}, args...)...)
		viaTime = true
	}
	cmd.Stdout, cmd.Stderr = nil, stderr
	start := time.Now()
	err := cmd.Run()
	r := Result{Wall: time.Since(start)}
	if viaTime {
		s, rerr := os.ReadFile(rssFile)
		if rerr != nil {
			b.Fatal(rerr)
		}
		// After a non-zero exit GNU time writes "Command exited with
		// non-zero status N" on a line before the figures.
		lines := strings.Split(strings.TrimSpace(string(s)), "\n")
		var kib int64
		var user, sys float64
		if _, serr := fmt.Sscanf(lines[len(lines)-1], "%d %g %g", &kib, &user, &sys); serr != nil {
			b.Fatalf("GNU time wrote %q: %v", s, serr)
		}
		r.MaxRSS, r.CPU = kib*1024, time.Duration((user+sys)*float64(time.Second))
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSS = ru.Maxrss * 1024
		r.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return r, err
}

// Measure runs prog b.N times and reports its peak RSS, MB/s and MB per
// CPU-second for bytes of work per run. On a shared machine the CPU figure
// says what the work costs when the wall clock says little. It returns the
// sums of the runs' times and the highest peak.
func Measure(b *testing.B, bytes int64, prog string, args ...string) Result {
	b.Helper()
	var sum Result
	for b.Loop() {
		r := Run(b, prog, args...)
		sum.Wall += r.Wall
		sum.CPU += r.CPU
		sum.MaxRSS = max(sum.MaxRSS, r.MaxRSS)
	}
	b.ReportMetric(float64(sum.MaxRSS)/(1<<20), "peak-RSS-MiB")
	if bytes > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/sum.Wall.Seconds()/1e6, "MB/s")
		if sum.CPU > 0 {
			b.ReportMetric(float64(bytes)*float64(b.N)/sum.CPU.Seconds()/1e6, "MB/cpu-s")
		}
	}
	b.ReportMetric(0, "ns/op")
	return sum
}

// Size is a benchmark size from the environment variable env ("1GiB",
// "4096"), or def.
func Size(b testing.TB, env string, def int64) int64 {
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	n, err := testgen.ParseSize(s)
	if err != nil {
		b.Fatalf("%s: %v", env, err)
	}
	return n
}

// CPUTime is this process's CPU time so far, for in-process benchmarks.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ReportCPU reports MB per CPU-second of in-process work on bytes per
// iteration since start (a CPUTime).
func ReportCPU(b *testing.B, start time.Duration, bytes int64) {
	if used := CPUTime() - start; used > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/used.Seconds()/1e6, "MB/cpu-s")
	}
}

// Report adds a result's figures to b.
func Report(b *testing.B, r Result, bytes int64) {
	b.ReportMetric(float64(r.MaxRSS)/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(r.Wall.Seconds()*1000, "wall-ms")
	if bytes > 0 {
		b.ReportMetric(float64(bytes)/r.Wall.Seconds()/1e6, "MB/s")
	}
	b.ReportMetric(0, "ns/op")
}

// String is a one-line summary, for notes.
func (r Result) String() string {
	return fmt.Sprintf("%v, peak RSS %.1f MiB", r.Wall.Round(time.Millisecond), float64(r.MaxRSS)/(1<<20))
}
