package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/ckpt-dev/ckpt/internal/countio"
)

// Listing is the table of contents of a tar nested in the archive: the
// rootfs diff (files the container changed) or the /dev/shm content.
type Listing struct {
	Files []ListedFile `json:"files"`
	// Bytes is the total size of the regular files.
	Bytes int64 `json:"bytes"`
	// Truncated says the listing stopped at the limit.
	Truncated bool `json:"truncated"`
	// Compression of the nested tar, if any (containerd gzips its rootfs
	// diff).
	Compression Format `json:"compression"`
}

// ListedFile is one member of a nested tar. Links are listed with their
// target, never followed.
type ListedFile struct {
	Path     string    `json:"path"` // absolute, as inside the container
	Type     string    `json:"type"` // file, dir, symlink, hardlink, char, block, fifo
	Size     int64     `json:"size"`
	Mode     uint32    `json:"mode"`
	UID      int       `json:"uid"`
	GID      int       `json:"gid"`
	ModTime  time.Time `json:"mod_time"`
	LinkName string    `json:"link_name,omitempty"`
}

// NestedFileFunc receives the content of each regular file of a nested tar.
type NestedFileFunc func(f *ListedFile, r io.Reader) error

// ReadListing lists a tar nested in an archive member (the rootfs diff,
// /dev/shm, CRIU's tmpfs tarballs), plain or compressed, with the same
// decompression bomb guard as the archive. onFile, when not nil, receives
// each regular file's content.
func ReadListing(r io.Reader, limits Limits, onFile NestedFileFunc) (*Listing, error) {
	limits = limits.WithDefaults()
	return readListing(r, limits, onFile, newBudget(limits.MaxHeld))
}

// readListing is ReadListing holding the listing against held, the budget
// of the archive it is nested in.
func readListing(r io.Reader, limits Limits, onFile NestedFileFunc, held *budget) (*Listing, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(SniffLen)
	l := &Listing{}
	var src io.Reader = br
	switch f := Sniff(head); {
	case f == Tar, len(head) > 0 && bytes.Count(head, []byte{0}) == len(head):
		// An empty tar is nothing but zero blocks: tar(1) writes one for an
		// empty diff.
	case f == Gzip, f == Zstd, f == Bzip2, f == Xz:
		cr := &countio.Reader{R: br}
		dec, closeDec, err := decompressor(f, cr)
		if err != nil {
			return nil, err
		}
		defer closeDec()
		src = &ratioGuard{r: dec, in: cr, max: limits.MaxRatio}
		l.Compression = f
	default:
		if len(head) == 0 {
			return l, nil // an empty diff: nothing changed
		}
		return nil, errors.New("not a tar archive")
	}
	tr := tar.NewReader(src)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return l, nil
		}
		if err != nil {
			return nil, err
		}
		if len(l.Files) >= limits.MaxListing {
			l.Truncated = true
			continue
		}
		f := ListedFile{
			Path: "/" + strings.TrimPrefix(path.Clean("/"+h.Name), "/"),
			Type: tarType(h.Typeflag), Size: h.Size, Mode: uint32(h.Mode & 0o7777),
			UID: h.Uid, GID: h.Gid, ModTime: h.ModTime.UTC(), LinkName: h.Linkname,
		}
		if err := held.take(listedFileCost+int64(len(f.Path)+len(f.LinkName)), fmt.Sprintf("listed file %d", len(l.Files)+1)); err != nil {
			return nil, err
		}
		if f.Type != "file" {
			f.Size = 0
		} else {
			l.Bytes += h.Size
		}
		l.Files = append(l.Files, f)
		if onFile != nil && f.Type == "file" {
			if err := onFile(&l.Files[len(l.Files)-1], tr); err != nil {
				return nil, err
			}
		}
	}
}

func tarType(t byte) string {
	switch t {
	case tar.TypeReg, tar.TypeRegA:
		return "file"
	case tar.TypeDir:
		return "dir"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hardlink"
	case tar.TypeChar:
		return "char"
	case tar.TypeBlock:
		return "block"
	case tar.TypeFifo:
		return "fifo"
	}
	return fmt.Sprintf("type %q", t)
}
