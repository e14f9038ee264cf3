package elfcore

import (
	"errors"
	"fmt"
	"slices"
)

// Segment flags (p_flags).
const (
	PF_X = 1
	PF_W = 2
	PF_R = 4
)

// Page is the alignment of memory in the file.
const Page = 4096

const (
	ehdrSize = 64
	phdrSize = 56
	shdrSize = 64
	// pnXNum in e_phnum says the real count is in section header 0.
	pnXNum = 0xffff
	// maxSegments keeps the program header table of a hostile input
	// (one segment per page of a huge sparse map) within reason.
	maxSegments = 1 << 22
)

// Segment is a PT_LOAD: Memsz bytes at Vaddr, of which the file holds all
// (Present) or none.
type Segment struct {
	Vaddr   uint64
	Memsz   uint64
	Flags   uint32
	Present bool
	// Offset in the file of a present segment's bytes; set by Plan.
	Offset uint64
}

// Layout is where everything goes in the file.
type Layout struct {
	Segments []Segment
	// NotesOffset is where the notes start: after all memory.
	NotesOffset uint64
	// headerSize is the ELF header and the program header table.
	headerSize uint64
}

// Plan lays out segs (sorted by address, not overlapping): the headers,
// then each present segment page-aligned, in address order, then the
// notes.
func Plan(segs []Segment) (*Layout, error) {
	if len(segs) > maxSegments {
		return nil, fmt.Errorf("%d segments: more than a core file can sensibly hold (%d)", len(segs), maxSegments)
	}
	l := &Layout{Segments: slices.Clone(segs)}
	l.headerSize = ehdrSize + uint64(len(segs)+1)*phdrSize
	off := alignUp(l.headerSize, Page)
	for i := range l.Segments {
		s := &l.Segments[i]
		if s.Memsz == 0 {
			return nil, fmt.Errorf("segment %d at %#x: empty", i, s.Vaddr)
		}
		if s.Vaddr+s.Memsz < s.Vaddr {
			return nil, fmt.Errorf("segment %d at %#x: %d bytes overflow the address space", i, s.Vaddr, s.Memsz)
		}
		if i > 0 && s.Vaddr < l.Segments[i-1].Vaddr+l.Segments[i-1].Memsz {
			return nil, fmt.Errorf("segment %d at %#x: overlaps or precedes the one before", i, s.Vaddr)
		}
		if s.Flags&^(PF_R|PF_W|PF_X) != 0 {
			return nil, fmt.Errorf("segment %d at %#x: flags %#x", i, s.Vaddr, s.Flags)
		}
		// An absent segment takes no room; its offset is where it
		// would be, as the kernel writes it.
		s.Offset = off
		if !s.Present {
			continue
		}
		if off+s.Memsz < off || off+s.Memsz > 1<<62 {
			return nil, errors.New("memory too large for one file")
		}
		s.Offset = off
		off = alignUp(off+s.Memsz, Page)
	}
	l.NotesOffset = off
	return l, nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) &^ (a - 1) }

// Find returns the index of the segment holding addr.
func (l *Layout) Find(addr uint64) (int, bool) {
	i, found := slices.BinarySearchFunc(l.Segments, addr, func(s Segment, a uint64) int {
		switch {
		case s.Vaddr+s.Memsz <= a:
			return -1
		case s.Vaddr > a:
			return 1
		}
		return 0
	})
	return i, found
}

// FileBytes is how many bytes of memory the file holds.
func (l *Layout) FileBytes() uint64 {
	var n uint64
	for _, s := range l.Segments {
		if s.Present {
			n += s.Memsz
		}
	}
	return n
}
