package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
	"github.com/ckpt-dev/ckpt/remote"
)

// uploadedDir, under the state directory, holds one small file per set
// the store holds whole: its destination and sealed SHA-256. It is how a
// restart knows what is uploaded, and how retention knows what it may
// delete.
const uploadedDir = "uploaded"

// upState is the backoff of one set's uploads.
type upState struct {
	failures int
	next     time.Time
}

func (a *Agent) uploadMarker(name string) string {
	return filepath.Join(a.cfg.StateDir, uploadedDir, name)
}

// isUploaded reports whether the set of the archive name, with this
// sealed SHA-256, is known to be held whole at the destination.
func (a *Agent) isUploaded(name, sha string) bool {
	data, err := os.ReadFile(a.uploadMarker(name))
	return err == nil && string(data) == a.cfg.Upload.Destination+" "+sha+"\n"
}

// awaitsUpload reports whether retention must keep the sealed set of
// name: upload is configured and the store does not hold it yet.
func (a *Agent) awaitsUpload(name string, files seal.Sidecars) bool {
	if a.cfg.Upload == nil {
		return false
	}
	a.mu.Lock()
	known := a.uploaded[name]
	a.mu.Unlock()
	if known {
		return false
	}
	data, err := os.ReadFile(files.Manifest)
	if err != nil {
		return true
	}
	m, err := seal.ParseManifest(data)
	return err != nil || !a.isUploaded(name, m.Sealed.SHA256)
}

func (a *Agent) keepLocal() bool {
	u := a.cfg.Upload
	return u.KeepLocal == nil || *u.KeepLocal
}

// uploadAll uploads every complete, verified sealed set the destination
// does not hold yet, and with keep_local false deletes the local sets the
// store holds whole once their plaintext is gone. Failures back off per
// set: 1 s doubling to 5 minutes, and at least 5 minutes for refusals
// that a retry soon will not fix (credentials, a missing bucket, a
// rejected set). s, when set, keeps it off archives a worker holds.
func (a *Agent) uploadAll(ctx context.Context, s *schedule) (uploaded, failed int) {
	if a.cfg.Upload == nil || a.opt.DryRun {
		return 0, 0
	}
	entries, err := os.ReadDir(a.outDir)
	if err != nil {
		a.fail("scan", "scan for upload", err, "dir", a.outDir)
		return 0, 0
	}
	signed := a.signer != nil || a.cfg.Seal.SignKey != ""
	for _, e := range entries {
		if ctx.Err() != nil {
			break
		}
		name := sealedArchiveName(e.Name())
		if name == "" || e.Name() != name+seal.SealedSuffix || !e.Type().IsRegular() {
			continue
		}
		files := setFiles(a.outDir, name)
		if !statSet(files).complete(signed) {
			continue // being sealed: process owns it
		}
		if s != nil {
			if !s.claim(name) {
				continue
			}
		}
		switch a.uploadOne(ctx, name, files, signed) {
		case upDone:
			uploaded++
		case upFailed:
			failed++
		}
		if s != nil {
			s.release(name)
		}
	}
	return uploaded, failed
}

const (
	upNothing = iota
	upDone
	upFailed
)

func (a *Agent) uploadOne(ctx context.Context, name string, files seal.Sidecars, signed bool) int {
	u := a.cfg.Upload
	a.mu.Lock()
	st, known := a.uploads[name], a.uploaded[name]
	a.mu.Unlock()
	if known && a.keepLocal() {
		return upNothing // a rescan of many kept sets costs no reads
	}
	if data, err := os.ReadFile(files.Manifest); err == nil {
		if m, err := seal.ParseManifest(data); err == nil && a.isUploaded(name, m.Sealed.SHA256) {
			a.mu.Lock()
			a.uploaded[name] = true
			a.mu.Unlock()
			a.dropUploaded(name, files, m)
			return upNothing
		}
	}
	if st != nil && time.Now().Before(st.next) {
		return upFailed
	}
	// What leaves the node is verified first, as pull verifies it after.
	m := a.cachedVerified(name, files.Sealed)
	if m == nil {
		rep, err := seal.Verify(ctx, files.Sealed, seal.VerifyOptions{Policy: seal.Policy{RequireSignature: signed}})
		if err != nil {
			if ctx.Err() == nil {
				a.fail("verify", "sealed set does not verify; not uploaded", err, "sealed", files.Sealed)
			}
			return upFailed
		}
		m = rep.Manifest
	}
	retries := 3
	if u.Retries != nil {
		retries = *u.Retries
	}
	if retries == 0 {
		retries = -1 // remote's 0 is its default
	}
	start := time.Now()
	_, err := remote.Upload(ctx, u.Destination, files.Sealed, remote.Options{Endpoint: u.Endpoint, Region: u.Region, Retries: retries})
	if err == nil {
		err = a.markUploaded(name, m.Sealed.SHA256)
	}
	if err != nil {
		if ctx.Err() != nil {
			return upFailed
		}
		a.mu.Lock()
		if st == nil {
			st = &upState{}
			a.uploads[name] = st
		}
		wait := backoff(st.failures)
		st.failures++
		if errors.Is(err, remote.ErrAuth) || errors.Is(err, remote.ErrNotFound) || errors.Is(err, remote.ErrRejected) {
			wait = max(wait, 5*time.Minute)
		}
		st.next = time.Now().Add(wait)
		a.mu.Unlock()
		a.fail("upload", "upload failed; the sealed set stays local", err, "sealed", files.Sealed,
			"destination", u.Destination, "retry_in", wait.String())
		a.record(Event{Action: "upload", Archive: filepath.Join(a.cfg.Dir, name), Sealed: files.Sealed, Manifest: m, Detail: u.Destination, Err: err})
		return upFailed
	}
	a.mu.Lock()
	delete(a.uploads, name)
	a.uploaded[name] = true
	a.mu.Unlock()
	a.itemsGen.Add(1) // retention may weigh the set as deletable now
	a.m.uploaded.Inc()
	a.m.uploadedBytes.Add(float64(m.Sealed.Size))
	a.log.Info("uploaded", "sealed", files.Sealed, "destination", u.Destination, "bytes", m.Sealed.Size,
		"sha256", m.Sealed.SHA256, "seconds", time.Since(start).Seconds())
	a.record(Event{Action: "upload", Archive: filepath.Join(a.cfg.Dir, name), Sealed: files.Sealed, Manifest: m, Detail: u.Destination})
	a.dropUploaded(name, files, m)
	return upDone
}

// markUploaded persists that the store holds the set whole.
func (a *Agent) markUploaded(name, sha string) error {
	dir := filepath.Join(a.cfg.StateDir, uploadedDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("uploaded, but cannot note it: %w", err)
	}
	if err := atomicfile.WriteFile(a.uploadMarker(name), []byte(a.cfg.Upload.Destination+" "+sha+"\n"), true); err != nil {
		return fmt.Errorf("uploaded, but cannot note it: %w", err)
	}
	return nil
}

// dropUploaded deletes the local sealed set of an uploaded archive when
// keep_local is false, once its plaintext is gone (a pinned or grace
// plaintext keeps its local set, so that it is not sealed again).
func (a *Agent) dropUploaded(name string, files seal.Sidecars, m *seal.Manifest) {
	if a.keepLocal() {
		return
	}
	path := filepath.Join(a.cfg.Dir, name)
	if exists(path) || exists(path+PinSuffix) {
		return
	}
	if err := removeSet(files); err != nil {
		a.fail("upload", "remove uploaded sealed set", err, "sealed", files.Sealed)
		return
	}
	os.Remove(a.uploadMarker(name))
	a.mu.Lock()
	delete(a.uploaded, name)
	delete(a.sealedInfo, name)
	delete(a.verified, name)
	a.mu.Unlock()
	a.log.Info("removed the local sealed set: the store holds it", "sealed", files.Sealed, "destination", a.cfg.Upload.Destination)
	a.record(Event{Action: "prune", Archive: path, Sealed: files.Sealed, Manifest: m,
		Detail: "uploaded to " + strings.TrimSuffix(a.cfg.Upload.Destination, "/") + "; keep_local is false"})
}
