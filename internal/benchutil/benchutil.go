// Package benchutil runs the real ckpt binary on synthetic archives for
// benchmarks: it builds the binary once, keeps generated archives in a
// cache directory (they take minutes to write and gigabytes of disk), and
// measures wall time and peak RSS of each run.
package benchutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	MaxRSS int64 // bytes
}

// Run runs prog with args, its output discarded, and measures it.
//
// Peak RSS is taken through GNU time when it is installed: a child that Go
// starts directly reports its parent's resident set in its own peak (the
// child shares the parent's memory until exec), which inflates figures run
// from a test binary that has generated archives.
func Run(b testing.TB, prog string, args ...string) Result {
	b.Helper()
	rssFile := filepath.Join(b.TempDir(), "rss")
	cmd := exec.Command(prog, args...)
	viaTime := false
	if t, err := exec.LookPath("/usr/bin/time"); err == nil {
		cmd = exec.Command(t, append([]string{"-f", "%M", "-o", rssFile, prog}, args...)...)
		viaTime = true
	}
	cmd.Stdout, cmd.Stderr = nil, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %v: %v", prog, args, err)
	}
	r := Result{Wall: time.Since(start)}
	if viaTime {
		if s, err := os.ReadFile(rssFile); err == nil {
			var kib int64
			fmt.Sscan(string(s), &kib)
			r.MaxRSS = kib * 1024
		}
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSS = ru.Maxrss * 1024
	}
	return r
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
