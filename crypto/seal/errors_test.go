package seal

import (
	"errors"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/crypto/keys"
)

// TestNoIdentityKinds checks that a file sealed to a passphrase alone says
// so when keys were tried, in words that name no flag.
func TestNoIdentityKinds(t *testing.T) {
	for _, tc := range []struct {
		types      []string
		passphrase bool
	}{
		{[]string{keys.TypeScrypt}, true},
		{[]string{keys.TypeX25519}, false},
		{[]string{keys.TypeX25519, keys.TypeScrypt}, false},
	} {
		err := error(&noIdentityError{types: tc.types})
		if !errors.Is(err, ErrNoIdentity) || errors.Is(err, ErrPassphraseOnly) != tc.passphrase {
			t.Errorf("%v: Is(ErrNoIdentity) %v, Is(ErrPassphraseOnly) %v, want true, %v", tc.types, errors.Is(err, ErrNoIdentity), errors.Is(err, ErrPassphraseOnly), tc.passphrase)
		}
		if strings.Contains(err.Error(), "-i") {
			t.Errorf("%v: %q names a flag", tc.types, err)
		}
	}
}
