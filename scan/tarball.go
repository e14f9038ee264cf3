package scan

import (
	"fmt"
	"io"

	"github.com/ckpt-dev/ckpt/archive"
)

// tarball scans the regular files of a tar held in an archive member:
// CRIU's tmpfs-*.tar.gz.img, the content of the tmpfs mounts it dumped.
// It reads them with the archive's own nested-tar reader, so the same
// decompression bomb guard applies. A tarball that cannot be read is
// listed as not scanned, with the reason, and the rest of the archive is
// scanned.
func (as *archiveScan) tarball(e *archive.Entry, base Location, r io.Reader) error {
	_, err := archive.ReadListing(r, as.s.opt.Limits, func(f *archive.ListedFile, fr io.Reader) error {
		return as.nestedFile(base, f, fr)
	})
	if err != nil && as.ctx.Err() == nil {
		return as.unreadable(e, r, err)
	}
	return err
}

// nestedFile scans one file of a nested tar, located by its path inside it.
func (as *archiveScan) nestedFile(base Location, f *archive.ListedFile, r io.Reader) error {
	base.Path = f.Path
	return as.stream(r, base, nil)
}

// unreadable lists a member as not scanned and skips the rest of it.
func (as *archiveScan) unreadable(e *archive.Entry, r io.Reader, why error) error {
	as.sum.NotScanned = append(as.sum.NotScanned, fmt.Sprintf("%s: %v", e.Name, why))
	_, err := io.Copy(io.Discard, r)
	return err
}
