package agent

import "time"

// Event is one action the agent took on a checkpoint, for the audit trail.
type Event struct {
	Time time.Time
	// Action is "seal", "shred", "keep" (plaintext kept: pinned or in
	// grace), or "prune".
	Action string
	// Archive is the plaintext archive's path; Sealed the sealed file's.
	Archive, Sealed string
	// SHA256 is the sealed file's hash (seal, prune), hex.
	SHA256 string
	// Detail is a short human note: the shred assurance, a prune reason.
	Detail string
}

// Recorder receives every action the agent takes. The audit log
// implements it; Record errors are logged and counted, never fatal.
type Recorder interface {
	Record(Event) error
}

type nopRecorder struct{}

func (nopRecorder) Record(Event) error { return nil }
