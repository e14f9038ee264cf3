package keys

import (
	"crypto/sha256"
	"encoding/base64"

	"golang.org/x/crypto/ssh"
)

// Fingerprint names a public key without spelling it out. SSH keys get the
// fingerprint `ssh-keygen -l` prints; age keys get the same form over the
// recipient string (SHA256: and the unpadded base64 of its SHA-256), which
// `ckpt keygen` prints beside the recipient.
func Fingerprint(recipient string) string {
	h := sha256.Sum256([]byte(recipient))
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(h[:])
}

// SSHFingerprint is the fingerprint `ssh-keygen -l` prints for k.
func SSHFingerprint(k ssh.PublicKey) string { return ssh.FingerprintSHA256(k) }

// sshTag is the short key hint age writes into ssh-ed25519 and ssh-rsa
// recipient stanzas: the first four bytes of the SHA-256 of the public key's
// wire encoding, in unpadded base64 (age-encryption.org/v1, "ssh-ed25519").
func sshTag(k ssh.PublicKey) string {
	h := sha256.Sum256(k.Marshal())
	return base64.RawStdEncoding.EncodeToString(h[:4])
}
