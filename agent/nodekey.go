package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"

	"github.com/ckpt-dev/ckpt/crypto/sign"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
)

// NodeKeyName is the node key's file name in the state directory; its
// public half is NodeKeyName+".pub".
const NodeKeyName = "node-key"

// loadSigner reads the SSH private key at path (unencrypted: the agent
// runs unattended). A certificate beside it (PATH-cert.pub, as ssh-keygen
// -s writes it) is used to sign, so that one cert-authority line in an
// allowed signers file verifies every node.
func loadSigner(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := sign.LoadSigner(path, data, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return withCert(path, s)
}

// withCert returns s signing with the certificate at path-cert.pub when
// there is one.
func withCert(path string, s ssh.Signer) (ssh.Signer, error) {
	certPath := path + "-cert.pub"
	data, err := os.ReadFile(certPath)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	} else if err != nil {
		return nil, err
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	cert, ok := pub.(*ssh.Certificate)
	if !ok {
		return nil, fmt.Errorf("%s: not an SSH certificate", certPath)
	}
	cs, err := ssh.NewCertSigner(cert, s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	return cs, nil
}

// EnsureNodeKey returns the node key in stateDir, creating an ed25519 SSH
// key there (mode 0600, directory 0700) on first use, so that every node
// signs with a key of its own without anyone distributing one. created
// says it was made now.
func EnsureNodeKey(stateDir, comment string) (signer ssh.Signer, created bool, err error) {
	path := filepath.Join(stateDir, NodeKeyName)
	s, err := loadSigner(path)
	if err == nil {
		return s, false, ensurePub(path, s.PublicKey(), comment)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, false, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, false, err
	}
	if err := atomicfile.WriteFile(path, pem.EncodeToMemory(block), false); err != nil {
		return nil, false, err
	}
	s, err = ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, false, err
	}
	return s, true, ensurePub(path, s.PublicKey(), comment)
}

// ensurePub writes the public key beside the private one, for fleet
// tooling that collects it (the agent also serves it at /pubkey).
func ensurePub(path string, pub ssh.PublicKey, comment string) error {
	line := AuthorizedKey(pub, comment)
	if old, err := os.ReadFile(path + ".pub"); err == nil && string(old) == line {
		return nil
	}
	return atomicfile.WriteFile(path+".pub", []byte(line), true)
}

// AuthorizedKey is pub as one authorized_keys line with a comment; for a
// certificate, the key it certifies (what a fleet collects or a CA signs).
func AuthorizedKey(pub ssh.PublicKey, comment string) string {
	if c, ok := pub.(*ssh.Certificate); ok {
		pub = c.Key
	}
	line := string(ssh.MarshalAuthorizedKey(pub))
	if comment != "" {
		line = line[:len(line)-1] + " " + comment + "\n"
	}
	return line
}
