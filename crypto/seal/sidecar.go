package seal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/ckpt-dev/ckpt/crypto/sign"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
)

// Sidecar suffixes, appended to the sealed file's name.
const (
	ChecksumSuffix  = ".sha256"
	ManifestSuffix  = ".json"
	SignatureSuffix = ".json.sig"
	// SealedSuffix is appended to an archive's name to name its sealed copy.
	SealedSuffix = ".age"
)

// Sidecars are the paths of a sealed file and the files beside it.
type Sidecars struct {
	Sealed    string // NAME.tar.age
	Checksum  string // NAME.tar.age.sha256
	Manifest  string // NAME.tar.age.json
	Signature string // NAME.tar.age.json.sig
}

// SidecarsFor returns the sidecar paths of the sealed file at path.
func SidecarsFor(path string) Sidecars {
	return Sidecars{path, path + ChecksumSuffix, path + ManifestSuffix, path + SignatureSuffix}
}

// IsSidecar reports whether path names a sidecar rather than a sealed file,
// so that `ckpt verify *` can tell the user to pass the sealed file instead.
func IsSidecar(path string) bool {
	for _, s := range []string{ChecksumSuffix, SignatureSuffix, ManifestSuffix} {
		if strings.HasSuffix(path, SealedSuffix+s) {
			return true
		}
	}
	return false
}

// writeSidecars writes the checksum line, the manifest and, with signer set,
// the manifest's signature beside the sealed file at sealedPath, each
// atomically and with mode 0600. m.Sealed names the file the checksum line
// refers to. Existing files are refused unless overwrite is set; when
// overwriting without a signer, a signature left from an earlier seal is
// removed. On error, none of the new files is left behind.
func writeSidecars(sealedPath string, m *Manifest, signer ssh.Signer, overwrite bool) (Sidecars, error) {
	s, staged, err := stageSidecars(sealedPath, m, signer, overwrite)
	defer abortAll(staged)
	if err != nil {
		return s, err
	}
	return s, commitSet(staged, staleSignature(s, overwrite))
}

// stageSidecars writes the sidecars of sealedPath to files not yet
// published (see atomicfile): every write that can fail (a full disk) is
// done before anything is renamed. An existing file is refused unless
// overwrite is set. s.Signature is empty when there is no signer.
func stageSidecars(sealedPath string, m *Manifest, signer ssh.Signer, overwrite bool) (Sidecars, []*atomicfile.File, error) {
	s := SidecarsFor(sealedPath)
	manifest, err := m.Marshal()
	if err != nil {
		return s, nil, err
	}
	var digest [sha256.Size]byte
	if n, err := hex.Decode(digest[:], []byte(m.Sealed.SHA256)); err != nil || n != sha256.Size {
		return s, nil, fmt.Errorf("%s: manifest: sealed sha256 %q is not a SHA-256", sealedPath, m.Sealed.SHA256)
	}
	files := []struct {
		path string
		data []byte
	}{
		{s.Checksum, []byte(SumLine{Sum: digest, Name: m.Sealed.Name}.String())},
		{s.Manifest, manifest},
	}
	if signer != nil {
		sig, err := sign.Sign(manifest, signer)
		if err != nil {
			return s, nil, err
		}
		files = append(files, struct {
			path string
			data []byte
		}{s.Signature, sig})
	} else {
		s.Signature = ""
	}
	var staged []*atomicfile.File
	for _, f := range files {
		af, err := atomicfile.Create(f.path, overwrite)
		if err != nil {
			return s, staged, err
		}
		staged = append(staged, af)
		if _, err := af.Write(f.data); err != nil {
			return s, staged, fmt.Errorf("%s: %w", f.path, err)
		}
		if err := af.Sync(); err != nil {
			return s, staged, fmt.Errorf("%s: %w", f.path, err)
		}
	}
	return s, staged, nil
}

// staleSignature is the signature an earlier seal left beside s.Sealed
// that the new set, unsigned, must not keep: a signature of another
// manifest would be dishonest. Empty when there is none to remove.
func staleSignature(s Sidecars, overwrite bool) string {
	if !overwrite || s.Signature != "" {
		return ""
	}
	p := s.Sealed + SignatureSuffix
	if _, err := os.Lstat(p); err != nil {
		return ""
	}
	return p
}

func abortAll(files []*atomicfile.File) {
	for _, f := range files {
		f.Abort()
	}
}

// ErrMissingSidecar is returned, wrapped, when the checksum line or the
// manifest of a sealed file is not beside it. The usual cause is that it was
// not copied along; it is not evidence of tampering.
var ErrMissingSidecar = errors.New("sidecar missing")

func missingSidecar(path, what string) error {
	return fmt.Errorf("%s: %w: no %s (copy it along with the sealed file)", path, ErrMissingSidecar, what)
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
