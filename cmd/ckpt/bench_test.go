package main

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/ckpt-dev/ckpt/internal/benchutil"
	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// BenchmarkInspect times `ckpt inspect --all` on plain archives whose
// memory pages grow from 64 MiB to 4 GiB: on a plain tar the pages are
// skipped with Seek, so the time must stay flat and RSS small. It also
// times a zstd archive against one `zstd -d` of the same file, and the
// same zstd archive with its members in reverse order (a second pass).
// Run with `make bench` (archives are cached in $CKPT_BENCH_DIR).
func BenchmarkInspect(b *testing.B) {
	bin := benchutil.Binary(b, "../..")
	// runs runs prog b.N times and reports the last run: peak RSS, wall
	// time and MB/s of size bytes.
	runs := func(b *testing.B, size int64, prog string, args ...string) {
		var r benchutil.Result
		for range b.N {
			r = benchutil.Run(b, prog, args...)
		}
		benchutil.Report(b, r, size)
	}
	spec := func(pages int64) testgen.Spec {
		return testgen.Spec{Processes: 8, ThreadsPerProcess: 4, PageBytes: pages, Fill: testgen.FillRandom, Seed: 1}
	}
	for _, size := range []struct {
		name  string
		bytes int64
	}{{"64MiB", 64 << 20}, {"1GiB", 1 << 30}, {"4GiB", 4 << 30}} {
		b.Run("plain-"+size.name, func(b *testing.B) {
			// Generated here, so that -bench 'Inspect/zstd' skips it.
			path := benchutil.Archive(b, "inspect-"+size.name+".tar", spec(size.bytes), testgen.None)
			runs(b, 0, bin, "inspect", "--all", "-o", "json", path)
		})
	}
	text := spec(1 << 30)
	text.Fill = testgen.FillText
	zst := benchutil.Archive(b, "inspect-1GiB-text.tar.zst", text, testgen.Zstd)
	st, _ := os.Stat(zst)
	b.Run("zstd-1GiB", func(b *testing.B) {
		runs(b, st.Size(), bin, "inspect", "--all", "-o", "json", zst)
	})
	// The same archive with its members reversed (every pages image before
	// its pagemap and mm): the pages are read in a second pass.
	text.Order = testgen.OrderReverse
	rev := benchutil.Archive(b, "inspect-1GiB-text-reverse.tar.zst", text, testgen.Zstd)
	rst, _ := os.Stat(rev)
	b.Run("zstd-reverse-1GiB", func(b *testing.B) {
		runs(b, rst.Size(), bin, "inspect", "--all", "-o", "json", rev)
	})
	if _, err := exec.LookPath("zstd"); err == nil {
		b.Run("zstd-d-1GiB", func(b *testing.B) {
			runs(b, st.Size(), "zstd", "-d", "-q", "-f", "-o", os.DevNull, zst)
		})
	} else {
		fmt.Fprintln(os.Stderr, "zstd not installed: no reference decompression time")
	}
}
