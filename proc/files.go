package proc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/fdinfo"
	ghost_file "github.com/checkpoint-restore/go-criu/v8/crit/images/ghost-file"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/memfd"
	pipe_data "github.com/checkpoint-restore/go-criu/v8/crit/images/pipe-data"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/regfile"
	remap_file_path "github.com/checkpoint-restore/go-criu/v8/crit/images/remap-file-path"
	sk_packet "github.com/checkpoint-restore/go-criu/v8/crit/images/sk-packet"
	tcp_stream "github.com/checkpoint-restore/go-criu/v8/crit/images/tcp-stream"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/tty"

	"github.com/ckpt-dev/ckpt/criu"
)

// File is an open file description: what one or more descriptors, in one
// or more processes, refer to.
type File struct {
	ID    uint32 `json:"id"`
	Kind  string `json:"kind"` // file, dir, pipe, fifo, socket, eventfd, epoll, timerfd, signalfd, tty, memfd, inotify, fanotify, tun, namespace, bpf-map, pidfd, external
	Path  string `json:"path,omitempty"`
	Flags string `json:"flags,omitempty"` // open flags: O_RDWR | O_APPEND ...
	Pos   uint64 `json:"pos"`
	Size  uint64 `json:"size"`
	Mode  uint32 `json:"mode"`
	// Deleted is set for files unlinked while open: CRIU saved their
	// content ("ghost") or a link to them.
	Deleted     bool   `json:"deleted"`
	GhostBytes  int64  `json:"ghost_bytes"`
	Pipe        *Pipe  `json:"pipe,omitempty"`
	Socket      *Sock  `json:"socket,omitempty"`
	Description string `json:"description"` // one line for people
}

// Pipe is the pipe behind a pipe or FIFO description.
type Pipe struct {
	Inode uint32 `json:"inode"`
	End   string `json:"end"` // read or write
	// Queued is what was written and not yet read, saved in pipes-data.img.
	Queued int64 `json:"queued_bytes"`
}

// FD is a file descriptor of a process.
type FD struct {
	FD      uint32 `json:"fd"`
	CloExec bool   `json:"cloexec"`
	File    *File  `json:"file"`
}

// FileTable resolves file ids to descriptions, for one checkpoint. One
// built without descriptors (BuildOptions.NoFDs) describes files as they
// are first asked for, so it is not for concurrent use.
type FileTable struct {
	byID map[uint32]*File
	// raw holds, in a table built without descriptors, the files.img
	// entries not yet described: a report without them asks for a few
	// (working directories, executables, mapped files) of what may be
	// 100,000 open files.
	raw    map[uint32]*fdinfo.FileEntry
	images *criu.ImageSet
	q      queues
	// flags holds the names of each set of open flags seen: a container
	// opens its many files with a few, and naming them anew for each
	// file was a fifth of the time on 100,000 descriptors.
	flags map[uint32]string
}

// NewFileTable reads files.img (or the per-type images of old CRIU) and
// the queue images that go with them.
func NewFileTable(images *criu.ImageSet) (*FileTable, error) {
	return newFileTable(images, false)
}

// newFileTable reads the file images; a lazy table describes each file
// when first asked for, and holds images until then.
func newFileTable(images *criu.ImageSet, lazy bool) (*FileTable, error) {
	entries := criu.All[*fdinfo.FileEntry](images, "files.img")
	ft := &FileTable{byID: map[uint32]*File{}, flags: map[uint32]string{}, images: images, q: queuesOf(images)}
	if lazy {
		ft.raw = make(map[uint32]*fdinfo.FileEntry, len(entries))
	} else {
		ft.byID = make(map[uint32]*File, len(entries))
	}
	for _, e := range entries {
		if lazy {
			// A later entry with the same id replaces an earlier one,
			// as when described at once.
			ft.raw[describedID(e)] = e
			continue
		}
		f := ft.describe(images, e, ft.q)
		ft.byID[f.ID] = f
	}
	// CRIU before 3.x wrote regular files to their own image.
	for _, r := range criu.All[*regfile.RegFileEntry](images, "reg-files.img") {
		if !ft.has(r.GetId()) {
			ft.byID[r.GetId()] = ft.regular(r)
		}
	}
	for _, rm := range criu.All[*remap_file_path.RemapFilePathEntry](images, "remap-fpath.img") {
		f := ft.Get(rm.GetOrigId())
		if f == nil {
			continue
		}
		switch rm.GetRemapType() {
		case remap_file_path.RemapType_GHOST:
			f.Deleted = true
			if img := images.Get(fmt.Sprintf("ghost-file-%d.img", rm.GetRemapId())); img != nil {
				f.GhostBytes = img.PayloadBytes
				if g, ok := img.Entries[0].(*ghost_file.GhostFileEntry); ok && g.Size != nil {
					f.GhostBytes = int64(g.GetSize())
				}
			}
			f.Description += fmt.Sprintf(" (deleted; %d bytes saved in the checkpoint)", f.GhostBytes)
		case remap_file_path.RemapType_LINKED:
			f.Deleted = true
			f.Description += " (deleted; kept through a link)"
		}
	}
	return ft, nil
}

// Get returns the description with id, or nil.
func (ft *FileTable) Get(id uint32) *File {
	if f := ft.byID[id]; f != nil {
		return f
	}
	e := ft.raw[id]
	if e == nil {
		return nil
	}
	delete(ft.raw, id)
	f := ft.describe(ft.images, e, ft.q)
	ft.byID[id] = f
	return f
}

// has reports whether the table has a description with id, described or not.
func (ft *FileTable) has(id uint32) bool { return ft.byID[id] != nil || ft.raw[id] != nil }

// Path returns the path of a regular file or directory description, for
// cwd, root and the executable.
func (ft *FileTable) Path(id uint32) string {
	if f := ft.Get(id); f != nil {
		return f.Path
	}
	return fmt.Sprintf("(file %d not in files.img)", id)
}

// All returns every description, by id.
func (ft *FileTable) All() []*File {
	for id := range ft.raw {
		ft.Get(id)
	}
	out := make([]*File, 0, len(ft.byID))
	for _, f := range ft.byID {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *File) int { return int(a.ID) - int(b.ID) })
	return out
}

// FDs lists the descriptors of p, from fdinfo-<files_id>.img.
func (ft *FileTable) FDs(images *criu.ImageSet, p *Process) ([]FD, error) {
	return ft.fds(images, p, true)
}

// fds lists the descriptors of p, or with keep false only checks that
// each refers to a file the table has.
func (ft *FileTable) fds(images *criu.ImageSet, p *Process, keep bool) ([]FD, error) {
	if p.IDs == nil {
		return []FD{}, nil
	}
	name := fmt.Sprintf("fdinfo-%d.img", p.IDs.GetFilesId())
	entries := criu.All[*fdinfo.FdinfoEntry](images, name)
	fds := []FD{}
	if keep {
		fds = make([]FD, 0, len(entries))
	}
	for _, e := range entries {
		if !ft.has(e.GetId()) {
			return nil, fmt.Errorf("%s: fd %d of pid %d refers to file %d, which files.img does not have", name, e.GetFd(), p.PID, e.GetId())
		}
		if keep {
			fds = append(fds, FD{FD: e.GetFd(), CloExec: e.GetFlags()&1 != 0, File: ft.Get(e.GetId())})
		}
	}
	slices.SortFunc(fds, func(a, b FD) int { return int(a.FD) - int(b.FD) })
	return fds, nil
}

// queues holds what the queue images say is buffered, per object.
type queues struct {
	pipe   map[uint32]int64 // pipe inode -> bytes
	socket map[uint32]int64 // socket id -> bytes (unix and packet)
	tcp    map[uint32][2]int64
}

func queuesOf(images *criu.ImageSet) queues {
	q := queues{pipe: map[uint32]int64{}, socket: map[uint32]int64{}, tcp: map[uint32][2]int64{}}
	for _, name := range []string{"pipes-data.img", "fifo-data.img"} {
		for _, d := range criu.All[*pipe_data.PipeDataEntry](images, name) {
			q.pipe[d.GetPipeId()] += int64(d.GetBytes())
		}
	}
	for _, s := range criu.All[*sk_packet.SkPacketEntry](images, "sk-queues.img") {
		q.socket[s.GetIdFor()] += int64(s.GetLength())
	}
	for _, name := range images.Names() {
		var ino uint32
		if _, err := fmt.Sscanf(name, "tcp-stream-%x.img", &ino); err == nil {
			if t := criu.First[*tcp_stream.TcpStreamEntry](images, name); t != nil {
				q.tcp[ino] = [2]int64{int64(t.GetInqLen()), int64(t.GetOutqLen())}
			}
		}
	}
	return q
}

// openFlags names flags, once for each set of them.
func (ft *FileTable) openFlags(flags uint32) string {
	s, ok := ft.flags[flags]
	if !ok {
		s = openFlags(flags)
		ft.flags[flags] = s
	}
	return s
}

func (ft *FileTable) regular(r *regfile.RegFileEntry) *File {
	f := &File{ID: r.GetId(), Kind: "file", Path: r.GetName(), Flags: ft.openFlags(r.GetFlags()), Pos: r.GetPos(), Size: r.GetSize(), Mode: r.GetMode()}
	switch r.GetMode() & 0o170000 {
	case 0o040000:
		f.Kind = "dir"
	case 0o020000:
		f.Kind = "chardev"
	}
	f.Description = f.Path
	if f.Kind == "file" {
		// As "%s (%s, pos %d, size %d)", without fmt's cost per file.
		f.Description = f.Path + " (" + accessMode(r.GetFlags()) + ", pos " + strconv.FormatUint(f.Pos, 10) + ", size " + strconv.FormatUint(f.Size, 10) + ")"
	}
	return f
}

// describedID is the ID of the File that describe makes of e.
func describedID(e *fdinfo.FileEntry) uint32 {
	switch {
	case e.GetType() == fdinfo.FdTypes_REG && e.GetReg() != nil:
		return e.GetReg().GetId()
	case e.GetType() == fdinfo.FdTypes_TTY:
		return e.GetTty().GetId()
	}
	return e.GetId()
}

// describe turns a files.img entry into a File; its ID is describedID(e).
func (ft *FileTable) describe(images *criu.ImageSet, e *fdinfo.FileEntry, q queues) *File {
	id := e.GetId()
	switch e.GetType() {
	case fdinfo.FdTypes_REG:
		if e.GetReg() != nil {
			return ft.regular(e.GetReg())
		}
	case fdinfo.FdTypes_PIPE:
		p := e.GetPipe()
		return pipeFile(id, "pipe", "", p.GetPipeId(), p.GetFlags(), q)
	case fdinfo.FdTypes_FIFO:
		f := e.GetFifo()
		path := ""
		if r := findReg(images, f.GetRegfId()); r != nil {
			path = r.GetName()
			return pipeFile(id, "fifo", path, f.GetPipeId(), r.GetFlags(), q)
		}
		return pipeFile(id, "fifo", path, f.GetPipeId(), 0, q)
	case fdinfo.FdTypes_INETSK, fdinfo.FdTypes_UNIXSK, fdinfo.FdTypes_PACKETSK, fdinfo.FdTypes_NETLINKSK:
		s := socketOf(e, q)
		return &File{ID: id, Kind: "socket", Socket: s, Description: s.Description}
	case fdinfo.FdTypes_EVENTFD:
		ev := e.GetEfd()
		return &File{ID: id, Kind: "eventfd", Description: fmt.Sprintf("eventfd (counter %d)", ev.GetCounter())}
	case fdinfo.FdTypes_EVENTPOLL:
		var targets []string
		for _, t := range e.GetEpfd().GetTfd() {
			targets = append(targets, fmt.Sprint(t.GetTfd()))
		}
		return &File{ID: id, Kind: "epoll", Description: fmt.Sprintf("epoll watching fds [%s]", strings.Join(targets, " "))}
	case fdinfo.FdTypes_TIMERFD:
		t := e.GetTfd()
		return &File{ID: id, Kind: "timerfd", Description: fmt.Sprintf("timerfd (%s, interval %d.%09ds, next %d.%09ds)", clockName(t.GetClockid()), t.GetIsec(), t.GetInsec(), t.GetVsec(), t.GetVnsec())}
	case fdinfo.FdTypes_SIGNALFD:
		return &File{ID: id, Kind: "signalfd", Description: fmt.Sprintf("signalfd (mask %#x)", e.GetSgfd().GetSigmask())}
	case fdinfo.FdTypes_TTY:
		return ttyFile(images, e.GetTty())
	case fdinfo.FdTypes_MEMFD:
		m := e.GetMemfd()
		f := &File{ID: id, Kind: "memfd", Flags: ft.openFlags(m.GetFlags()), Pos: m.GetPos()}
		for _, in := range criu.All[*memfd.MemfdInodeEntry](images, "memfd.img") {
			if uint32(in.GetInodeId()) == m.GetInodeId() {
				f.Path, f.Size = "memfd:"+in.GetName(), in.GetSize()
			}
		}
		f.Description = fmt.Sprintf("%s (size %d)", f.Path, f.Size)
		return f
	case fdinfo.FdTypes_INOTIFY:
		return &File{ID: id, Kind: "inotify", Description: fmt.Sprintf("inotify (%d watches)", len(e.GetIfy().GetWd()))}
	case fdinfo.FdTypes_FANOTIFY:
		return &File{ID: id, Kind: "fanotify", Description: fmt.Sprintf("fanotify (%d marks)", len(e.GetFfy().GetMark()))}
	case fdinfo.FdTypes_TUNF:
		return &File{ID: id, Kind: "tun", Description: "tun " + e.GetTunf().GetNetdev()}
	case fdinfo.FdTypes_NS:
		return &File{ID: id, Kind: "namespace", Description: fmt.Sprintf("namespace %d (type %#x)", e.GetNsf().GetNsId(), e.GetNsf().GetNsCflag())}
	case fdinfo.FdTypes_BPFMAP:
		b := e.GetBpf()
		return &File{ID: id, Kind: "bpf-map", Description: fmt.Sprintf("bpf map %d (type %d)", b.GetMapId(), b.GetMapType())}
	case fdinfo.FdTypes_PIDFD:
		return &File{ID: id, Kind: "pidfd", Description: fmt.Sprintf("pidfd (pid %d)", e.GetPidfd().GetNspid())}
	case fdinfo.FdTypes_EXT:
		return &File{ID: id, Kind: "external", Description: "external file (restored by a plugin)"}
	}
	return &File{ID: id, Kind: strings.ToLower(e.GetType().String()), Description: e.GetType().String()}
}

func pipeFile(id uint32, kind, path string, ino, flags uint32, q queues) *File {
	end := "read"
	if flags&3 != 0 {
		end = "write"
	}
	p := &Pipe{Inode: ino, End: end, Queued: q.pipe[ino]}
	desc := fmt.Sprintf("%s:[%d] %s end", kind, ino, end)
	if path != "" {
		desc = fmt.Sprintf("fifo %s [%d] %s end", path, ino, end)
	}
	if p.Queued > 0 {
		desc += fmt.Sprintf(", %d bytes queued", p.Queued)
	}
	return &File{ID: id, Kind: kind, Path: path, Pipe: p, Description: desc}
}

func ttyFile(images *criu.ImageSet, t *tty.TtyFileEntry) *File {
	f := &File{ID: t.GetId(), Kind: "tty", Description: "tty"}
	for _, info := range criu.All[*tty.TtyInfoEntry](images, "tty-info.img") {
		if info.GetId() == t.GetTtyInfoId() {
			f.Description = fmt.Sprintf("tty %s", strings.ToLower(info.GetType().String()))
			if info.GetPty() != nil {
				f.Path = fmt.Sprintf("/dev/pts/%d", info.GetPty().GetIndex())
				f.Description += " " + f.Path
			}
		}
	}
	return f
}

func findReg(images *criu.ImageSet, id uint32) *regfile.RegFileEntry {
	for _, e := range criu.All[*fdinfo.FileEntry](images, "files.img") {
		if e.GetId() == id && e.GetReg() != nil {
			return e.GetReg()
		}
	}
	return nil
}

// openFlags names the flags of an open file, as crit does.
func openFlags(flags uint32) string {
	names := []string{}
	switch flags & 3 {
	case 0:
		names = append(names, "O_RDONLY")
	case 1:
		names = append(names, "O_WRONLY")
	case 2:
		names = append(names, "O_RDWR")
	}
	for _, f := range []struct {
		bit  uint32
		name string
	}{{0o2000, "O_APPEND"}, {0o4000, "O_NONBLOCK"}, {0o10000, "O_DSYNC"}, {0o40000, "O_DIRECT"}, {0o100000, "O_LARGEFILE"}, {0o200000, "O_DIRECTORY"}, {0o400000, "O_NOFOLLOW"}, {0o1000000, "O_NOATIME"}, {0o2000000, "O_CLOEXEC"}, {0o4000000, "O_SYNC"}, {0o10000000, "O_PATH"}} {
		if flags&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, " | ")
}

func accessMode(flags uint32) string {
	switch flags & 3 {
	case 1:
		return "write-only"
	case 2:
		return "read-write"
	}
	return "read-only"
}

func clockName(id uint32) string {
	switch id {
	case 0:
		return "CLOCK_REALTIME"
	case 1:
		return "CLOCK_MONOTONIC"
	case 7:
		return "CLOCK_BOOTTIME"
	case 8:
		return "CLOCK_REALTIME_ALARM"
	case 9:
		return "CLOCK_BOOTTIME_ALARM"
	}
	return fmt.Sprintf("clock %d", id)
}
