package remote

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/internal/regfile"
)

// Local is a set on this machine, ready to push: what its sidecars say,
// checked against each other and the file, without reading the ciphertext.
type Local struct {
	// Files are the paths; Signature is empty for an unsigned set, and
	// only Sealed is set for a plaintext archive.
	Files seal.Sidecars
	// Name is the base name the set is stored under.
	Name string
	// Size and SHA256 are the ciphertext's (the archive's, when plaintext).
	Size   int64
	SHA256 [sha256.Size]byte
	// Manifest is nil for a plaintext archive.
	Manifest *seal.Manifest
	// Checksum, ManifestData and Signature are the sidecars' bytes.
	Checksum, ManifestData, Signature []byte
	Plaintext                         bool
}

// ageMagic starts every age file (the armored form included, after its
// PEM line, which push does not accept: armor is for e-mail).
var ageMagic = []byte("age-encryption.org/v1\n")

// LoadLocal reads the set whose sealed file is path. A file that is not
// age-encrypted is refused with ErrUnsealed unless allowPlaintext, in which
// case it is hashed here (a plaintext archive has no checksum line to
// reuse), one read more than a sealed set costs.
func LoadLocal(path string, allowPlaintext bool) (*Local, error) {
	if seal.IsSidecar(path) {
		return nil, fmt.Errorf("%s is a sidecar: give the sealed file it belongs to", path)
	}
	// regfile: a FIFO put where a sealed file is expected would block
	// open(2) beyond any signal.
	f, err := regfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	head := make([]byte, len(ageMagic))
	n, _ := io.ReadFull(f, head)
	l := &Local{Files: seal.SidecarsFor(path), Name: filepath.Base(path), Size: st.Size()}
	if !bytes.Equal(head[:n], ageMagic) {
		if !allowPlaintext {
			return nil, fmt.Errorf("%s: %w: this is a plaintext archive; seal it first (ckpt seal), or push it as is with --allow-plaintext", path, ErrUnsealed)
		}
		l.Plaintext = true
		l.Files = seal.Sidecars{Sealed: path}
		h := sha256.New()
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		if _, err := io.Copy(h, f); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		h.Sum(l.SHA256[:0])
		return l, nil
	}
	if l.Checksum, err = regfile.ReadSmall(l.Files.Checksum, seal.MaxSumFileSize); err != nil {
		return nil, missing(err, "checksum line")
	}
	if l.ManifestData, err = regfile.ReadSmall(l.Files.Manifest, 1<<20); err != nil {
		return nil, missing(err, "manifest")
	}
	l.Signature, err = regfile.ReadSmall(l.Files.Signature, 64<<10)
	if errors.Is(err, os.ErrNotExist) {
		l.Files.Signature, l.Signature = "", nil
	} else if err != nil {
		return nil, err
	}
	lines, err := seal.ParseSumFile(l.Checksum)
	if err != nil || len(lines) != 1 || lines[0].Name != l.Name {
		return nil, fmt.Errorf("%s: %w: not one line for %s", l.Files.Checksum, seal.ErrChecksum, l.Name)
	}
	l.SHA256 = lines[0].Sum
	l.Manifest, err = seal.ParseManifest(l.ManifestData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", l.Files.Manifest, seal.ErrManifest, err)
	}
	m := l.Manifest.Sealed
	if m.Name != l.Name || m.SHA256 != hex.EncodeToString(l.SHA256[:]) || m.Size != l.Size {
		return nil, fmt.Errorf("%s: %w: it describes %s (%d bytes, sha256 %s), the file is %s (%d bytes, sha256 %x by its checksum line)",
			l.Files.Manifest, seal.ErrManifest, m.Name, m.Size, m.SHA256, l.Name, l.Size, l.SHA256)
	}
	return l, nil
}

func missing(err error, what string) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: no %s beside the sealed file (%v)", seal.ErrMissingSidecar, what, err)
	}
	return err
}

// files lists the set's files in upload order: ciphertext, checksum,
// signature, manifest (last, so a listed set is whole).
func (l *Local) files() []localFile {
	fs := []localFile{{name: l.Name, path: l.Files.Sealed, kind: kindSealed, size: l.Size}}
	if l.Plaintext {
		fs[0].kind = kindPlaintext
		return fs
	}
	fs = append(fs, localFile{name: l.Name + seal.ChecksumSuffix, kind: kindChecksum, data: l.Checksum})
	if l.Signature != nil {
		fs = append(fs, localFile{name: l.Name + seal.SignatureSuffix, kind: kindSignature, data: l.Signature})
	}
	return append(fs, localFile{name: l.Name + seal.ManifestSuffix, kind: kindManifest, data: l.ManifestData})
}

type fileKind int

const (
	kindSealed fileKind = iota
	kindChecksum
	kindSignature
	kindManifest
	kindPlaintext
)

type localFile struct {
	name string
	path string // the ciphertext's; sidecars are in data
	data []byte
	kind fileKind
	size int64
}
