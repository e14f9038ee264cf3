package shred

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctlFITRIM asks a filesystem to discard the free blocks in a range of
// its address space (the space FIEMAP's physical addresses are in).
const ioctlFITRIM = 0xc0185879 // _IOWR('X', 121, struct fstrim_range)

type fstrimRange struct {
	Start, Len, MinLen uint64
}

// trim discards the freed blocks that held the file: the extents it had
// before the overwrite (on copy-on-write storage those are where the
// plaintext still is) and after. It returns the bytes the filesystem
// reports trimmed.
func trim(dir *os.File, extents []extent) (int64, error) {
	var total int64
	for _, r := range mergeExtents(extents) {
		arg := fstrimRange{Start: r.Physical, Len: r.Length}
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, dir.Fd(), ioctlFITRIM, uintptr(unsafe.Pointer(&arg)))
		switch {
		case errno == 0:
			total += int64(arg.Len)
		case errors.Is(errno, unix.EPERM):
			return total, errors.New("FITRIM needs CAP_SYS_ADMIN; the freed blocks are trimmed at the next fstrim")
		case errors.Is(errno, unix.ENOTTY), errors.Is(errno, unix.EOPNOTSUPP):
			return total, errors.New("the filesystem or device does not support discard (FITRIM)")
		default:
			return total, fmt.Errorf("FITRIM: %w", errno)
		}
	}
	return total, nil
}

// mergeExtents returns the physical ranges of extents that have a known
// location, sorted and coalesced.
func mergeExtents(es []extent) []extent {
	var rs []extent
	for _, e := range es {
		if e.Length == 0 || e.Flags&(extentUnknown|extentDelaloc|extentInline) != 0 {
			continue
		}
		rs = append(rs, extent{Physical: e.Physical, Length: e.Length})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Physical < rs[j].Physical })
	var out []extent
	for _, r := range rs {
		if n := len(out); n > 0 && r.Physical <= out[n-1].Physical+out[n-1].Length {
			end := max(out[n-1].Physical+out[n-1].Length, r.Physical+r.Length)
			out[n-1].Length = end - out[n-1].Physical
			continue
		}
		out = append(out, r)
	}
	return out
}
