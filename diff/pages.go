package diff

import (
	"context"
	"fmt"
	"hash/maphash"
	"io"

	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/proc"
)

// pageHashes is one pagemap with a hash of each page its pages image
// holds: 8 bytes per page, so a GiB of memory costs 2 MiB.
type pageHashes struct {
	// ix is the pagemap, held compactly (a few bytes an entry) and read
	// in address order with a cursor; nil has no runs.
	ix *criu.PageIndex
	// hashes[i] is the hash of the i-th page of the pages image (offset
	// i*PageSize).
	hashes []uint64
	// src, when not nil, is the pages image of a random-access archive,
	// and hashes is empty: pages are hashed when a comparison reaches
	// them, so a snapshot holds nothing per page and its memory does not
	// grow with the dump.
	src  io.ReaderAt
	seed maphash.Seed
	size int64  // bytes of src the pagemap needs
	name string // archive and image, for errors
	fail *error // the first read error of src, for Compare
	// stream, when not nil, delivers the hashes as another goroutine
	// reads the pages image: two archives compared while they stream.
	stream *digestStream
	// compared, when not nil, is this pagemap already compared while the
	// archives streamed; runs and hashes are then dropped.
	compared *pageResult
}

// srcChunk is how much of a pages image a comparison reads at once.
const srcChunk = 256 << 10

// newPageHasher returns a hasher for the pages image of ix, into a table
// when table is set (else the caller says where the hashes go). What the
// pagemap claims is allocated up front only to 4 GiB of pages (8 MiB of
// hashes), which saves regrowing the slice; beyond that the hashes grow as
// pages arrive, so a lying pagemap costs no more than the data that is
// there.
func newPageHasher(seed maphash.Seed, ix *criu.PageIndex, table bool) *pageHasher {
	want := ix.ImageBytes / criu.PageSize
	h := &pageHasher{seed: seed, want: want}
	if table {
		h.out = make([]uint64, 0, min(want, 1<<20))
	}
	return h
}

// hashes returns the pagemap with the hashes read so far.
func (h *pageHasher) hashes(ix *criu.PageIndex) *pageHashes {
	return &pageHashes{ix: ix, hashes: h.out}
}

// pageHasher hashes the pages image as it is written to it, page by page.
type pageHasher struct {
	seed    maphash.Seed
	want    int64 // pages the pagemap needs
	n       int64 // pages hashed
	out     []uint64
	written int64 // bytes received
	partial int   // bytes of an unfinished page in buf
	buf     [criu.PageSize]byte
	// ch, when set, takes out in batches (to a comparison) instead of
	// out growing; ctx ends a send nobody takes. free returns batches the
	// comparison is done with.
	ch   chan<- []uint64
	free <-chan []uint64
	ctx  context.Context
	err  error
}

// streamTo makes h send its hashes to ch in batches, reusing those that
// come back on free.
func (h *pageHasher) streamTo(ctx context.Context, ch chan<- []uint64, free <-chan []uint64) {
	h.ch, h.free, h.ctx = ch, free, ctx
	h.out = h.batch()
}

// batch returns an empty batch: one the comparison is done with, else a
// new one. Reusing them keeps a long comparison from making garbage at
// the rate pages stream (32 KiB a 16 MiB of pages, a side), which made
// the heap grow to the collector's goal on large archives.
func (h *pageHasher) batch() []uint64 {
	select {
	case b := <-h.free:
		return b[:0]
	default:
		return make([]uint64, 0, batchPages)
	}
}

// send hands the batch to the comparison.
func (h *pageHasher) send() {
	if len(h.out) == 0 || h.err != nil {
		return
	}
	select {
	case h.ch <- h.out:
	case <-h.ctx.Done():
		h.err = h.ctx.Err()
	}
	h.out = h.batch()
}

// end sends what is left and closes the stream, once.
func (h *pageHasher) end() error {
	if h.ch == nil {
		return nil
	}
	h.send()
	close(h.ch)
	h.ch = nil
	return h.err
}

func (h *pageHasher) Write(p []byte) (int, error) {
	n := len(p)
	h.written += int64(n)
	if h.partial > 0 {
		k := copy(h.buf[h.partial:], p)
		h.partial += k
		p = p[k:]
		if h.partial < criu.PageSize {
			return n, nil
		}
		h.page(h.buf[:])
		h.partial = 0
	}
	for len(p) >= criu.PageSize {
		h.page(p[:criu.PageSize])
		p = p[criu.PageSize:]
	}
	h.partial = copy(h.buf[:], p)
	return n, nil
}

func (h *pageHasher) page(b []byte) {
	if h.n >= h.want {
		return
	}
	h.n++
	h.out = append(h.out, maphash.Bytes(h.seed, b))
	if h.ch != nil && len(h.out) == batchPages {
		h.send()
	}
}

// fill hashes the rest of the pages image, as far as the pagemap needs
// (anything after that is ignored), reading through buf.
func (h *pageHasher) fill(r io.Reader, buf []byte) error {
	total := h.want * criu.PageSize
	for h.written < total {
		n, err := io.ReadFull(r, buf[:min(int64(len(buf)), total-h.written)])
		h.Write(buf[:n])
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return fmt.Errorf("pages image ends at offset %d, before the pagemap says (%d bytes): %w", h.written, total, io.ErrUnexpectedEOF)
			}
			return err
		}
	}
	return nil
}

// page states in a walk over a pagemap.
type pageState uint8

const (
	stateAbsent  pageState = iota // not in the pagemap
	statePresent                  // in this dump's pages image
	stateUnknown                  // in a parent image, or lazy
)

// pageCursor walks the pages of a pagemap in address order.
type pageCursor struct {
	ph   *pageHashes
	runs criu.RunCursor
	r    criu.PageRun // the current run, when ok
	ok   bool
	at   uint64 // page within the run
	// Reading src: buf holds pages from page bufAt on; last is the page
	// hashed last (peek is called more than once per page).
	buf    []byte
	bufAt  int64
	last   int64
	lastH  uint64
	hashed bool
}

// newPageCursor returns a cursor at the first page of ph (nil: none).
func newPageCursor(ph *pageHashes) pageCursor {
	c := pageCursor{ph: ph}
	if ph != nil {
		c.runs = ph.ix.Cursor()
		c.r, c.ok = c.runs.Next()
	}
	return c
}

// hash returns the hash of page i of the pages image; ok is false when
// the image does not hold it.
func (c *pageCursor) hash(i int64) (uint64, bool) {
	ph := c.ph
	if ph.stream != nil {
		return ph.stream.at(i)
	}
	if ph.src == nil {
		if i < 0 || i >= int64(len(ph.hashes)) {
			return 0, false
		}
		return ph.hashes[i], true
	}
	if i < 0 || (i+1)*criu.PageSize > ph.size || *ph.fail != nil {
		return 0, false
	}
	if c.hashed && c.last == i {
		return c.lastH, true
	}
	if n := int64(len(c.buf)) / criu.PageSize; len(c.buf) == 0 || i < c.bufAt || i >= c.bufAt+n {
		if c.buf == nil {
			c.buf = make([]byte, srcChunk)
		}
		c.buf = c.buf[:min(srcChunk, ph.size-i*criu.PageSize)]
		if _, err := ph.src.ReadAt(c.buf, i*criu.PageSize); err != nil {
			*ph.fail = fmt.Errorf("%s: reading pages at offset %d: %w", ph.name, i*criu.PageSize, err)
			c.buf = c.buf[:0]
			return 0, false
		}
		c.bufAt = i
	}
	o := (i - c.bufAt) * criu.PageSize
	c.last, c.lastH, c.hashed = i, maphash.Bytes(ph.seed, c.buf[o:o+criu.PageSize]), true
	return c.lastH, true
}

// peek returns the address, state and hash of the current page; ok is
// false past the last page.
func (c *pageCursor) peek() (addr uint64, st pageState, h uint64, ok bool) {
	if !c.ok {
		return 0, stateAbsent, 0, false
	}
	r := c.r
	addr = r.Start + c.at*criu.PageSize
	if !r.Present() {
		return addr, stateUnknown, 0, true
	}
	h, ok = c.hash(r.Offset/criu.PageSize + int64(c.at))
	if !ok {
		return addr, stateUnknown, 0, true
	}
	return addr, statePresent, h, true
}

// remaining counts the pages left in the current run.
func (c *pageCursor) remaining() uint64 { return c.r.Pages - c.at }

// advance moves n pages on, within the current run.
func (c *pageCursor) advance(n uint64) {
	c.at += n
	if c.at >= c.r.Pages {
		c.r, c.ok = c.runs.Next()
		c.at = 0
	}
}

// mappingFinder names the mapping that holds an address, for page runs.
type mappingFinder struct {
	maps []proc.Mapping // sorted by start
	last int
}

// find returns the start and label of the mapping holding addr; ok is
// false outside every mapping.
func (f *mappingFinder) find(addr uint64) (start uint64, label string, ok bool) {
	if f == nil || len(f.maps) == 0 {
		return 0, "", false
	}
	if m := f.maps[f.last]; m.Start <= addr && addr < m.End {
		return m.Start, mappingLabel(m), true
	}
	i, found := proc.FindMapping(len(f.maps), func(i int) *proc.Mapping { return &f.maps[i] }, addr)
	if !found {
		return 0, "", false
	}
	f.last = i
	return f.maps[i].Start, mappingLabel(f.maps[i]), true
}

func mappingLabel(m proc.Mapping) string {
	if m.File != "" {
		return m.File
	}
	return "[" + m.Kind + "]"
}

// runs gathers changed pages into runs: contiguous pages of one change in
// one mapping.
type runs struct {
	out    []PageRun
	cur    PageRun
	curMap uint64
}

// note adds the page at addr; maps names its mapping (nil: none).
func (rs *runs) note(addr uint64, change string, maps *mappingFinder) {
	mstart, label, _ := maps.find(addr)
	if c := &rs.cur; c.Pages > 0 && c.End == addr && c.Change == change && rs.curMap == mstart {
		c.End += criu.PageSize
		c.Pages++
		return
	}
	rs.flush()
	rs.cur = PageRun{Start: addr, End: addr + criu.PageSize, Pages: 1, Change: change, Mapping: label}
	rs.curMap = mstart
}

func (rs *runs) flush() {
	if rs.cur.Pages > 0 {
		rs.out = append(rs.out, rs.cur)
	}
	rs.cur = PageRun{}
}

// labelled returns d, compared without mappings, with its runs split at
// the mappings and named as comparePages names them: removed pages by A's
// mappings, the others by B's.
func labelled(d *PageDiff, mapsA, mapsB *mappingFinder) *PageDiff {
	out := *d
	rs := runs{out: make([]PageRun, 0, len(d.Runs))}
	for _, r := range d.Runs {
		maps := mapsB
		if r.Change == Removed {
			maps = mapsA
		}
		for addr := r.Start; addr < r.End; addr += criu.PageSize {
			rs.note(addr, r.Change, maps)
		}
	}
	rs.flush()
	out.Runs = rs.out
	return &out
}

// comparePages compares two pagemaps with their hashes. mapsA and mapsB
// name the mappings of runs (nil for shared memory).
func comparePages(a, b *pageHashes, mapsA, mapsB *mappingFinder) *PageDiff {
	d := &PageDiff{}
	rs := runs{out: []PageRun{}}
	ca, cb := newPageCursor(a), newPageCursor(b)
	// one moves a cursor whose page comes first, with no counterpart on
	// the other side (at addrO, if okO): a present page is added or
	// removed, a run without content is skipped up to addrO in one step.
	one := func(c *pageCursor, addr uint64, st pageState, addrO uint64, okO bool, change string, maps *mappingFinder) {
		if st == statePresent {
			c.advance(1)
			if change == Added {
				d.Added++
			} else {
				d.Removed++
			}
			rs.note(addr, change, maps)
			return
		}
		n := c.remaining()
		if okO {
			n = min(n, (addrO-addr)/criu.PageSize)
		}
		c.advance(n)
		d.NotComparable += n
	}
	// Present pages are visited one by one (there are no more of them than
	// the pages images hold); runs without content, which a hostile pagemap
	// can make 2^40 pages long, are skipped in one step.
	for {
		addrA, stA, hA, okA := ca.peek()
		addrB, stB, hB, okB := cb.peek()
		switch {
		case !okA && !okB:
			rs.flush()
			d.Runs = rs.out
			return d
		case okA && (!okB || addrA < addrB):
			one(&ca, addrA, stA, addrB, okB, Removed, mapsA)
		case okB && (!okA || addrB < addrA):
			one(&cb, addrB, stB, addrA, okA, Added, mapsB)
		case stA != statePresent || stB != statePresent:
			// The same pages on both sides, one without content.
			n := min(ca.remaining(), cb.remaining())
			ca.advance(n)
			cb.advance(n)
			d.NotComparable += n
		default:
			ca.advance(1)
			cb.advance(1)
			if hA == hB {
				d.Unchanged++
			} else {
				d.Changed++
				rs.note(addrA, Changed, mapsB)
			}
		}
	}
}

func (p *PageCounts) addDiff(d *PageDiff) {
	if d == nil {
		return
	}
	p.Unchanged += d.Unchanged
	p.Changed += d.Changed
	p.Added += d.Added
	p.Removed += d.Removed
	p.NotComparable += d.NotComparable
}
