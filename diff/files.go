package diff

import (
	"fmt"

	"github.com/ckpt-dev/ckpt/proc"
)

// Descriptors are matched by number. A descriptor open on another object
// than before (another path, pipe or socket) is "replaced"; one open on the
// same object with another position, size, flags or queue is "changed". A
// descriptor that went from a file to a socket (or back) shows as removed
// from one list and added to the other.

// compareFDs compares the descriptors of a matched process.
func compareFDs(a, b []proc.FD, fileSum, sockSum *Counts) ([]FileChange, []SocketChange) {
	files, socks := []FileChange{}, []SocketChange{}
	addFile := func(fd proc.FD, change string) {
		files = append(files, FileChange{FD: fd.FD, Change: change, Kind: fd.File.Kind, Target: target(fd.File), Fields: []FieldChange{}})
		fileSum.add(change)
	}
	addSock := func(fd proc.FD, change string) {
		socks = append(socks, sockChange(fd, change, []FieldChange{}))
		sockSum.add(change)
	}
	one := func(fd proc.FD, change string) {
		if fd.File.Socket != nil {
			addSock(fd, change)
		} else {
			addFile(fd, change)
		}
	}
	merge(a, b, func(fd proc.FD) uint32 { return fd.FD }, func(fa, fb *proc.FD) {
		switch {
		case fb == nil:
			one(*fa, Removed)
		case fa == nil:
			one(*fb, Added)
		case (fa.File.Socket != nil) != (fb.File.Socket != nil):
			one(*fa, Removed)
			one(*fb, Added)
		case fa.File.Socket != nil:
			change, f := compareSocket(fa, fb)
			sockSum.add(change)
			if change != Unchanged {
				socks = append(socks, sockChange(*fb, change, f))
			}
		default:
			change, f := compareFile(fa, fb)
			fileSum.add(change)
			if change != Unchanged {
				files = append(files, FileChange{FD: fb.FD, Change: change, Kind: fb.File.Kind, Target: target(fb.File), Fields: f})
			}
		}
	})
	return files, socks
}

// target names what a descriptor is open on.
func target(f *proc.File) string {
	switch f.Kind {
	case "pipe":
		if f.Pipe != nil {
			return fmt.Sprintf("pipe:[%d] %s end", f.Pipe.Inode, f.Pipe.End)
		}
	case "file", "dir", "chardev", "fifo", "memfd", "tty":
		if f.Path != "" {
			return f.Path
		}
	}
	return f.Kind
}

// stateful kinds have no path; their description carries their state
// (an eventfd's counter, the fds an epoll watches).
func stateful(kind string) bool {
	switch kind {
	case "file", "dir", "chardev", "fifo", "memfd", "tty", "pipe", "socket":
		return false
	}
	return true
}

func compareFile(a, b *proc.FD) (string, []FieldChange) {
	fa, fb := a.File, b.File
	return classify(func(f *fields) {
		f.cmp("kind", fa.Kind, fb.Kind)
		f.cmp("target", target(fa), target(fb))
	}, func(f *fields) {
		f.cmp("pos", fa.Pos, fb.Pos)
		f.cmp("size", fa.Size, fb.Size)
		f.cmp("flags", fa.Flags, fb.Flags)
		f.cmp("mode", fa.Mode, fb.Mode)
		f.cmp("deleted", fa.Deleted, fb.Deleted)
		f.cmp("ghost_bytes", fa.GhostBytes, fb.GhostBytes)
		f.cmp("cloexec", a.CloExec, b.CloExec)
		if fa.Pipe != nil && fb.Pipe != nil {
			f.cmp("queued_bytes", fa.Pipe.Queued, fb.Pipe.Queued)
		}
		if stateful(fa.Kind) {
			f.cmp("description", fa.Description, fb.Description)
		}
	})
}

func compareSocket(a, b *proc.FD) (string, []FieldChange) {
	sa, sb := a.File.Socket, b.File.Socket
	return classify(func(f *fields) {
		f.cmp("family", sa.Family, sb.Family)
		f.cmp("type", sa.Type, sb.Type)
		f.cmp("inode", sa.Inode, sb.Inode)
	}, func(f *fields) {
		f.cmp("proto", sa.Proto, sb.Proto)
		f.cmp("state", sa.State, sb.State)
		f.cmp("local", sa.Local, sb.Local)
		f.cmp("remote", sa.Remote, sb.Remote)
		f.cmp("peer_inode", sa.Peer, sb.Peer)
		f.cmp("recv_queue_bytes", sa.RecvQueue, sb.RecvQueue)
		f.cmp("send_queue_bytes", sa.SendQueue, sb.SendQueue)
		f.cmp("send_buffer", sa.SendBuffer, sb.SendBuffer)
		f.cmp("recv_buffer", sa.RecvBuffer, sb.RecvBuffer)
		f.cmp("cloexec", a.CloExec, b.CloExec)
	})
}

// classify compares what makes two descriptors' objects the same one
// (identity); when it differs the descriptor was replaced, else what may
// change on the object (state) says changed or unchanged.
func classify(identity, state func(f *fields)) (string, []FieldChange) {
	var f fields
	if identity(&f); len(f) > 0 {
		return Replaced, f
	}
	if state(&f); len(f) == 0 {
		return Unchanged, nil
	}
	return Changed, f
}

func sockChange(fd proc.FD, change string, f []FieldChange) SocketChange {
	s := fd.File.Socket
	return SocketChange{
		FD: fd.FD, Change: change, Inode: s.Inode, Family: s.Family, Type: s.Type, Proto: s.Proto,
		State: s.State, Local: s.Local, Remote: s.Remote, Fields: f,
	}
}
