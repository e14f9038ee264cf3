package mem

import (
	"fmt"
	"io"

	"github.com/ckpt-dev/ckpt/archive"
)

// ProcessPages is called with each process's page index and its pages
// image. On a random-access archive r is also an io.ReaderAt.
type ProcessPages func(c *archive.Checkpoint, pid uint32, ix *Index, r io.Reader) error

// Hook adapts fn to archive.LoadOptions.Pages: it finds the pagemap that
// refers to each pages image and builds its index. Shared memory pages
// (no pid) are passed with pid 0. A pages image that no pagemap refers to
// is reported to orphan, when it is not nil, and otherwise skipped. Pages
// that stream by before their pagemap or mm are asked for again after the
// pass (archive.ErrNotYet).
func Hook(fn ProcessPages, orphan func(c *archive.Checkpoint, p *archive.PagesImage)) func(*archive.Checkpoint, *archive.PagesImage) error {
	return func(c *archive.Checkpoint, p *archive.PagesImage) error {
		if !Ready(c, p) {
			return archive.ErrNotYet
		}
		name, pid, ok := PagemapFor(c.Images, p.ID)
		if !ok {
			if orphan != nil {
				orphan(c, p)
			}
			return nil
		}
		ix, err := NewIndex(c.Images.Get(name))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if ix.ImageBytes > p.Entry.Size {
			return fmt.Errorf("%s: the pagemap needs %d bytes of %s, which has %d", name, ix.ImageBytes, p.Entry.Name, p.Entry.Size)
		}
		return fn(c, pid, ix, p.R)
	}
}

// Ready says whether the images needed to read pages image p have been
// read: its pagemap and, for a process, its mm. They always have once
// p.Final is set (what is missing then is missing from the archive).
func Ready(c *archive.Checkpoint, p *archive.PagesImage) bool {
	if p.Final {
		return true
	}
	_, pid, ok := PagemapFor(c.Images, p.ID)
	return ok && (pid == 0 || c.Images.Get(fmt.Sprintf("mm-%d.img", pid)) != nil)
}
