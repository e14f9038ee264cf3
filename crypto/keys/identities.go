package keys

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"

	"github.com/ckpt-dev/ckpt/internal/lines"
)

// maxIdentityFile caps identity files: keys are a few hundred bytes, and a
// passphrase-encrypted identity file is small too.
const maxIdentityFile = 1 << 20

// ReadIdentityFile reads the identities in the file at path; see
// ParseIdentities.
func ReadIdentityFile(path string, prompt Prompt) ([]age.Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxIdentityFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxIdentityFile {
		return nil, fmt.Errorf("%s: larger than %d bytes, not an identity file", path, maxIdentityFile)
	}
	return ParseIdentities(path, data, prompt)
}

// ParseIdentities parses the contents of an identity file called name:
//   - an age identity file: AGE-SECRET-KEY-1... (X25519) and
//     AGE-SECRET-KEY-PQ-1... (post-quantum) lines, # comments;
//   - such a file encrypted with `age -p` (binary or armored), decrypted with
//     a passphrase from prompt the first time a key is needed;
//   - an SSH private key (ssh-ed25519 or ssh-rsa, OpenSSH or PEM format).
//     If it is encrypted, prompt is asked for its passphrase only when a file
//     is sealed to it; the public key comes from the file or, for old PEM
//     files, from name+".pub".
//
// prompt may be nil when no secret can be asked for; an encrypted key then
// fails when it is needed.
func ParseIdentities(name string, data []byte, prompt Prompt) ([]age.Identity, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(data, []byte("age-encryption.org/")) || bytes.HasPrefix(trimmed, []byte(armor.Header)):
		return []age.Identity{&encryptedIdentityFile{name: name, contents: data, prompt: prompt}}, nil
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		id, err := parseSSHIdentity(name, data, prompt)
		if err != nil {
			return nil, err
		}
		return []age.Identity{id}, nil
	case bytes.HasPrefix(trimmed, []byte("ssh-")):
		return nil, fmt.Errorf("%s: this is an SSH public key; give the private key (the file without .pub)", name)
	}
	ids, err := parseNative(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ids, nil
}

// parseNative reads an age identity file. Lines are never quoted in errors:
// they are secrets.
func parseNative(r io.Reader) ([]age.Identity, error) {
	var ids []age.Identity
	sc := bufio.NewScanner(r)
	for n, line := range lines.New(sc).All() {
		if !utf8.ValidString(line) {
			return nil, fmt.Errorf("line %d: not valid UTF-8; not an identity file", n)
		}
		var id age.Identity
		var err error
		switch {
		case strings.HasPrefix(line, "AGE-SECRET-KEY-PQ-1"):
			id, err = age.ParseHybridIdentity(line)
		case strings.HasPrefix(line, "AGE-SECRET-KEY-1"):
			id, err = age.ParseX25519Identity(line)
		case strings.HasPrefix(line, "AGE-PLUGIN-"):
			return nil, fmt.Errorf("line %d: plugin identities are not supported", n)
		case strings.HasPrefix(line, "age1"):
			return nil, fmt.Errorf("line %d: this is a recipient (public key), not an identity", n)
		default:
			return nil, fmt.Errorf("line %d: not an age identity", n)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: malformed age identity", n)
		}
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, errors.New("no identities in file")
	}
	return ids, nil
}

func parseSSHIdentity(name string, pemBytes []byte, prompt Prompt) (age.Identity, error) {
	k, err := ssh.ParseRawPrivateKey(pemBytes)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		pub := missing.PublicKey
		if pub == nil {
			if pub, err = readPubFile(name + ".pub"); err != nil {
				return nil, fmt.Errorf("%s: encrypted key without its public key: %w", name, err)
			}
		}
		if t := pub.Type(); t != ssh.KeyAlgoED25519 && t != ssh.KeyAlgoRSA {
			return nil, fmt.Errorf("%s: age cannot decrypt with %s keys (only ssh-ed25519 and ssh-rsa)", name, t)
		}
		return &encryptedSSHIdentity{name: name, pub: pub, pemBytes: pemBytes, prompt: prompt}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: not a usable SSH private key: %v", name, err)
	}
	id, err := sshIdentity(k)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return id, nil
}

func sshIdentity(k any) (age.Identity, error) {
	switch k := k.(type) {
	case *ed25519.PrivateKey:
		return agessh.NewEd25519Identity(*k)
	case ed25519.PrivateKey:
		return agessh.NewEd25519Identity(k)
	case *rsa.PrivateKey:
		return agessh.NewRSAIdentity(k)
	}
	return nil, fmt.Errorf("age cannot decrypt with %T keys (only ssh-ed25519 and ssh-rsa)", k)
}

func readPubFile(path string) (ssh.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return pub, nil
}

// Describe names an identity for messages: its type and the fingerprint of
// its recipient when that is known without asking for a passphrase.
func Describe(id age.Identity) string {
	switch id := id.(type) {
	case *age.X25519Identity:
		return TypeX25519 + " " + Fingerprint(id.Recipient().String())
	case *age.HybridIdentity:
		return TypeHybrid + " " + Fingerprint(id.Recipient().String())
	case *encryptedSSHIdentity:
		return id.pub.Type() + " " + SSHFingerprint(id.pub)
	case *encryptedIdentityFile:
		return "encrypted identity file " + id.name
	case *passphraseIdentity:
		return "passphrase"
	case *agessh.Ed25519Identity, *agessh.RSAIdentity:
		return "ssh key"
	}
	return fmt.Sprintf("%T", id)
}
