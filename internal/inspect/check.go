package inspect

import (
	"io"

	"github.com/ckpt-dev/ckpt/archive"
)

// Check reads the plaintext archive called name streaming through r as
// Build does (the tar, the metadata, every CRIU image, the process tree)
// and returns the first error; the report is discarded. It is what
// `ckpt verify --deep` hands crypto/seal to check, while a sealed file is
// decrypted in memory, that the archive sealed is sound.
func Check(name string, r io.Reader) error {
	a, err := archive.OpenReader(name, r, archive.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	_, err = Build(a, Options{})
	return err
}
