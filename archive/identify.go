package archive

import (
	"io"
)

// Identify reads only what the archive says about itself: identity and
// sizes of its checkpoints, no CRIU images. It is what `ckpt ls` shows.
func Identify(a *Archive) (*Contents, error) {
	return Load(a, LoadOptions{IdentityOnly: true})
}

// ReadIdentity reads the identity of the plaintext archive streaming
// through r. It reads only as far as it needs (on a compressed archive, up
// to the metadata and CRIU's log; see [LoadOptions].IdentityOnly): a caller that feeds it a tee of a stream something else
// consumes, as sealing does, discards the rest. A pod archive yields the
// identity of its first container.
func ReadIdentity(name string, r io.Reader) (*Identity, error) {
	a, err := OpenReader(name, r, Options{})
	if err != nil {
		return nil, err
	}
	defer a.Close()
	c, err := Identify(a)
	if err != nil {
		return nil, err
	}
	id := c.Checkpoints[0].Identity
	return &id, nil
}
