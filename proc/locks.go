package proc

import (
	"fmt"

	file_lock "github.com/checkpoint-restore/go-criu/v8/crit/images/file-lock"

	"github.com/ckpt-dev/ckpt/criu"
)

// FileLock is a lock a process held.
type FileLock struct {
	FD    int32  `json:"fd"`
	Kind  string `json:"kind"` // flock, posix, ofd, lease
	Type  string `json:"type"` // read, write
	Start int64  `json:"start"`
	Len   int64  `json:"len"` // 0: to the end of the file
	Path  string `json:"path"`
}

func (t *Tree) attachLocks(images *criu.ImageSet) {
	for _, l := range criu.All[*file_lock.FileLockEntry](images, "filelocks.img") {
		p := t.byPID[uint32(l.GetPid())]
		if p == nil {
			continue
		}
		fl := FileLock{FD: l.GetFd(), Kind: lockKind(l.GetFlag()), Type: lockType(l.GetType()), Start: l.GetStart(), Len: l.GetLen()}
		for _, fd := range p.FDs {
			if int32(fd.FD) == fl.FD {
				fl.Path = fd.File.Path
			}
		}
		p.Locks = append(p.Locks, fl)
	}
}

func lockKind(flag uint32) string {
	switch {
	case flag&2 != 0:
		return "flock"
	case flag&1024 != 0:
		return "ofd"
	case flag&32 != 0:
		return "lease"
	case flag&1 != 0:
		return "posix"
	}
	return fmt.Sprintf("flag %#x", flag)
}

func lockType(t uint32) string {
	return codeName(t, "type %d", code{0, "read"}, code{1, "write"}, code{2, "unlock"})
}
