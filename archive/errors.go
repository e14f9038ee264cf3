package archive

import "errors"

// Errors that classify what is wrong with an archive. They are wrapped in
// an *Error that names the archive and the entry.
var (
	ErrNotArchive   = errors.New("not a checkpoint archive (no tar, gzip, zstd, bzip2, xz or age data)")
	ErrSealed       = errors.New("archive is sealed with age, and no decrypter was given")
	ErrUnsafeEntry  = errors.New("unsafe entry")
	ErrDuplicate    = errors.New("duplicate entry")
	ErrTooLarge     = errors.New("entry exceeds its size limit")
	ErrBomb         = errors.New("decompression ratio exceeds limit (possible decompression bomb)")
	ErrTruncated    = errors.New("archive is truncated")
	ErrMissing      = errors.New("missing")
	ErrBadMetadata  = errors.New("invalid metadata")
	ErrStreamReused = errors.New("a stream can be read only once")
	ErrOutOfOrder   = errors.New("members out of order")
)

// Error reports a problem with an archive, or with one entry in it.
type Error struct {
	Archive string // as the user named it
	Entry   string // empty for the archive as a whole
	Err     error
}

func (e *Error) Error() string {
	if e.Entry == "" {
		return e.Archive + ": " + e.Err.Error()
	}
	return e.Archive + ": " + e.Entry + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }
