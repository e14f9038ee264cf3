package testgen

import "sort"

// Layout reports what Write wrote, so that tests can check a reader against
// facts rather than against another reader. With Break set it describes what
// the images claim, not what would be consistent.
type Layout struct {
	// Spec is the spec with its defaults filled in.
	Spec Spec
	// Members are the tar members in archive order.
	Members []Member
	// Processes in pstree order (CRIU's dump order: depth first).
	Processes []Process
	// Markers, in the order of Spec.Markers.
	Markers []PlacedMarker
	// PagesBytes is the total size of the pages images.
	PagesBytes int64
	// Bytes is the size of the tar stream.
	Bytes int64
}

// Member is one tar member.
type Member struct {
	Name string
	Size int64
	Mode int64
	Dir  bool
}

// Process describes one process of the dump.
type Process struct {
	Index                int // in Spec terms: process i's parent is (i-1)/2
	PID, PPID            int
	PGID, SID            int
	Comm                 string
	Threads              []Thread
	Zombie               bool
	TaskState            uint32 // as in core's tc: 1 alive, 2 dead (zombie)
	FilesID              uint32 // fdinfo-<FilesID>.img
	PagesID              uint32 // pages-<PagesID>.img; 0 for zombies
	PagesImage           string
	PagesBytes           int64
	Cmdline, Env         []string
	ArgStart, ArgEnd     uint64
	EnvStart, EnvEnd     uint64
	StartStack           uint64
	StartBrk, Brk        uint64
	VMAs                 []VMA
	Pages                []PageRange
	FDs                  []FD
	Cwd                  string
	ExeID, CwdID, RootID uint32
}

// Thread is one thread; the leader comes first and has the process's pid.
type Thread struct {
	TID  int
	Comm string
	IP   uint64 // instruction pointer in core-<tid>.img
	SP   uint64 // stack pointer
}

// VMA is one mapping of mm-<pid>.img.
type VMA struct {
	Start, End uint64
	Prot       uint32
	Flags      uint32
	Status     uint32
	// Kind: exe, lib, heap, stack, thread-stack, guard, anon, vvar, vdso,
	// vsyscall.
	Kind string
	// Path of the mapped file, for file mappings.
	Path string
}

// PageRange is one pagemap entry. Offset is where its pages start in the
// pages image, or -1 when they are not in it (PE_PARENT).
type PageRange struct {
	Vaddr  uint64
	Pages  uint64
	Flags  uint32
	Offset int64
}

// FD is one open file descriptor of a process.
type FD struct {
	FD   uint32
	ID   uint32 // files.img id
	Type string // REG, PIPE, UNIXSK, INETSK, EVENTFD, EVENTPOLL, TIMERFD
	// What is open: a path, "pipe:[ino]", "socket:[ino]" or a description.
	Target string
}

// PlacedMarker says where a marker landed.
type PlacedMarker struct {
	Data       []byte
	PID        int
	Vaddr      uint64
	PagesImage string
	// Offset of the marker's first byte in the pages image. The marker is
	// contiguous there.
	Offset int64
}

// Offset returns where the byte at vaddr is in the process's pages image,
// through its pagemap, and whether it is there at all.
func (p *Process) Offset(vaddr uint64) (int64, bool) {
	i := sort.Search(len(p.Pages), func(i int) bool {
		r := p.Pages[i]
		return r.Vaddr+r.Pages*pageSize > vaddr
	})
	if i == len(p.Pages) {
		return 0, false
	}
	r := p.Pages[i]
	if vaddr < r.Vaddr || r.Offset < 0 {
		return 0, false
	}
	return r.Offset + int64(vaddr-r.Vaddr), true
}

// ProcessByPID returns the process with the given pid, or nil.
func (l *Layout) ProcessByPID(pid int) *Process {
	for i := range l.Processes {
		if l.Processes[i].PID == pid {
			return &l.Processes[i]
		}
	}
	return nil
}
