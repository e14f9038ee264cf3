package proc

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	criu_core "github.com/checkpoint-restore/go-criu/v8/crit/images/criu-core"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/fdinfo"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/fs"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/pstree"

	"github.com/ckpt-dev/ckpt/criu"
)

// ErrNoProcess is returned for a pid that is not in the dump.
var ErrNoProcess = errors.New("no such process in the checkpoint")

// ErrNoDump is returned for a checkpoint with no CRIU image at all: the
// runtime's metadata without a process dump (a Podman export made without
// one, a dump that failed before writing).
var ErrNoDump = errors.New("no process dump: the archive holds the container's metadata but no CRIU images (no checkpoint/pstree.img)")

// Tree is the process tree of a checkpoint.
type Tree struct {
	// Processes in pid order.
	Processes []*Process
	// Roots are the processes whose parent is not in the dump (normally
	// the container's init).
	Roots []*Process
	byPID map[uint32]*Process
	files *FileTable
	noFDs bool
}

// Process is one dumped process.
type Process struct {
	PID      uint32     `json:"pid"`
	PPID     uint32     `json:"ppid"`
	PGID     uint32     `json:"pgid"`
	SID      uint32     `json:"sid"`
	Comm     string     `json:"comm"`
	State    string     `json:"state"` // alive, stopped, zombie, dead
	ExitCode int32      `json:"exit_code"`
	Threads  []Thread   `json:"threads"`
	Creds    *Creds     `json:"creds"`
	Cwd      string     `json:"cwd"`
	Root     string     `json:"root"`
	Umask    uint32     `json:"umask"`
	Exe      string     `json:"exe"`
	FDs      []FD       `json:"fds"`
	Locks    []FileLock `json:"locks"`
	// Missing names the images this process's facts come from that the
	// dump lacks (fs-N.img, mm-N.img, files.img, ...): those facts are
	// unknown, not empty. FDs is nil when they are unknown.
	Missing []string `json:"missing_images"`
	// Children in pid order.
	Children []*Process `json:"-"`
	// IDs groups the process's shared kernel objects (files table, mm, ...).
	IDs *criu_core.TaskKobjIdsEntry `json:"-"`
	// MM is the memory descriptor; nil for zombies.
	MM *mm.MmEntry `json:"-"`
}

// Thread is one thread of a process.
type Thread struct {
	TID   uint32 `json:"tid"`
	Comm  string `json:"comm"`
	State string `json:"state"`
	// IP and SP are the instruction and stack pointers (x86-64).
	IP uint64 `json:"ip"`
	SP uint64 `json:"sp"`
}

// Build assembles the tree from a checkpoint's images. pstree.img and a
// core image per thread are required; the rest is read when present.
func Build(images *criu.ImageSet) (*Tree, error) {
	return BuildWith(images, BuildOptions{})
}

// BuildOptions configure BuildWith.
type BuildOptions struct {
	// NoFDs leaves each process's FDs and Locks nil, for a report that
	// does not show them: its fdinfo images are only checked to refer to
	// files files.img has, and a file is described only when asked for
	// (a working directory, root, executable or mapped file). The tree
	// then holds the files.img entries it has not described.
	NoFDs bool
}

// BuildWith is Build with options.
func BuildWith(images *criu.ImageSet, opt BuildOptions) (*Tree, error) {
	if images.Len() == 0 {
		return nil, ErrNoDump
	}
	entries := criu.All[*pstree.PstreeEntry](images, "pstree.img")
	if len(entries) == 0 {
		if images.Get("pstree.img") == nil {
			return nil, fmt.Errorf("pstree.img: %w", errMissing)
		}
		return nil, errors.New("pstree.img: no processes")
	}
	files, err := newFileTable(images, opt.NoFDs)
	if err != nil {
		return nil, err
	}
	t := &Tree{byPID: map[uint32]*Process{}, files: files, noFDs: opt.NoFDs}
	for _, e := range entries {
		p := &Process{PID: e.GetPid(), PPID: e.GetPpid(), PGID: e.GetPgid(), SID: e.GetSid()}
		if t.byPID[p.PID] != nil {
			return nil, fmt.Errorf("pstree.img: pid %d appears twice", p.PID)
		}
		if err := t.fill(images, p, e); err != nil {
			return nil, err
		}
		t.byPID[p.PID] = p
		t.Processes = append(t.Processes, p)
	}
	slices.SortFunc(t.Processes, func(a, b *Process) int { return int(a.PID) - int(b.PID) })
	for _, p := range t.Processes {
		if parent := t.byPID[p.PPID]; parent != nil && p.PPID != p.PID {
			parent.Children = append(parent.Children, p)
		} else {
			t.Roots = append(t.Roots, p)
		}
	}
	if !opt.NoFDs {
		t.attachLocks(images)
	}
	return t, nil
}

var errMissing = errors.New("missing from the checkpoint")

// Find returns the process with pid.
func (t *Tree) Find(pid uint32) (*Process, error) {
	if p := t.byPID[pid]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("pid %d: %w", pid, ErrNoProcess)
}

// Files is the checkpoint's table of open file descriptions.
func (t *Tree) Files() *FileTable { return t.files }

func (t *Tree) fill(images *criu.ImageSet, p *Process, e *pstree.PstreeEntry) error {
	p.Missing = []string{}
	threads := e.GetThreads()
	if len(threads) == 0 || isZombieThreads(threads) {
		// CRIU records a zombie's thread list as [0] (it has no threads
		// left to seize) and writes its core under the pid.
		threads = []uint32{p.PID}
	}
	zombie := isZombieThreads(e.GetThreads())
	for _, tid := range threads {
		name := fmt.Sprintf("core-%d.img", tid)
		core := criu.First[*criu_core.CoreEntry](images, name)
		if core == nil && zombie {
			// Nothing but the pstree entry: still a zombie, with its
			// place in the tree.
			p.State, p.Threads = "zombie", []Thread{}
			return nil
		}
		if core == nil {
			return fmt.Errorf("%s: %w (thread %d of pid %d)", name, errMissing, tid, p.PID)
		}
		th := Thread{TID: tid, Comm: core.GetThreadCore().GetComm()}
		if tc := core.GetTc(); tc != nil {
			th.State = taskState(tc.GetTaskState())
			if tid == p.PID {
				p.Comm = tc.GetComm()
				p.State = th.State
				p.ExitCode = int32(tc.GetExitCode())
			}
			if th.Comm == "" {
				th.Comm = tc.GetComm()
			}
		}
		if regs := core.GetThreadInfo().GetGpregs(); regs != nil {
			th.IP, th.SP = regs.GetIp(), regs.GetSp()
		}
		if tid == p.PID || p.Creds == nil {
			if c := credsOf(images, core, p.PID); c != nil {
				p.Creds = c
			}
		}
		p.Threads = append(p.Threads, th)
	}
	slices.SortFunc(p.Threads, func(a, b Thread) int { return int(a.TID) - int(b.TID) })
	for i := range p.Threads {
		if p.Threads[i].State == "" {
			p.Threads[i].State = p.State
		}
	}
	if p.State == "" {
		return fmt.Errorf("core-%d.img: no task core for pid %d", p.PID, p.PID)
	}
	if p.Comm == "" && len(p.Threads) > 0 {
		p.Comm = p.Threads[0].Comm
	}
	if p.State == "zombie" {
		if zombie {
			p.Threads = []Thread{} // CRIU's [0]: no thread is left
		}
		return nil // a zombie has no files, fs or memory
	}
	missing := func(name string) bool {
		if images.Get(name) == nil {
			p.Missing = append(p.Missing, name)
			return true
		}
		return false
	}
	if !missing(fmt.Sprintf("ids-%d.img", p.PID)) {
		p.IDs = criu.First[*criu_core.TaskKobjIdsEntry](images, fmt.Sprintf("ids-%d.img", p.PID))
	}
	if f := criu.First[*fs.FsEntry](images, fmt.Sprintf("fs-%d.img", p.PID)); f != nil {
		p.Cwd = t.files.Path(f.GetCwdId())
		p.Root = t.files.Path(f.GetRootId())
		p.Umask = f.GetUmask()
	} else {
		missing(fmt.Sprintf("fs-%d.img", p.PID))
	}
	if !missing(fmt.Sprintf("mm-%d.img", p.PID)) {
		p.MM = criu.First[*mm.MmEntry](images, fmt.Sprintf("mm-%d.img", p.PID))
		missing(fmt.Sprintf("pagemap-%d.img", p.PID))
	}
	if p.MM != nil && p.MM.ExeFileId != nil {
		p.Exe = t.files.Path(p.MM.GetExeFileId())
	}
	if p.IDs == nil {
		return nil // which descriptors it had is unknown
	}
	fdinfoMissing := missing(fmt.Sprintf("fdinfo-%d.img", p.IDs.GetFilesId()))
	if missing("files.img") || fdinfoMissing {
		return nil
	}
	fds, err := t.files.fds(images, p, !t.noFDs)
	if err != nil || t.noFDs {
		return err
	}
	p.FDs = fds
	return nil
}

// isZombieThreads recognises the thread list CRIU's dump_zombies writes.
func isZombieThreads(threads []uint32) bool { return len(threads) == 1 && threads[0] == 0 }

// taskState names CRIU's task states. CRIU writes zombies as TASK_DEAD
// (2): a zombie is dead but not yet reaped, and has only its core image.
func taskState(s uint32) string {
	switch s {
	case 1:
		return "alive"
	case 2:
		return "zombie"
	case 3:
		return "stopped"
	case 6:
		return "zombie"
	}
	return fmt.Sprintf("state %d", s)
}

// ImageFields returns, for archive.LoadOptions.Fields, what of each image
// Build and Tree.Maps read: of a core image the task's state, names,
// credentials and instruction and stack pointers (not the FPU state,
// signal handlers, TLS and the rest of the registers, most of its
// decoded size); of an mm image its mappings (place, protection, flags,
// status and the file or segment they map), stack start, executable and
// the argument and environment areas (for mem.WantArgsEnv), not the
// auxiliary vector; of files.img and fdinfo images what FileTable reads.
// Images it does not name are decoded whole. A tree built
// this way holds the same facts, at a fraction of the memory per thread.
func ImageFields() func(name string) criu.Fields {
	must := func(f criu.Fields, err error) criu.Fields {
		if err != nil {
			panic(err) // the names below are fixed: a test reads them
		}
		return f
	}
	core := must(criu.FieldsOf(&criu_core.CoreEntry{},
		"tc.task_state", "tc.comm", "tc.exit_code", "thread_core.comm", "thread_core.creds",
		"thread_info.gpregs.ip", "thread_info.gpregs.sp"))
	mem := must(criu.FieldsOf(&mm.MmEntry{},
		"vmas.start", "vmas.end", "vmas.pgoff", "vmas.shmid", "vmas.prot", "vmas.flags", "vmas.status", "mm_start_stack", "mm_arg_start", "mm_arg_end", "mm_env_start", "mm_env_end", "exe_file_id"))
	// Of files.img every kind of file whole but regular ones, the most
	// numerous, of which describe reads no owner, mount or checksum.
	// Every other field is named by the descriptor, so a kind go-criu
	// adds later is still decoded whole.
	fileFields := []string{"reg.id", "reg.flags", "reg.pos", "reg.name", "reg.size", "reg.mode"}
	fd := (&fdinfo.FileEntry{}).ProtoReflect().Descriptor().Fields()
	for i := range fd.Len() {
		if n := string(fd.Get(i).Name()); n != "reg" {
			fileFields = append(fileFields, n)
		}
	}
	files := must(criu.FieldsOf(&fdinfo.FileEntry{}, fileFields...))
	fdinfos := must(criu.FieldsOf(&fdinfo.FdinfoEntry{}, "id", "flags", "fd"))
	return func(name string) criu.Fields {
		switch {
		case strings.HasPrefix(name, "core-"):
			return core
		case strings.HasPrefix(name, "mm-"):
			return mem
		case name == "files.img":
			return files
		case strings.HasPrefix(name, "fdinfo-"):
			return fdinfos
		}
		return nil
	}
}
