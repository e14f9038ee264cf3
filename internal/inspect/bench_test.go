package inspect

import (
	"os"
	"testing"

	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// BenchmarkBuild builds the full report of a 1,000-process archive in
// process, for CPU and allocation profiles (-cpuprofile, -memprofile).
// CKPT_INSPECT_ARCHIVE points it at another archive, such as a shape of
// `make bench-shapes`.
func BenchmarkBuild(b *testing.B) {
	path := os.Getenv("CKPT_INSPECT_ARCHIVE")
	if path == "" {
		path = b.TempDir() + "/procs.tar"
		if _, err := testgen.WriteFile(path, testgen.Spec{Processes: 1000, Seed: 1}, testgen.None, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tryBuild(path); err != nil {
			b.Fatal(err)
		}
	}
}
