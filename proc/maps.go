package proc

import (
	"fmt"
	"sort"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/vma"

	"github.com/ckpt-dev/ckpt/criu"
)

// VMA status bits (CRIU's VMA_AREA_*, VMA_*).
const (
	vmaRegular    = 1 << 0
	vmaStack      = 1 << 1
	vmaVsyscall   = 1 << 2
	vmaVDSO       = 1 << 3
	vmaHeap       = 1 << 5
	vmaFilePriv   = 1 << 6
	vmaFileShared = 1 << 7
	vmaAnonShared = 1 << 8
	vmaSysVIPC    = 1 << 10
	vmaSocket     = 1 << 11
	vmaVVAR       = 1 << 12
	vmaAIO        = 1 << 13
	vmaMemfd      = 1 << 14
)

// Mapping is one memory mapping, like a line of /proc/PID/maps, with what
// the dump holds of it.
type Mapping struct {
	Start  uint64 `json:"start"`
	End    uint64 `json:"end"`
	Perms  string `json:"perms"` // rwxp or rwxs
	Shared bool   `json:"shared"`
	Offset uint64 `json:"offset"`
	File   string `json:"file"`
	// Kind is heap, stack, vdso, vvar, vsyscall, file, shmem, sysvipc,
	// socket, aio, memfd or anonymous.
	Kind string `json:"kind"`
	// Present, InParent and Lazy are bytes of the mapping in this dump's
	// pages, in a parent dump, and left for lazy restore.
	Present  int64 `json:"present_bytes"`
	InParent int64 `json:"in_parent_bytes"`
	Lazy     int64 `json:"lazy_bytes"`
}

// Size is the mapping's length.
func (m Mapping) Size() uint64 { return m.End - m.Start }

// FindMapping returns the index of the mapping that holds addr among n
// mappings sorted by start that do not overlap, the i-th of them at(i); ok
// is false when none holds it. at lets lists of values that carry a
// Mapping be searched without copying them.
func FindMapping(n int, at func(i int) *Mapping, addr uint64) (i int, ok bool) {
	i = sort.Search(n, func(i int) bool { return at(i).End > addr })
	if i < n && at(i).Start <= addr {
		return i, true
	}
	return 0, false
}

// MemorySummary totals a process's mappings.
type MemorySummary struct {
	Mappings int   `json:"mappings"`
	Virtual  int64 `json:"virtual_bytes"`
	Resident int64 `json:"resident_bytes"` // present in the dump
	Shared   int64 `json:"shared_bytes"`   // virtual size of shared mappings
	// SharedResident is shared memory whose pages the dump holds (anonymous
	// shared memory is dumped once, in pagemap-shmem-*).
	SharedResident int64 `json:"shared_resident_bytes"`
	InParent       int64 `json:"in_parent_bytes"`
	Lazy           int64 `json:"lazy_bytes"`
}

// Maps lists p's mappings with what the dump holds of each. A zombie has
// none.
func (t *Tree) Maps(images *criu.ImageSet, p *Process) ([]Mapping, error) {
	if p.MM == nil {
		return []Mapping{}, nil
	}
	ix, err := criu.PageIndexFor(images, p.PID)
	if err != nil {
		return nil, err
	}
	maps := make([]Mapping, 0, len(p.MM.GetVmas()))
	for _, v := range p.MM.GetVmas() {
		m := t.mapping(v)
		if s := p.MM.GetMmStartStack(); m.Kind == "anonymous" && m.Start <= s && s < m.End {
			// CRIU rarely sets VMA_AREA_STACK; the main stack is the
			// mapping that holds the initial stack pointer.
			m.Kind, m.File = "stack", "[stack]"
		}
		m.Present, m.InParent, m.Lazy = ix.Bytes(m.Start, m.End)
		if m.Kind == "shmem" && m.Present == 0 {
			m.Present, m.InParent, m.Lazy = shmemBytes(images, v)
		}
		maps = append(maps, m)
	}
	return maps, nil
}

// Summary totals mappings.
func Summary(maps []Mapping) MemorySummary {
	s := MemorySummary{Mappings: len(maps)}
	for _, m := range maps {
		s.Virtual += int64(m.Size())
		s.Resident += m.Present
		s.InParent += m.InParent
		s.Lazy += m.Lazy
		if m.Shared {
			s.Shared += int64(m.Size())
			s.SharedResident += m.Present
		}
	}
	return s
}

func (t *Tree) mapping(v *vma.VmaEntry) Mapping {
	m := Mapping{Start: v.GetStart(), End: v.GetEnd(), Offset: v.GetPgoff(), Shared: v.GetFlags()&1 != 0}
	perm := []byte("---p")
	if v.GetProt()&1 != 0 {
		perm[0] = 'r'
	}
	if v.GetProt()&2 != 0 {
		perm[1] = 'w'
	}
	if v.GetProt()&4 != 0 {
		perm[2] = 'x'
	}
	if m.Shared {
		perm[3] = 's'
	}
	m.Perms = string(perm)
	st := v.GetStatus()
	switch {
	case st&vmaHeap != 0:
		m.Kind, m.File = "heap", "[heap]"
	case st&vmaStack != 0:
		m.Kind, m.File = "stack", "[stack]"
	case st&vmaVDSO != 0:
		m.Kind, m.File = "vdso", "[vdso]"
	case st&vmaVVAR != 0:
		m.Kind, m.File = "vvar", "[vvar]"
	case st&vmaVsyscall != 0:
		m.Kind, m.File = "vsyscall", "[vsyscall]"
	case st&vmaSysVIPC != 0:
		m.Kind, m.File = "sysvipc", fmt.Sprintf("SYSV%08x", v.GetShmid())
	case st&vmaSocket != 0:
		m.Kind, m.File = "socket", "socket"
	case st&vmaAIO != 0:
		m.Kind, m.File = "aio", "[aio]"
	case st&vmaMemfd != 0:
		m.Kind, m.File = "memfd", t.files.Path(uint32(v.GetShmid()))
	case st&(vmaFilePriv|vmaFileShared) != 0:
		m.Kind, m.File = "file", t.files.Path(uint32(v.GetShmid()))
	case st&vmaAnonShared != 0:
		m.Kind, m.File = "shmem", "/dev/zero (deleted)"
	default:
		m.Kind = "anonymous"
	}
	return m
}

// shmemBytes counts the dumped pages of an anonymous shared mapping, which
// CRIU writes once for all sharers in pagemap-shmem-<shmid>.img.
func shmemBytes(images *criu.ImageSet, v *vma.VmaEntry) (present, parent, lazy int64) {
	img := images.Get(fmt.Sprintf("pagemap-shmem-%d.img", v.GetShmid()))
	if img == nil {
		return 0, 0, 0
	}
	ix, err := criu.NewPageIndex(img)
	if err != nil {
		return 0, 0, 0
	}
	// shmem pagemaps are addressed by offset within the segment.
	return ix.Bytes(v.GetPgoff(), v.GetPgoff()+v.GetEnd()-v.GetStart())
}
