package diff

import (
	"slices"

	"github.com/ckpt-dev/ckpt/proc"
)

// fields collects the fields that differ, in the order they are checked.
type fields []FieldChange

func (f *fields) cmp(name string, old, new any) {
	if !equal(old, new) {
		*f = append(*f, FieldChange{Field: name, Old: old, New: new})
	}
}

func equal(a, b any) bool {
	switch x := a.(type) {
	case []uint32:
		return slices.Equal(x, b.([]uint32))
	case []string:
		return slices.Equal(x, b.([]string))
	}
	return a == b
}

func (f fields) list() []FieldChange {
	if f == nil {
		return []FieldChange{}
	}
	return f
}

// processFields compares the attributes of a matched process.
func processFields(a, b *proc.Process) []FieldChange {
	var f fields
	f.cmp("comm", a.Comm, b.Comm)
	f.cmp("state", a.State, b.State)
	f.cmp("exit_code", a.ExitCode, b.ExitCode)
	f.cmp("ppid", a.PPID, b.PPID)
	f.cmp("pgid", a.PGID, b.PGID)
	f.cmp("sid", a.SID, b.SID)
	f.cmp("cwd", a.Cwd, b.Cwd)
	f.cmp("root", a.Root, b.Root)
	f.cmp("umask", a.Umask, b.Umask)
	ca, cb := a.Creds, b.Creds
	if ca == nil {
		ca = &proc.Creds{}
	}
	if cb == nil {
		cb = &proc.Creds{}
	}
	f.cmp("uid", ca.UID, cb.UID)
	f.cmp("euid", ca.EUID, cb.EUID)
	f.cmp("suid", ca.SUID, cb.SUID)
	f.cmp("fsuid", ca.FSUID, cb.FSUID)
	f.cmp("gid", ca.GID, cb.GID)
	f.cmp("egid", ca.EGID, cb.EGID)
	f.cmp("sgid", ca.SGID, cb.SGID)
	f.cmp("fsgid", ca.FSGID, cb.FSGID)
	f.cmp("groups", nonNil(ca.Groups), nonNil(cb.Groups))
	f.cmp("cap_effective", ca.CapEffective, cb.CapEffective)
	f.cmp("cap_permitted", ca.CapPermitted, cb.CapPermitted)
	f.cmp("cap_inheritable", ca.CapInheritable, cb.CapInheritable)
	f.cmp("cap_bounding", ca.CapBounding, cb.CapBounding)
	f.cmp("cap_ambient", ca.CapAmbient, cb.CapAmbient)
	f.cmp("no_new_privs", ca.NoNewPrivs, cb.NoNewPrivs)
	f.cmp("lsm_profile", ca.LSMProfile, cb.LSMProfile)
	return f.list()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// compareThreads matches threads by tid. A thread id reused within one
// process between two dumps shows as the same thread.
func compareThreads(a, b []proc.Thread, sum *Counts) []ThreadChange {
	out := []ThreadChange{}
	merge(a, b, func(t proc.Thread) uint32 { return t.TID }, func(ta, tb *proc.Thread) {
		switch {
		case tb == nil:
			out = append(out, ThreadChange{TID: ta.TID, Change: Removed, Comm: ta.Comm, Fields: []FieldChange{}})
			sum.add(Removed)
		case ta == nil:
			out = append(out, ThreadChange{TID: tb.TID, Change: Added, Comm: tb.Comm, Fields: []FieldChange{}})
			sum.add(Added)
		default:
			var f fields
			f.cmp("comm", ta.Comm, tb.Comm)
			f.cmp("state", ta.State, tb.State)
			if len(f) == 0 {
				sum.add(Unchanged)
				return
			}
			out = append(out, ThreadChange{TID: tb.TID, Change: Changed, Comm: tb.Comm, Fields: f})
			sum.add(Changed)
		}
	})
	return out
}

// merge walks two lists sorted by key and calls fn for each key, with nil
// for the side that lacks it.
func merge[T any](a, b []T, key func(T) uint32, fn func(a, b *T)) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && key(a[i]) < key(b[j])):
			fn(&a[i], nil)
			i++
		case i == len(a) || key(b[j]) < key(a[i]):
			fn(nil, &b[j])
			j++
		default:
			fn(&a[i], &b[j])
			i++
			j++
		}
	}
}
