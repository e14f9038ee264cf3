package main

import (
	"errors"
	"fmt"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/crypto/seal"
)

// Exit codes, the same for every command. Scripts rely on them;
// docs/security.md documents them (a test checks the table against this
// list) and they never change meaning.
const (
	exitOK          = 0
	exitFailure     = 1   // bad input, I/O error, anything refused
	exitUsage       = 2   // wrong flags or arguments
	exitChecksum    = 3   // a sha256 checksum did not match
	exitSignature   = 4   // a signature is missing, invalid or untrusted
	exitDecrypt     = 5   // no identity could decrypt the file
	exitCorrupt     = 6   // ciphertext failed authentication or is truncated
	exitManifest    = 7   // the manifest does not describe the file
	exitFindings    = 8   // scan found data of a kind named in --fail-on
	exitAssurance   = 9   // shred --require overwritten: all shredded, some only best-effort (copy-on-write, SSD, virtual disk)
	exitDifferent   = 10  // diff --exit-code: the checkpoints differ (a code of its own, so failures stay 1)
	exitLimit       = 11  // the archive exceeds a limit that bounds what it may cost (--max-held, --max-ratio, --max-entry, ...)
	exitHangup      = 129 // SIGHUP (a closed terminal or session); partial output discarded
	exitInterrupted = 130 // SIGINT or SIGTERM; partial output discarded
)

// codedError carries an exit code up to run.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// withCode attaches an exit code to err.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code, err}
}

// usageErrorf reports a mistake in how ckpt was called (exit code 2).
func usageErrorf(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	// A secret was needed and there was no way to ask for it (no
	// terminal): how ckpt was called, as for a missing flag.
	var pe *keys.PromptError
	if errors.As(err, &pe) {
		return exitUsage
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.target) {
			return m.code
		}
	}
	return exitFailure
}

// errorCodes maps library errors to exit codes, checked in order.
var errorCodes = []struct {
	target error
	code   int
}{
	{seal.ErrChecksum, exitChecksum},
	{seal.ErrSignature, exitSignature},
	{seal.ErrNoIdentity, exitDecrypt},
	{keys.ErrWrongPassphrase, exitDecrypt},
	{seal.ErrCorrupt, exitCorrupt},
	{seal.ErrManifest, exitManifest},
	{archive.ErrBudget, exitLimit},
	{archive.ErrBomb, exitLimit},
	{archive.ErrTooLarge, exitLimit},
}
