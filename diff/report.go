package diff

import (
	"github.com/ckpt-dev/ckpt/archive"
)

// Change kinds, as they appear in the "change" fields of a Report.
const (
	Added     = "added"
	Removed   = "removed"
	Changed   = "changed"
	Replaced  = "replaced" // same slot (fd), different object
	Resized   = "resized"  // a mapping that grew, shrank or moved an edge
	Unchanged = "unchanged"
)

// Why a process is added or removed.
const (
	ReasonNew    = "new"        // the pid is not in A
	ReasonExited = "exited"     // the pid is not in B
	ReasonReused = "pid_reused" // the pid is in both, held by different processes
	// ReasonExec is a pid held by a different program whose children in A
	// are still its children in B: the process called execve.
	ReasonExec = "exec"
)

// Report is what changed from checkpoint A to checkpoint B. Every slice is
// sorted and never nil, so the JSON form is stable.
type Report struct {
	A Side `json:"a"`
	B Side `json:"b"`
	// Different says whether anything below changed: processes, threads,
	// files, sockets, mappings, memory pages, command lines, environment,
	// root filesystem. Identity fields and times are not counted.
	Different bool    `json:"different"`
	Summary   Summary `json:"summary"`
	// EnvValuesShown says whether EnvChange values are filled in (they are
	// hidden unless asked for, since environments hold secrets).
	EnvValuesShown bool        `json:"env_values_shown"`
	Containers     []Container `json:"containers"`
	Warnings       []string    `json:"warnings"`
}

// Side names one of the two archives.
type Side struct {
	Archive string           `json:"archive"`
	Layers  []archive.Format `json:"layers"`
}

// Container is the difference between one container's checkpoints. A
// container archive has one; a pod archive one per container, matched by
// the container's directory in the archive.
type Container struct {
	// Path is the container's directory inside a pod archive, "" otherwise.
	Path   string `json:"container_path"`
	Change string `json:"change"` // changed, unchanged, added, removed
	// A and B are the identities; nil on the side that lacks the container.
	A *archive.Identity `json:"identity_a"`
	B *archive.Identity `json:"identity_b"`
	// SameContainer is false when the identities say these are checkpoints
	// of different containers (see Mismatch).
	SameContainer bool `json:"same_container"`
	// IdentityChanges lists the identity fields that differ, checkpoint time
	// included.
	IdentityChanges []FieldChange  `json:"identity_changes"`
	Processes       []Process      `json:"processes"`
	SharedMemory    []Segment      `json:"shared_memory"`
	RootFS          []RootFSChange `json:"rootfs"`
	// Deleted compares deleted.files: paths the container deleted from its
	// image.
	Deleted []PathChange `json:"deleted_files"`
}

// FieldChange is one field whose value differs. Old and New are numbers,
// strings, booleans or lists of them, always the same type for one field.
type FieldChange struct {
	Field string `json:"field"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
}

// Process is one process of A, B or both. A pid held by the same process
// in both is one entry; a pid held by different processes is two entries,
// removed then added.
type Process struct {
	PID    uint32 `json:"pid"`
	Change string `json:"change"` // changed, unchanged, added, removed
	// Reason says why a process is added or removed: new, exited,
	// pid_reused, exec. Empty for matched processes.
	Reason string `json:"reason"`
	// Comm, Exe, PPID and Cmdline are B's (A's for a removed process).
	Comm    string   `json:"comm"`
	Exe     string   `json:"exe"`
	PPID    uint32   `json:"ppid"`
	Cmdline []string `json:"cmdline"`
	// Info sums up an added or removed process; nil for matched ones.
	Info *ProcessInfo `json:"info"`
	// Fields are the changed attributes of a matched process (comm, state,
	// ppid, credentials, cwd, ...).
	Fields []FieldChange `json:"fields"`
	// CmdlineChange is set when the argument area changed.
	CmdlineChange *ArgsChange    `json:"cmdline_change"`
	Env           []EnvChange    `json:"env"`
	Threads       []ThreadChange `json:"threads"`
	Files         []FileChange   `json:"files"`
	Sockets       []SocketChange `json:"sockets"`
	Maps          []MapChange    `json:"maps"`
	// Pages compares the dumped memory page by page; nil when a side has no
	// pages for the process (a zombie, or a missing pages image: see the
	// warnings).
	Pages *PageDiff `json:"pages"`
}

// ProcessInfo describes an added or removed process.
type ProcessInfo struct {
	State        string `json:"state"`
	Threads      int    `json:"threads"`
	FDs          int    `json:"fds"`
	Sockets      int    `json:"sockets"`
	Mappings     int    `json:"mappings"`
	Virtual      int64  `json:"virtual_bytes"`
	PresentBytes int64  `json:"present_bytes"` // memory in the dump
}

// ArgsChange is a command line that differs.
type ArgsChange struct {
	Old []string `json:"old"`
	New []string `json:"new"`
	// OldComplete and NewComplete are false when part of the argument area
	// was not in the dump.
	OldComplete bool `json:"old_complete"`
	NewComplete bool `json:"new_complete"`
}

// EnvChange is an environment variable added, removed or changed.
type EnvChange struct {
	Name string `json:"name"`
	// Occurrence tells apart a name set more than once (execve allows it):
	// 1 for the first.
	Occurrence int    `json:"occurrence"`
	Change     string `json:"change"`
	// Old and New are the values, filled only when Report.EnvValuesShown.
	Old string `json:"old"`
	New string `json:"new"`
}

// ThreadChange is a thread added, removed or changed (renamed, new state).
type ThreadChange struct {
	TID    uint32        `json:"tid"`
	Change string        `json:"change"`
	Comm   string        `json:"comm"`
	Fields []FieldChange `json:"fields"`
}

// FileChange is a file descriptor (other than a socket) added, removed,
// replaced (now open on another object) or changed (position, size, flags,
// queued pipe data).
type FileChange struct {
	FD     uint32 `json:"fd"`
	Change string `json:"change"`
	Kind   string `json:"kind"`
	// Target is what the descriptor is open on: a path, pipe:[inode], or
	// the description of other kinds.
	Target string        `json:"target"`
	Fields []FieldChange `json:"fields"`
}

// SocketChange is a socket descriptor added, removed, replaced (another
// socket at the same fd) or changed (state, addresses, queued bytes).
type SocketChange struct {
	FD     uint32        `json:"fd"`
	Change string        `json:"change"`
	Inode  uint32        `json:"inode"`
	Family string        `json:"family"`
	Type   string        `json:"type"`
	Proto  string        `json:"proto"`
	State  string        `json:"state"`
	Local  string        `json:"local"`
	Remote string        `json:"remote"`
	Fields []FieldChange `json:"fields"`
}

// MapChange is a memory mapping added, removed, resized (same backing, an
// edge moved) or changed (permissions, offset, backing file).
type MapChange struct {
	Change string `json:"change"`
	// Start, End, Perms, Kind and File are B's (A's for a removed mapping).
	Start  uint64        `json:"start"`
	End    uint64        `json:"end"`
	Perms  string        `json:"perms"`
	Kind   string        `json:"kind"`
	File   string        `json:"file"`
	Fields []FieldChange `json:"fields"`
}

// PageDiff compares the memory pages a process (or a shared memory
// segment) has in the two dumps, by a hash of each page's content. Counts
// are pages of 4096 bytes.
type PageDiff struct {
	Unchanged uint64 `json:"unchanged"`
	Changed   uint64 `json:"changed"`
	Added     uint64 `json:"added"`   // in B's dump only
	Removed   uint64 `json:"removed"` // in A's dump only
	// NotComparable are pages one side holds only in a parent (pre-dump)
	// image or as lazy pages: their content is not in that archive.
	NotComparable uint64 `json:"not_comparable"`
	// Runs are the changed, added and removed pages as address ranges, in
	// address order, split where the mapping changes.
	Runs []PageRun `json:"runs"`
}

// PageRun is a stretch of contiguous pages with the same change.
type PageRun struct {
	Start  uint64 `json:"start"`
	End    uint64 `json:"end"`
	Pages  uint64 `json:"pages"`
	Change string `json:"change"`
	// Mapping names the mapping that holds the run (its file, or [heap],
	// [stack], [anon]); empty for shared memory segments.
	Mapping string `json:"mapping"`
}

// Segment is an anonymous shared memory segment (pagemap-shmem-ID.img),
// whose pages CRIU dumps once for all the processes that share it.
// Addresses in its Pages are offsets into the segment.
type Segment struct {
	ID     uint64    `json:"shmid"`
	Change string    `json:"change"`
	Pages  *PageDiff `json:"pages"`
}

// RootFSChange is a file of the rootfs diff added, removed or changed.
type RootFSChange struct {
	Path   string        `json:"path"`
	Change string        `json:"change"`
	Type   string        `json:"type"`
	Size   int64         `json:"size"`
	Mode   uint32        `json:"mode"`
	Fields []FieldChange `json:"fields"`
}

// PathChange is a path added to or removed from a list.
type PathChange struct {
	Path   string `json:"path"`
	Change string `json:"change"`
}

// Summary counts the changes of every container.
type Summary struct {
	Containers Counts     `json:"containers"`
	Processes  Counts     `json:"processes"`
	Threads    Counts     `json:"threads"`
	Files      Counts     `json:"files"`
	Sockets    Counts     `json:"sockets"`
	Maps       Counts     `json:"maps"`
	Env        Counts     `json:"env"`
	Cmdlines   int        `json:"cmdlines_changed"`
	Pages      PageCounts `json:"pages"`
	RootFS     Counts     `json:"rootfs"`
	Deleted    Counts     `json:"deleted_files"`
}

// Counts count changes of one kind of object. Objects of processes (or
// containers) on one side only are not counted: an added process counts
// once, under Processes, not with its threads and files.
type Counts struct {
	Added     int `json:"added"`
	Removed   int `json:"removed"`
	Changed   int `json:"changed"` // resized mappings included
	Replaced  int `json:"replaced"`
	Unchanged int `json:"unchanged"`
}

// PageCounts total the page comparisons of matched processes and shared
// memory segments.
type PageCounts struct {
	Unchanged     uint64 `json:"unchanged"`
	Changed       uint64 `json:"changed"`
	Added         uint64 `json:"added"`
	Removed       uint64 `json:"removed"`
	NotComparable uint64 `json:"not_comparable"`
}

func (c *Counts) add(change string) {
	switch change {
	case Added:
		c.Added++
	case Removed:
		c.Removed++
	case Changed, Resized:
		c.Changed++
	case Replaced:
		c.Replaced++
	case Unchanged:
		c.Unchanged++
	}
}

func (c Counts) any() bool { return c.Added+c.Removed+c.Changed+c.Replaced > 0 }

func (p PageCounts) any() bool { return p.Changed+p.Added+p.Removed > 0 }
