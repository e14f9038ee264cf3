package seal

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/ckpt-dev/ckpt/crypto/keys"
)

// Failure classes. Every verification or decryption failure wraps exactly
// one of them.
var (
	// ErrChecksum: the sealed file's SHA-256 differs from its checksum line,
	// or the checksum line is unreadable or names another file.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrSignature: the manifest's signature is malformed, invalid, by a key
	// the allowed signers do not accept, or missing when required.
	ErrSignature = errors.New("signature check failed")
	// ErrNoIdentity: none of the identities opens the file (wrong key or
	// wrong passphrase).
	ErrNoIdentity = errors.New("no identity matched")
	// ErrPassphraseOnly is wrapped, with ErrNoIdentity, when the file is
	// sealed to a passphrase and keys were tried.
	ErrPassphraseOnly = errors.New("sealed to a passphrase")
	// ErrCorrupt: the ciphertext failed authentication or is truncated.
	ErrCorrupt = errors.New("ciphertext corrupt or truncated")
	// ErrManifest: the manifest is unreadable or does not describe the file
	// (name, size or hash of the ciphertext or, after decryption, of the
	// plaintext).
	ErrManifest = errors.New("manifest mismatch")
)

// sourceError marks an error from reading the ciphertext itself (a disk or
// network failure), which is not evidence of corruption.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// sourceReader tags the errors of r other than io.EOF as source errors.
type sourceReader struct{ r io.Reader }

func (s sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}

type sourceReaderAt struct{ r io.ReaderAt }

func (s sourceReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := s.r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}

// classify turns an error from age into one of the failure classes. Errors
// reading the source, prompting for a passphrase and the like pass through
// unchanged: they say nothing about the file.
func classify(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var src *sourceError
	if errors.As(err, &src) {
		return src.err
	}
	var prompt *keys.PromptError
	if errors.As(err, &prompt) {
		return err
	}
	if errors.Is(err, ErrNoIdentity) || errors.Is(err, ErrCorrupt) {
		return err
	}
	if errors.Is(err, keys.ErrWrongPassphrase) {
		return fmt.Errorf("%w: %w", ErrNoIdentity, err)
	}
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return &noIdentityError{types: noMatch.StanzaTypes}
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

// noIdentityError says which kinds of recipients the file is sealed to, so
// that "wrong key" tells the user which key to look for.
type noIdentityError struct{ types []string }

func (e *noIdentityError) Error() string {
	types := slices.Clone(e.types)
	slices.Sort(types)
	types = slices.Compact(types)
	if e.passphraseOnly() {
		return ErrPassphraseOnly.Error() + ": " + ErrNoIdentity.Error()
	}
	return fmt.Sprintf("%s: sealed to %d recipient(s) of type %s, none of them the given key", ErrNoIdentity, len(e.types), strings.Join(types, ", "))
}

func (e *noIdentityError) Unwrap() []error {
	if e.passphraseOnly() {
		return []error{ErrNoIdentity, ErrPassphraseOnly}
	}
	return []error{ErrNoIdentity}
}

func (e *noIdentityError) passphraseOnly() bool {
	return !slices.ContainsFunc(e.types, func(t string) bool { return t != keys.TypeScrypt }) && len(e.types) > 0
}
