package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/internal/benchutil"
	"github.com/ckpt-dev/ckpt/internal/hostile"
)

// maxHostileRSS is the peak resident set any hostile shape below may drive
// ckpt to with the default limits: the 64 MiB budget of held records or the
// 64 MiB of decoded CRIU entries, the garbage collector's slack (GOGC=100
// lets the heap reach twice what is live) and the decompressor's buffers.
// The worst measured is about 175 MiB (PAX names); the pagemap shape,
// once the worst, is about 87 MiB since the page index is delta-encoded.
const maxHostileRSS = 320 << 20

// TestHostileMemory runs inspect, and verify --deep on a sealed copy, on
// archives under 1 MB shaped to hold as much as possible (long PAX names in
// the rootfs diff, pod container prefixes, empty members), at sizes growing
// past the budget: each run stays under maxHostileRSS and fails with exit
// 11 once the budget is reached. Before the budget, the largest of these
// took inspect to 3 GB.
func TestHostileMemory(t *testing.T) {
	ckpt, work, key, id := keyedBinary(t)
	sizes := map[hostile.Shape][]int{
		hostile.LongNames:  {100, 1200},
		hostile.Containers: {2000, 40000},
		hostile.Entries:    {20000, 250000},
		hostile.Image:      {20000, 8000000},
	}
	for _, shape := range hostile.Shapes {
		for _, n := range sizes[shape] {
			p := filepath.Join(work, fmt.Sprintf("%s-%d.tar.zst", shape, n))
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := hostile.Write(f, shape, n); err != nil {
				t.Fatal(err)
			}
			f.Close()
			st, _ := os.Stat(p)
			if st.Size() >= 1<<20 {
				t.Fatalf("%s: %d bytes, meant to be under 1 MB", p, st.Size())
			}
			runs := [][]string{{"inspect", p}}
			if n == sizes[shape][len(sizes[shape])-1] && shape == hostile.LongNames {
				sealTo(t, ckpt, id, p)
				runs = append(runs, []string{"verify", "--deep", p + ".age", "-i", key})
			}
			for _, args := range runs {
				r, code, stderr := benchutil.RunStatus(t, ckpt, args...)
				t.Logf("%s %s (%d bytes): exit %d, peak RSS %.1f MiB", args[0], filepath.Base(p), st.Size(), code, float64(r.MaxRSS)/(1<<20))
				if r.MaxRSS > maxHostileRSS {
					t.Errorf("%s %s: peak RSS %d MiB, over %d MiB", args[0], p, r.MaxRSS>>20, maxHostileRSS>>20)
				}
				big := n == sizes[shape][len(sizes[shape])-1]
				if big && (code != exitLimit || !strings.Contains(stderr, "memory budget")) {
					t.Errorf("%s %s: exit %d, want %d (budget): %s", args[0], p, code, exitLimit, stderr)
				}
				if !big && code == exitLimit {
					t.Errorf("%s %s: a small shape hit the budget: %s", args[0], p, stderr)
				}
			}
		}
	}
}
