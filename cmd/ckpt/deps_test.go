package main

import (
	"os/exec"
	"strings"
	"testing"
)

// heavyPackages made every ckpt command page in tens of MB of the binary at
// start (peak RSS of `ckpt --version` went from 13 to 69 MB): client-go's
// clientset (every API group's typed client; kube uses a REST client with
// three groups), ocicrypt (its root package registers every key wrapper,
// with gRPC and OpenPGP; image writes its layer format on go-jose) and
// gRPC. docs/binary-size.md has the figures.
var heavyPackages = []string{
	"k8s.io/client-go/kubernetes",
	"github.com/containers/ocicrypt",
	"google.golang.org/grpc",
}

// TestDependencies keeps those packages out of the binary, and cgo out of
// everything but the standard library: a cgo package outside it makes Go
// link externally, which costs about 10 MB of RSS per command.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}} {{len .CgoFiles}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 100 {
		t.Fatalf("go list -deps listed %d packages", len(lines))
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 {
			t.Fatalf("go list: %q", l)
		}
		pkg := f[0]
		for _, h := range heavyPackages {
			if pkg == h || strings.HasPrefix(pkg, h+"/") {
				t.Errorf("ckpt links %s", pkg)
			}
		}
		if f[1] == "false" && f[2] != "0" {
			t.Errorf("ckpt links %s, which uses cgo", pkg)
		}
	}
}
