// Package image makes the OCI image a checkpoint is restored from in
// Kubernetes: one layer holding the checkpoint archive's files, and the
// annotations CRI-O and checkpointctl read, taken from the archive's
// identity. It does what `checkpointctl build` does with buildah, without
// external programs and in one pass over the archive: the layer is written
// (to the image file or directory, or up to the registry) as the archive is
// read, and only the small metadata files are kept to learn the identity.
package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/ckpt-dev/ckpt/archive"

	"github.com/ckpt-dev/ckpt/internal/countio"
)

// maxMetadata caps one metadata file kept in memory for the identity.
const maxMetadata = 16 << 20

// Layer is a written layer: an uncompressed tar of the archive's entries.
type Layer struct {
	// SHA256 and Size describe the layer blob (and, uncompressed, its
	// diff ID).
	SHA256 [sha256.Size]byte
	Size   int64
	// Identity is the archive's, read from its metadata.
	Identity archive.Identity
}

// WriteLayer walks a once, writing every entry to w as a tar (the layer),
// and returns the layer's digest and the archive's identity. A pod archive
// is refused: CRI-O restores containers, one image each.
func WriteLayer(a *archive.Archive, w io.Writer) (*Layer, error) {
	h := sha256.New()
	cw := &countio.Writer{W: io.MultiWriter(w, h)}
	tw := tar.NewWriter(cw)
	var meta bytes.Buffer
	mw := tar.NewWriter(&meta)
	_, err := a.Walk(func(e *archive.Entry, r io.Reader) error {
		hdr := &tar.Header{Name: e.Name, Size: e.Size, Mode: int64(e.Mode), Uid: e.UID, Gid: e.GID, ModTime: e.ModTime, Format: tar.FormatPAX}
		if e.Type == archive.TypeDir {
			hdr.Typeflag, hdr.Name = tar.TypeDir, e.Name+"/"
		} else {
			hdr.Typeflag = tar.TypeReg
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if e.Type != archive.TypeFile {
			return nil
		}
		if !identityFile(e) {
			_, err := io.CopyN(tw, r, e.Size)
			return noEOF(err)
		}
		// Kept whole for the identity, and written to the layer.
		if err := mw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := io.CopyN(io.MultiWriter(tw, mw), r, e.Size)
		return noEOF(err)
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	mw.Close()
	id, err := identity(a.Name(), meta.Bytes())
	if err != nil {
		return nil, err
	}
	l := &Layer{Size: cw.N, Identity: id}
	h.Sum(l.SHA256[:0])
	return l, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// identityFile says whether an entry is metadata the identity is read from:
// the small files beside checkpoint/ (config.dump, spec.dump, *.options,
// dump.log), not CRIU images, pages or nested tarballs.
func identityFile(e *archive.Entry) bool {
	if e.Size > maxMetadata || strings.HasSuffix(e.Name, ".tar") || strings.HasSuffix(e.Name, ".img") {
		return false
	}
	dir, base := path.Split(e.Name)
	if strings.Contains(dir, "checkpoint/") && base != "dump.log" {
		return false
	}
	return true
}

// identity reads the identity from the metadata files alone, by loading
// them as an archive of their own (named as the original, so the kubelet's
// file name still fills gaps).
func identity(name string, meta []byte) (archive.Identity, error) {
	a, err := archive.OpenReader(name, bytes.NewReader(meta), archive.Options{})
	if err != nil {
		return archive.Identity{}, err
	}
	defer a.Close()
	c, err := archive.Load(a, archive.LoadOptions{IdentityOnly: true})
	if err != nil {
		return archive.Identity{}, err
	}
	if c.Pod != nil || len(c.Checkpoints) != 1 {
		return archive.Identity{}, fmt.Errorf("%s: a pod archive: CRI-O restores one container per image; build from a container's checkpoint", name)
	}
	return c.Checkpoints[0].Identity, nil
}
