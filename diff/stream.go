package diff

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
)

// Comparing two streams in lockstep.
//
// [Differ.ReadBoth] reads the two archives at the same time, one goroutine
// each. When a compressed or piped archive reaches a pages image, its
// pagemap is offered to a pairer under the key (container, pagemap name).
// If the other archive reaches the same key, both hash their pages into
// small batches and a third goroutine compares the two batch streams in
// address order as they come: nothing is held per page. CRIU's member
// order puts every pagemap before the pages images, and two dumps of one
// container list the same processes in the same order, so the two archives
// nearly always meet at the same key.
//
// Where they do not (a process in one archive only, another member
// order), one side hashes its pages into a table, today's way, and the
// other compares against that table when it gets there; a random-access
// archive offers its pages image's reader instead, which costs nothing.
// Tables count against Limits.MaxPending; past it the diff fails with
// ErrUnmatched (an archive.ErrBudget) rather than growing.

// ErrUnmatched is returned, wrapped with archive.ErrBudget, when the pages
// of one archive find no counterpart streaming in the other at the same
// time, and their hashes held until it comes would exceed the limit on
// held pages.
var ErrUnmatched = errors.New("page hashes of pages with no counterpart in the other archive exceed the limit on held pages")

// pageKey names a pagemap in an archive.
type pageKey struct{ prefix, name string }

// batchPages is how many page hashes a stream sends at once (32 KiB).
const batchPages = 4096

// pageResult is a comparison made while the archives streamed, without
// mapping names (Compare adds them): by both sides' entries when they
// were paired, by one side's when no counterpart exists (lone).
type pageResult struct {
	d    *PageDiff
	lone bool
}

// offer is a side waiting at a pages image for the other side to reach
// the same pagemap.
type offer struct {
	key     pageKey
	ix      *criu.PageIndex
	verdict *plan // set by the other side: what this side does instead
}

// plan says what a side does with the pages image it has reached: send
// its page hashes to ch, or (ch nil) hash them into entry.hashes within
// the budget. entry is what the snapshot keeps.
type plan struct {
	ch    chan []uint64
	free  chan []uint64 // batches the comparison is done with, to reuse
	done  chan struct{} // closed when the comparison has ended
	entry *pageHashes
	err   error
}

// sideState is what the pairer knows of one archive.
type sideState struct {
	waiting *offer
	// stored are entries that wait for the other side to reach their key:
	// hash tables, random-access readers, pagemaps without pages.
	stored map[pageKey]*pageHashes
	// had is every key this side has had, known every pagemap it holds.
	had, known map[pageKey]bool
	prefixes   map[string]bool
	done       bool // the side read its whole archive (or failed)
}

// pairer pairs the pages images of two archives read at the same time.
type pairer struct {
	mu    sync.Mutex
	wake  chan struct{} // closed and replaced on every change
	sides [2]sideState
	held  int64 // bytes of hash tables
	max   int64
	names [2]string // archive names, for errors
	wg    sync.WaitGroup
}

func newPairer(maxHeld int64, nameA, nameB string) *pairer {
	p := &pairer{wake: make(chan struct{}), max: maxHeld, names: [2]string{nameA, nameB}}
	for i := range p.sides {
		p.sides[i] = sideState{stored: map[pageKey]*pageHashes{}, had: map[pageKey]bool{}, known: map[pageKey]bool{}, prefixes: map[string]bool{}}
	}
	return p
}

// changed wakes every waiter; the caller holds mu.
func (p *pairer) changed() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// streamable says whether the present pages of ix lie in the pages image
// in address order, so that hashes in image order come in address order.
// CRIU writes them so; a pagemap out of order is compared from a table.
func streamable(ix *criu.PageIndex) bool { return ix.OffsetsAscend() }

// arrive is called by side me at the pages image of key, before reading
// it. pagemaps lists the pagemap images its archive holds so far (called
// once per container). It returns what to do with the pages.
func (p *pairer) arrive(ctx context.Context, me int, key pageKey, ix *criu.PageIndex, want int64, pagemaps func() []string) (*plan, error) {
	p.mu.Lock()
	s := &p.sides[me]
	if !s.prefixes[key.prefix] {
		s.prefixes[key.prefix] = true
		for _, n := range pagemaps() {
			s.known[pageKey{key.prefix, n}] = true
		}
	}
	s.had[key], s.known[key] = true, true
	o := &offer{key: key, ix: ix}
	if !streamable(ix) {
		pl := p.storePlan(me, key, want)
		p.changed()
		p.mu.Unlock()
		return pl, pl.err
	}
	s.waiting = o
	p.changed()
	for {
		if pl := p.step(me, o, want); pl != nil {
			s.waiting = nil
			p.changed()
			p.mu.Unlock()
			return pl, pl.err
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			p.mu.Lock()
			if s.waiting == o {
				s.waiting = nil
			}
			p.mu.Unlock()
			return nil, ctx.Err()
		}
		p.mu.Lock()
	}
}

// step decides, if it can yet, what side me does at offer o; nil means
// wait. The caller holds mu.
func (p *pairer) step(me int, o *offer, want int64) *plan {
	if o.verdict != nil {
		return o.verdict
	}
	other := &p.sides[1-me]
	// A reader is used once its side has stopped reading its archive:
	// the archive's reader may not be safe for concurrent use.
	if e := other.stored[o.key]; e != nil && (e.src == nil || other.done) {
		delete(other.stored, o.key)
		p.held -= int64(cap(e.hashes)) * 8
		return p.against(me, o, e, false)
	}
	if w := other.waiting; w != nil && w.verdict == nil {
		if w.key == o.key {
			return p.pair(me, o, w)
		}
		// Both wait, at different pagemaps: one side hashes its pages into
		// a table and goes on. It is the side whose pagemap the other does
		// not have (a process in one archive only), else the one that
		// waited first.
		if !other.known[o.key] {
			return p.storePlan(me, o.key, want)
		}
		w.verdict = p.storePlan(1-me, w.key, int64(w.wantBytes()))
		other.waiting = nil
		p.changed()
		return nil
	}
	if other.done {
		if p.lone(1-me, o.key) {
			return p.against(me, o, &pageHashes{}, true)
		}
		return p.storePlan(me, o.key, want)
	}
	return nil
}

// wantBytes is the bytes of the pages image o's pagemap needs.
func (o *offer) wantBytes() int64 {
	var n int64
	for r := range o.ix.All() {
		if r.Present() {
			n = max(n, r.Offset+int64(r.Pages)*criu.PageSize)
		}
	}
	return n
}

// lone says whether no pagemap of side s will ever be compared with key:
// s has read its archive, has none under key, and has no single container
// that Compare would pair with key's whatever its name.
func (p *pairer) lone(s int, key pageKey) bool {
	st := &p.sides[s]
	if st.had[key] {
		return false
	}
	if len(st.prefixes) == 1 {
		for prefix := range st.prefixes {
			if st.had[pageKey{prefix, key.name}] {
				return false
			}
		}
	}
	return true
}

// storePlan has side me hash its pages of key into a table, when the
// budget allows. The caller holds mu.
func (p *pairer) storePlan(me int, key pageKey, want int64) *plan {
	n := want / criu.PageSize * 8
	if p.held+n > p.max {
		return &plan{err: fmt.Errorf("%w: %w: %s: %s%s: its pages found no counterpart streaming in %s at the same time (another process, or another member order), and holding a hash of each (%d bytes) would bring what is held to %d bytes, past the %d-byte limit on held pages",
			archive.ErrBudget, ErrUnmatched, p.names[me], key.prefix, key.name, p.names[1-me], n, p.held+n, p.max)}
	}
	p.held += n
	return &plan{entry: &pageHashes{hashes: make([]uint64, 0, want/criu.PageSize)}}
}

// against has side me stream its pages of o against e, an entry of the
// other side (a table, a reader, or nothing when lone). The caller holds
// mu.
func (p *pairer) against(me int, o *offer, e *pageHashes, lone bool) *plan {
	res := &pageResult{lone: lone}
	ch, free := make(chan []uint64, 2), make(chan []uint64, 4)
	mine := &pageHashes{ix: o.ix, stream: &digestStream{ch: ch, free: free}}
	theirs := *e // the comparator's copy: e is emptied when it is done
	var readErr error
	if theirs.src != nil {
		theirs.fail = &readErr
	}
	done := make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(done)
		a, b := mine, &theirs
		if me == 1 {
			a, b = b, a
		}
		d := comparePages(a, b, nil, nil)
		mine.stream.drain()
		p.mu.Lock()
		defer p.mu.Unlock()
		res.d = d
		if !lone {
			e.ix, e.hashes, e.src, e.compared = nil, nil, nil, res
		}
		if readErr != nil && e.fail != nil && *e.fail == nil {
			*e.fail = readErr
		}
	}()
	return &plan{ch: ch, free: free, done: done, entry: &pageHashes{compared: res}}
}

// pair has both sides stream their pages to one comparator. The caller
// holds mu.
func (p *pairer) pair(me int, o, w *offer) *plan {
	res := &pageResult{}
	chs := [2]chan []uint64{make(chan []uint64, 2), make(chan []uint64, 2)}
	free := [2]chan []uint64{make(chan []uint64, 4), make(chan []uint64, 4)}
	ph := [2]*pageHashes{}
	ph[me] = &pageHashes{ix: o.ix, stream: &digestStream{ch: chs[me], free: free[me]}}
	ph[1-me] = &pageHashes{ix: w.ix, stream: &digestStream{ch: chs[1-me], free: free[1-me]}}
	done := make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(done)
		d := comparePages(ph[0], ph[1], nil, nil)
		ph[0].stream.drain()
		ph[1].stream.drain()
		p.mu.Lock()
		res.d = d
		p.mu.Unlock()
	}()
	w.verdict = &plan{ch: chs[1-me], free: free[1-me], done: done, entry: &pageHashes{compared: res}}
	p.sides[1-me].waiting = nil
	return &plan{ch: chs[me], free: free[me], done: done, entry: &pageHashes{compared: res}}
}

// publish makes the table (or reader, or pagemap without pages) e of
// side me available to the other side under key.
func (p *pairer) publish(me int, key pageKey, e *pageHashes) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &p.sides[me]
	s.had[key], s.known[key] = true, true
	s.prefixes[key.prefix] = true
	s.stored[key] = e
	p.changed()
}

// finish marks side me as having read its archive; tables of the other
// side that nothing of me will be compared with are compared with nothing
// now and dropped.
func (p *pairer) finish(me int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sides[me].done = true
	other := &p.sides[1-me]
	for key, e := range other.stored {
		if e.src != nil || !p.lone(me, key) {
			continue
		}
		a, b := e, &pageHashes{}
		if me == 0 {
			a, b = b, a
		}
		e.compared = &pageResult{d: comparePages(a, b, nil, nil), lone: true}
		p.held -= int64(cap(e.hashes)) * 8
		e.ix, e.hashes = nil, nil
		delete(other.stored, key)
	}
	p.changed()
}

// digestStream delivers the page hashes of a pages image in image order,
// in batches, to a comparison.
type digestStream struct {
	ch    <-chan []uint64
	free  chan<- []uint64 // takes batches back for reuse; nil: dropped
	batch []uint64
	base  int64 // image page of batch[0]
	ended bool
}

// at returns the hash of page i of the image. Pages are asked for in
// order; those skipped are dropped.
func (s *digestStream) at(i int64) (uint64, bool) {
	for !s.ended && i >= s.base+int64(len(s.batch)) {
		s.base += int64(len(s.batch))
		s.recycle(s.batch)
		b, ok := <-s.ch
		if !ok {
			s.ended, s.batch = true, nil
			break
		}
		s.batch = b
	}
	if i < s.base || i >= s.base+int64(len(s.batch)) {
		return 0, false
	}
	return s.batch[i-s.base], true
}

// drain receives what the comparison did not need, so the sender ends.
func (s *digestStream) drain() {
	for b := range s.ch {
		s.recycle(b)
	}
	s.ended = true
}

// recycle hands b, which nothing reads any more, back to the sender when
// it has room for it.
func (s *digestStream) recycle(b []uint64) {
	if s.free == nil || cap(b) != batchPages {
		return
	}
	select {
	case s.free <- b:
	default:
	}
}

// pagemapNames lists the pagemap images of a set.
func pagemapNames(images *criu.ImageSet) []string {
	var out []string
	for _, n := range images.Names() {
		if strings.HasPrefix(n, "pagemap-") {
			out = append(out, n)
		}
	}
	return out
}
