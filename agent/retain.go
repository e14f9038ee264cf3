package agent

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/shred"
)

// maxManifestRead caps what is read of a manifest for retention.
const maxManifestRead = 1 << 20

// inventory lists the checkpoints retention weighs: every complete sealed
// set, and the plaintext archives found complete that could not be sealed
// (a full disk should not stop old plaintext from going).
func (a *Agent) inventory() []Checkpoint {
	entries, err := os.ReadDir(a.outDir)
	if err != nil {
		a.fail("scan", "scan for retention", err, "dir", a.outDir)
		return nil
	}
	signed := a.signer != nil || a.cfg.Seal.SignKey != ""
	seen := map[string]bool{}
	var cps []Checkpoint
	for _, e := range entries {
		name := sealedArchiveName(e.Name())
		if name == "" || e.Name() != name+seal.SealedSuffix || !e.Type().IsRegular() {
			continue
		}
		files := setFiles(a.outDir, name)
		if !statSet(files).complete(signed) {
			continue // being sealed, or left by a killed run: process owns it
		}
		cp, ok := a.sealedCheckpoint(name, files)
		if !ok {
			continue
		}
		cp.Pinned = exists(filepath.Join(a.cfg.Dir, name+PinSuffix))
		if a.cfg.Upload != nil && !cp.Pinned {
			// Not in the store yet: it counts toward the limits, as a pin
			// does, but is kept until the upload succeeds.
			cp.Pinned = a.awaitsUpload(name, files)
		}
		seen[name] = true
		cps = append(cps, cp)
	}
	a.mu.Lock()
	var plain []string
	for name, it := range a.items {
		if it.complete && !seen[name] {
			plain = append(plain, name)
		}
	}
	a.mu.Unlock()
	for _, name := range plain {
		path := filepath.Join(a.cfg.Dir, name)
		st, err := os.Lstat(path)
		if err != nil {
			continue
		}
		cp := fromFileName(name, st.ModTime())
		cp.Size = st.Size()
		cp.Pinned = exists(path + PinSuffix)
		cps = append(cps, cp)
	}
	return cps
}

// cachedInventory is inventory, reused while neither directory has
// changed (their mtimes move with every create, rename and unlink, pins
// included) and no plaintext archive has been found complete or
// forgotten: a rescan of an idle node with thousands of sealed sets then
// costs two stats.
func (a *Agent) cachedInventory() []Checkpoint {
	key := invKey{gen: a.itemsGen.Load()}
	if st, err := os.Stat(a.cfg.Dir); err == nil {
		key.dir = st.ModTime()
	}
	if st, err := os.Stat(a.outDir); err == nil {
		key.out = st.ModTime()
	}
	a.mu.Lock()
	if a.inv != nil && a.inv.key == key {
		cps := a.inv.cps
		a.mu.Unlock()
		return cps
	}
	a.mu.Unlock()
	cps := a.inventory()
	a.mu.Lock()
	a.inv = &invCache{key, cps}
	a.mu.Unlock()
	return cps
}

type invKey struct {
	dir, out time.Time
	gen      int64
}

type invCache struct {
	key invKey
	cps []Checkpoint
}

// sealedCheckpoint reads what retention needs from a set's manifest,
// cached while the manifest is unchanged.
func (a *Agent) sealedCheckpoint(name string, files seal.Sidecars) (Checkpoint, bool) {
	st, err := os.Lstat(files.Manifest)
	if err != nil || st.Size() > maxManifestRead {
		return Checkpoint{}, false
	}
	a.mu.Lock()
	c, ok := a.sealedInfo[name]
	a.mu.Unlock()
	if ok && c.size == st.Size() && c.mtime.Equal(st.ModTime()) {
		return c.cp, true
	}
	data, err := os.ReadFile(files.Manifest)
	if err != nil {
		return Checkpoint{}, false
	}
	m, err := seal.ParseManifest(data)
	if err != nil {
		a.log.Warn("manifest does not parse; the set is left to retention by file name", "manifest", files.Manifest, "error", err.Error())
		cp := fromFileName(name, st.ModTime())
		return cp, true
	}
	cp := fromFileName(name, st.ModTime())
	id := m.Identity
	if id.Namespace != "" && id.Pod != "" && id.Container != "" {
		cp.Namespace, cp.Pod, cp.Container = id.Namespace, id.Pod, id.Container
	}
	if !id.Checkpointed.IsZero() {
		cp.Time = id.Checkpointed
	}
	cp.Size = m.Archive.Size
	a.mu.Lock()
	a.sealedInfo[name] = cachedInfo{size: st.Size(), mtime: st.ModTime(), cp: cp}
	a.mu.Unlock()
	return cp, true
}

// fromFileName is a checkpoint as its kubelet file name describes it;
// fallback is its time when the name says none.
func fromFileName(name string, fallback time.Time) Checkpoint {
	cp := Checkpoint{Name: name, Time: fallback}
	id := archive.IdentityFromFileName(name)
	cp.Namespace, cp.Pod, cp.Container = id.Namespace, id.Pod, id.Container
	if !id.Checkpointed.IsZero() {
		cp.Time = id.Checkpointed
	}
	return cp
}

// retain applies the retention policy once and returns how many
// checkpoints it deleted. s, when set, keeps it off archives a worker
// holds.
func (a *Agent) retain(ctx context.Context, s *schedule) int {
	if a.policy.IsZero() {
		return 0
	}
	plan := a.policy.Plan(a.cachedInventory(), time.Now())
	n := 0
	for _, p := range plan {
		if ctx.Err() != nil {
			break
		}
		if s != nil {
			if !s.claim(p.Name) {
				continue
			}
		}
		if a.prune(ctx, p) {
			n++
		}
		if s != nil {
			s.release(p.Name)
		}
	}
	return n
}

// prune deletes one checkpoint: its plaintext with shred, then its sealed
// set by unlinking (the ciphertext is useless without a recipient's key).
func (a *Agent) prune(ctx context.Context, p Prune) bool {
	path := filepath.Join(a.cfg.Dir, p.Name)
	files := setFiles(a.outDir, p.Name)
	if exists(path + PinSuffix) {
		return false // pinned since the plan was made
	}
	if a.opt.DryRun {
		a.log.Info("would prune", "archive", p.Name, "reason", p.Reason)
		return true
	}
	sha := ""
	var m *seal.Manifest
	if data, err := os.ReadFile(files.Manifest); err == nil {
		if m, err = seal.ParseManifest(data); err == nil {
			sha = m.Sealed.SHA256
		} else {
			m = nil
		}
	}
	assurance := ""
	if exists(path) {
		r, err := shred.File(ctx, path, shred.Options{Settle: -1})
		if err != nil {
			a.fail("prune", "prune: shred plaintext", err, "archive", path, "status", r.Status)
			a.record(Event{Action: "prune", Archive: path, Sealed: files.Sealed, Manifest: m, Detail: p.Reason, Assurance: string(r.Assurance), Err: err})
			return false
		}
		a.m.pruned.WithLabelValues("plaintext").Inc()
		assurance = string(r.Assurance)
	}
	if exists(files.Sealed) {
		if err := removeSet(files); err != nil {
			a.fail("prune", "prune: remove sealed set", err, "sealed", files.Sealed)
			a.record(Event{Action: "prune", Archive: path, Sealed: files.Sealed, SHA256: sha, Manifest: m, Detail: p.Reason, Err: err})
			return false
		}
		a.m.pruned.WithLabelValues("sealed").Inc()
	}
	a.mu.Lock()
	delete(a.sealedInfo, p.Name)
	delete(a.items, p.Name)
	delete(a.verified, p.Name)
	a.mu.Unlock()
	if a.cfg.Upload != nil {
		os.Remove(a.uploadMarker(p.Name))
		a.mu.Lock()
		delete(a.uploaded, p.Name)
		a.mu.Unlock()
	}
	a.log.Info("pruned", "archive", p.Name, "reason", p.Reason)
	a.record(Event{Action: "prune", Archive: path, Sealed: files.Sealed, SHA256: sha, Manifest: m, Detail: p.Reason, Assurance: assurance})
	return true
}
