package seal

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ckpt-dev/ckpt/internal/atomicfile"
)

// A sealed set replaces an earlier one (Options.Overwrite) as one set, as
// far as a directory allows: before anything is renamed, each target's
// previous state is kept beside it under a name carrying this process's
// pid, a hard link to the old file (.NAME.prev-PID) or an empty marker
// saying there was none (.NAME.new-PID). If a commit fails, the targets are
// put back from what was kept. A process killed between the renames leaves
// those names; the next seal of the same set, or [Recover], finds them and,
// from which targets were already replaced, tells a publication that had
// finished (kept names are removed last, in reverse order) from one that
// had not (then the old set is put back). The directory then holds the old
// set or the new one, complete, never a mix.

// Kinds of kept names.
const (
	keptPrev = ".prev-" // a hard link to the previous file
	keptNew  = ".new-"  // an empty marker: there was no previous file
)

// publication publishes staged files over targets, and removes stale.
type publication struct {
	staged  []*atomicfile.File
	stale   string
	targets []string // staged targets, then stale, in commit order
	kept    []string // what keep made so far, one per target ("": nothing)
	// replacing is true when some target exists: only then is anything
	// kept. A new set needs no markers (a full disk has no inode to
	// spare for them), and a new set cut short is sidecars or a sealed
	// file alone, refused by verify and cleared by the agent.
	replacing bool
}

// commitSet publishes the staged files of one sealed set and removes
// stale (an old signature), as one set: see above.
func commitSet(staged []*atomicfile.File, stale string) error {
	p := newPublication(staged, stale)
	for _, step := range p.steps() {
		if err := step(); err != nil {
			p.rollback()
			return err
		}
	}
	return nil
}

func newPublication(staged []*atomicfile.File, stale string) *publication {
	p := &publication{staged: staged, stale: stale}
	for _, f := range staged {
		p.targets = append(p.targets, f.Target())
	}
	if stale != "" {
		p.targets = append(p.targets, stale)
	}
	return p
}

// steps are the publication's operations in order; a process may die
// after any of them.
func (p *publication) steps() []func() error {
	steps := []func() error{func() error {
		p.replacing = slices.ContainsFunc(p.targets, func(t string) bool { _, err := os.Lstat(t); return err == nil })
		return nil
	}}
	for _, t := range p.targets {
		steps = append(steps, func() error {
			k, err := keep(t, p.replacing)
			if err != nil {
				return fmt.Errorf("%s: keeping the previous file while the new set is published: %w", t, err)
			}
			p.kept = append(p.kept, k)
			return nil
		})
	}
	for _, f := range p.staged {
		steps = append(steps, f.Commit)
	}
	if p.stale != "" {
		steps = append(steps, func() error {
			if err := os.Remove(p.stale); err != nil && !isNotExist(err) {
				return err
			}
			return nil
		})
	}
	// The new set is in place: what was kept goes, last kept first, so
	// that what a killed process leaves is always a prefix of it.
	for i := len(p.targets) - 1; i >= 0; i-- {
		steps = append(steps, func() error {
			if p.kept[i] != "" {
				os.Remove(p.kept[i])
			}
			return nil
		})
	}
	return steps
}

// rollback puts back the targets from what was kept.
func (p *publication) rollback() {
	restore(p.targets[:len(p.kept)], p.kept)
}

// keep keeps target's state under a name of this process; an absent
// target gets a marker only with mark.
func keep(target string, mark bool) (string, error) {
	if _, err := os.Lstat(target); err != nil {
		if !isNotExist(err) {
			return "", err
		}
		if !mark {
			return "", nil
		}
		name := keptName(target, keptNew, os.Getpid())
		f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return "", err
		}
		return name, f.Close()
	}
	name := keptName(target, keptPrev, os.Getpid())
	return name, os.Link(target, name)
}

func keptName(target, kind string, pid int) string {
	dir, base := filepath.Split(target)
	return filepath.Join(dir, "."+base+kind+strconv.Itoa(pid))
}

// replaced says whether target no longer is what kept says it was; kept
// is "" when there was nothing.
func replaced(target, kept string) bool {
	_, err := os.Lstat(target)
	if kept == "" || strings.Contains(filepath.Base(kept), keptNew) {
		return err == nil
	}
	if err != nil {
		return true // removed (a stale signature)
	}
	a, err1 := os.Lstat(kept)
	b, err2 := os.Lstat(target)
	return err1 != nil || err2 != nil || !os.SameFile(a, b)
}

// restore puts each target back as kept says it was, and removes the kept
// names. Errors are ignored: each step is as good as it can be.
func restore(targets, kept []string) {
	for i := len(kept) - 1; i >= 0; i-- {
		t, k := targets[i], kept[i]
		switch {
		case k == "" || strings.Contains(filepath.Base(k), keptNew):
			if replaced(t, k) {
				os.Remove(t)
			}
			if k != "" {
				os.Remove(k)
			}
		case replaced(t, k):
			if os.Rename(k, t) != nil {
				continue
			}
		default:
			// rename(2) of a hard link onto its own file does nothing.
			os.Remove(k)
		}
	}
	if len(targets) > 0 {
		atomicfile.SyncDir(filepath.Dir(targets[0]))
	}
}

// Recover finishes or undoes, in dir, the publications of sealed sets
// (files named NAME.age and its sidecars) that killed processes left half
// done, as described above, so that each set is whole. Kept names of
// running processes are left alone. It returns the kept names it removed
// or put back; each seal first does the same for its own set. It is safe to
// call when there is nothing to do.
func Recover(dir string) ([]string, error) {
	return recoverDir(dir, processRuns)
}

func recoverDir(dir string, runs func(pid int) bool) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var sealed []string
	for _, e := range ents {
		if s, ok := keptSet(e.Name()); ok && !slices.Contains(sealed, s) {
			sealed = append(sealed, s)
		}
	}
	var acted []string
	for _, s := range sealed {
		a, err := recoverSet(filepath.Join(dir, s), runs)
		acted = append(acted, a...)
		if err != nil {
			return acted, err
		}
	}
	return acted, nil
}

// keptSet returns the sealed file's name of a kept name of a set whose
// sealed file ends in SealedSuffix: only there is it certain which file of
// the set a name is of.
func keptSet(name string) (string, bool) {
	for _, kind := range []string{keptPrev, keptNew} {
		i := strings.LastIndex(name, kind)
		if i < 1 || name[0] != '.' {
			continue
		}
		base := name[1:i]
		if _, ok := keptPID(base, name); !ok {
			continue
		}
		for _, suffix := range []string{SignatureSuffix, ChecksumSuffix, ManifestSuffix, ""} {
			if s, ok := strings.CutSuffix(base, suffix); ok && strings.HasSuffix(s, SealedSuffix) && len(s) > len(SealedSuffix) {
				return s, true
			}
		}
	}
	return "", false
}

// processRuns says whether pid runs: this process, or one that signal 0
// does not find missing (EPERM: it runs as another user).
func processRuns(pid int) bool {
	return pid == os.Getpid() || !errors.Is(unix.Kill(pid, 0), unix.ESRCH)
}

// recoverSet is Recover, with runs saying which pids still run.
func recoverSet(path string, runs func(pid int) bool) ([]string, error) {
	s := SidecarsFor(path)
	order := []string{s.Sealed, s.Checksum, s.Manifest, s.Signature}
	dir := filepath.Dir(path)
	ents, err := os.ReadDir(dir)
	if isNotExist(err) {
		return nil, nil // nothing to recover; the caller's own open says so
	} else if err != nil {
		return nil, err
	}
	// The kept names of each dead process, by target, in commit order.
	type entry struct {
		target, kept string
	}
	byPID := map[int][]entry{}
	for _, e := range ents {
		for _, t := range order {
			pid, ok := keptPID(filepath.Base(t), e.Name())
			if ok && !runs(pid) && e.Type().IsRegular() {
				byPID[pid] = append(byPID[pid], entry{t, filepath.Join(dir, e.Name())})
			}
		}
	}
	var acted []string
	for _, pid := range slices.Sorted(maps.Keys(byPID)) {
		es := byPID[pid]
		slices.SortFunc(es, func(a, b entry) int { return slices.Index(order, a.target) - slices.Index(order, b.target) })
		var targets, kept []string
		n := 0
		for _, e := range es {
			targets, kept = append(targets, e.target), append(kept, e.kept)
			if replaced(e.target, e.kept) {
				n++
			}
			acted = append(acted, e.kept)
		}
		if n == 0 || n == len(es) {
			// Nothing was replaced yet, or everything was and only the
			// kept names were left: the set on disk is whole.
			for _, k := range kept {
				os.Remove(k)
			}
			continue
		}
		restore(targets, kept)
	}
	for _, k := range acted {
		if _, err := os.Lstat(k); err == nil {
			return acted, fmt.Errorf("%s: left by an interrupted seal, and could not be cleaned up", k)
		}
	}
	return acted, nil
}

// keptPID returns the pid of a kept name of the file called base.
func keptPID(base, name string) (int, bool) {
	for _, kind := range []string{keptPrev, keptNew} {
		rest, ok := strings.CutPrefix(name, "."+base+kind)
		if !ok || rest == "" || len(rest) > 10 || rest[0] == '0' {
			continue
		}
		pid, err := strconv.Atoi(rest)
		if err == nil && pid > 0 && strconv.Itoa(pid) == rest {
			return pid, true
		}
	}
	return 0, false
}
