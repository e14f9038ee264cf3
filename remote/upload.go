package remote

import (
	"context"
	"fmt"
)

// Upload pushes the sealed set at path to the store at location and
// confirms that the store holds it whole (size and SHA-256 as sealed),
// which is the condition for deleting the local copy. It refuses a
// plaintext archive. This is the call the node agent's upload makes; it
// retries failed requests itself (opts.Retries) and leaves backing off
// between whole attempts to the caller.
func Upload(ctx context.Context, location, path string, opts Options) (*Entry, error) {
	set, err := LoadLocal(path, false)
	if err != nil {
		return nil, err
	}
	s, err := Open(ctx, location, opts)
	if err != nil {
		return nil, err
	}
	return PutVerified(ctx, s, set)
}

// PutVerified puts set into s and stats it back: the stored ciphertext's
// size and SHA-256 must be the sealed ones.
func PutVerified(ctx context.Context, s Store, set *Local) (*Entry, error) {
	if err := s.Put(ctx, set); err != nil {
		return nil, err
	}
	id := set.Name
	if o, ok := s.(*ociStore); ok {
		id = o.tagFor(set)
	}
	e, err := s.Stat(ctx, id)
	if err != nil {
		return nil, err
	}
	if e.Size != set.Size || e.SHA256 != set.sha256Hex() {
		return nil, errorf(s, "%s: %w: the store holds %d bytes with sha256 %s, not %d with %s", set.Name, ErrRejected, e.Size, e.SHA256, set.Size, set.sha256Hex())
	}
	if e.Error != "" {
		return nil, errorf(s, "%s: %s", set.Name, e.Error)
	}
	return e, nil
}

func (l *Local) sha256Hex() string { return fmt.Sprintf("%x", l.SHA256) }
