package archive

import (
	"errors"
	"fmt"
)

// ErrBudget is returned, wrapped, when an archive makes ckpt hold more
// than Limits.MaxHeld bytes of names, listings and container records. Real
// checkpoints need a few MiB; a small hostile archive (a rootfs diff of
// thousands of 60 KiB PAX names, hundreds of thousands of pod container
// directories, millions of empty members) would otherwise take gigabytes.
var ErrBudget = errors.New("archive holds more than the memory budget allows")

// What each held record costs besides its strings, in bytes: measured
// from the peak heap of the hostile shapes, rounded up. They make the
// budget a bound on memory, not only on name bytes.
const (
	entryCost      = 384  // *Entry, its slots in the seen map and the entry lists
	listedFileCost = 192  // ListedFile in a Listing
	containerCost  = 4096 // *Checkpoint with its empty image set and map slot
)

// budget counts the bytes held for one archive against a limit.
type budget struct {
	used, max int64
}

func newBudget(max int64) *budget { return &budget{max: max} }

// take accounts n more bytes of what.
func (b *budget) take(n int64, what string) error {
	if b == nil {
		return nil
	}
	b.used += n
	if b.used > b.max {
		return fmt.Errorf("%w: %s brings what is held (member names, nested listings, per-container records) past %d bytes", ErrBudget, what, b.max)
	}
	return nil
}
