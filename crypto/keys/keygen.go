package keys

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"filippo.io/age"
)

// Key is a new age identity and its recipient.
type Key struct {
	// Identity is the secret key: AGE-SECRET-KEY-1... or AGE-SECRET-KEY-PQ-1...
	Identity string
	// Recipient is the public key to seal to: age1... or age1pq1...
	Recipient string
	// Type is TypeX25519 or TypeHybrid.
	Type    string
	Created time.Time
}

// Generate makes a new X25519 identity, or a post-quantum hybrid one (ML-KEM-768
// with X25519) when pq is set. Post-quantum recipients are much longer and
// cannot share a file with classic ones; they protect sealed checkpoints
// against decryption by a future quantum computer.
func Generate(pq bool, now time.Time) (*Key, error) {
	k := &Key{Created: now.UTC().Truncate(time.Second)}
	if pq {
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			return nil, err
		}
		k.Identity, k.Recipient, k.Type = id.String(), id.Recipient().String(), TypeHybrid
		return k, nil
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	k.Identity, k.Recipient, k.Type = id.String(), id.Recipient().String(), TypeX25519
	return k, nil
}

// Fingerprint is the fingerprint of k's recipient.
func (k *Key) Fingerprint() string { return Fingerprint(k.Recipient) }

// File is the identity file for k, in the format age-keygen writes: the
// creation time and the recipient as comments, then the secret key.
func (k *Key) File() []byte {
	return fmt.Appendf(nil, "# created: %s\n# public key: %s\n%s\n",
		k.Created.Format(time.RFC3339), k.Recipient, k.Identity)
}

// RecipientsOf returns the recipients of the native age identities in ids,
// for `ckpt keygen -y`. SSH keys have their public key beside them already.
func RecipientsOf(ids []age.Identity) ([]string, error) {
	var out []string
	for _, id := range ids {
		switch id := id.(type) {
		case *age.X25519Identity:
			out = append(out, id.Recipient().String())
		case *age.HybridIdentity:
			out = append(out, id.Recipient().String())
		default:
			return nil, fmt.Errorf("%s: only age identities have a recipient to print (for SSH keys use the .pub file)", strings.TrimSpace(Describe(id)))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no identities")
	}
	return out, nil
}
