package testgen_test

import (
	"fmt"
	"io"

	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// A two-process Podman archive with a secret planted in the child's heap:
// the layout says where it is, for a test of a memory search to check.
func ExampleWrite() {
	l, err := testgen.Write(io.Discard, testgen.Spec{
		Engine:    testgen.EnginePodman,
		Processes: 2,
		PageBytes: 1 << 20,
		Cmdline:   []string{"/app/server", "--port=8080"},
		Markers:   []testgen.Marker{{Data: []byte("AKIAIOSFODNN7EXAMPLE"), Process: 1}},
	})
	if err != nil {
		panic(err)
	}
	for _, p := range l.Processes {
		fmt.Printf("pid %d (%s), parent %d: %d KiB of pages in %s\n", p.PID, p.Comm, p.PPID, p.PagesBytes>>10, p.PagesImage)
	}
	m := l.Markers[0]
	fmt.Printf("%s: pid %d, %s at offset %d\n", m.Data, m.PID, m.PagesImage, m.Offset)
	// Output:
	// pid 1 (server), parent 0: 512 KiB of pages in pages-1.img
	// pid 2 (server-1), parent 1: 512 KiB of pages in pages-2.img
	// AKIAIOSFODNN7EXAMPLE: pid 2, pages-2.img at offset 12960
}
