package criu

import (
	"encoding/binary"
	"iter"
)

// PageRuns is a sequence of pagemap runs held compactly: a fragmented heap
// has millions of pagemap entries, and at 32 bytes a PageRun they would
// cost more than everything else ckpt holds for the process.
//
// Runs are delta-encoded in blocks of runsPerBlock. A run that starts a
// whole number of pages after the end of the run before it, has only PE_*
// flags, and whose offset is where the present runs before it leave off
// (what CRIU writes) is two varints: the gap in pages, and the page count
// with the flags; one page a page or a few after the last is 2 bytes.
// Any other run is written in full (at most 26 bytes, 32 with an offset
// that does not follow, which only an index sorted from an image out of
// order holds). Each block keeps the start of its first run and the offset
// state, so a lookup is a binary search over blocks and the decoding of at
// most one block. Held per pagemap entry, 24 bytes per block of 16
// included: 3.65 bytes for 1 M one-page entries, 6–15 bytes in the small
// CRIU pagemaps of the fixtures (a dozen entries, one block).
//
// The zero value, and nil, is an empty sequence. A PageRuns is not
// modified once built, so it is shared safely.
type PageRuns struct {
	// chunks hold the encoded runs, a block never across two: a long
	// pagemap grows by chunks rather than by copying all it holds.
	chunks [][]byte
	blocks []runBlock
	n      int
	hint   int // the size of the first chunk
	// The state after the last run, for add.
	end uint64
	off int64
	// What the page index needs to know, kept as runs are added, so that
	// indexing clean runs costs no pass over them.
	irregular  bool   // some run is empty, out of order, overlapping or malformed
	descending bool   // some present run's pages lie before the previous one's
	imageBytes int64  // where the last present run's pages end
	clean      uint64 // end of the last run, while none is irregular
}

// runsPerBlock is how many runs share a block: a lookup decodes at most
// this many, and a block costs 24 bytes. At 64 a block costs 0.4 bytes a
// run rather than 1.5, but counting the bytes of 100,000 one-page mappings
// (BenchmarkBytes, what `mem maps` does) takes six times as long as over
// plain sorted runs; at 16, under twice as long.
const runsPerBlock = 16

// runBlock is where a block of runs begins: its first run's start, the
// offset the first present run in it takes when it follows the runs before
// it, and its chunk and first byte there.
type runBlock struct {
	start      uint64
	off        int64
	chunk, pos uint32
}

// chunkBytes is the size of a chunk of encoded runs once a pagemap holds
// more; maxBlockBytes is the most a block's runs take.
const (
	chunkBytes    = 64 << 10
	maxBlockBytes = runsPerBlock * 36
)

// maxPages is the page count past which a run's pages no longer advance
// the offset of the next present run: the page index rejects such runs,
// and until then offsets stay far from overflowing.
const maxPages = 1 << 40

// follows returns where the next present run's pages begin after r, when
// the present runs before r left off at off.
func follows(r PageRun, off int64) int64 {
	if r.Flags&PagePresent != 0 && r.Pages > 0 {
		return r.Offset + int64(min(r.Pages, maxPages))*PageSize
	}
	return off
}

// nextOffset is the offset r takes when it follows runs that left off at
// off: runs without present pages have none.
func nextOffset(r PageRun, off int64) int64 {
	if r.Flags&PagePresent != 0 && r.Pages > 0 {
		return off
	}
	return -1
}

// Len is the number of runs.
func (rs *PageRuns) Len() int {
	if rs == nil {
		return 0
	}
	return rs.n
}

// grow makes room for about bytes of encoded runs in runs runs, so that a
// sequence whose size is known up front (from the image size) is not
// regrown.
func (rs *PageRuns) grow(bytes int64, runs int64) {
	rs.hint = int(min(bytes, chunkBytes))
	rs.blocks = make([]runBlock, 0, runs/runsPerBlock+1)
}

// add appends r.
func (rs *PageRuns) add(r PageRun) {
	// The checks of newIndex, for runs that need nothing more.
	if r.Pages == 0 || r.Start%PageSize != 0 || r.Pages > (1<<64-1-r.Start)/PageSize || r.Pages > maxPages || (rs.n > 0 && r.Start < rs.clean) {
		rs.irregular = true
	}
	rs.clean = r.End()
	if r.Present() {
		rs.descending = rs.descending || r.Offset < rs.imageBytes
		rs.imageBytes = r.Offset + int64(r.Pages)*PageSize
	}
	if rs.n%runsPerBlock == 0 {
		if k := len(rs.chunks) - 1; k < 0 || len(rs.chunks[k]) > chunkBytes-maxBlockBytes {
			size := chunkBytes
			if k < 0 && rs.hint > 0 {
				size = rs.hint
			}
			rs.chunks = append(rs.chunks, make([]byte, 0, size))
		}
		k := len(rs.chunks) - 1
		rs.blocks = append(rs.blocks, runBlock{start: r.Start, off: rs.off, chunk: uint32(k), pos: uint32(len(rs.chunks[k]))})
		rs.end = r.Start
	}
	rs.n++
	k := len(rs.chunks) - 1
	rs.chunks[k] = rs.encode(rs.chunks[k], r)
	rs.end = r.Start + r.Pages*PageSize
	rs.off = follows(r, rs.off)
}

// encode appends r to data.
func (rs *PageRuns) encode(data []byte, r PageRun) []byte {
	if gap := r.Start - rs.end; r.Start >= rs.end && gap%PageSize == 0 && r.Flags < 8 && r.Pages < 1<<61 && r.Offset == nextOffset(r, rs.off) {
		data = binary.AppendUvarint(data, (gap/PageSize)<<1)
		data = binary.AppendUvarint(data, r.Pages<<3|uint64(r.Flags))
	} else {
		// In full, the offset only when it does not follow: at most 26
		// bytes, 32 with the offset (which only runs sorted from an image
		// out of order need, and their counts are at most 2^40).
		explicit := r.Offset != nextOffset(r, rs.off)
		data = append(data, 1|b2u(explicit)<<1)
		data = binary.AppendUvarint(data, r.Start)
		data = binary.AppendUvarint(data, r.Pages)
		data = binary.AppendUvarint(data, uint64(r.Flags))
		if explicit {
			data = binary.AppendUvarint(data, uint64(r.Offset+1))
		}
	}
	return data
}

// runsOf encodes runs.
func runsOf(runs []PageRun) *PageRuns {
	rs := &PageRuns{}
	rs.grow(int64(len(runs))*4+16, int64(len(runs)))
	for _, r := range runs {
		rs.add(r)
	}
	return rs
}

// runCursor decodes runs in order from the start of a block.
type runCursor struct {
	rs  *PageRuns
	i   int    // index of the next run
	d   []byte // its chunk
	pos int
	end uint64
	off int64
}

// at returns a cursor at the first run of block b.
func (rs *PageRuns) at(b int) runCursor {
	if rs == nil {
		rs = &PageRuns{}
	}
	if b >= len(rs.blocks) {
		return runCursor{rs: rs, i: rs.n}
	}
	return runCursor{rs: rs, i: b * runsPerBlock, off: rs.blocks[b].off}
}

// next decodes the next run; ok is false past the last.
func (c *runCursor) next() (r PageRun, ok bool) {
	if c.i >= c.rs.n {
		return PageRun{}, false
	}
	if c.i%runsPerBlock == 0 {
		k := &c.rs.blocks[c.i/runsPerBlock]
		c.d, c.pos, c.end = c.rs.chunks[k.chunk], int(k.pos), k.start
	}
	c.i++
	d := c.d
	if p := c.pos; p+1 < len(d) && d[p]&0x81 == 0 && d[p+1] < 0x80 {
		// Both varints in a byte: a run of up to 15 pages, up to 63
		// pages after the last. Most runs are.
		c.pos = p + 2
		r = PageRun{Start: c.end + uint64(d[p]>>1)*PageSize, Pages: uint64(d[p+1] >> 3), Flags: uint32(d[p+1] & 7), Offset: -1}
		c.end = r.Start + r.Pages*PageSize
		if r.Flags&PagePresent != 0 && r.Pages > 0 {
			r.Offset = c.off
			c.off += int64(r.Pages) * PageSize
		}
		return r, true
	}
	v := c.uvarint(d)
	if v&1 == 0 {
		u := c.uvarint(d)
		r = PageRun{Start: c.end + (v>>1)*PageSize, Pages: u >> 3, Flags: uint32(u & 7)}
		r.Offset = nextOffset(r, c.off)
	} else {
		r.Start = c.uvarint(d)
		r.Pages = c.uvarint(d)
		r.Flags = uint32(c.uvarint(d))
		r.Offset = nextOffset(r, c.off)
		if v&2 != 0 {
			r.Offset = int64(c.uvarint(d)) - 1
		}
	}
	c.end = r.Start + r.Pages*PageSize
	c.off = follows(r, c.off)
	return r, true
}

// uvarint decodes a varint at c.pos. The data is our own, so it is not
// checked.
func (c *runCursor) uvarint(d []byte) uint64 {
	if b := d[c.pos]; b < 0x80 {
		c.pos++
		return uint64(b)
	}
	v, n := binary.Uvarint(d[c.pos:])
	c.pos += n
	return v
}

// b2u is 1 for true.
func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// All yields the runs in order.
func (rs *PageRuns) All() iter.Seq[PageRun] {
	return func(yield func(PageRun) bool) {
		c := rs.at(0)
		for r, ok := c.next(); ok; r, ok = c.next() {
			if !yield(r) {
				return
			}
		}
	}
}

// bytes is what the runs hold in memory.
func (rs *PageRuns) bytes() int {
	n := cap(rs.blocks)*24 + cap(rs.chunks)*24
	for _, c := range rs.chunks {
		n += cap(c)
	}
	return n
}
