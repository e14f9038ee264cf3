package archive

import (
	"errors"
	"fmt"
	"io"

	"github.com/ckpt-dev/ckpt/criu"
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

// readImage decodes a CRIU image as criu.ReadImage does, holding its
// entries against images, the archive's budget of decoded entry bytes.
func readImage(images *budget, name string, r io.Reader, opt criu.Options, maxImage int64, onPayload criu.PayloadFunc) (*criu.Image, error) {
	limit, byBudget := maxImage, false
	if images != nil {
		if room := images.max - images.used; room < limit {
			limit, byBudget = max(room, 1), true
		}
	}
	img, err := criu.ReadImage(name, r, opt, limit, onPayload)
	if err != nil {
		if byBudget && errors.Is(err, criu.ErrImageLimit) {
			return nil, fmt.Errorf("%w: CRIU image %s brings the decoded entries past %d bytes (%v)", ErrBudget, name, images.max, err)
		}
		return nil, err
	}
	// The image's entry bytes as stored: pagemap runs count too, which
	// ReadImage keeps out of Entries.
	if err := images.take(img.Size-img.PayloadBytes, "CRIU image "+name); err != nil {
		return nil, err
	}
	return img, nil
}

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
