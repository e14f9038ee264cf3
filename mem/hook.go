package mem

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
)

// ProcessPages is called with each pagemap's index and its pages image:
// pid is the process, 0 for shared memory (ix.Name then names the
// segment). On a random-access archive r is also an io.ReaderAt.
type ProcessPages func(c *archive.Checkpoint, pid uint32, ix *criu.PageIndex, r io.Reader) error

// PagesOptions tunes [Pages].
type PagesOptions struct {
	// Want, when set, says whether to read the pages of the pagemap image
	// name (pid 0 for shared memory); the others are skipped before their
	// index is built, so their faults are not the caller's.
	Want func(c *archive.Checkpoint, name string, pid uint32) bool
	// Orphan, when set, is called with a pages image that no pagemap
	// refers to; otherwise such an image is skipped.
	Orphan func(c *archive.Checkpoint, p *archive.PagesImage) error
}

// Pages adapts fn to archive.LoadOptions.Pages for archive a, in the three
// steps every reader of memory takes: find the pagemap that refers to the
// pages image, build its index, check the image is long enough for it.
// Pages that stream by before their pagemap or mm are asked for again
// after the pass (archive.ErrNotYet). A bad pagemap is an *archive.Error
// naming its image.
func Pages(a *archive.Archive, fn ProcessPages, opt PagesOptions) func(*archive.Checkpoint, *archive.PagesImage) error {
	return func(c *archive.Checkpoint, p *archive.PagesImage) error {
		if !ready(c, p) {
			return archive.ErrNotYet
		}
		name, pid, ok := criu.PagemapFor(c.Images, p.ID)
		if !ok {
			if opt.Orphan != nil {
				return opt.Orphan(c, p)
			}
			return nil
		}
		if opt.Want != nil && !opt.Want(c, name, pid) {
			return nil
		}
		fail := func(err error) error {
			return &archive.Error{Archive: a.Name(), Entry: path.Join(path.Dir(p.Entry.Name), name), Err: err}
		}
		ix, err := criu.NewPageIndex(c.Images.Get(name))
		if err != nil {
			// The index names the image in its messages; the error names
			// it as the entry.
			return fail(errors.New(strings.TrimPrefix(err.Error(), name+": ")))
		}
		if ix.ImageBytes > p.Entry.Size {
			return fail(fmt.Errorf("points past the end of %s: its present pages need %d bytes, the image has %d", path.Base(p.Entry.Name), ix.ImageBytes, p.Entry.Size))
		}
		return fn(c, pid, ix, p.R)
	}
}

// ready says whether the images needed to read pages image p have been
// read: its pagemap and, for a process, its mm. They always have once
// p.Final is set (what is missing then is missing from the archive).
func ready(c *archive.Checkpoint, p *archive.PagesImage) bool {
	if p.Final {
		return true
	}
	_, pid, ok := criu.PagemapFor(c.Images, p.ID)
	return ok && (pid == 0 || c.Images.Get(fmt.Sprintf("mm-%d.img", pid)) != nil)
}
