package keys

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"
)

// encryptedSSHIdentity is a passphrase-protected SSH key. It asks for the
// passphrase only when a stanza names its key, so a file sealed to someone
// else does not cost the user a prompt.
type encryptedSSHIdentity struct {
	name      string
	pub       ssh.PublicKey
	pemBytes  []byte
	prompt    Prompt
	decrypted age.Identity
}

func (i *encryptedSSHIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if i.decrypted != nil {
		return i.decrypted.Unwrap(stanzas)
	}
	tag := sshTag(i.pub)
	match := false
	for _, s := range stanzas {
		if s.Type == i.pub.Type() && len(s.Args) > 0 && s.Args[0] == tag {
			match = true
		}
	}
	if !match {
		return nil, age.ErrIncorrectIdentity
	}
	pass, err := ask(i.prompt, fmt.Sprintf("passphrase for %q", i.name))
	if err != nil {
		return nil, err
	}
	k, err := ssh.ParseRawPrivateKeyWithPassphrase(i.pemBytes, pass)
	if errors.Is(err, x509.IncorrectPasswordError) {
		return nil, fmt.Errorf("%s: %w", i.name, ErrWrongPassphrase)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", i.name, err)
	}
	id, err := sshIdentity(k)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", i.name, err)
	}
	if signer, err := ssh.NewSignerFromKey(k); err != nil || !bytes.Equal(signer.PublicKey().Marshal(), i.pub.Marshal()) {
		return nil, fmt.Errorf("%s: the private key does not match its public key", i.name)
	}
	i.decrypted = id
	return id.Unwrap(stanzas)
}

// encryptedIdentityFile is an age identity file encrypted with `age -p`.
type encryptedIdentityFile struct {
	name       string
	contents   []byte
	prompt     Prompt
	identities []age.Identity
}

func (i *encryptedIdentityFile) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if i.identities == nil {
		if err := i.decrypt(); err != nil {
			return nil, err
		}
	}
	for _, id := range i.identities {
		k, err := id.Unwrap(stanzas)
		if errors.Is(err, age.ErrIncorrectIdentity) {
			continue
		}
		return k, err
	}
	return nil, age.ErrIncorrectIdentity
}

func (i *encryptedIdentityFile) decrypt() error {
	var src io.Reader = bytes.NewReader(i.contents)
	if bytes.HasPrefix(bytes.TrimSpace(i.contents), []byte(armor.Header)) {
		src = armor.NewReader(bytes.NewReader(bytes.TrimSpace(i.contents)))
	}
	what := fmt.Sprintf("passphrase for identity file %q", i.name)
	r, err := age.Decrypt(src, NewPassphraseIdentity(func() ([]byte, error) { return ask(i.prompt, what) }))
	if errors.Is(err, ErrWrongPassphrase) {
		return fmt.Errorf("%s: %w", i.name, ErrWrongPassphrase)
	}
	var pe *PromptError
	if errors.As(err, &pe) {
		return pe
	}
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return fmt.Errorf("%s: the identity file is encrypted, but not with a passphrase", i.name)
	}
	if err != nil {
		return fmt.Errorf("%s: %v", i.name, err)
	}
	ids, err := parseNative(io.LimitReader(r, maxIdentityFile))
	if err != nil {
		return fmt.Errorf("%s (decrypted): %w", i.name, err)
	}
	i.identities = ids
	return nil
}

// NewPassphraseIdentity returns an identity for passphrase-sealed files. It
// calls passphrase only for a file sealed to a passphrase, and reports a
// wrong one as ErrWrongPassphrase rather than as "no identity matched". An
// error from passphrase is returned as a *PromptError.
func NewPassphraseIdentity(passphrase func() ([]byte, error)) age.Identity {
	return &passphraseIdentity{passphrase: passphrase}
}

type passphraseIdentity struct {
	passphrase func() ([]byte, error)
}

func (i *passphraseIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if len(stanzas) != 1 || stanzas[0].Type != TypeScrypt {
		for _, s := range stanzas {
			if s.Type == TypeScrypt {
				return nil, errors.New("a passphrase stanza must be the only one in a file")
			}
		}
		return nil, fmt.Errorf("%w: not sealed to a passphrase", age.ErrIncorrectIdentity)
	}
	pass, err := i.passphrase()
	if err != nil {
		var pe *PromptError
		if errors.As(err, &pe) {
			return nil, pe
		}
		return nil, &PromptError{"passphrase", err}
	}
	id, err := age.NewScryptIdentity(string(pass))
	if err != nil {
		return nil, err
	}
	key, err := id.Unwrap(stanzas)
	if errors.Is(err, age.ErrIncorrectIdentity) {
		return nil, ErrWrongPassphrase
	}
	return key, err
}
