package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ckpt-dev/ckpt/audit"
	"github.com/ckpt-dev/ckpt/crypto/seal"
)

// auditRecorder writes the agent's events to the audit log, with the
// fields the CLI's records carry (identity, digests, recipients, signer,
// shred assurance, actor).
type auditRecorder struct {
	log   *audit.Log
	actor audit.Actor
}

// openAudit opens the audit log of the config (audit_log, audit_key).
// Each checkpoint the log signs is written to the agent's own log, so
// that a copy leaves the node with the logs.
func (a *Agent) openAudit() (*auditRecorder, error) {
	opts := audit.Options{
		Node: a.node,
		Warn: func(msg string) { a.log.Warn("audit log", "path", a.cfg.AuditLog, "message", msg) },
		Checkpointed: func(signed []byte) {
			a.log.Info("audit checkpoint", "path", a.cfg.AuditLog, "checkpoint", string(signed))
		},
	}
	if a.cfg.AuditKey != "" {
		s, err := audit.LoadSigner(a.cfg.AuditKey)
		if err != nil {
			return nil, fmt.Errorf("audit_key: %w", err)
		}
		opts.Signer = s
	} else {
		a.log.Warn("audit_log without audit_key: the records are not covered by a signed checkpoint", "audit_log", a.cfg.AuditLog)
	}
	l, err := audit.Open(a.cfg.AuditLog, opts)
	if err != nil {
		return nil, fmt.Errorf("audit_log: %w", err)
	}
	return &auditRecorder{log: l, actor: audit.Self()}, nil
}

// Record appends one record. A record is written even while the agent
// stops: an action that leaves no trace must not happen silently.
func (r *auditRecorder) Record(e Event) error {
	return r.log.Append(context.Background(), auditRecord(e, r.actor))
}

func auditRecord(e Event, actor audit.Actor) audit.Record {
	rec := audit.Record{
		Time: e.Time, Action: e.Action, Result: audit.ResultOK, File: e.Archive,
		Archive: &audit.Archive{Name: filepath.Base(e.Archive)}, Assurance: e.Assurance,
		Signer: e.Signer, Detail: e.Detail, Actor: actor,
	}
	switch e.Action {
	case audit.ActionSeal:
		rec.Output = e.Sealed
	case "upload":
		rec.File, rec.Output = e.Sealed, e.Detail
	case "keep":
		rec.Result = "kept"
	}
	if e.Err != nil {
		rec.Result, rec.Error = audit.ResultFailed, strings.Join(strings.Fields(e.Err.Error()), " ")
	}
	if m := e.Manifest; m != nil {
		id := m.Identity
		rec.Archive.Namespace, rec.Archive.Pod, rec.Archive.Container = id.Namespace, id.Pod, id.Container
		if !id.Checkpointed.IsZero() {
			rec.Archive.CheckpointedAt = id.Checkpointed.UTC().Format(time.RFC3339)
		}
		for _, r := range m.Recipients {
			rec.Recipients = append(rec.Recipients, r.Type+":"+r.Fingerprint)
		}
		sealed := digest(m.Sealed, filepath.Base(e.Sealed))
		switch e.Action {
		case audit.ActionShred:
			rec.Digests = []audit.Digest{digest(m.Archive, rec.Archive.Name)}
		case "upload":
			rec.Digests = []audit.Digest{sealed}
		default:
			rec.Digests = []audit.Digest{digest(m.Archive, rec.Archive.Name), sealed}
		}
	} else if e.SHA256 != "" {
		rec.Digests = []audit.Digest{{Name: filepath.Base(e.Sealed), SHA256: e.SHA256}}
	}
	return rec
}

func digest(d seal.FileDigest, name string) audit.Digest {
	if d.Name != "" {
		name = d.Name
	}
	return audit.Digest{Name: name, Size: d.Size, SHA256: d.SHA256}
}

// monitor runs the fanotify access monitor on the agent's directories
// until ctx ends, writing one record per process and file opened (the
// agent's own opens are not reported). Without CAP_SYS_ADMIN it says once
// that monitoring is off; everything else works.
func (a *Agent) monitor(ctx context.Context, r *auditRecorder) {
	dirs := []string{a.cfg.Dir}
	if a.outDir != a.cfg.Dir {
		dirs = append(dirs, a.outDir)
	}
	for _, dir := range dirs {
		m, err := audit.NewMonitor(dir, audit.MonitorOptions{Node: a.node})
		if errors.Is(err, audit.ErrMonitoringOff) {
			a.log.Warn("access monitoring is off: fanotify needs CAP_SYS_ADMIN; sealing, shredding and the audit log work without it", "error", err.Error())
			return
		}
		if err != nil {
			a.fail("audit", "access monitor", err, "dir", dir)
			continue
		}
		a.log.Info("monitoring access", "dir", dir)
		a.bg.Go(func() {
			err := m.Run(ctx, func(rec audit.Record) {
				if err := r.log.Append(context.Background(), rec); err != nil {
					a.fail("audit", "audit record", err, "action", rec.Action, "file", rec.File)
				}
			})
			if err != nil {
				a.fail("audit", "access monitor", err, "dir", dir)
			}
		})
	}
}

// Close waits for the access monitor and closes the audit log, which
// signs a last checkpoint.
func (a *Agent) Close() error {
	a.bg.Wait()
	if a.audit != nil {
		return a.audit.log.Close()
	}
	return nil
}
