package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/audit"
	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/shred"
)

// This file records what seal, open, verify and shred do in the audit log
// (--audit-log, CKPT_AUDIT_LOG). A command opens the log before it acts,
// so a log it cannot write stops it before anything happens, appends one
// record per file as each is done, and fails if a record could not be
// written: an action that leaves no trace must not look like a success.

// auditFlags are --audit-log and --audit-key.
type auditFlags struct {
	log, key string
}

func addAuditFlags(cmd *cobra.Command) *auditFlags {
	f := &auditFlags{}
	cmd.Flags().StringVar(&f.log, "audit-log", "", "append a record of what was done to the audit log `PATH` (default "+envAuditLog+")")
	cmd.Flags().StringVar(&f.key, "audit-key", "", "sign the audit log's checkpoints with the key `FILE` from ckpt audit keygen (default "+envAuditKey+")")
	return f
}

type auditKey struct{}

// auditSink is the open log of one command run.
type auditSink struct {
	log   *audit.Log
	actor audit.Actor
	err   error
}

// run calls fn with a context that carries the audit log, when one is
// configured, and closes the log (signing a checkpoint) after.
func (f *auditFlags) run(ctx context.Context, a *app, fn func(context.Context) error) error {
	path, key := f.log, f.key
	if path == "" {
		path = a.getenv(envAuditLog)
	}
	if key == "" {
		key = a.getenv(envAuditKey)
	}
	if path == "" {
		if f.key != "" {
			return usageErrorf("--audit-key signs the audit log: give --audit-log PATH too")
		}
		return fn(ctx)
	}
	opts := audit.Options{Warn: func(msg string) { a.warnf("audit: %s", msg) }}
	if key != "" {
		s, err := audit.LoadSigner(key)
		if err != nil {
			return fmt.Errorf("audit key: %w", err)
		}
		opts.Signer = s
	} else {
		a.warnf("audit: no --audit-key (%s): the records are not covered by a signed checkpoint", envAuditKey)
	}
	l, err := audit.Open(path, opts)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	sink := &auditSink{log: l, actor: audit.Self()}
	err = fn(context.WithValue(ctx, auditKey{}, sink))
	if cerr := l.Close(); sink.err == nil {
		sink.err = cerr
	}
	if sink.err != nil {
		if err != nil {
			a.warnf("audit log %s: %v", path, sink.err)
			return err
		}
		return fmt.Errorf("the action was done, but its audit record could not be written to %s: %w", path, sink.err)
	}
	return err
}

// auditFrom returns the command's audit log, or nil (whose methods do
// nothing) when there is none.
func auditFrom(ctx context.Context) *auditSink {
	s, _ := ctx.Value(auditKey{}).(*auditSink)
	return s
}

func (s *auditSink) add(ctx context.Context, recs ...audit.Record) {
	if s == nil {
		return
	}
	for i := range recs {
		recs[i].Actor = s.actor
	}
	// A record is written even when the command is being interrupted.
	if err := s.log.Append(context.WithoutCancel(ctx), recs...); err != nil && s.err == nil {
		s.err = err
	}
}

// record is the record of action on file, failed when err is not nil.
func record(action, file string, err error) audit.Record {
	rec := audit.Record{Action: action, Result: audit.ResultOK, File: file, Archive: &audit.Archive{Name: filepath.Base(file)}}
	if err != nil {
		rec.Result, rec.Error = audit.ResultFailed, oneLine(err)
	}
	return rec
}

func archiveRef(name string, id archive.Identity) *audit.Archive {
	r := &audit.Archive{Name: filepath.Base(name), Namespace: id.Namespace, Pod: id.Pod, Container: id.Container}
	if !id.Checkpointed.IsZero() {
		r.CheckpointedAt = id.Checkpointed.UTC().Format("2006-01-02T15:04:05Z07:00")
	}
	return r
}

func digest(name string, d seal.FileDigest) audit.Digest {
	if d.Name != "" {
		name = d.Name
	}
	return audit.Digest{Name: name, Size: d.Size, SHA256: d.SHA256}
}

// seal records one archive sealed (out) or not (err), and the shred of
// its source with --shred-source.
func (s *auditSink) seal(ctx context.Context, src string, out *sealedArchive, err error) {
	if s == nil {
		return
	}
	rec := record(audit.ActionSeal, src, err)
	msg := rec.Error
	if out != nil {
		rec.Output = out.Sealed
		rec.Archive = archiveRef(src, out.Identity.Identity)
		rec.Digests = []audit.Digest{
			{Name: filepath.Base(src), Size: out.ArchiveSize, SHA256: out.ArchiveSHA256},
			{Name: filepath.Base(out.Sealed), Size: out.Size, SHA256: out.SHA256},
		}
		for _, r := range out.Recipients {
			rec.Recipients = append(rec.Recipients, r.Type+":"+r.Fingerprint)
		}
		rec.Signer = out.Signer
		if out.Shred != nil {
			// The seal itself succeeded; the shred is its own record.
			rec.Result, rec.Error = audit.ResultOK, ""
		}
	}
	recs := []audit.Record{rec}
	if out != nil && out.Shred != nil {
		sh := audit.Record{Action: audit.ActionShred, Result: out.Shred.Status, Error: msg, File: src, Archive: rec.Archive, Assurance: out.Shred.Assurance, Digests: rec.Digests[:1]}
		recs = append(recs, sh)
	}
	s.add(ctx, recs...)
}

// open records one sealed file opened or not.
func (s *auditSink) open(ctx context.Context, src, dst string, out *openedArchive, err error) {
	if s == nil {
		return
	}
	rec := record(audit.ActionOpen, src, err)
	if out != nil {
		rec.Output = out.Output
		rec.Archive = archiveRef(filepath.Base(dst), out.Identity.Identity)
		rec.Digests = []audit.Digest{{Name: filepath.Base(dst), Size: out.Size, SHA256: out.SHA256}}
		if out.Signature != nil {
			rec.Signer = out.Signature.Signer
		}
	}
	s.add(ctx, rec)
}

// verify records one sealed file checked.
func (s *auditSink) verify(ctx context.Context, v verifiedFile) {
	if s == nil {
		return
	}
	rec := record(audit.ActionVerify, v.File, nil)
	if !v.OK {
		rec.Result, rec.Error = audit.ResultFailed, v.Error
	} else {
		rec.Archive = archiveRef(v.Archive.Name, v.Identity.Identity)
		rec.Digests = []audit.Digest{digest("archive", v.Archive), digest(filepath.Base(v.File), v.Sealed)}
		if v.Signature != nil {
			rec.Signer = v.Signature.Signer
		}
	}
	s.add(ctx, rec)
}

// shred records the outcome of each file of a shred.
func (s *auditSink) shred(ctx context.Context, rs []shred.Result) {
	if s == nil {
		return
	}
	var recs []audit.Record
	for _, r := range rs {
		if r.Status == shred.StatusPlanned {
			continue // a dry run changed nothing
		}
		recs = append(recs, audit.Record{
			Action: audit.ActionShred, Result: string(r.Status), Error: r.Error, File: r.Path,
			Archive: &audit.Archive{Name: filepath.Base(r.Path)}, Assurance: string(r.Assurance),
			Digests: []audit.Digest{{Name: filepath.Base(r.Path), Size: r.Size}},
		})
	}
	s.add(ctx, recs...)
}
