// Package agent is the node process that protects checkpoint archives
// where the kubelet writes them: it seals each archive once it is
// complete, proves the sealed copy durable, shreds the plaintext, and
// applies a retention policy, over and over, surviving kill -9 at any
// point.
//
// The agent keeps no database: its state is the directory itself. An
// archive is, at every instant, plaintext, or a complete sealed set
// (sealed file, checksum, manifest, signature), or both; the plaintext is
// shredded only after the set is durable and read back. A restart looks
// at the directory and finishes whatever a killed run left half done.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/audit"
	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
	"github.com/ckpt-dev/ckpt/shred"
)

// Options configure an Agent beyond its config file.
type Options struct {
	// Policy replaces the config's retention section (--operator-policy).
	Policy *Policy
	// DryRun logs what would be done and changes nothing.
	DryRun bool
	Logger *slog.Logger
	// Recorder receives every action; nothing when nil.
	Recorder Recorder
	// Tool goes into manifests, e.g. "ckpt v0.4.0".
	Tool string
}

// Agent watches one directory. Create it with New; call Run or Once.
type Agent struct {
	cfg    *Config
	policy Policy
	opt    Options
	log    *slog.Logger
	rec    Recorder
	audit  *auditRecorder // the audit log of audit_log, when open
	bg     sync.WaitGroup // the access monitor
	m      *metrics
	health health
	node   string
	outDir string
	signer ssh.Signer // the node key when no sign_key is configured
	pubkey string

	mu    sync.Mutex
	items map[string]*item
	// sealedInfo caches what retention needs from each manifest, keyed by
	// archive name, valid while the manifest's size and mtime hold.
	sealedInfo map[string]cachedInfo
	// verified remembers sets already verified or sealed by this process,
	// so that a pinned archive is not re-hashed on every rescan.
	verified map[string]verifiedSet
	// uploads holds the backoff of sets whose upload failed.
	uploads map[string]*upState
	// uploaded names the sets known to be held whole by the store.
	uploaded map[string]bool
	sched    atomic.Pointer[schedule]
	// itemsGen moves when the set of complete plaintext archives does;
	// inv caches retention's inventory.
	itemsGen atomic.Int64
	inv      *invCache
}

type verifiedSet struct {
	size  int64
	mtime time.Time
	m     *seal.Manifest
}

// item is what the agent remembers about an archive between attempts;
// losing it (a restart) only costs a fresh look.
type item struct {
	firstSeen time.Time
	failures  int
	complete  bool
	reported  bool // stuck report made
	pinned    bool // pin reported
}

type cachedInfo struct {
	size  int64
	mtime time.Time
	cp    Checkpoint
}

// New checks what can be checked before running and returns the agent.
// It creates the node key in the state directory when the config names
// no sign_key.
func New(cfg *Config, opt Options) (*Agent, error) {
	a := &Agent{cfg: cfg, opt: opt, log: opt.Logger, rec: opt.Recorder,
		items: map[string]*item{}, sealedInfo: map[string]cachedInfo{}, verified: map[string]verifiedSet{}, uploads: map[string]*upState{}, uploaded: map[string]bool{}}
	a.m = newMetrics(func() float64 {
		if s := a.sched.Load(); s != nil {
			return float64(s.length())
		}
		return 0
	})
	if a.log == nil {
		a.log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	a.policy = PolicyOf(cfg.Retention)
	if opt.Policy != nil {
		a.policy = *opt.Policy
	}
	a.node = cfg.Node
	if a.node == "" {
		// A DaemonSet passes the node's name through the downward API;
		// the pod's host name is the pod's.
		a.node = os.Getenv("NODE_NAME")
	}
	if a.node == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("node name: %w (set node in the config)", err)
		}
		a.node = h
	}
	a.outDir = cfg.Seal.OutputDir
	if a.outDir == "" {
		a.outDir = cfg.Dir
	}
	if st, err := os.Stat(cfg.Dir); err != nil {
		return nil, fmt.Errorf("dir: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("dir: %s is not a directory", cfg.Dir)
	}
	if a.rec == nil && cfg.AuditLog != "" && !opt.DryRun {
		r, err := a.openAudit()
		if err != nil {
			return nil, err
		}
		a.audit, a.rec = r, r
	}
	if a.rec == nil {
		a.rec = nopRecorder{}
	}
	if cfg.Seal.SignKey == "" {
		if opt.DryRun {
			return a, nil
		}
		s, created, err := EnsureNodeKey(cfg.StateDir, "ckpt-agent@"+a.node)
		if err != nil {
			return nil, fmt.Errorf("node key in %s: %w", cfg.StateDir, err)
		}
		a.signer = s
		a.pubkey = AuthorizedKey(s.PublicKey(), "ckpt-agent@"+a.node)
		a.log.Info("node key", "path", filepath.Join(cfg.StateDir, NodeKeyName), "created", created,
			"public_key", a.pubkey[:len(a.pubkey)-1], "fingerprint", keys.SSHFingerprint(s.PublicKey()))
	}
	return a, nil
}

// PublicKey is the signing key's authorized_keys line ("" until known).
func (a *Agent) PublicKey() string { return a.pubkey }

// sealer loads the recipients and the signing key. They are read on
// every attempt, so that fixing a missing or bad file needs no restart.
func (a *Agent) sealer() ([]keys.Recipient, ssh.Signer, string, error) {
	f, err := os.Open(a.cfg.Seal.RecipientsFile)
	if err != nil {
		return nil, nil, "recipients", fmt.Errorf("recipients_file: %w", err)
	}
	defer f.Close()
	recs, _, err := keys.ParseRecipientsFile(a.cfg.Seal.RecipientsFile, f)
	if err == nil && len(recs) == 0 {
		err = fmt.Errorf("%s: no recipients", a.cfg.Seal.RecipientsFile)
	}
	if err != nil {
		return nil, nil, "recipients", fmt.Errorf("recipients_file: %w", err)
	}
	signer := a.signer
	if a.cfg.Seal.SignKey != "" {
		if signer, err = loadSigner(a.cfg.Seal.SignKey); err != nil {
			return nil, nil, "sign_key", fmt.Errorf("sign_key: %w", err)
		}
		if a.pubkey == "" {
			a.mu.Lock()
			a.pubkey = AuthorizedKey(signer.PublicKey(), "ckpt-agent@"+a.node)
			a.mu.Unlock()
		}
	}
	return recs, signer, "", nil
}

// CheckSetup loads the recipients, the signing key and the audit key
// once, for --check-config.
func (a *Agent) CheckSetup() error {
	_, _, _, err := a.sealer()
	if a.cfg.AuditKey != "" {
		if _, kerr := audit.LoadSigner(a.cfg.AuditKey); kerr != nil {
			err = errors.Join(err, fmt.Errorf("audit_key: %w", kerr))
		}
	}
	return err
}

// cleanTemp removes the temporary files killed sealing runs left, and
// sidecars whose sealed file and plaintext are both gone (a prune cut
// short). It runs before any work starts, so none of them is in use.
func (a *Agent) cleanTemp() {
	dirs := []string{a.cfg.Dir}
	if a.outDir != a.cfg.Dir {
		dirs = append(dirs, a.outDir)
	}
	for _, dir := range dirs {
		if !a.opt.DryRun {
			// A seal --force killed between its renames: make the set whole.
			kept, err := seal.Recover(dir)
			for _, p := range kept {
				a.log.Info("made whole a sealed set an interrupted seal left half published", "kept", p)
			}
			if err != nil {
				a.fail("scan", "recover an interrupted seal", err, "dir", dir)
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			a.fail("scan", "read directory", err, "dir", dir)
			continue
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if m := tempName.FindStringSubmatch(e.Name()); m != nil && e.Type().IsRegular() {
				// Only a writer that no longer runs has left it: a seal
				// running beside the agent keeps its file.
				if a.opt.DryRun {
					a.log.Info("would remove temporary file if its writer has gone", "path", p)
					continue
				}
				for _, gone := range atomicfile.RemoveStale(filepath.Join(dir, m[1])) {
					a.log.Info("removed temporary file of an interrupted run", "path", gone)
				}
				continue
			}
			name := sealedArchiveName(e.Name())
			if name == "" || e.Name() == name+seal.SealedSuffix {
				continue
			}
			files := setFiles(dir, name)
			if _, err := os.Lstat(files.Sealed); err == nil {
				continue
			}
			if _, err := os.Lstat(filepath.Join(a.cfg.Dir, name)); err == nil {
				continue // a seal cut short: process redoes it
			}
			if a.opt.DryRun {
				a.log.Info("would remove sidecar of a pruned set", "path", p)
				continue
			}
			if err := os.Remove(p); err == nil {
				a.log.Info("removed sidecar of an interrupted prune", "path", p)
			}
		}
	}
}

// fail logs and counts a failed attempt.
func (a *Agent) fail(reason, msg string, err error, args ...any) {
	a.m.failed.WithLabelValues(reason).Inc()
	a.log.Error(msg, append(args, "reason", reason, "error", err.Error())...)
}

func (a *Agent) record(e Event) {
	e.Time = time.Now().UTC()
	if err := a.rec.Record(e); err != nil {
		a.fail("audit", "audit record", err, "action", e.Action, "archive", e.Archive)
	}
}

// outcome is what one look at an archive decided.
type outcome int

const (
	done    outcome = iota // sealed and shredded, kept by a pin, or gone
	notYet                 // incomplete; look again later
	inGrace                // sealed; plaintext kept until keep_plaintext has passed
	failed                 // an error; retry with backoff
)

// process takes the archive called name one step as far as it can go:
// check it is complete, seal it (or accept a complete sealed set a killed
// run left), then shred the plaintext. wait says when to look again for
// notYet and inGrace.
func (a *Agent) process(ctx context.Context, name string) (out outcome, wait time.Duration) {
	path := filepath.Join(a.cfg.Dir, name)
	st, err := os.Lstat(path)
	if err != nil {
		a.forget(name)
		return done, 0
	}
	if !st.Mode().IsRegular() {
		a.log.Warn("not a regular file; left alone", "archive", path)
		a.forget(name)
		return done, 0
	}
	it := a.item(name)
	files := setFiles(a.outDir, name)
	signed := a.signer != nil || a.cfg.Seal.SignKey != ""
	if !it.complete && statSet(files).complete(signed) {
		// Sealed by an earlier run: the archive was complete then, and
		// what is here now may be a shred cut short. ensureSealed
		// verifies the set before anything else happens.
		a.mu.Lock()
		it.complete = true
		a.itemsGen.Add(1)
		a.mu.Unlock()
	}
	if !it.complete {
		why, wait := a.checkComplete(path, st)
		if why != "" {
			if time.Since(it.firstSeen) > time.Duration(a.cfg.StuckAfter) && !it.reported {
				a.mu.Lock()
				it.reported = true
				a.mu.Unlock()
				a.m.stuck.Inc()
				a.log.Warn("archive has not completed; it is left untouched", "archive", path, "why", why,
					"since", it.firstSeen.UTC().Format(time.RFC3339))
			}
			// A writer's events bring the next look forward; without them,
			// an archive that stays incomplete is looked at less and less
			// often (each look scans /proc).
			return notYet, max(wait, min(time.Since(it.firstSeen)/4, time.Minute))
		}
		a.mu.Lock()
		it.complete = true
		a.itemsGen.Add(1)
		if it.reported {
			a.m.stuck.Dec()
		}
		a.mu.Unlock()
		a.m.seen.Inc()
	}

	m, err := a.ensureSealed(ctx, path, name, files)
	if err != nil {
		return failed, 0
	}
	if m == nil {
		return done, 0 // dry run
	}

	if _, err := os.Lstat(path + PinSuffix); err == nil {
		a.mu.Lock()
		first := !it.pinned
		it.pinned = true
		a.mu.Unlock()
		if first {
			a.log.Info("pinned: plaintext kept", "archive", path, "pin", path+PinSuffix)
			a.record(Event{Action: "keep", Archive: path, Sealed: files.Sealed, Manifest: m, Detail: "pinned"})
		}
		return done, 0
	}
	if keep := time.Duration(a.cfg.Seal.KeepPlaintext); keep > 0 {
		sealedAt, _ := time.Parse(time.RFC3339, m.SealedAt)
		if left := time.Until(sealedAt.Add(keep)); left > 0 {
			return inGrace, left
		}
	}
	if a.opt.DryRun {
		a.log.Info("would shred plaintext", "archive", path)
		return done, 0
	}
	r, err := shred.File(ctx, path, shred.Options{Settle: -1})
	if err != nil {
		a.fail("shred", "shred plaintext", err, "archive", path, "status", r.Status, "reasons", r.Reasons)
		a.record(Event{Action: "shred", Archive: path, Sealed: files.Sealed, Manifest: m, Assurance: string(r.Assurance), Err: err})
		return failed, 0
	}
	a.m.shredded.WithLabelValues(string(r.Assurance)).Inc()
	a.m.dwell.Observe(time.Since(st.ModTime()).Seconds())
	a.log.Info("shredded plaintext", "archive", path, "assurance", r.Assurance, "reasons", r.Reasons)
	a.record(Event{Action: "shred", Archive: path, Sealed: files.Sealed, Manifest: m, Assurance: string(r.Assurance)})
	a.forget(name)
	return done, 0
}

// checkComplete says why the archive is not complete yet ("" when it is)
// and when to look again: its size must have been stable for the settle
// time, no process may hold it open for writing, and it must read to its
// tar end-of-archive marker. An archive that is not a tar at all counts
// as complete (it is sealed all the same: it is still sensitive).
func (a *Agent) checkComplete(path string, st os.FileInfo) (string, time.Duration) {
	settle := time.Duration(a.cfg.Settle)
	if age := time.Since(st.ModTime()); age < settle {
		return "modified " + age.Round(time.Millisecond).String() + " ago", settle - age
	}
	if ws, err := shred.Writers(path); err != nil {
		return "cannot check for writers: " + err.Error(), settle
	} else if len(ws) > 0 {
		return "open for writing: " + ws[0], settle
	}
	if err := tarEnd(path); errors.Is(err, errTruncated) {
		return err.Error(), settle
	} else if err != nil {
		a.log.Warn("archive is not a readable tar; sealing it anyway, identity from its file name", "archive", path, "error", err.Error())
	}
	now, err := os.Lstat(path)
	if err != nil {
		return err.Error(), settle
	}
	if now.Size() != st.Size() || !now.ModTime().Equal(st.ModTime()) {
		return "changed while checked", settle
	}
	return "", 0
}

// ensureSealed makes sure a complete, verified sealed set of the archive
// exists and returns its manifest (nil in a dry run). A complete set left
// by an earlier run is verified in full (checksum, manifest, signature)
// and must describe this archive; an incomplete or bad one is removed
// (the plaintext is still here) and the archive sealed again.
func (a *Agent) ensureSealed(ctx context.Context, path, name string, files seal.Sidecars) (*seal.Manifest, error) {
	signed := a.signer != nil || a.cfg.Seal.SignKey != ""
	state := statSet(files)
	if state.complete(signed) {
		if m := a.cachedVerified(name, files.Sealed); m != nil {
			return m, nil
		}
		rep, err := seal.Verify(ctx, files.Sealed, seal.VerifyOptions{Policy: seal.Policy{RequireSignature: signed}})
		switch {
		case err == nil && rep.Manifest.Archive.Name == name:
			// The plaintext is not compared: after a shred cut short it
			// is partly overwritten (and rounded up to a block), and the
			// kubelet's names, down to the second, are never reused.
			a.rememberVerified(name, files.Sealed, rep.Manifest)
			return rep.Manifest, nil
		case err == nil:
			err = fmt.Errorf("the sealed set describes another archive, %s", rep.Manifest.Archive.Name)
			a.fail("verify", "sealed set does not match the archive; both kept", err, "archive", path, "sealed", files.Sealed)
			a.record(Event{Action: "verify", Archive: path, Sealed: files.Sealed, Manifest: rep.Manifest, Err: err})
			return nil, err
		case ctx.Err() != nil:
			return nil, ctx.Err()
		}
		a.log.Warn("sealed set does not verify; sealing again", "archive", path, "sealed", files.Sealed, "error", err.Error())
	}
	if a.opt.DryRun {
		a.log.Info("would seal", "archive", path, "sealed", files.Sealed)
		return nil, nil
	}
	recs, signer, reason, err := a.sealer()
	if err != nil {
		a.fail(reason, "cannot seal; plaintext kept", err, "archive", path)
		a.record(Event{Action: "seal", Archive: path, Sealed: files.Sealed, Err: err})
		return nil, err
	}
	if state.any() {
		a.log.Info("removing the incomplete sealed set of an interrupted run", "archive", path, "sealed", files.Sealed)
		if err := removeSet(files); err != nil {
			a.fail("seal", "remove incomplete sealed set", err, "archive", path)
			return nil, err
		}
	}
	start := time.Now()
	res, err := seal.File(ctx, files.Sealed, path, seal.Options{
		Describe:   a.describe(path),
		Recipients: recs,
		Signer:     signer,
		Node:       a.node,
		Tool:       a.opt.Tool,
		ReadBack:   true,
	})
	if err != nil {
		if ctx.Err() == nil {
			a.fail("seal", "seal failed; plaintext kept", err, "archive", path)
			a.record(Event{Action: "seal", Archive: path, Sealed: files.Sealed, Err: err})
		}
		return nil, err
	}
	// seal.File synced every file and the directory and read the sealed
	// file back against its hash; check that the set is all there.
	if !statSet(files).complete(signer != nil) || !res.ReadBack {
		err := errors.New("sealed set incomplete after sealing")
		a.fail("verify", "seal", err, "archive", path)
		a.record(Event{Action: "seal", Archive: path, Sealed: files.Sealed, Err: err})
		return nil, err
	}
	a.m.sealed.Inc()
	a.m.sealedBytes.Add(float64(res.Manifest.Archive.Size))
	a.m.lastSuccess.SetToCurrentTime()
	a.log.Info("sealed", "archive", path, "sealed", files.Sealed, "bytes", res.Manifest.Archive.Size,
		"sha256", res.Manifest.Sealed.SHA256, "seconds", time.Since(start).Seconds())
	ev := Event{Action: "seal", Archive: path, Sealed: files.Sealed, SHA256: res.Manifest.Sealed.SHA256, Manifest: res.Manifest}
	if signer != nil {
		ev.Signer = keys.SSHFingerprint(signer.PublicKey())
	}
	a.record(ev)
	a.rememberVerified(name, files.Sealed, res.Manifest)
	return res.Manifest, nil
}

func (a *Agent) rememberVerified(name, sealed string, m *seal.Manifest) {
	st, err := os.Lstat(sealed)
	if err != nil {
		return
	}
	a.mu.Lock()
	a.verified[name] = verifiedSet{st.Size(), st.ModTime(), m}
	a.mu.Unlock()
}

// cachedVerified returns the manifest of a set this process verified,
// while the sealed file is unchanged.
func (a *Agent) cachedVerified(name, sealed string) *seal.Manifest {
	a.mu.Lock()
	v, ok := a.verified[name]
	a.mu.Unlock()
	if !ok {
		return nil
	}
	st, err := os.Lstat(sealed)
	if err != nil || st.Size() != v.size || !st.ModTime().Equal(v.mtime) {
		return nil
	}
	return v.m
}

// describe reads the archive's identity as it streams through the seal;
// an archive that does not decode gets the identity its file name gives,
// with a warning.
func (a *Agent) describe(path string) func(io.Reader) (archive.Identity, error) {
	name := filepath.Base(path)
	return func(r io.Reader) (archive.Identity, error) {
		id, err := archive.ReadIdentity(name, r)
		if err != nil {
			a.log.Warn("archive does not decode; its manifest identity comes from the file name", "archive", path, "error", err.Error())
			return archive.IdentityFromFileName(name), nil
		}
		return *id, nil
	}
}

func (a *Agent) item(name string) *item {
	a.mu.Lock()
	defer a.mu.Unlock()
	it, ok := a.items[name]
	if !ok {
		it = &item{firstSeen: time.Now()}
		a.items[name] = it
	}
	return it
}

func (a *Agent) forget(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if it, ok := a.items[name]; ok && it.reported && !it.complete {
		a.m.stuck.Dec()
	}
	delete(a.items, name)
	delete(a.verified, name)
	a.itemsGen.Add(1)
}

// backoff is the wait after the n-th failure in a row: 1 s doubling to
// 5 minutes.
func backoff(n int) time.Duration {
	d := time.Second << min(n, 9)
	return min(d, 5*time.Minute)
}

// candidates lists the archive names in the watched directory.
func (a *Agent) candidates() ([]string, error) {
	d, err := os.Open(a.cfg.Dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	// Unsorted: a directory of ten thousand sealed sets holds forty
	// thousand names, and only the archives among them need sorting.
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if isArchiveName(e.Name()) && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}
