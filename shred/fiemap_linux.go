package shred

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FIEMAP (Documentation/filesystems/fiemap.rst) lists where a file's
// extents are on the device and flags those that are shared, inline or
// encoded.
const (
	ioctlFIEMAP = 0xc020660b // FS_IOC_FIEMAP = _IOWR('f', 11, struct fiemap)

	fiemapFlagSync = 0x1 // FIEMAP_FLAG_SYNC: flush delayed allocations first

	extentLast    = 0x0001 // FIEMAP_EXTENT_LAST
	extentUnknown = 0x0002 // FIEMAP_EXTENT_UNKNOWN
	extentDelaloc = 0x0004 // FIEMAP_EXTENT_DELALLOC
	extentEncoded = 0x0008 // FIEMAP_EXTENT_ENCODED
	extentInline  = 0x0200 // FIEMAP_EXTENT_DATA_INLINE
	extentShared  = 0x2000 // FIEMAP_EXTENT_SHARED

	fiemapHeader     = 32 // struct fiemap without its extents
	fiemapExtentSize = 56 // struct fiemap_extent
	fiemapBatch      = 256
)

// extent is one struct fiemap_extent: bytes of the file at Logical are on
// the device at Physical.
type extent struct {
	Logical, Physical, Length uint64
	Flags                     uint32
}

// fiemap returns every extent of the open file, flushing delayed
// allocations first so that new data has a physical address.
func fiemap(fd int) ([]extent, error) {
	buf := make([]byte, fiemapHeader+fiemapBatch*fiemapExtentSize)
	ne := binary.NativeEndian
	var out []extent
	var start uint64
	for {
		clear(buf)
		ne.PutUint64(buf[0:], start)
		ne.PutUint64(buf[8:], ^uint64(0)-start)
		ne.PutUint32(buf[16:], fiemapFlagSync)
		ne.PutUint32(buf[24:], fiemapBatch)
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), ioctlFIEMAP, uintptr(unsafe.Pointer(&buf[0]))); errno != 0 {
			return nil, errno
		}
		n := int(ne.Uint32(buf[20:]))
		if n == 0 {
			return out, nil
		}
		for i := range n {
			e := buf[fiemapHeader+i*fiemapExtentSize:]
			out = append(out, extent{
				Logical:  ne.Uint64(e[0:]),
				Physical: ne.Uint64(e[8:]),
				Length:   ne.Uint64(e[16:]),
				Flags:    ne.Uint32(e[40:]),
			})
		}
		last := out[len(out)-1]
		if last.Flags&extentLast != 0 || last.Length == 0 {
			return out, nil
		}
		start = last.Logical + last.Length
	}
}

// summarize counts extents by the flags assessment cares about.
func summarize(es []extent) extentSummary {
	s := extentSummary{Total: len(es)}
	for _, e := range es {
		if e.Flags&extentShared != 0 {
			s.Shared++
		}
		if e.Flags&extentInline != 0 {
			s.Inline++
		}
		if e.Flags&extentEncoded != 0 {
			s.Encoded++
		}
		if e.Flags&(extentUnknown|extentDelaloc) != 0 {
			s.Unknown++
		}
	}
	return s
}
