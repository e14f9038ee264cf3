package inspect_test

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/inspect"
)

// Build gives the process tree with command lines read from the memory
// pages, here from a zstd-compressed Podman export read in one pass.
func ExampleBuild() {
	m, _ := filepath.Glob("../../testdata/fixtures/podman-rich.tar.zst")
	a, err := archive.Open(m[0], archive.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	reports, err := inspect.Build(a, inspect.Options{Sections: inspect.Sections{Env: true}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range reports[0].Processes {
		fmt.Println(p.PID, p.PPID, p.Comm, strings.Join(p.Cmdline, " "))
	}
	// Output:
	// 1 0 rich-parent /app/ckpt-rich /data /tmp/rich.pid 47011
	// 6 1 rich-child /app/ckpt-rich /data /tmp/rich.pid 47011
	// 8 6 rich-grandchild /app/ckpt-rich /data /tmp/rich.pid 47011
}
