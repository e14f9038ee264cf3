package diff

import (
	"slices"

	"github.com/ckpt-dev/ckpt/proc"
)

// Processes are matched by pid and start identity, never by pid alone: a
// pid freed by one process and taken by another must show as one process
// removed and another added, not as one process whose every page changed.
//
// CRIU records no start time (task_core_entry field 19, start_time, is
// reserved and never written), so the start identity is what execve fixes
// for the life of a process and address-space randomisation makes
// different for every execve:
//
//   - the executable's path,
//   - mm_start_code, mm_start_brk and mm_start_stack,
//   - the saved auxiliary vector (it holds AT_RANDOM, AT_BASE, AT_ENTRY and
//     AT_EXECFN, all addresses chosen at execve).
//
// The argument and environment addresses are left out: setproctitle-style
// code may move them with prctl(PR_SET_MM) without a new execve.
//
// A process without memory (a zombie) has only its comm: a live process
// in A that is a zombie with the same comm in B has exited; a zombie in A
// cannot be alive in B, so that pid was reused.
//
// Parentage narrows it further: a process's parent changes only when the
// parent exits (it is reparented to a reaper). If the pid's parent in A is
// still there in B, matched as the same process, and the pid's parent in B
// is another, the pid was reused.
//
// What cannot be told apart: a child forked (without execve) from the same
// parent that was given the same pid as an earlier such child, and, with
// randomisation off, a pid reused by the same program. Both look like the
// same process.

// sameStart reports whether a and b have the same start identity.
func sameStart(a, b *proc.Process) bool {
	switch {
	case a.MM == nil && b.MM == nil:
		return a.Comm == b.Comm
	case a.MM == nil:
		return false // a process without memory does not gain it
	case b.MM == nil:
		return a.Comm == b.Comm && b.State == "zombie"
	}
	ma, mb := a.MM, b.MM
	return a.Exe == b.Exe &&
		ma.GetMmStartCode() == mb.GetMmStartCode() &&
		ma.GetMmStartBrk() == mb.GetMmStartBrk() &&
		ma.GetMmStartStack() == mb.GetMmStartStack() &&
		slices.Equal(ma.GetMmSavedAuxv(), mb.GetMmSavedAuxv())
}

// pairing is the result of matching the processes of two trees.
type pairing struct {
	// same maps a pid to whether the process holding it in A is the one
	// holding it in B. Pids in only one tree are absent.
	same map[uint32]bool
	// exec marks pids held by different programs where the process
	// evidently called execve (see ReasonExec).
	exec map[uint32]bool
}

// matchProcesses pairs the processes of a and b.
func matchProcesses(a, b *proc.Tree) pairing {
	pr := pairing{same: map[uint32]bool{}, exec: map[uint32]bool{}}
	inB := map[uint32]*proc.Process{}
	for _, p := range b.Processes {
		inB[p.PID] = p
	}
	inA := map[uint32]*proc.Process{}
	for _, p := range a.Processes {
		inA[p.PID] = p
		if q := inB[p.PID]; q != nil {
			pr.same[p.PID] = sameStart(p, q)
		}
	}
	// The parentage rule, until nothing changes: unmatching a parent can
	// only keep the rule from firing for its children, so this ends.
	for changed := true; changed; {
		changed = false
		for _, p := range a.Processes {
			q := inB[p.PID]
			if q == nil || !pr.same[p.PID] || p.PPID == q.PPID || p.PPID == 0 || p.PPID == p.PID {
				continue
			}
			if pr.same[p.PPID] {
				pr.same[p.PID] = false
				changed = true
			}
		}
	}
	// A different program at a pid whose children stayed its children is
	// the same kernel task after execve: a new process at a reused pid
	// could not have inherited them.
	for pid, same := range pr.same {
		if same {
			continue
		}
		for _, c := range inA[pid].Children {
			if q := inB[c.PID]; q != nil && pr.same[c.PID] && q.PPID == pid {
				pr.exec[pid] = true
				break
			}
		}
	}
	return pr
}
