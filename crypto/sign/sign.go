// Package sign makes and checks SSH signatures over sealed-archive
// manifests, in the format of `ssh-keygen -Y sign`, so that a receiver can
// check them with stock OpenSSH:
//
//	ssh-keygen -Y verify -f allowed_signers -I node1 -n ckpt-manifest@ckpt.dev -s X.json.sig < X.json
//
// Every signature carries the namespace Namespace. A signature made for
// another purpose (git commits, "file") never verifies as a manifest
// signature and the other way round, even when the same key made both.
package sign

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/ckpt-dev/ckpt/crypto/keys"
)

// Namespace is the SSH signature namespace of ckpt manifests. OpenSSH
// recommends NAME@DOMAIN for namespaces that are not its own.
const Namespace = "ckpt-manifest@ckpt.dev"

// maxSignature caps a signature file; an armored SSH signature is well under
// 2 KiB even for an RSA-8192 key.
const maxSignature = 64 << 10

var (
	// ErrInvalid is returned for a signature that is malformed, made for
	// another namespace, or does not match the message.
	ErrInvalid = errors.New("invalid signature")
	// ErrNotAllowed is returned for a valid signature by a key the allowed
	// signers file does not accept for this principal, namespace and time.
	ErrNotAllowed = errors.New("signer not allowed")
)

// Sign signs message with signer under Namespace and returns the armored
// signature (-----BEGIN SSH SIGNATURE-----), hashed with SHA-512 as
// ssh-keygen does.
func Sign(message []byte, signer ssh.Signer) ([]byte, error) {
	sig, err := sshsig.Sign(bytes.NewReader(message), signer, sshsig.HashSHA512, Namespace)
	if err != nil {
		return nil, fmt.Errorf("sign with %s: %w", keys.SSHFingerprint(signer.PublicKey()), err)
	}
	return sshsig.Armor(sig), nil
}

// Signature describes a signature that verified.
type Signature struct {
	// Key is the key that signed; a certificate when a CA-issued key signed.
	Key ssh.PublicKey
	// Fingerprint is the fingerprint of Key (of the certificate's key for a
	// certificate), as `ssh-keygen -l` prints it.
	Fingerprint string
	// Principals are the allowed signers principals that accept the key, as
	// `ssh-keygen -Y find-principals` prints them. Empty when the signature
	// was checked without an allowed signers file.
	Principals []string
	// Trusted says whether an allowed signers file accepted the key.
	Trusted bool
}

// Verify checks the armored signature sig over message. With allowed set, the
// key must be accepted there for Namespace at time now, and for principal
// when that is not empty. With allowed nil, only the signature itself is
// checked and the result is not Trusted: anyone can make such a signature.
func Verify(message, sig []byte, allowed *AllowedSigners, principal string, now time.Time) (*Signature, error) {
	if len(sig) > maxSignature {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalid, maxSignature)
	}
	s, err := sshsig.Unarmor(sig)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if s.Namespace != Namespace {
		return nil, fmt.Errorf("%w: made for namespace %q, not %q", ErrInvalid, s.Namespace, Namespace)
	}
	if err := sshsig.Verify(bytes.NewReader(message), s, s.PublicKey, s.HashAlgorithm, Namespace); err != nil {
		return nil, fmt.Errorf("%w: does not match the signed file (%v)", ErrInvalid, err)
	}
	v := &Signature{Key: s.PublicKey, Fingerprint: fingerprint(s.PublicKey)}
	if allowed == nil {
		return v, nil
	}
	principals, err := allowed.accept(s.PublicKey, principal, Namespace, now)
	if err != nil {
		return nil, err
	}
	v.Principals, v.Trusted = principals, true
	return v, nil
}

func fingerprint(k ssh.PublicKey) string {
	if c, ok := k.(*ssh.Certificate); ok {
		return keys.SSHFingerprint(c.Key) + " (certificate by CA " + keys.SSHFingerprint(c.SignatureKey) + ")"
	}
	return keys.SSHFingerprint(k)
}

// LoadSigner returns a signer for the private key in data, read from the file
// called name. An encrypted key asks prompt for its passphrase.
func LoadSigner(name string, data []byte, prompt keys.Prompt) (ssh.Signer, error) {
	s, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if prompt == nil {
			return nil, fmt.Errorf("%s: the key is encrypted and there is no way to ask for its passphrase", name)
		}
		pass, perr := prompt(fmt.Sprintf("passphrase for %q", name))
		if perr != nil {
			return nil, perr
		}
		s, err = ssh.ParsePrivateKeyWithPassphrase(data, pass)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("%s: %w", name, keys.ErrWrongPassphrase)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: not a usable SSH private key: %v", name, err)
	}
	return s, nil
}

// AgentSigner returns the signer in the ssh-agent a for the public key pub,
// or, with pub nil, the agent's only key.
func AgentSigner(a agent.Agent, pub ssh.PublicKey) (ssh.Signer, error) {
	signers, err := a.Signers()
	if err != nil {
		return nil, fmt.Errorf("ssh-agent: %w", err)
	}
	if pub == nil {
		switch len(signers) {
		case 1:
			return signers[0], nil
		case 0:
			return nil, errors.New("ssh-agent holds no keys (add one with ssh-add)")
		}
		var fps []string
		for _, s := range signers {
			fps = append(fps, keys.SSHFingerprint(s.PublicKey()))
		}
		slices.Sort(fps)
		return nil, fmt.Errorf("ssh-agent holds %d keys (%s): name the one to sign with by its .pub file", len(signers), strings.Join(fps, ", "))
	}
	for _, s := range signers {
		if bytes.Equal(s.PublicKey().Marshal(), pub.Marshal()) {
			return s, nil
		}
	}
	return nil, fmt.Errorf("ssh-agent does not hold the key %s", keys.SSHFingerprint(pub))
}
