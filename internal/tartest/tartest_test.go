package tartest

import (
	"path/filepath"
	"testing"
)

func TestEveryKindBuilds(t *testing.T) {
	base, _ := filepath.Glob("../../testdata/fixtures/checkpoint-simple-*.tar")
	if len(base) != 1 {
		t.Fatal("fixture missing")
	}
	for _, k := range Kinds() {
		if testing.Short() && (k[0] == "bomb-gzip" || k[0] == "bomb-zstd") {
			continue
		}
		b, err := Bad(k[0], base[0])
		if err != nil {
			t.Errorf("%s: %v", k[0], err)
		}
		if k[0] != "empty" && len(b) == 0 {
			t.Errorf("%s: empty", k[0])
		}
	}
	if _, err := Bad("no-such-kind", base[0]); err == nil {
		t.Error("unknown kind accepted")
	}
}
