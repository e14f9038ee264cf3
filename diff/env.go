package diff

import (
	"cmp"
	"slices"
	"strings"
)

// compareArgs returns the change of the command line, or nil.
func compareArgs(a, b *args) *ArgsChange {
	if slices.Equal(a.cmdline, b.cmdline) && a.cmdComplete == b.cmdComplete {
		return nil
	}
	return &ArgsChange{Old: nonNil(a.cmdline), New: nonNil(b.cmdline), OldComplete: a.cmdComplete, NewComplete: b.cmdComplete}
}

// envVar is one NAME=value string of an environment. A name that occurs
// more than once is told apart by its occurrence, so that duplicates (which
// execve allows) still compare one to one.
type envVar struct {
	name  string
	n     int // 1 for the first occurrence of name
	value string
}

func (v envVar) cmp(w envVar) int { return cmp.Or(cmp.Compare(v.name, w.name), cmp.Compare(v.n, w.n)) }

// parseEnv splits NAME=value strings, sorted by name and occurrence. A
// string without "=" is a name with an empty value.
func parseEnv(env []string) []envVar {
	seen := map[string]int{}
	out := make([]envVar, 0, len(env))
	for _, e := range env {
		name, value, _ := strings.Cut(e, "=")
		seen[name]++
		out = append(out, envVar{name, seen[name], value})
	}
	slices.SortFunc(out, envVar.cmp)
	return out
}

// compareEnv compares two environments by variable name. Values are copied
// into the changes only when reveal is set.
func compareEnv(a, b []string, reveal bool, sum *Counts) []EnvChange {
	out := []EnvChange{}
	ea, eb := parseEnv(a), parseEnv(b)
	show := func(v string) string {
		if reveal {
			return v
		}
		return ""
	}
	i, j := 0, 0
	for i < len(ea) || j < len(eb) {
		switch {
		case j == len(eb) || (i < len(ea) && ea[i].cmp(eb[j]) < 0):
			out = append(out, EnvChange{Name: ea[i].name, Occurrence: ea[i].n, Change: Removed, Old: show(ea[i].value)})
			sum.add(Removed)
			i++
		case i == len(ea) || eb[j].cmp(ea[i]) < 0:
			out = append(out, EnvChange{Name: eb[j].name, Occurrence: eb[j].n, Change: Added, New: show(eb[j].value)})
			sum.add(Added)
			j++
		default:
			if ea[i].value != eb[j].value {
				out = append(out, EnvChange{Name: eb[j].name, Occurrence: eb[j].n, Change: Changed, Old: show(ea[i].value), New: show(eb[j].value)})
				sum.add(Changed)
			} else {
				sum.add(Unchanged)
			}
			i++
			j++
		}
	}
	return out
}
