package agent

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Checkpoint is one archive as retention sees it: its plaintext, its
// sealed set, or both, under one name.
type Checkpoint struct {
	// Name is the archive's file name (checkpoint-….tar).
	Name                      string
	Namespace, Pod, Container string
	// Time is when the checkpoint was taken; oldest go first.
	Time time.Time
	// Size is the archive's plaintext size.
	Size int64
	// Pinned checkpoints (NAME.keep) count toward limits but are never
	// deleted.
	Pinned bool
}

// Prune is a checkpoint retention deletes, and why.
type Prune struct {
	Checkpoint
	Reason string
}

// Policy is a retention policy: per-scope limits with the
// checkpoint-restore-operator's precedence, container > pod > namespace >
// global.
type Policy struct {
	// Global limits apply to each container's checkpoints; GlobalPod and
	// GlobalNamespace (set from an operator policy's per-pod and
	// per-namespace limits) to each pod's and namespace's.
	Global, GlobalPod, GlobalNamespace Limits
	Namespaces                         []NamespaceLimits
	Pods                               []PodLimits
	Containers                         []ContainerLimits
}

// PolicyOf is the policy a config's retention section describes.
func PolicyOf(r RetentionConfig) Policy {
	return Policy{Global: r.Global, Namespaces: r.Namespaces, Pods: r.Pods, Containers: r.Containers}
}

// IsZero reports a policy that never deletes anything.
func (p Policy) IsZero() bool {
	return p.Global.isZero() && p.GlobalPod.isZero() && p.GlobalNamespace.isZero() &&
		len(p.Namespaces)+len(p.Pods)+len(p.Containers) == 0
}

// scope is a group of checkpoints one set of limits applies to.
type scope struct {
	key    string
	limits Limits
}

// scopes returns the groups c belongs to: the most specific policy that
// names it, or else the global per-container, per-pod and per-namespace
// limits.
func (p Policy) scopes(c Checkpoint) []scope {
	for _, l := range p.Containers {
		if l.Namespace == c.Namespace && l.Pod == c.Pod && l.Container == c.Container {
			return []scope{{"container/" + c.Namespace + "/" + c.Pod + "/" + c.Container, l.Limits}}
		}
	}
	for _, l := range p.Pods {
		if l.Namespace == c.Namespace && l.Pod == c.Pod {
			return []scope{{"pod/" + c.Namespace + "/" + c.Pod, l.Limits}}
		}
	}
	for _, l := range p.Namespaces {
		if l.Namespace == c.Namespace {
			return []scope{{"namespace/" + c.Namespace, l.Limits}}
		}
	}
	var s []scope
	if !p.Global.isZero() {
		s = append(s, scope{"global-container/" + c.Namespace + "/" + c.Pod + "/" + c.Container, p.Global})
	}
	if !p.GlobalPod.isZero() {
		s = append(s, scope{"global-pod/" + c.Namespace + "/" + c.Pod, p.GlobalPod})
	}
	if !p.GlobalNamespace.isZero() {
		s = append(s, scope{"global-namespace/" + c.Namespace, p.GlobalNamespace})
	}
	return s
}

// Plan returns the checkpoints the policy deletes at now, oldest first.
// Within a scope: checkpoints older than max_age or larger than
// max_checkpoint_size go, then the oldest until the count and the total
// size are within the limits. Pinned checkpoints count but never go; when
// only pins are left over a limit, the limit stays exceeded.
func (p Policy) Plan(cps []Checkpoint, now time.Time) []Prune {
	groups := map[string][]Checkpoint{}
	limits := map[string]Limits{}
	var keys []string
	for _, c := range cps {
		for _, s := range p.scopes(c) {
			if _, ok := groups[s.key]; !ok {
				keys = append(keys, s.key)
				limits[s.key] = s.limits
			}
			groups[s.key] = append(groups[s.key], c)
		}
	}
	slices.Sort(keys)
	pruned := map[string]Prune{}
	for _, k := range keys {
		g := groups[k]
		slices.SortStableFunc(g, func(a, b Checkpoint) int {
			return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Name, b.Name))
		})
		for _, pr := range planScope(g, limits[k], now) {
			if _, done := pruned[pr.Name]; !done {
				pr.Reason = k + ": " + pr.Reason
				pruned[pr.Name] = pr
			}
		}
	}
	out := make([]Prune, 0, len(pruned))
	for _, pr := range pruned {
		out = append(out, pr)
	}
	slices.SortFunc(out, func(a, b Prune) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// planScope applies l to g, sorted oldest first.
func planScope(g []Checkpoint, l Limits, now time.Time) []Prune {
	var out []Prune
	gone := make([]bool, len(g))
	count, total := len(g), int64(0)
	for _, c := range g {
		total += c.Size
	}
	drop := func(i int, why string) {
		gone[i] = true
		count--
		total -= g[i].Size
		out = append(out, Prune{Checkpoint: g[i], Reason: why})
	}
	for i, c := range g {
		switch {
		case c.Pinned:
		case l.MaxAge > 0 && now.Sub(c.Time) > time.Duration(l.MaxAge):
			drop(i, fmt.Sprintf("older than max_age %s", time.Duration(l.MaxAge)))
		case l.MaxCheckpointSize > 0 && c.Size > int64(l.MaxCheckpointSize):
			drop(i, fmt.Sprintf("%d bytes, over max_checkpoint_size %d", c.Size, l.MaxCheckpointSize))
		}
	}
	for i, c := range g {
		if gone[i] || c.Pinned {
			continue
		}
		switch {
		case l.MaxCheckpoints > 0 && count > l.MaxCheckpoints:
			drop(i, fmt.Sprintf("%d checkpoints, over max_checkpoints %d", count, l.MaxCheckpoints))
		case l.MaxTotalSize > 0 && total > int64(l.MaxTotalSize):
			drop(i, fmt.Sprintf("%d bytes in all, over max_total_size %d", total, l.MaxTotalSize))
		}
	}
	return out
}
