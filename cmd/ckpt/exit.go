package main

import (
	"errors"
	"fmt"

	"github.com/ckpt-dev/ckpt/audit"
	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/kube"
	"github.com/ckpt-dev/ckpt/remote"
)

// Exit codes. Scripts rely on them; README.md documents them and they never
// change meaning.
const (
	exitOK          = 0
	exitFailure     = 1  // bad input, I/O error, anything refused
	exitUsage       = 2  // wrong flags or arguments
	exitChecksum    = 3  // a sha256 checksum did not match
	exitSignature   = 4  // a signature is missing, invalid or untrusted
	exitDecrypt     = 5  // no identity could decrypt the file
	exitCorrupt     = 6  // ciphertext failed authentication or is truncated
	exitManifest    = 7  // the manifest does not describe the file
	exitFindings    = 8  // scan found data of a kind named in --fail-on
	exitAssurance   = 9  // shred --require overwritten: all shredded, some only best-effort (copy-on-write, SSD, virtual disk)
	exitDifferent   = 10 // diff --exit-code: the checkpoints differ (a code of its own, so failures stay 1)
	exitInterrupted = 130
)

// Exit codes of ckpt audit verify: one per kind of tampering found.
const (
	exitAuditChanged      = 20 // a record was changed
	exitAuditRemoved      = 21 // records were removed (first, middle or last)
	exitAuditReordered    = 22 // records are in another order
	exitAuditInserted     = 23 // a record was inserted
	exitAuditSignature    = 24 // a checkpoint's text or signature was altered
	exitAuditKey          = 25 // a checkpoint is signed by another key
	exitAuditHashes       = 26 // the hash file was altered
	exitAuditTruncated    = 27 // the log was cut inside a record
	exitAuditInconsistent = 28 // not an extension of --checkpoint
	exitAuditMismatch     = 29 // records and hash file agree, a signed checkpoint does not
)

// Exit codes of ckpt checkpoint (the kubelet API), 30–39.
const (
	exitKubeUnauthorized = 30 // 401: the credentials were not accepted
	exitKubeForbidden    = 31 // 403: RBAC refused (the message names the role to bind)
	exitKubeNotEnabled   = 32 // bare 404: ContainerCheckpoint gate off or kubelet too old
	exitKubeNotFound     = 33 // no such pod, container or node
	exitKubeBadTimeout   = 34 // the kubelet could not parse the timeout parameter
	exitKubeRuntime      = 35 // 500: the runtime (CRIU) failed to checkpoint
	exitKubeTLS          = 36 // TLS: unknown CA, wrong name, invalid certificate
	exitKubeUnreachable  = 37 // no connection, timed out, or the API server could not reach the kubelet
	exitKubeAmbiguous    = 38 // the pod has several containers and none was named
	exitKubeSealFailed   = 39 // --seal: the checkpoint was taken but not sealed and shredded
)

// Exit codes of push, pull, ls of a store and build (docs/transfer.md), 40–49.
const (
	exitRemoteNotFound = 40 // the bucket, repository or set does not exist
	exitRemoteAuth     = 41 // the store refused the credentials
	exitRemoteRejected = 42 // the store refused what was sent (checksum, media type)
	exitUnsealed       = 43 // push: a plaintext archive without --allow-plaintext
)

// Exit codes of ckpt agent (docs/agent.md), 50–59.
const (
	exitAgentConfig = 50 // the config (or --operator-policy) is invalid
	exitAgentStart  = 51 // the agent cannot start: directory, state directory, watch, metrics address
	exitAgentFailed = 52 // --once: some archives could not be sealed or shredded (they are kept)
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
	{audit.ErrChanged, exitAuditChanged},
	{audit.ErrRemoved, exitAuditRemoved},
	{audit.ErrReordered, exitAuditReordered},
	{audit.ErrInserted, exitAuditInserted},
	{audit.ErrCheckpointSignature, exitAuditSignature},
	{audit.ErrCheckpointKey, exitAuditKey},
	{audit.ErrHashes, exitAuditHashes},
	{audit.ErrTruncated, exitAuditTruncated},
	{audit.ErrInconsistent, exitAuditInconsistent},
	{audit.ErrCheckpointMismatch, exitAuditMismatch},
	{kube.Unauthorized, exitKubeUnauthorized},
	{kube.Forbidden, exitKubeForbidden},
	{kube.NotEnabled, exitKubeNotEnabled},
	{kube.NotFound, exitKubeNotFound},
	{kube.BadTimeout, exitKubeBadTimeout},
	{kube.RuntimeFailed, exitKubeRuntime},
	{kube.TLSFailed, exitKubeTLS},
	{kube.Unreachable, exitKubeUnreachable},
	{kube.Ambiguous, exitKubeAmbiguous},
	{remote.ErrNotFound, exitRemoteNotFound},
	{remote.ErrAuth, exitRemoteAuth},
	{remote.ErrRejected, exitRemoteRejected},
	{remote.ErrUnsealed, exitUnsealed},
}
