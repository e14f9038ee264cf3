package keys

import (
	"bufio"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"

	"github.com/ckpt-dev/ckpt/internal/lines"
)

// Recipient types, named as the stanzas age writes into a file's header, so
// that a manifest and `age-inspect` agree.
const (
	TypeX25519     = "X25519"
	TypeHybrid     = "mlkem768x25519"
	TypeSSHEd25519 = "ssh-ed25519"
	TypeSSHRSA     = "ssh-rsa"
	TypeScrypt     = "scrypt"
)

// Limits on recipients files, as the age CLI has them: a recipients file is
// small, and a line longer than sshd accepts is not a key.
const (
	maxRecipientsFile = 16 << 20
	maxLine           = 8 << 10
)

// Recipient is an age recipient with what a manifest says about it.
type Recipient struct {
	age.Recipient
	// Type is one of the Type constants.
	Type string
	// Fingerprint identifies the key (see Fingerprint); empty for a
	// passphrase.
	Fingerprint string
	// key is the canonical public key text, used to drop duplicates.
	key string
}

// ParseRecipient parses one recipient: age1..., age1pq1..., or an SSH public
// key line ("ssh-ed25519 AAAA... comment", options allowed).
func ParseRecipient(s string) (Recipient, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(strings.ToUpper(s), "AGE-SECRET-KEY-"):
		// Never echo it: it is a secret.
		return Recipient{}, ErrIdentityNotRecipient
	case strings.HasPrefix(s, "age1tag"):
		return Recipient{}, fmt.Errorf("tagged recipients (%s) are not supported", abbrev(s))
	case strings.HasPrefix(s, "age1pq1"):
		return parseAgeRecipient(s, TypeHybrid, "post-quantum", age.ParseHybridRecipient)
	case strings.HasPrefix(s, "age1") && strings.Count(s, "1") > 1:
		// The bech32 alphabet has no '1': a second one separates a plugin
		// name from its data.
		return Recipient{}, fmt.Errorf("plugin recipients (%s) are not supported", abbrev(s))
	case strings.HasPrefix(s, "age1"):
		return parseAgeRecipient(s, TypeX25519, "age", age.ParseX25519Recipient)
	}
	return parseSSHRecipient(s)
}

// parseAgeRecipient parses s with parse, one of age's native recipient
// parsers; kind names the recipient in the error.
func parseAgeRecipient[R interface {
	age.Recipient
	String() string
}](s, typ, kind string, parse func(string) (R, error)) (Recipient, error) {
	r, err := parse(s)
	if err != nil {
		return Recipient{}, fmt.Errorf("malformed %s recipient %s", kind, abbrev(s))
	}
	return Recipient{Recipient: r, Type: typ, Fingerprint: Fingerprint(r.String()), key: r.String()}, nil
}

func parseSSHRecipient(s string) (Recipient, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return Recipient{}, fmt.Errorf("unknown recipient %s (want age1..., age1pq1..., ssh-ed25519 or ssh-rsa)", abbrev(s))
	}
	var r age.Recipient
	switch pub.Type() {
	case ssh.KeyAlgoED25519:
		r, err = agessh.NewEd25519Recipient(pub)
	case ssh.KeyAlgoRSA:
		if ck, ok := pub.(ssh.CryptoPublicKey); ok {
			if k, ok := ck.CryptoPublicKey().(*rsa.PublicKey); ok && k.N.BitLen() < 2048 {
				return Recipient{}, fmt.Errorf("ssh-rsa key %s has %d bits; age needs at least 2048", SSHFingerprint(pub), k.N.BitLen())
			}
		}
		r, err = agessh.NewRSARecipient(pub)
	default:
		return Recipient{}, fmt.Errorf("%w: %s key %s", errUnsupportedSSH, pub.Type(), SSHFingerprint(pub))
	}
	if err != nil {
		return Recipient{}, fmt.Errorf("%s key %s: %v", pub.Type(), SSHFingerprint(pub), err)
	}
	return Recipient{Recipient: r, Type: pub.Type(), Fingerprint: SSHFingerprint(pub), key: string(ssh.MarshalAuthorizedKey(pub))}, nil
}

// ErrIdentityNotRecipient is a secret key given where a recipient (its
// public half) belongs. The error never echoes the key.
var ErrIdentityNotRecipient = errors.New("this is an age secret key (an identity), not a recipient")

var errUnsupportedSSH = errors.New("age can only encrypt to ssh-ed25519 and ssh-rsa keys, not to this")

// Errors of CheckMix.
var (
	ErrPassphraseNotAlone = errors.New("a passphrase must be the only recipient of a file")
	ErrMixedPostQuantum   = errors.New("post-quantum recipients (age1pq1...) cannot be mixed with classic ones")
)

// abbrev quotes the start of s for an error message: enough to recognise
// it, not a whole key.
func abbrev(s string) string {
	if len(s) > 24 {
		s = s[:24] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// ParseRecipientsFile reads a recipients file: one recipient per line, blank
// lines and lines starting with # ignored, so an authorized_keys file works
// too. SSH keys of types age cannot encrypt to (ecdsa, security keys) are
// skipped and reported in skipped, as the age CLI does: an authorized_keys
// file often holds some. Any other bad line is an error naming the line, but
// not quoting it, in case the file is a secret one given by mistake.
func ParseRecipientsFile(name string, r io.Reader) (recs []Recipient, skipped []string, err error) {
	lr := &io.LimitedReader{R: r, N: maxRecipientsFile + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), maxLine+1)
	content := lines.New(sc)
	for n, line := range content.All() {
		if !utf8.ValidString(line) {
			return nil, nil, fmt.Errorf("%s: line %d: not valid UTF-8", name, n)
		}
		rec, err := ParseRecipient(line)
		if errors.Is(err, errUnsupportedSSH) {
			skipped = append(skipped, fmt.Sprintf("%s: line %d: %v", name, n, err))
			continue
		}
		if err != nil {
			if strings.HasPrefix(strings.ToUpper(line), "AGE-SECRET-KEY-") {
				return nil, nil, fmt.Errorf("%s: line %d: this is an identity (secret key) file, not a recipients file", name, n)
			}
			return nil, nil, fmt.Errorf("%s: line %d: malformed recipient", name, n)
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, nil, fmt.Errorf("%s: line %d: too long", name, content.N()+1)
		}
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if lr.N == 0 {
		return nil, nil, fmt.Errorf("%s: larger than %d bytes, not a recipients file", name, maxRecipientsFile)
	}
	if len(recs) == 0 {
		return nil, skipped, fmt.Errorf("%s: no recipients in file", name)
	}
	return recs, skipped, nil
}

// NewPassphrase returns a recipient that seals to a passphrase (age's scrypt
// recipient). Such a file has no other recipient.
func NewPassphrase(passphrase []byte) (Recipient, error) {
	if len(passphrase) == 0 {
		return Recipient{}, errors.New("empty passphrase")
	}
	r, err := age.NewScryptRecipient(string(passphrase))
	if err != nil {
		return Recipient{}, err
	}
	return Recipient{Recipient: r, Type: TypeScrypt}, nil
}

// Dedup drops repeated keys, keeping the first of each, so that a key given
// twice (say with -r and in a -R file) makes one header stanza.
func Dedup(rs []Recipient) []Recipient {
	var out []Recipient
	seen := map[string]bool{}
	for _, r := range rs {
		if r.key != "" {
			if seen[r.key] {
				continue
			}
			seen[r.key] = true
		}
		out = append(out, r)
	}
	return out
}

// CheckMix enforces age's rules on which recipients may share a file, with
// errors that say why: a passphrase must be the only recipient (or anyone
// holding one of the other keys could make a file that opens with the
// passphrase), and post-quantum recipients cannot be mixed with classic ones
// (the file would fall to whoever breaks the classic key).
func CheckMix(rs []Recipient) error {
	if len(rs) == 0 {
		return errors.New("no recipients")
	}
	var scrypt, pq, classic []string
	for _, r := range rs {
		switch r.Type {
		case TypeScrypt:
			scrypt = append(scrypt, r.Type)
		case TypeHybrid:
			pq = append(pq, r.Type)
		default:
			classic = append(classic, r.Type+" "+r.Fingerprint)
		}
	}
	if len(scrypt) > 0 && len(rs) > 1 {
		return fmt.Errorf("%w: anyone holding one of the other keys could make a file that opens with it", ErrPassphraseNotAlone)
	}
	if len(pq) > 0 && len(classic) > 0 {
		slices.Sort(classic)
		return fmt.Errorf("%w (%s): the file would be only as strong as the classic key", ErrMixedPostQuantum, strings.Join(classic, ", "))
	}
	return nil
}

// AgeRecipients returns the age.Recipient values of rs, for age.Encrypt.
func AgeRecipients(rs []Recipient) []age.Recipient {
	out := make([]age.Recipient, len(rs))
	for i, r := range rs {
		out[i] = r.Recipient
	}
	return out
}
