package testgen

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
)

const pageSize = 4096

// Flags of mappings and pagemap entries, as CRIU and the kernel define them.
const (
	protRead  = 0x1
	protWrite = 0x2
	protExec  = 0x4

	mapShared    = 0x1
	mapPrivate   = 0x2
	mapAnon      = 0x20
	mapGrowsDown = 0x100

	vmaRegular     = 1 << 0
	vmaVsyscall    = 1 << 2
	vmaVDSO        = 1 << 3
	vmaHeap        = 1 << 5
	vmaFilePrivate = 1 << 6
	vmaAnonPrivate = 1 << 9
	vmaVVAR        = 1 << 12

	pageParent  = 1 << 0
	pageLazy    = 1 << 1
	pagePresent = 1 << 2

	// Anonymous private pages are restorable lazily, so CRIU marks them
	// PE_LAZY as well as PE_PRESENT; file-backed copies and the vDSO only
	// PE_PRESENT (see the fixtures' pagemaps).
	flagsAnon = pageLazy | pagePresent
	flagsFile = pagePresent
)

// heapStart is where the first heap marker goes, past malloc's own
// bookkeeping.
const heapStart = 0x2a0

// heapEntryPages is the size of the heap's pagemap entries.
const heapEntryPages = 4

// heapNeed is how many heap bytes a marker may take, with the slack that
// moving it onto a boundary can cost.
func heapNeed(mk Marker) uint64 {
	n := uint64(len(mk.Data)) + 0x40 + 16
	switch mk.Straddle {
	case StraddlePage:
		n += pageSize
	case StraddleEntry:
		n += heapEntryPages * pageSize
	}
	return n
}

// bulkRegionPages caps one anonymous mapping of the bulk memory (64 MiB),
// like the arenas of an allocator.
const bulkRegionPages = 16384

// mapping is one VMA.
type mapping struct {
	VMA
	pgoff  uint64
	shmid  uint32 // files.img id of the mapped file
	madv   uint64
	isFile bool
}

// pmEntry is one pagemap entry; off is its offset in the pages image, -1
// for pages not in it.
type pmEntry struct {
	vaddr uint64
	pages uint64
	flags uint32
	off   int64
}

func (e pmEntry) end() uint64   { return e.vaddr + e.pages*pageSize }
func (e pmEntry) present() bool { return e.flags&pagePresent != 0 }

// overlay is exact content at an address, laid over the fill.
type overlay struct {
	vaddr uint64
	data  []byte
}

// bases are the addresses every process shares, as after fork.
type bases struct {
	exe      uint64
	heapGap  uint64
	mmapTop  uint64
	stackTop uint64
	random   [16]byte // AT_RANDOM bytes
}

func newBases(seed int64) bases {
	r := newRand(seed, "aslr")
	var b bases
	b.exe = 0x5500_0000_0000 + r.Uint64N(0xff_ffff_f000)&^(pageSize-1)
	b.heapGap = (0x100 + r.Uint64N(0x1f00)) * pageSize
	b.mmapTop = 0x7f00_0000_0000 + r.Uint64N(0xf0_0000_0000)&^(pageSize-1)
	b.stackTop = 0x7ffc_0000_0000 + r.Uint64N(0x3_ff00_0000)&^(pageSize-1)
	binary.LittleEndian.PutUint64(b.random[:], r.Uint64())
	binary.LittleEndian.PutUint64(b.random[8:], r.Uint64())
	return b
}

// mem is the memory of one process as planned.
type mem struct {
	vmas     []mapping
	entries  []pmEntry // sorted by vaddr, offsets assigned
	overlays []overlay // sorted by vaddr, disjoint
	present  uint64    // pages in the pages image

	startCode, endCode, startData, endData uint64
	startStack, startBrk, brk              uint64
	argStart, argEnd, envStart, envEnd     uint64
	auxv                                   []uint64
	tls                                    uint64 // the main thread's TLS block
	libcText                               uint64
	threadStackTops                        []uint64
	// lowest is the bottom of the mmap area so far; fixedLowest the bottom
	// of the fixed mappings, above the bulk memory.
	lowest, fixedLowest uint64
}

// fileIDs are the files.img ids of the mapped files.
type fileIDs struct{ exe, libc, ld uint32 }

// planFixed lays out everything but the bulk anonymous memory: the
// executable, heap, stack, libraries, vDSO and thread stacks.
func planFixed(s *Spec, b bases, ids fileIDs, threads int, heapNeed uint64) (*mem, error) {
	m := &mem{}
	exe := s.Cmdline[0]
	// The executable: headers, text, rodata, relro, data.
	m.addFile(b.exe, 1, 0, protRead, "exe", exe, ids.exe)
	m.addFile(b.exe+pageSize, 1, 0x1000, protRead|protExec, "exe", exe, ids.exe)
	m.addFile(b.exe+2*pageSize, 1, 0x2000, protRead, "exe", exe, ids.exe)
	m.addFile(b.exe+3*pageSize, 1, 0x2000, protRead, "exe", exe, ids.exe)
	m.addFile(b.exe+4*pageSize, 1, 0x3000, protRead|protWrite, "exe", exe, ids.exe)
	// The first text page is copied on write by the ptrace injection, and
	// relocations dirty relro and data.
	m.entries = append(m.entries,
		pmEntry{vaddr: b.exe + pageSize, pages: 1, flags: flagsFile},
		pmEntry{vaddr: b.exe + 3*pageSize, pages: 2, flags: flagsFile})
	m.startCode, m.endCode = b.exe+pageSize, b.exe+pageSize+0xa6d
	m.startData, m.endData = b.exe+3*pageSize+0xdd0, b.exe+4*pageSize+0x120

	// The brk heap. Markers are packed from its start, so it is as large as
	// they need; entries are cut every 4 pages so that there are entry
	// boundaries inside contiguous memory.
	m.startBrk = b.exe + 5*pageSize + b.heapGap
	heapPages := max(3, (heapStart+heapNeed+pageSize-1)/pageSize)
	heapVMA := max(0x21, heapPages+8)
	m.brk = m.startBrk + heapVMA*pageSize
	m.add(mapping{VMA: VMA{Start: m.startBrk, End: m.brk, Prot: protRead | protWrite, Flags: mapPrivate | mapAnon,
		Status: vmaRegular | vmaHeap | vmaAnonPrivate, Kind: "heap"}})
	for p := uint64(0); p < heapPages; p += heapEntryPages {
		m.entries = append(m.entries, pmEntry{vaddr: m.startBrk + p*pageSize, pages: min(heapEntryPages, heapPages-p), flags: flagsAnon})
	}

	// The mmap area, from the top down: ld.so, vDSO and vvar, libc's
	// anonymous tail, libc, the main thread's TLS, thread stacks.
	top := b.mmapTop
	ld := top - 0x35*pageSize
	m.addLib(ld, []uint64{1, 0x26, 0xa, 2, 2}, []uint64{0, 0x1000, 0x27000, 0x30000, 0x32000}, "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", ids.ld)
	m.entries = append(m.entries, pmEntry{vaddr: ld + 0x31*pageSize, pages: 4, flags: flagsFile})
	vdso := ld - 2*pageSize
	m.add(mapping{VMA: VMA{Start: vdso, End: ld, Prot: protRead | protExec, Flags: mapPrivate | mapAnon,
		Status: vmaRegular | vmaVDSO | vmaAnonPrivate, Kind: "vdso"}})
	m.entries = append(m.entries, pmEntry{vaddr: vdso, pages: 2, flags: flagsFile})
	vvar := vdso - 6*pageSize
	m.add(mapping{VMA: VMA{Start: vvar, End: vdso, Prot: protRead, Flags: mapPrivate | mapAnon,
		Status: vmaRegular | vmaAnonPrivate | vmaVVAR, Kind: "vvar"}, madv: 0x10000})
	anon2 := vvar - 2*pageSize
	m.addAnon(anon2, 2, "anon")
	m.entries = append(m.entries, pmEntry{vaddr: anon2, pages: 1, flags: flagsAnon})
	// A gap keeps the kernel from merging libc's anonymous tail with the
	// mapping above.
	bss := anon2 - 9*pageSize - 0xd*pageSize
	m.addAnon(bss, 0xd, "anon")
	m.entries = append(m.entries,
		pmEntry{vaddr: bss, pages: 1, flags: flagsAnon},
		pmEntry{vaddr: bss + 4*pageSize, pages: 3, flags: flagsAnon})
	libc := bss - 0x1d5*pageSize
	m.addLib(libc, []uint64{0x26, 0x156, 0x53, 4, 2}, []uint64{0, 0x26000, 0x17c000, 0x1cf000, 0x1d3000}, "/usr/lib/x86_64-linux-gnu/libc.so.6", ids.libc)
	m.entries = append(m.entries, pmEntry{vaddr: libc + 0x1cf*pageSize, pages: 6, flags: flagsFile})
	m.libcText = libc + 0x26*pageSize
	tls := libc - 3*pageSize
	m.addAnon(tls, 3, "anon")
	m.entries = append(m.entries, pmEntry{vaddr: tls, pages: 3, flags: flagsAnon})
	m.tls = tls
	cur := tls
	for range threads - 1 {
		// An 8 MiB stack under a guard page; the thread's TCB is at the top.
		stack := cur - 0x800*pageSize
		guard := stack - pageSize
		m.add(mapping{VMA: VMA{Start: guard, End: stack, Flags: mapPrivate | mapAnon, Status: vmaRegular | vmaAnonPrivate, Kind: "guard"}, madv: 0x8000})
		m.add(mapping{VMA: VMA{Start: stack, End: cur, Prot: protRead | protWrite, Flags: mapPrivate | mapAnon, Status: vmaRegular | vmaAnonPrivate, Kind: "thread-stack"}, madv: 0x8000})
		m.entries = append(m.entries, pmEntry{vaddr: cur - 2*pageSize, pages: 2, flags: flagsAnon})
		m.threadStackTops = append(m.threadStackTops, cur)
		cur = guard
	}

	// The main stack, with argv, environment and auxv as execve lays them.
	blob, err := m.initialStack(s, b, vdso, ld)
	if err != nil {
		return nil, err
	}
	m.overlays = append(m.overlays, overlay{vaddr: m.startStack, data: blob})
	sp := m.mainSP()
	presentFrom := sp&^(pageSize-1) - pageSize
	stackPages := max(0x21, (b.stackTop-presentFrom)/pageSize+4)
	m.add(mapping{VMA: VMA{Start: b.stackTop - stackPages*pageSize, End: b.stackTop, Prot: protRead | protWrite,
		Flags: mapPrivate | mapAnon | mapGrowsDown, Status: vmaRegular | vmaAnonPrivate, Kind: "stack"}})
	m.entries = append(m.entries, pmEntry{vaddr: presentFrom, pages: (b.stackTop - presentFrom) / pageSize, flags: flagsAnon})
	m.add(mapping{VMA: VMA{Start: 0xffffffffff600000, End: 0xffffffffff601000, Prot: protExec, Flags: mapPrivate | mapAnon,
		Status: vmaVsyscall | vmaAnonPrivate, Kind: "vsyscall"}})
	m.lowest, m.fixedLowest = cur, cur
	return m, nil
}

// mainSP is the main thread's stack pointer: a little below the initial
// one, as after a few calls.
func (m *mem) mainSP() uint64 { return m.startStack - 0x1f0 }

func (m *mem) add(v mapping) { m.vmas = append(m.vmas, v) }

func (m *mem) addAnon(start, pages uint64, kind string) {
	m.add(mapping{VMA: VMA{Start: start, End: start + pages*pageSize, Prot: protRead | protWrite, Flags: mapPrivate | mapAnon,
		Status: vmaRegular | vmaAnonPrivate, Kind: kind}})
}

func (m *mem) addFile(start, pages, pgoff uint64, prot uint32, kind, path string, id uint32) {
	m.add(mapping{VMA: VMA{Start: start, End: start + pages*pageSize, Prot: prot, Flags: mapPrivate,
		Status: vmaRegular | vmaFilePrivate, Kind: kind, Path: path}, pgoff: pgoff, shmid: id, isFile: true})
}

// addLib maps a shared library's five segments: headers, text, rodata,
// relro and data.
func (m *mem) addLib(start uint64, pages, pgoffs []uint64, path string, id uint32) {
	prots := []uint32{protRead, protRead | protExec, protRead, protRead, protRead | protWrite}
	for i := range pages {
		m.addFile(start, pages[i], pgoffs[i], prots[i], "lib", path, id)
		start += pages[i] * pageSize
	}
}

// Auxiliary vector types.
const (
	atNull, atPHDR, atPHENT, atPHNUM, atPAGESZ, atBase, atFlags, atEntry = 0, 3, 4, 5, 6, 7, 8, 9
	atUID, atEUID, atGID, atEGID, atPlatform, atHWCAP, atCLKTCK          = 11, 12, 13, 14, 15, 16, 17
	atSecure, atRandom, atHWCAP2, atRseqFeatureSize, atRseqAlign         = 23, 25, 26, 27, 28
	atExecFN, atSysinfoEHDR, atMinSigStkSz                               = 31, 33, 51
)

// initialStack builds the top of the main stack as the kernel leaves it at
// execve: argc, argv and envp pointers, the auxiliary vector, AT_RANDOM
// bytes, the platform string, then the argument and environment strings,
// the executable's name and eight zero bytes at the very top. It sets the
// mm fields that point into it and returns its bytes, which start at
// startStack.
func (m *mem) initialStack(s *Spec, b bases, vdso, ld uint64) ([]byte, error) {
	top := b.stackTop
	p := top - 8
	execfn := s.Cmdline[0]
	p -= uint64(len(execfn) + 1)
	execfnAddr := p
	m.envEnd = p
	for _, e := range s.Env {
		p -= uint64(len(e) + 1)
	}
	m.envStart = p
	m.argEnd = p
	for _, a := range s.Cmdline {
		p -= uint64(len(a) + 1)
	}
	m.argStart = p
	p = (p - 16) &^ 15
	platform := p
	p -= 16
	random := p
	m.auxv = []uint64{
		atSysinfoEHDR, vdso, atMinSigStkSz, 3376, atHWCAP, 0x178bfbff, atPAGESZ, pageSize, atCLKTCK, 100,
		atPHDR, b.exe + 64, atPHENT, 56, atPHNUM, 13, atBase, ld, atFlags, 0, atEntry, m.startCode + 0x60,
		atUID, uint64(s.UID), atEUID, uint64(s.UID), atGID, uint64(s.GID), atEGID, uint64(s.GID), atSecure, 0,
		atRandom, random, atHWCAP2, 2, atExecFN, execfnAddr, atPlatform, platform,
		atRseqFeatureSize, 28, atRseqAlign, 32,
	}
	words := 1 + len(s.Cmdline) + 1 + len(s.Env) + 1 + len(m.auxv) + 2
	m.startStack = (p - uint64(8*words)) &^ 15
	if top-m.startStack > 64<<20 {
		return nil, specErrorf("cmdline and environment take %d bytes, more than the 64 MiB stack", top-m.startStack)
	}
	blob := make([]byte, top-m.startStack)
	at := func(addr uint64) []byte { return blob[addr-m.startStack:] }
	w := at(m.startStack)
	put := func(v uint64) { binary.LittleEndian.PutUint64(w, v); w = w[8:] }
	put(uint64(len(s.Cmdline)))
	str := m.argStart
	for _, a := range s.Cmdline {
		put(str)
		copy(at(str), a)
		str += uint64(len(a) + 1)
	}
	put(0)
	for _, e := range s.Env {
		put(str)
		copy(at(str), e)
		str += uint64(len(e) + 1)
	}
	put(0)
	for _, v := range m.auxv {
		put(v)
	}
	put(atNull)
	put(0)
	copy(at(execfnAddr), execfn)
	copy(at(random), b.random[:])
	copy(at(platform), "x86_64")
	return blob, nil
}

// run is a stretch of bulk memory: present pages (or, with parent set,
// pages a pre-dump holds), then pages that are mapped but were never
// touched, hence not in the pagemap.
type run struct {
	pages  uint64
	hole   uint64 // untouched pages after the run, inside the mapping
	parent bool
}

// planBulk lays out the bulk anonymous memory: budget present pages (and
// parents PE_PARENT runs) in mappings of at most regionPages, below the
// lowest fixed mapping.
func (m *mem) planBulk(budget uint64, parents, maxRun int, regionPages uint64, r *rand.Rand) {
	var runs []run
	for left := budget; left > 0; {
		n := min(left, 1+r.Uint64N(uint64(maxRun)))
		var hole uint64
		if r.IntN(4) == 0 {
			hole = 1 + r.Uint64N(4)
		}
		runs = append(runs, run{pages: n, hole: hole})
		left -= n
	}
	// Spread the parent runs evenly among the present ones.
	present := len(runs)
	for i := range parents {
		at := (i + 1) * present / (parents + 1)
		n := 1 + r.Uint64N(uint64(min(maxRun, 16)))
		runs = slices.Insert(runs, at+i, run{pages: n, hole: 1, parent: true})
	}
	if len(runs) == 0 {
		return
	}
	// Group runs into regions, then place the regions downward from the
	// lowest fixed mapping, one unmapped page apart.
	var regions [][]run
	var size uint64
	for _, x := range runs {
		if len(regions) == 0 || size+x.pages+x.hole > regionPages {
			regions = append(regions, nil)
			size = 0
		}
		regions[len(regions)-1] = append(regions[len(regions)-1], x)
		size += x.pages + x.hole
	}
	cur := m.lowest
	for i := len(regions) - 1; i >= 0; i-- {
		var pages uint64
		for _, x := range regions[i] {
			pages += x.pages + x.hole
		}
		start := cur - pageSize - pages*pageSize
		m.addAnon(start, pages, "anon")
		a := start
		for _, x := range regions[i] {
			f := uint32(flagsAnon)
			if x.parent {
				f = pageParent
			}
			m.entries = append(m.entries, pmEntry{vaddr: a, pages: x.pages, flags: f})
			a += (x.pages + x.hole) * pageSize
		}
		cur = start
	}
	m.lowest = cur
}

// finish sorts the mappings and entries and gives each present entry its
// offset in the pages image.
func (m *mem) finish() {
	slices.SortFunc(m.vmas, func(a, b mapping) int { return cmp.Compare(a.Start, b.Start) })
	slices.SortFunc(m.entries, func(a, b pmEntry) int { return cmp.Compare(a.vaddr, b.vaddr) })
	var off int64
	m.present = 0
	for i := range m.entries {
		e := &m.entries[i]
		if e.present() {
			e.off = off
			off += int64(e.pages) * pageSize
			m.present += e.pages
		} else {
			e.off = -1
		}
	}
}

// covered reports whether [v, v+n) lies in present pages that are
// contiguous in memory, hence contiguous in the pages image.
func (m *mem) covered(v, n uint64) bool {
	i := sort.Search(len(m.entries), func(i int) bool { return m.entries[i].end() > v })
	for ; i < len(m.entries); i++ {
		e := m.entries[i]
		if !e.present() || e.vaddr > v {
			return false
		}
		if e.end() >= v+n {
			return true
		}
		v, n = e.end(), v+n-e.end()
	}
	return false
}

// spot finds where a marker of n bytes goes, at or after from, crossing
// the kind of boundary straddle asks for.
func (m *mem) spot(from, n uint64, straddle Straddle) (uint64, bool) {
	i := sort.Search(len(m.entries), func(i int) bool { return m.entries[i].end() > from })
	half := n / 2
	for ; i < len(m.entries); i++ {
		e := m.entries[i]
		if !e.present() {
			continue
		}
		switch straddle {
		case StraddleNone:
			v := (max(from, e.vaddr) + 15) &^ 15
			if m.covered(v, n) {
				return v, true
			}
		case StraddlePage:
			// A page boundary inside this entry.
			for b := max(e.vaddr+pageSize, (from+half+pageSize-1)&^(pageSize-1)); b < e.end(); b += pageSize {
				if v := b - half; v >= from && m.covered(v, n) {
					return v, true
				}
			}
		case StraddleEntry:
			if i+1 < len(m.entries) && m.entries[i+1].vaddr == e.end() && m.entries[i+1].present() {
				b := e.end()
				if v := b - half; v >= from && v >= e.vaddr && m.covered(v, n) {
					return v, true
				}
			}
		}
	}
	return 0, false
}

// placeMarkers plants the markers of one process: heap ones packed from
// the heap's start, anonymous ones spread through the bulk memory,
// explicit ones where they say. It returns their addresses.
func (m *mem) placeMarkers(markers []Marker, idx []int, pid int) ([]uint64, error) {
	addrs := make([]uint64, len(markers))
	heapCursor := m.startBrk + heapStart
	var anon []int
	for k, mk := range markers {
		n := uint64(len(mk.Data))
		if mk.Straddle != StraddleNone && n < 2 {
			return nil, specErrorf("marker %d: a straddling marker needs at least 2 bytes", idx[k])
		}
		switch {
		case mk.Vaddr != 0:
			if !m.covered(mk.Vaddr, n) {
				return nil, specErrorf("marker %d: %#x..%#x is not in contiguous present pages of pid %d", idx[k], mk.Vaddr, mk.Vaddr+n, pid)
			}
			addrs[k] = mk.Vaddr
		case mk.Region == RegionHeap:
			v, ok := m.spot(heapCursor, n, mk.Straddle)
			if !ok || v+n > m.brk {
				return nil, fmt.Errorf("testgen: marker %d: no room in the heap of pid %d", idx[k], pid)
			}
			addrs[k] = v
			heapCursor = v + n + 0x40
		case mk.Region == RegionAnon:
			anon = append(anon, k)
		default:
			return nil, specErrorf("marker %d: unknown region %d", idx[k], mk.Region)
		}
	}
	if len(anon) > 0 {
		// The bulk memory is everything below the lowest fixed mapping.
		var bulk []pmEntry
		var total uint64
		for _, e := range m.entries {
			if e.present() && e.vaddr >= m.lowest && e.vaddr < m.fixedLowest {
				bulk = append(bulk, e)
				total += e.pages
			}
		}
		if total == 0 {
			return nil, specErrorf("marker %d: pid %d has no bulk anonymous memory (raise PageBytes)", idx[anon[0]], pid)
		}
		prev := uint64(0)
		for j, k := range anon {
			target := uint64(j+1) * total / uint64(len(anon)+1)
			var from uint64
			for _, e := range bulk {
				if target < e.pages {
					from = e.vaddr + target*pageSize + 0x100
					break
				}
				target -= e.pages
			}
			from = max(from, prev)
			n := uint64(len(markers[k].Data))
			v, ok := m.spot(from, n, markers[k].Straddle)
			if !ok || v < m.lowest || v+n > m.fixedLowest {
				return nil, fmt.Errorf("testgen: marker %d: no room in the bulk memory of pid %d", idx[k], pid)
			}
			addrs[k] = v
			prev = v + n + 0x40
		}
	}
	return addrs, nil
}

// addOverlays lays the markers over the fill and checks that nothing
// planted overlaps.
func (m *mem) addOverlays(markers []Marker, addrs []uint64, idx []int) error {
	for k, mk := range markers {
		m.overlays = append(m.overlays, overlay{vaddr: addrs[k], data: mk.Data})
	}
	slices.SortStableFunc(m.overlays, func(a, b overlay) int { return cmp.Compare(a.vaddr, b.vaddr) })
	for i := 1; i < len(m.overlays); i++ {
		prev, cur := m.overlays[i-1], m.overlays[i]
		if prev.vaddr+uint64(len(prev.data)) > cur.vaddr {
			return specErrorf("planted data overlaps at %#x (markers %v)", cur.vaddr, idx)
		}
	}
	return nil
}
