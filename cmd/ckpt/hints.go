package main

import (
	"errors"

	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
)

// flagHint returns what the user can type to get past err, for the errors
// whose remedy is a flag or a command: the library's errors name none.
func flagHint(err error) string {
	var payload *criu.PayloadLimitError
	switch {
	case errors.Is(err, atomicfile.ErrExists):
		return " (use --force to overwrite)"
	case errors.Is(err, seal.ErrPassphraseOnly):
		return " (give the passphrase, not -i)"
	case errors.Is(err, keys.ErrIdentityNotRecipient):
		return "; `ckpt keygen -y KEYFILE` prints its recipient"
	case errors.As(err, &payload):
		return " (show sizes only with --no-payload)"
	}
	return ""
}
