package audit

import "errors"

// Verification failures, one per class of tampering, so callers (and the
// CLI's exit codes) can tell them apart. Verify wraps one of them.
var (
	// ErrChanged: a record's bytes differ from what was hashed and signed.
	ErrChanged = errors.New("a record was changed")
	// ErrRemoved: records are missing from the start or the middle, or
	// whole records from the end.
	ErrRemoved = errors.New("records were removed")
	// ErrReordered: records are all there, in another order.
	ErrReordered = errors.New("records were reordered")
	// ErrInserted: a record is there that was never appended.
	ErrInserted = errors.New("a record was inserted")
	// ErrCheckpointSignature: a checkpoint's text or signature was altered.
	ErrCheckpointSignature = errors.New("a checkpoint's signature is not valid")
	// ErrCheckpointKey: a checkpoint is signed by another key than the
	// log's.
	ErrCheckpointKey = errors.New("a checkpoint is signed by an unknown key")
	// ErrHashes: the hash file does not match the records (which do match
	// the signed checkpoints): the hash file was altered.
	ErrHashes = errors.New("the hash file does not match the records")
	// ErrTruncated: the file was cut inside a record, below what a
	// checkpoint covers.
	ErrTruncated = errors.New("the log was truncated")
	// ErrInconsistent: the log is not an append-only extension of the
	// given older checkpoint.
	ErrInconsistent = errors.New("the log is not an extension of the older checkpoint")
	// ErrCheckpointMismatch: the records and the hash file agree, but a
	// validly signed checkpoint says otherwise: both were rewritten, or the
	// checkpoint was (by someone holding the key).
	ErrCheckpointMismatch = errors.New("a signed checkpoint does not match the log")
)
