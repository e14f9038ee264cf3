package diff

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/proc"
)

// Diff reads a and b, at the same time and each in one pass, and compares
// them: the usual way to use the package.
func Diff(ctx context.Context, a, b *archive.Archive, opt Options) (*Report, error) {
	d := New(opt)
	sa, sb, err := d.ReadBoth(ctx, a, b)
	if err != nil {
		return nil, err
	}
	return d.Compare(sa, sb)
}

// Compare compares two snapshots read by d, from A to B.
func (d *Differ) Compare(a, b *Snapshot) (*Report, error) {
	if a.seed != d.seed || b.seed != d.seed {
		return nil, errors.New("diff: the snapshots were read by another Differ: their page hashes do not compare")
	}
	r := &Report{A: a.side, B: b.side, EnvValuesShown: d.opt.RevealEnv, Containers: []Container{}, Warnings: []string{}}
	r.Warnings = append(append(r.Warnings, a.warnings...), b.warnings...)
	for _, p := range pairContainers(a.containers, b.containers) {
		c, err := d.compareContainer(p[0], p[1], &r.Summary, &r.Warnings)
		if err != nil {
			return nil, err
		}
		r.Summary.Containers.add(c.Change)
		r.Containers = append(r.Containers, c)
	}
	for _, snap := range []*Snapshot{a, b} {
		if snap.pageErr != nil {
			return nil, snap.pageErr
		}
	}
	s := r.Summary
	r.Different = s.Containers.Added+s.Containers.Removed > 0 || s.Processes.any() || s.Threads.any() ||
		s.Files.any() || s.Sockets.any() || s.Maps.any() || s.Env.any() || s.Cmdlines > 0 ||
		s.Pages.any() || s.RootFS.any() || s.Deleted.any()
	return r, nil
}

// pairContainers pairs the checkpoints of two archives: the only one of
// each, or by their directory in pod archives. Unpaired ones get nil.
func pairContainers(a, b []*container) [][2]*container {
	if len(a) == 1 && len(b) == 1 {
		return [][2]*container{{a[0], b[0]}}
	}
	byPrefix := map[string]*[2]*container{}
	var prefixes []string
	for side, cs := range [][]*container{a, b} {
		for _, c := range cs {
			p := byPrefix[c.prefix]
			if p == nil {
				p = &[2]*container{}
				byPrefix[c.prefix] = p
				prefixes = append(prefixes, c.prefix)
			}
			p[side] = c
		}
	}
	slices.Sort(prefixes)
	out := make([][2]*container, 0, len(prefixes))
	for _, p := range prefixes {
		out = append(out, *byPrefix[p])
	}
	return out
}

func (d *Differ) compareContainer(ca, cb *container, sum *Summary, warnings *[]string) (Container, error) {
	c := Container{
		Change: Unchanged, SameContainer: true, IdentityChanges: []FieldChange{},
		Processes: []Process{}, SharedMemory: []Segment{}, RootFS: []RootFSChange{}, Deleted: []PathChange{},
	}
	switch {
	case ca == nil:
		c.Path, c.Change, c.B = cb.prefix, Added, &cb.identity
		ca = &container{tree: &proc.Tree{}} // compared against nothing
	case cb == nil:
		c.Path, c.Change, c.A = ca.prefix, Removed, &ca.identity
		cb = &container{tree: &proc.Tree{}}
	default:
		c.Path, c.A, c.B = cb.prefix, &ca.identity, &cb.identity
		changes, mismatch := compareIdentity(ca.identity, cb.identity)
		c.IdentityChanges = changes
		if len(mismatch) > 0 {
			err := mismatchError(c.Path, mismatch)
			if !d.opt.Force {
				return c, err
			}
			c.SameContainer = false
			*warnings = append(*warnings, "compared anyway: "+err.Error())
		}
		ta, tb := ca.identity.Checkpointed, cb.identity.Checkpointed
		if !ta.IsZero() && !tb.IsZero() && tb.Before(ta) {
			*warnings = append(*warnings, fmt.Sprintf("%sB was checkpointed before A (%s, %s): changes are shown from A to B", containerWhere(c.Path), tb.UTC().Format("2006-01-02T15:04:05Z"), ta.UTC().Format("2006-01-02T15:04:05Z")))
		}
	}
	c.Processes = d.compareProcesses(ca, cb, sum)
	c.SharedMemory = compareSegments(ca, cb, &sum.Pages)
	c.RootFS = compareRootFS(ca.rootfs, cb.rootfs, ca.content, cb.content, &sum.RootFS)
	c.Deleted = compareDeleted(ca.deleted, cb.deleted, &sum.Deleted)
	if c.Change == Unchanged && containerChanged(&c) {
		c.Change = Changed
	}
	return c, nil
}

func containerWhere(path string) string {
	if path == "" {
		return ""
	}
	return "container " + strings.TrimSuffix(path, "/") + ": "
}

func containerChanged(c *Container) bool {
	for _, p := range c.Processes {
		if p.Change != Unchanged {
			return true
		}
	}
	for _, s := range c.SharedMemory {
		if s.Change != Unchanged {
			return true
		}
	}
	return len(c.RootFS)+len(c.Deleted) > 0
}

// compareProcesses lists every pid of either side, in pid order; a pid
// held by different processes gives the removed one, then the added one.
func (d *Differ) compareProcesses(ca, cb *container, sum *Summary) []Process {
	pr := matchProcesses(ca.tree, cb.tree)
	out := []Process{}
	merge(ca.tree.Processes, cb.tree.Processes, func(p *proc.Process) uint32 { return p.PID }, func(pa, pb **proc.Process) {
		switch {
		case pb == nil:
			out = append(out, lone(ca, *pa, Removed, ReasonExited, sum))
			sum.Processes.add(Removed)
		case pa == nil:
			out = append(out, lone(cb, *pb, Added, ReasonNew, sum))
			sum.Processes.add(Added)
		case !pr.same[(*pa).PID]:
			reason := ReasonReused
			if pr.exec[(*pa).PID] {
				reason = ReasonExec
			}
			out = append(out, lone(ca, *pa, Removed, reason, sum), lone(cb, *pb, Added, reason, sum))
			sum.Processes.add(Removed)
			sum.Processes.add(Added)
		default:
			p := d.compareProcess(ca, cb, *pa, *pb, sum)
			sum.Processes.add(p.Change)
			out = append(out, p)
		}
	})
	return out
}

// lone describes a process present on one side only. Every thread,
// descriptor, socket and mapping of it is added or removed with it.
func lone(c *container, p *proc.Process, change, reason string, sum *Summary) Process {
	maps := c.maps[p.PID]
	ms := proc.Summary(maps)
	info := &ProcessInfo{State: p.State, Threads: len(p.Threads), Mappings: len(maps), Virtual: ms.Virtual, PresentBytes: ms.Resident}
	for _, fd := range p.FDs {
		if fd.File.Socket != nil {
			info.Sockets++
		} else {
			info.FDs++
		}
	}
	out := newProcess(c, p, change)
	out.Reason, out.Info = reason, info
	if change == Added {
		out.Threads = compareThreads(nil, p.Threads, &sum.Threads)
		out.Files, out.Sockets = compareFDs(nil, p.FDs, &sum.Files, &sum.Sockets)
		out.Maps = compareMaps(nil, maps, &sum.Maps)
	} else {
		out.Threads = compareThreads(p.Threads, nil, &sum.Threads)
		out.Files, out.Sockets = compareFDs(p.FDs, nil, &sum.Files, &sum.Sockets)
		out.Maps = compareMaps(maps, nil, &sum.Maps)
	}
	return out
}

func newProcess(c *container, p *proc.Process, change string) Process {
	cmdline := []string{}
	if a := c.args[p.PID]; a != nil {
		cmdline = nonNil(a.cmdline)
	}
	return Process{
		PID: p.PID, Change: change, Comm: p.Comm, Exe: p.Exe, PPID: p.PPID, Cmdline: cmdline,
		Fields: []FieldChange{}, Env: []EnvChange{}, Threads: []ThreadChange{}, Files: []FileChange{},
		Sockets: []SocketChange{}, Maps: []MapChange{},
	}
}

// compareProcess compares a process matched in both checkpoints.
func (d *Differ) compareProcess(ca, cb *container, pa, pb *proc.Process, sum *Summary) Process {
	out := newProcess(cb, pb, Unchanged)
	out.Fields = processFields(pa, pb)
	if aa, ab := ca.args[pa.PID], cb.args[pb.PID]; aa != nil && ab != nil {
		out.CmdlineChange = compareArgs(aa, ab)
		if out.CmdlineChange != nil {
			sum.Cmdlines++
		}
		out.Env = compareEnv(aa.env, ab.env, d.opt.RevealEnv, &sum.Env)
	}
	out.Threads = compareThreads(pa.Threads, pb.Threads, &sum.Threads)
	out.Files, out.Sockets = compareFDs(pa.FDs, pb.FDs, &sum.Files, &sum.Sockets)
	mapsA, mapsB := sortedMaps(ca.maps[pa.PID]), sortedMaps(cb.maps[pb.PID])
	out.Maps = compareMaps(mapsA, mapsB, &sum.Maps)
	name := fmt.Sprintf("pagemap-%d.img", pa.PID)
	if ha, hb := ca.pages[name], cb.pages[name]; ha != nil && hb != nil {
		out.Pages = comparedPages(ha, hb, &mappingFinder{maps: mapsA}, &mappingFinder{maps: mapsB})
		sum.Pages.addDiff(out.Pages)
	}
	if len(out.Fields)+len(out.Env)+len(out.Threads)+len(out.Files)+len(out.Sockets)+len(out.Maps) > 0 ||
		out.CmdlineChange != nil || (out.Pages != nil && len(out.Pages.Runs) > 0) {
		out.Change = Changed
	}
	return out
}

// comparedPages compares two pagemaps, or names the mappings of the
// comparison made while they streamed.
func comparedPages(a, b *pageHashes, mapsA, mapsB *mappingFinder) *PageDiff {
	switch {
	case a.compared != nil && a.compared == b.compared:
		return labelled(a.compared.d, mapsA, mapsB)
	case a.compared != nil && a.compared.lone:
		return a.compared.d // against nothing: no mappings to name
	case b.compared != nil && b.compared.lone:
		return b.compared.d
	}
	return comparePages(a, b, mapsA, mapsB)
}

// compareSegments compares the anonymous shared memory segments.
func compareSegments(ca, cb *container, sum *PageCounts) []Segment {
	ids := map[uint64][2]*pageHashes{}
	for side, c := range []*container{ca, cb} {
		for name, ph := range c.pages {
			var id uint64
			if n, err := fmt.Sscanf(name, "pagemap-shmem-%d.img", &id); err != nil || n != 1 {
				continue
			}
			v := ids[id]
			v[side] = ph
			ids[id] = v
		}
	}
	keys := make([]uint64, 0, len(ids))
	for id := range ids {
		keys = append(keys, id)
	}
	slices.Sort(keys)
	out := []Segment{}
	for _, id := range keys {
		v := ids[id]
		// A segment on one side is compared against nothing: all its pages
		// are added or removed.
		empty := &pageHashes{}
		a, b := cmp.Or(v[0], empty), cmp.Or(v[1], empty)
		pd := comparedPages(a, b, nil, nil)
		sum.addDiff(pd)
		change := Unchanged
		switch {
		case v[0] == nil:
			change = Added
		case v[1] == nil:
			change = Removed
		case len(pd.Runs) > 0:
			change = Changed
		}
		out = append(out, Segment{ID: id, Change: change, Pages: pd})
	}
	return out
}
