package archive

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// Past the decoded-entry budget, Load fails with ErrBudget naming the
// image that crossed it, instead of holding more; under it, the same
// archive loads.
func TestDecodedBudget(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.tar")
	if _, err := testgen.WriteFile(p, testgen.Spec{Processes: 50, Seed: 3}, testgen.None, false); err != nil {
		t.Fatal(err)
	}
	load := func(l Limits) (*Contents, error) {
		a, err := Open(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		return Load(a, LoadOptions{Limits: l})
	}
	c, err := load(Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var held int64
	for _, n := range c.Checkpoints[0].Images.Names() {
		img := c.Checkpoints[0].Images.Get(n)
		held += img.Size - img.PayloadBytes
	}
	// The statistics image (stats-dump) is held too, outside Images: a
	// budget of twice the process images' bytes covers it.
	if _, err := load(Limits{MaxImages: 2 * held}); err != nil {
		t.Fatalf("budget of twice what the images hold: %v", err)
	}
	_, err = load(Limits{MaxImages: held / 2})
	var ae *Error
	if !errors.Is(err, ErrBudget) || !errors.As(err, &ae) || !strings.HasPrefix(ae.Entry, "checkpoint/") || !strings.Contains(err.Error(), "budget") {
		t.Fatalf("half the budget: %v", err)
	}
}
