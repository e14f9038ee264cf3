package diff

import (
	"cmp"
	"slices"

	"github.com/ckpt-dev/ckpt/proc"
)

// Mappings are paired in rounds, each over what earlier rounds left:
//
//  1. the same address range: unchanged, or changed (permissions, offset,
//     backing file);
//  2. the same start and the same backing (file, or kind for anonymous
//     memory): resized, as a heap grows with brk;
//  3. the same end and the same backing: resized, as a stack grows down;
//  4. overlapping, with the same backing: resized (both edges moved, or
//     part of a mapping split off by mprotect or munmap).
//
// What is left is removed (A) or added (B).

type mapKey struct {
	addr    uint64
	backing string
}

func backing(m proc.Mapping) string { return m.Kind + "\x00" + m.File }

// compareMaps compares the mappings of a matched process.
func compareMaps(a, b []proc.Mapping, sum *Counts) []MapChange {
	a, b = sortedMaps(a), sortedMaps(b)
	usedA, usedB := make([]bool, len(a)), make([]bool, len(b))
	out := []MapChange{}
	pair := func(i, j int) {
		usedA[i], usedB[j] = true, true
		ma, mb := a[i], b[j]
		var f fields
		f.cmp("start", ma.Start, mb.Start)
		f.cmp("end", ma.End, mb.End)
		change := Changed
		if len(f) > 0 {
			change = Resized
		}
		f.cmp("perms", ma.Perms, mb.Perms)
		f.cmp("offset", ma.Offset, mb.Offset)
		f.cmp("kind", ma.Kind, mb.Kind)
		f.cmp("file", ma.File, mb.File)
		if len(f) == 0 {
			sum.add(Unchanged)
			return
		}
		sum.add(change)
		out = append(out, mapChange(mb, change, f))
	}

	byRange := make(map[[2]uint64]int, len(b))
	for j, m := range b {
		byRange[[2]uint64{m.Start, m.End}] = j
	}
	for i, m := range a {
		if j, ok := byRange[[2]uint64{m.Start, m.End}]; ok && !usedB[j] {
			pair(i, j)
		}
	}
	for _, edge := range []func(proc.Mapping) uint64{
		func(m proc.Mapping) uint64 { return m.Start },
		func(m proc.Mapping) uint64 { return m.End },
	} {
		idx := map[mapKey]int{}
		for j, m := range b {
			if !usedB[j] {
				idx[mapKey{edge(m), backing(m)}] = j
			}
		}
		for i, m := range a {
			if usedA[i] {
				continue
			}
			if j, ok := idx[mapKey{edge(m), backing(m)}]; ok && !usedB[j] {
				pair(i, j)
			}
		}
	}
	// Overlaps: mappings of one side never overlap each other, so a sweep
	// looks at a few candidates per mapping.
	j := 0
	for i, m := range a {
		if usedA[i] {
			continue
		}
		for j < len(b) && b[j].End <= m.Start {
			j++
		}
		for k := j; k < len(b) && b[k].Start < m.End; k++ {
			if !usedB[k] && backing(b[k]) == backing(m) {
				pair(i, k)
				break
			}
		}
	}
	for i, m := range a {
		if !usedA[i] {
			out = append(out, mapChange(m, Removed, []FieldChange{}))
			sum.add(Removed)
		}
	}
	for j, m := range b {
		if !usedB[j] {
			out = append(out, mapChange(m, Added, []FieldChange{}))
			sum.add(Added)
		}
	}
	slices.SortFunc(out, func(x, y MapChange) int {
		return cmp.Or(cmp.Compare(x.Start, y.Start), cmp.Compare(x.End, y.End), cmp.Compare(changeOrder(x.Change), changeOrder(y.Change)))
	})
	return out
}

func sortedMaps(m []proc.Mapping) []proc.Mapping {
	if slices.IsSortedFunc(m, func(x, y proc.Mapping) int { return cmp.Compare(x.Start, y.Start) }) {
		return m
	}
	m = slices.Clone(m)
	slices.SortStableFunc(m, func(x, y proc.Mapping) int { return cmp.Compare(x.Start, y.Start) })
	return m
}

// changeOrder puts removals before additions at the same place.
func changeOrder(c string) int {
	switch c {
	case Removed:
		return 0
	case Added:
		return 2
	}
	return 1
}

func mapChange(m proc.Mapping, change string, f []FieldChange) MapChange {
	if f == nil {
		f = []FieldChange{}
	}
	return MapChange{Change: change, Start: m.Start, End: m.End, Perms: m.Perms, Kind: m.Kind, File: m.File, Fields: f}
}
