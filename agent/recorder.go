package agent

import (
	"time"

	"github.com/ckpt-dev/ckpt/crypto/seal"
)

// Event is one action the agent took on a checkpoint, for the audit trail.
type Event struct {
	Time time.Time
	// Action is "seal", "shred", "keep" (plaintext kept: pinned or in
	// grace), "prune" or "upload".
	Action string
	// Archive is the plaintext archive's path; Sealed the sealed file's.
	Archive, Sealed string
	// SHA256 is the sealed file's hash (seal, prune), hex.
	SHA256 string
	// Detail is a short human note: a prune reason, an upload's
	// destination.
	Detail string
	// Assurance is a shred's level.
	Assurance string
	// Manifest is the sealed set's manifest when known: the identity,
	// digests, recipients and signer of the record come from it.
	Manifest *seal.Manifest
	// Signer is the fingerprint of the key that signed the manifest.
	Signer string
	// Err is why the action failed; nil when it succeeded.
	Err error
}

// Recorder receives every action the agent takes. The audit log
// implements it; Record errors are logged and counted, never fatal.
type Recorder interface {
	Record(Event) error
}

type nopRecorder struct{}

func (nopRecorder) Record(Event) error { return nil }
