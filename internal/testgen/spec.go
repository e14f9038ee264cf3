package testgen

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Engines, named as archive.Identity names them.
const (
	EngineCRIO       = "CRI-O"
	EngineContainerd = "containerd"
	EnginePodman     = "Podman"
)

// ParseEngine accepts an engine name in any case, with or without the dash
// of CRI-O.
func ParseEngine(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "cri-o", "crio", "kubelet":
		return EngineCRIO, nil
	case "containerd":
		return EngineContainerd, nil
	case "podman", "libpod":
		return EnginePodman, nil
	}
	return "", fmt.Errorf("unknown engine %q (want cri-o, containerd or podman)", s)
}

// Spec describes the archive to write. The zero value is a valid spec: a
// CRI-O archive of one single-threaded process with stdio only and the
// fixed pages every process has (about 100 KiB). Slices that are nil get
// defaults; give an empty, non-nil slice for none.
type Spec struct {
	// Engine is EngineCRIO (the default), EngineContainerd or EnginePodman.
	Engine string
	// Seed makes addresses, ids and page contents; the same Spec gives the
	// same bytes.
	Seed int64

	// Processes is the number of processes (default 1). Process i's parent
	// is process (i-1)/2; process 0 is the container's init.
	Processes int
	// ThreadsPerProcess counts the leader (default 1).
	ThreadsPerProcess int
	// Zombies makes the last Zombies processes zombies: a core image with
	// task state "dead", as CRIU writes for zombies, and no memory or files.
	// They must be leaves: at most Processes-Processes/2, and never init.
	Zombies int
	// FirstPID is the pid of process 0 (default 1: the container has its
	// own pid namespace).
	FirstPID int
	// Comms names the processes by index; missing ones are derived from
	// Cmdline[0] (process 0) and "<comm>-<i>" (the others). Worker threads
	// are "worker-<j>".
	Comms []string

	// PageBytes is the total size of the pages images across processes.
	// It is met exactly (rounded up to a page) when it exceeds the fixed
	// pages each process has; the rest is anonymous memory split evenly.
	PageBytes int64
	// Fill chooses the content of the pages that hold nothing planted.
	Fill FillKind
	// MaxRunPages caps the pages of one pagemap entry in the anonymous
	// memory (default 256); runs are 1..MaxRunPages pages, separated by
	// unmapped holes now and then.
	MaxRunPages int
	// MappingPages caps the pages (with holes) of one anonymous mapping of
	// the bulk memory (default 16384, 64 MiB). A small cap makes many
	// mappings: MaxRunPages 1 and MappingPages 1 give one mapping per page.
	MappingPages int
	// ParentEntries adds, per process, that many PE_PARENT entries: pages
	// that a pre-dump holds, absent from this dump's pages image.
	ParentEntries int
	// Markers are byte strings planted in the memory pages.
	Markers []Marker

	// Cmdline is the argv of every process; Env its environment ("K=V"),
	// laid out at the top of the stack as the kernel does.
	Cmdline []string
	Env     []string
	// UID and GID of every process (credentials and spec.dump).
	UID, GID uint32
	// Cwd is the working directory (default "/").
	Cwd string

	// Files are regular files open in process 0, from fd 3 on.
	Files []OpenFile
	// Pipes, UnixPairs and TCP connect process 0 with the first other live
	// process (or with itself when there is none), carrying unread data.
	Pipes     []Pipe
	UnixPairs []UnixPair
	TCP       []TCPConn
	// SpecialFDs adds an eventfd, an epoll watching it and a timerfd to
	// process 0.
	SpecialFDs bool

	// RootFS are the files of rootfs-diff.tar (parent directories are
	// added); Deleted the paths of deleted.files (whiteouts in
	// containerd's diff).
	RootFS  []File
	Deleted []string
	// Logs is the container log, written verbatim (ctr.log for Podman,
	// container.log for containerd; CRI-O archives carry none, so Logs is
	// refused for CRI-O).
	Logs []byte

	// Identity. Empty fields get deterministic defaults.
	Namespace   string
	Pod         string
	PodUID      string
	Container   string
	ContainerID string
	Image       string
	Runtime     string // the OCI runtime: runc (default) or crun
	IP          string
	Host        string // the node, in dump.log
	Kernel      string // the node's kernel release, in dump.log
	Created     time.Time
	// Checkpointed is the time of the dump; also every member's mtime.
	Checkpointed time.Time

	// Order is the order of the tar members: the runtimes' (CRIU's sorted
	// checkpoint directory, the default), or another a valid archive may
	// have (GNU tar stores a directory in readdir order).
	Order Order

	// Break damages the archive on purpose.
	Break Break
}

// Order is an order of the tar members.
type Order int

const (
	// OrderRuntime is the order the engine's runtime writes.
	OrderRuntime Order = iota
	// OrderReverse is that order reversed: every pages image comes before
	// its pagemap and mm.
	OrderReverse
	// OrderShuffled is a shuffle seeded by Spec.Seed.
	OrderShuffled
)

var orderNames = [...]string{"runtime", "reverse", "shuffled"}

func (o Order) String() string { return enumName(o, orderNames[:], "Order") }

// ParseOrder returns the Order called s.
func ParseOrder(s string) (Order, error) { return parseEnum[Order](s, orderNames[:], "order") }

// FillKind is what ordinary memory pages hold.
type FillKind int

const (
	// FillRandom is incompressible pseudo-random data.
	FillRandom FillKind = iota
	// FillPattern starts each page with "testgen pid=P vaddr=0x...\n" and
	// fills the rest with byte (page*31+j)&0xff, like the fixtures' bigmem.
	// It compresses several hundred to one.
	FillPattern
	// FillZeros is zero pages. Compressed, they exceed the 1000:1 ratio
	// that archive readers treat as a decompression bomb.
	FillZeros
	// FillText is log-like ASCII lines, compressing about 4:1.
	FillText
)

var fillNames = [...]string{"random", "pattern", "zeros", "text"}

func (f FillKind) String() string { return enumName(f, fillNames[:], "FillKind") }

// ParseFill returns the FillKind called s.
func ParseFill(s string) (FillKind, error) { return parseEnum[FillKind](s, fillNames[:], "fill") }

// Region is where a marker without an explicit address goes.
type Region int

const (
	// RegionHeap packs markers from near the start of the brk heap, as
	// malloc would (the default).
	RegionHeap Region = iota
	// RegionAnon spreads markers evenly through the process's bulk
	// anonymous memory, so that they sit far from the start of a large
	// pages image.
	RegionAnon
)

// Straddle makes a marker cross a boundary, for testing readers that must
// find matches across it.
type Straddle int

const (
	StraddleNone Straddle = iota
	// StraddlePage puts a page boundary inside the marker.
	StraddlePage
	// StraddleEntry puts the boundary between two pagemap entries that are
	// contiguous in memory inside the marker.
	StraddleEntry
)

// Marker is a byte string planted in one process's memory.
type Marker struct {
	Data []byte
	// Process is the index of the process (0 is init).
	Process int
	Region  Region
	// Vaddr, when not zero, is the exact address; it must lie in pages
	// present in the dump.
	Vaddr    uint64
	Straddle Straddle
}

// OpenFile is a regular file open in process 0.
type OpenFile struct {
	Path  string
	Flags uint32 // open flags, e.g. O_RDWR (2)
	Pos   uint64
	Size  uint64
	// Lock holds an exclusive flock on it (filelocks.img).
	Lock bool
}

// Pipe is a pipe whose read end is in process 0 and write end in its
// partner, with Data written and not yet read (pipes-data.img).
type Pipe struct{ Data []byte }

// UnixPair is a connected stream socketpair: end A in process 0, end B in
// its partner, each with data queued for it (sk-queues.img).
type UnixPair struct{ ToA, ToB []byte }

// TCPConn is a TCP server listening on 127.0.0.1:Port in process 0 with one
// accepted connection from a client in its partner; each side has unread
// data in its receive queue (tcp-stream-<inode>.img).
type TCPConn struct {
	Port               uint16
	ToServer, ToClient []byte
}

// File is a regular file of the rootfs diff.
type File struct {
	Path    string // absolute or relative to the container's root
	Content []byte
	Mode    int64 // permission bits; default 0644
}

// Break lists the damage to do. The zero value does none.
type Break struct {
	// Omit leaves out the named members ("checkpoint/pstree.img",
	// "spec.dump", "checkpoint/pages-1.img").
	Omit []string
	// CorruptLength sets the length prefix of the first entry of the named
	// image member to 0xfffffff0.
	CorruptLength string
	// UnknownMagic replaces the magic of the named image member.
	UnknownMagic string
	// PagemapPastEnd makes the last present entry of process 0's pagemap
	// claim 16 pages more than its pages image holds.
	PagemapPastEnd bool
	// OverlapPagemap moves one entry of process 0's pagemap back so that it
	// overlaps the one before (the pages image keeps its size).
	OverlapPagemap bool
	// PagesBeforePagemap writes each pages-N.img member before the
	// pagemap image that indexes it.
	PagesBeforePagemap bool
}

// errSpec wraps every complaint about a Spec.
var errSpec = errors.New("testgen: invalid spec")

func specErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errSpec, fmt.Sprintf(format, args...))
}

// enumName is v's name in names, or "typ(v)" for a value without one.
func enumName[T ~int](v T, names []string, typ string) string {
	if v >= 0 && int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", typ, int(v))
}

// parseEnum returns the value named s in names, in any case; the error
// lists the names.
func parseEnum[T ~int](s string, names []string, what string) (T, error) {
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return T(i), nil
		}
	}
	last := len(names) - 1
	return 0, fmt.Errorf("unknown %s %q (want %s or %s)", what, s, strings.Join(names[:last], ", "), names[last])
}
