package seal

import (
	"bytes"
	"io"
	"slices"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
)

// Decrypter removes the age layer of sealed files with a set of identities.
// Its errors wrap [ErrNoIdentity] when no identity opens the file (wrong key,
// wrong passphrase) and [ErrCorrupt] when the ciphertext is damaged or
// truncated; errors reading the source and failures to ask for a passphrase
// are returned as they are. A Decrypter is what the archive reader takes to
// read sealed archives in the stream, without plaintext on disk.
type Decrypter struct {
	identities []age.Identity
}

// NewDecrypter returns a [Decrypter] trying ids in turn: identities that never
// ask for anything first, then those that may prompt for a passphrase, so a
// prompt only appears when no plain key matched.
func NewDecrypter(ids ...age.Identity) *Decrypter {
	ids = slices.Clone(ids)
	slices.SortStableFunc(ids, func(a, b age.Identity) int { return silentRank(a) - silentRank(b) })
	return &Decrypter{identities: ids}
}

func silentRank(id age.Identity) int {
	switch id.(type) {
	case *age.X25519Identity, *age.HybridIdentity, *age.ScryptIdentity, *agessh.Ed25519Identity, *agessh.RSAIdentity:
		return 0
	}
	return 1
}

// Decrypt returns the plaintext of the age file read from src. Errors while
// reading it are classified as Decrypter's doc says.
func (d *Decrypter) Decrypt(src io.Reader) (io.Reader, error) {
	return d.decrypt(sourceReader{src})
}

// decrypt is Decrypt for a source whose own read errors are already tagged
// (see sourceReader); untagged errors count as corruption.
func (d *Decrypter) decrypt(src io.Reader) (io.Reader, error) {
	r, err := age.Decrypt(src, d.identities...)
	if err != nil {
		return nil, classify(err)
	}
	return &classifyingReader{r: r}, nil
}

// isArmored reports whether head, the start of a file, is ASCII-armored age
// (age -a), which has no random access.
func isArmored(head []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n"), []byte(armor.Header))
}

// DecryptReaderAt returns the plaintext of the age file of size bytes in
// src, with random access, and the plaintext size. It reads the header and
// authenticates the last chunk (so a truncated file fails here); other
// chunks are authenticated as they are read. ReadAt may be called
// concurrently.
func (d *Decrypter) DecryptReaderAt(src io.ReaderAt, size int64) (io.ReaderAt, int64, error) {
	r, n, err := age.DecryptReaderAt(sourceReaderAt{src}, size, d.identities...)
	if err != nil {
		return nil, 0, classify(err)
	}
	return classifyingReaderAt{r}, n, nil
}

type classifyingReader struct {
	r   io.Reader
	err error
}

func (c *classifyingReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	if err != nil {
		err = classify(err)
		// age's streaming reader reports a file cut at a chunk boundary as
		// io.ErrUnexpectedEOF, which classify already made ErrCorrupt.
		if err != io.EOF {
			c.err = err
		}
	}
	return n, err
}

type classifyingReaderAt struct{ r io.ReaderAt }

func (c classifyingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		// age's message names the chunk's offset in the file.
		err = classify(err)
	}
	return n, err
}
