package shred_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/ckpt-dev/ckpt/shred"
)

// Shred an archive once its sealed copy is safe, and tell the operator
// what the storage allowed.
func ExampleFile() {
	r, err := shred.File(context.Background(), "/var/lib/kubelet/checkpoints/checkpoint-web.tar", shred.Options{})
	switch {
	case errors.Is(err, shred.ErrRefused):
		log.Printf("not shredded: %s", strings.Join(r.Reasons, "; "))
	case err != nil:
		log.Print(err)
	case r.Assurance == shred.BestEffort:
		log.Printf("shredded, but copies may survive: %s", strings.Join(r.Reasons, "; "))
	default:
		fmt.Println("overwritten in place and removed")
	}
}

// Decide where to keep checkpoints before writing any.
func ExampleAssess() {
	a, err := shred.Assess("/var/lib/kubelet/checkpoints/probe")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s on %s: %s\n", a.Filesystem, a.Device, a.Assurance)
	for _, f := range a.Findings {
		fmt.Printf("  %s (%s): %s\n", f.Code, f.Assurance, f.Text)
	}
}
