package diff

import (
	"testing"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"
	"google.golang.org/protobuf/proto"

	"github.com/ckpt-dev/ckpt/proc"
)

// execution is one execve: the addresses randomisation chose for it.
func execution(stack uint64) *mm.MmEntry {
	return &mm.MmEntry{
		MmStartCode: proto.Uint64(0x401000), MmStartBrk: proto.Uint64(stack >> 20 << 12), MmStartStack: proto.Uint64(stack),
		MmSavedAuxv: []uint64{25, stack + 0x2c9, 0, 0},
	}
}

type pspec struct {
	pid, ppid uint32
	comm      string
	mm        *mm.MmEntry // nil for a zombie
}

// tree builds a process tree with parent links, as proc.Build would.
func tree(ps ...pspec) *proc.Tree {
	t := &proc.Tree{}
	by := map[uint32]*proc.Process{}
	for _, s := range ps {
		p := &proc.Process{PID: s.pid, PPID: s.ppid, Comm: s.comm, MM: s.mm, Exe: "/app", State: "alive"}
		if s.mm == nil {
			p.State, p.Exe = "zombie", ""
		}
		by[s.pid] = p
		t.Processes = append(t.Processes, p)
	}
	for _, p := range t.Processes {
		if parent := by[p.PPID]; parent != nil {
			parent.Children = append(parent.Children, p)
		}
	}
	return t
}

func TestMatchProcesses(t *testing.T) {
	e1, e2, e3 := execution(0x7ffd_1000_0000), execution(0x7ffe_2000_0000), execution(0x7ffc_3000_0000)
	for _, tc := range []struct {
		name string
		a, b *proc.Tree
		same map[uint32]bool
		exec []uint32
	}{
		{
			name: "same process",
			a:    tree(pspec{1, 0, "app", e1}), b: tree(pspec{1, 0, "app", e1}),
			same: map[uint32]bool{1: true},
		},
		{
			name: "renamed with prctl is the same process",
			a:    tree(pspec{1, 0, "app", e1}), b: tree(pspec{1, 0, "app: idle", e1}),
			same: map[uint32]bool{1: true},
		},
		{
			name: "pid reused by another execution",
			a:    tree(pspec{1, 0, "app", e1}, pspec{7, 1, "sh", e2}), b: tree(pspec{1, 0, "app", e1}, pspec{7, 1, "sh", e3}),
			same: map[uint32]bool{1: true, 7: false},
		},
		{
			// The forked children share the parent's addresses; the one
			// whose parent stayed but whose ppid changed cannot be the same.
			name: "forked child at a reused pid under another parent",
			a:    tree(pspec{1, 0, "app", e1}, pspec{3, 1, "worker", e1}, pspec{9, 1, "worker", e1}),
			b:    tree(pspec{1, 0, "app", e1}, pspec{3, 1, "worker", e1}, pspec{9, 3, "worker", e1}),
			same: map[uint32]bool{1: true, 3: true, 9: false},
		},
		{
			name: "reparented after its parent exited",
			a:    tree(pspec{1, 0, "init", e1}, pspec{3, 1, "mid", e2}, pspec{9, 3, "leaf", e2}),
			b:    tree(pspec{1, 0, "init", e1}, pspec{9, 1, "leaf", e2}),
			same: map[uint32]bool{1: true, 9: true},
		},
		{
			name: "execve keeps the children",
			a:    tree(pspec{1, 0, "sh", e1}, pspec{4, 1, "child", e2}),
			b:    tree(pspec{1, 0, "app", e3}, pspec{4, 1, "child", e2}),
			same: map[uint32]bool{1: false, 4: true},
			exec: []uint32{1},
		},
		{
			name: "exited and not yet reaped",
			a:    tree(pspec{1, 0, "init", e1}, pspec{5, 1, "job", e2}), b: tree(pspec{1, 0, "init", e1}, pspec{5, 1, "job", nil}),
			same: map[uint32]bool{1: true, 5: true},
		},
		{
			name: "a zombie does not come back to life",
			a:    tree(pspec{1, 0, "init", e1}, pspec{5, 1, "job", nil}), b: tree(pspec{1, 0, "init", e1}, pspec{5, 1, "job", e2}),
			same: map[uint32]bool{1: true, 5: false},
		},
		{
			name: "zombie reaped, pid reused by another zombie",
			a:    tree(pspec{1, 0, "init", e1}, pspec{5, 1, "job", nil}), b: tree(pspec{1, 0, "init", e1}, pspec{5, 1, "other", nil}),
			same: map[uint32]bool{1: true, 5: false},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := matchProcesses(tc.a, tc.b)
			if len(pr.same) != len(tc.same) {
				t.Errorf("matched %v, want %v", pr.same, tc.same)
			}
			for pid, want := range tc.same {
				if got, ok := pr.same[pid]; !ok || got != want {
					t.Errorf("pid %d: same %v (present %v), want %v", pid, got, ok, want)
				}
			}
			if len(pr.exec) != len(tc.exec) {
				t.Errorf("exec %v, want %v", pr.exec, tc.exec)
			}
			for _, pid := range tc.exec {
				if !pr.exec[pid] {
					t.Errorf("pid %d: not seen as execve", pid)
				}
			}
		})
	}
}
