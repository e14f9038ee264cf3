package seal

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/ckpt-dev/ckpt/crypto/sign"
	"github.com/ckpt-dev/ckpt/crypto/sum"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
	"github.com/ckpt-dev/ckpt/internal/regfile"
	"golang.org/x/crypto/ssh"
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

// WriteSidecars writes the checksum line, the manifest and, with signer set,
// the manifest's signature beside the sealed file at sealedPath, each
// atomically and with mode 0600. m.Sealed names the file the checksum line
// refers to. Existing files are refused unless overwrite is set; when
// overwriting without a signer, a signature left from an earlier seal is
// removed. On error, none of the new files is left behind.
func WriteSidecars(sealedPath string, m *Manifest, signer ssh.Signer, overwrite bool) (Sidecars, error) {
	s := SidecarsFor(sealedPath)
	manifest, err := m.Marshal()
	if err != nil {
		return s, err
	}
	var digest [sum.Size]byte
	if n, err := hex.Decode(digest[:], []byte(m.Sealed.SHA256)); err != nil || n != sum.Size {
		return s, fmt.Errorf("%s: manifest: sealed sha256 %q is not a SHA-256", sealedPath, m.Sealed.SHA256)
	}
	files := []struct {
		path string
		data []byte
	}{
		{s.Checksum, []byte(sum.Line{Sum: digest, Name: m.Sealed.Name}.String())},
		{s.Manifest, manifest},
	}
	if signer != nil {
		sig, err := sign.Sign(manifest, signer)
		if err != nil {
			return s, err
		}
		files = append(files, struct {
			path string
			data []byte
		}{s.Signature, sig})
	} else {
		if overwrite {
			// A signature left from an earlier seal would not match the new
			// manifest: an unsigned file is honest, a bad signature is not.
			if err := os.Remove(s.Signature); err != nil && !isNotExist(err) {
				return s, err
			}
		}
		s.Signature = ""
	}
	// Create all, then write and commit: an existing file is refused before
	// anything is written.
	var pending []*atomicfile.File
	defer func() {
		for _, f := range pending {
			f.Abort()
		}
	}()
	for _, f := range files {
		af, err := atomicfile.Create(f.path, overwrite)
		if err != nil {
			return s, err
		}
		pending = append(pending, af)
		if _, err := af.Write(f.data); err != nil {
			return s, fmt.Errorf("%s: %w", f.path, err)
		}
	}
	var committed []string
	for i, af := range pending {
		if err := af.Commit(); err != nil {
			for _, p := range committed {
				os.Remove(p)
			}
			return s, err
		}
		committed = append(committed, files[i].path)
	}
	pending = nil
	return s, nil
}

// readSidecar reads a small sidecar file, refusing one larger than limit.
func readSidecar(path string, limit int64) ([]byte, error) {
	f, err := regfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return data, nil
}

// ErrMissingSidecar is returned, wrapped, when the checksum line or the
// manifest of a sealed file is not beside it. The usual cause is that it was
// not copied along; it is not evidence of tampering.
var ErrMissingSidecar = errors.New("sidecar missing")

func missingSidecar(path, what string) error {
	return fmt.Errorf("%s: %w: no %s (copy it along with the sealed file)", path, ErrMissingSidecar, what)
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
