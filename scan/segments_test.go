package scan

import (
	"slices"
	"testing"

	"github.com/ckpt-dev/ckpt/criu"
)

// TestSegmentsInImageOrder: segments follow the pages image, merging runs
// contiguous in both memory and the image, whether the pagemap lists its
// runs in address order (as CRIU does) or not.
func TestSegmentsInImageOrder(t *testing.T) {
	const p = criu.PageSize
	present := func(start, pages uint64, off int64) criu.PageRun {
		return criu.PageRun{Start: start, Pages: pages, Flags: criu.PagePresent, Offset: off}
	}
	parent := criu.PageRun{Start: 0x30 * p, Pages: 1, Flags: criu.PageParent, Offset: -1}
	for _, c := range []struct {
		name string
		runs []criu.PageRun // in pagemap order, offsets as the pages image holds them
		want []segment
	}{
		{"address order", []criu.PageRun{present(0x10*p, 2, 0), present(0x12*p, 1, 2*p), parent, present(0x40*p, 1, 3*p)},
			[]segment{{0x10 * p, 0, 3 * p}, {0x40 * p, 3 * p, p}}},
		{"out of order", []criu.PageRun{present(0x40*p, 1, 0), parent, present(0x10*p, 2, p), present(0x12*p, 1, 3*p)},
			[]segment{{0x40 * p, 0, p}, {0x10 * p, p, 3 * p}}},
	} {
		ix, err := criu.PageIndexOf(c.runs)
		if err != nil {
			t.Fatal(err)
		}
		if got := segments(ix); !slices.Equal(got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}
