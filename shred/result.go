package shred

import (
	"errors"
)

var (
	// ErrRefused means a file was left untouched because shredding it
	// would be wrong or ineffective: not a regular file, still being
	// written, locked, immutable, on a read-only or overlay mount. The
	// Result's reasons say which.
	ErrRefused = errors.New("refused")
	// ErrVerify means the data read back after the last pass differed
	// from what was written. The file is not removed.
	ErrVerify = errors.New("verification failed")
	// ErrUnsupported means shredding is not implemented on this platform.
	ErrUnsupported = errors.New("shred is supported on Linux only")
)

// Status says what happened to one path.
type Status string

const (
	StatusRemoved Status = "removed" // overwritten and removed
	StatusKept    Status = "kept"    // overwritten and kept (Options.Keep)
	StatusPlanned Status = "planned" // dry run: would be overwritten
	StatusPartial Status = "partial" // interrupted during the overwrite; run again to finish
	StatusRefused Status = "refused" // left untouched on purpose; see Reasons
	StatusFailed  Status = "failed"  // an error stopped the shred; see Error
)

// Result reports one path. Field order is the JSON order.
type Result struct {
	// Path is the path as given, or joined under the directory given.
	Path string `json:"path"`
	// Type is "file", "directory", "symlink", "fifo", "socket", "device",
	// or "" when the path does not exist.
	Type string `json:"type"`
	// Size is the file's size in bytes before shredding.
	Size   int64  `json:"size"`
	Status Status `json:"status"`
	// Assurance is the level a complete overwrite reaches on this file's
	// storage, or Refused when nothing was or would be written.
	Assurance Assurance `json:"assurance"`
	// Reasons are the texts of the findings that set Assurance.
	Reasons []string `json:"reasons"`
	// Warnings are facts that do not change the level but matter, such as
	// other hard links to the same data.
	Warnings   []string `json:"warnings"`
	Filesystem string   `json:"filesystem"`
	MountPoint string   `json:"mount_point"`
	// Device is the block device under the filesystem, "" when none.
	Device string `json:"device"`
	// Passes counts the passes completed, zero pass included.
	Passes int `json:"passes"`
	// BytesPlanned is what all passes write; BytesWritten what they wrote.
	BytesPlanned int64 `json:"bytes_planned"`
	BytesWritten int64 `json:"bytes_written"`
	Verified     bool  `json:"verified"`
	// Discarded is the number of bytes the filesystem reported trimmed.
	Discarded int64 `json:"discarded"`
	// Findings are every check made, in order, supporting and limiting.
	Findings []Finding `json:"findings"`
	Error    string    `json:"error,omitempty"`
}

// Done reports whether the file reached its level: removed, kept, or (in a
// dry run) planned.
func (r Result) Done() bool {
	return r.Status == StatusRemoved || r.Status == StatusKept || r.Status == StatusPlanned
}

func newResult(path string) Result {
	return Result{Path: path, Reasons: []string{}, Warnings: []string{}, Findings: []Finding{}}
}

// refuse records a finding that stops the shred before anything is
// written.
func (r *Result) refuse(code, text string) {
	r.Findings = append(r.Findings, Finding{Code: code, Assurance: Refused, Text: text})
	r.Status = StatusRefused
	r.Assurance = Refused
	r.Reasons = reasons(r.Findings)
}

func (r *Result) warn(text string) { r.Warnings = append(r.Warnings, text) }

// apply copies an assessment into the result.
func (r *Result) apply(a Assessment) {
	r.Filesystem, r.MountPoint, r.Device = a.Filesystem, a.MountPoint, a.Device
	r.Findings = append(r.Findings, a.Findings...)
	r.Assurance = level(r.Findings)
	r.Reasons = reasons(r.Findings)
}
