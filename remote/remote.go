// Package remote moves sealed sets to and from object stores and
// registries, verified on arrival.
//
// A sealed set (crypto/seal) is the age ciphertext and its sidecars. A
// Store keeps sets under their sealed file's name: an S3 bucket as one
// object per file under a prefix, an OCI registry as one artifact manifest
// per set whose layers are the files. Both carry the set's identity (what
// the archive is of) beside the data, in object metadata or manifest
// annotations, so a listing never needs the ciphertext.
//
// The ciphertext's SHA-256, computed while sealing and written in the
// checksum line, travels with the upload (S3's x-amz-checksum-sha256, the
// OCI blob digest), so the server rejects a corrupted upload and the file
// is read exactly once. Pull hashes what it receives as it writes it and
// verifies the set before anything appears in the target directory.
package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ckpt-dev/ckpt/crypto/seal"
)

// Store holds sealed sets by name (the sealed file's base name).
type Store interface {
	// Put uploads a set. The ciphertext goes first and the manifest
	// last, so a listed set is a whole one.
	Put(ctx context.Context, set *Local) error
	// Get fetches the set id (its name in S3, its tag in a registry):
	// the sidecars into the returned SetData, then the ciphertext into
	// the writer create returns for the set's name.
	Get(ctx context.Context, id string, create func(name string) (io.Writer, error)) (*seal.SetData, error)
	// List returns the sets in the store, sorted by name.
	List(ctx context.Context) ([]Entry, error)
	// Stat describes the set id without fetching its ciphertext. A set
	// that is not there gives an error wrapping ErrNotFound.
	Stat(ctx context.Context, id string) (*Entry, error)
	// String is the store's location, e.g. s3://bucket/prefix/.
	String() string
}

// Entry is a set as a store lists it.
type Entry struct {
	// Name is the sealed file's name, e.g. checkpoint-…Z.tar.age.
	Name string `json:"name"`
	// Location addresses the set in its store, for pull.
	Location string `json:"location"`
	// Size is the ciphertext's size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the ciphertext's hash as the store has it.
	SHA256 string `json:"sha256"`
	// Signed says a signature travels with the set.
	Signed bool `json:"signed"`
	// Plaintext marks an archive pushed unsealed (--allow-plaintext).
	Plaintext bool `json:"plaintext"`
	// Modified is when the store received it, when the store says.
	Modified time.Time `json:"modified"`
	// Manifest is the set's manifest as stored (not verified: pull
	// verifies); nil for a plaintext archive or an unreadable manifest.
	Manifest *seal.Manifest `json:"manifest"`
	// Error says why the manifest could not be read, if it could not.
	Error string `json:"error,omitempty"`
}

// Errors that say what a store refused, so that callers can tell a typo
// from a network failure. Each is wrapped with the store's own message.
var (
	// ErrNotFound: the bucket, repository or set does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAuth: the store refused the credentials, or there were none.
	ErrAuth = errors.New("access denied")
	// ErrRejected: the store refused what was sent (a checksum it
	// computed differently, a media type it does not accept).
	ErrRejected = errors.New("rejected by the store")
	// ErrUnsealed: a plaintext archive was given where a sealed set is
	// needed.
	ErrUnsealed = errors.New("not sealed")
)

// Options tune the stores.
type Options struct {
	// Endpoint overrides the S3 endpoint (http://127.0.0.1:9000). Without
	// it the AWS configuration decides (AWS_ENDPOINT_URL_S3, the shared
	// config's endpoint_url, or AWS itself).
	Endpoint string
	// Region overrides the S3 region.
	Region string
	// Retries is how many times a failed request is tried again (with
	// backoff); 0 means the default of 5, a negative number none.
	Retries int
	// MultipartThreshold is the ciphertext size above which S3 uploads
	// go in parts; 0 means 4 GiB (a single PUT may be up to 5 GiB).
	MultipartThreshold int64
	// PartSize is the size of one part; 0 means 16 MiB, raised so that
	// no upload has more than 10,000 parts.
	PartSize int64
	// Insecure lets an OCI registry be reached over plain HTTP (it is
	// always allowed for loopback addresses).
	Insecure bool
	// Progress, when set, is called with the number of ciphertext bytes
	// sent or received.
	Progress func(n int64)
}

func (o Options) retries() int {
	if o.Retries < 0 {
		return 0
	}
	if o.Retries == 0 {
		return 5
	}
	return o.Retries
}

// Open returns the store at a location: s3://BUCKET/PREFIX/ or
// oci://REGISTRY/REPOSITORY[:TAG].
func Open(ctx context.Context, location string, opts Options) (Store, error) {
	loc, err := ParseLocation(location)
	if err != nil {
		return nil, err
	}
	switch loc.Scheme {
	case SchemeS3:
		return openS3(ctx, loc, opts)
	default:
		return openOCI(loc, opts)
	}
}

// errorf names the store in an error.
func errorf(s Store, format string, args ...any) error {
	return fmt.Errorf("%s: "+format, append([]any{s}, args...)...)
}
