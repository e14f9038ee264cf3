package scan

import (
	"cmp"
	"io"
	"slices"
)

// Window sizes. A value longer than maxFwd bytes from its anchor is not
// found; detectors look back at most maxBack bytes (an environment
// variable's name, the label of a connection string).
const (
	blockSize = 256 << 10
	maxFwd    = 32 << 10
	maxBack   = 4 << 10
)

// A Matcher finds secrets in one stream of bytes written to it in blocks of
// any size, and calls emit with each, in the order of their values. A value that spans
// two blocks is found as if the stream had been written at once: the
// Matcher keeps the tail of each block, enough for any candidate still
// undecided, and decides every anchor exactly once. Memory use is fixed
// (under 400 KiB) whatever the stream's length.
//
// Where two matches cover the same bytes the more specific is kept: a JWT
// in an Authorization header is a JWT, the key in a GCP service-account
// file is that file's key, not a bare PEM key.
type Matcher struct {
	emit func(Match)
	// buf holds the data not yet released; buf[0] is at offset base.
	buf  []byte
	base int64
	// next is the first index where anchors have not been looked for.
	next int
	// pending are anchors whose detectors need bytes not yet written.
	pending, retry []pending
	// queue holds matches until no later match can overlap them.
	queue []Match
	w     window
}

type pending struct {
	pos int
	a   *anchor
}

// NewMatcher returns a Matcher that calls emit for each match.
func NewMatcher(emit func(Match)) *Matcher { return newMatcher(emit, blockSize, maxFwd, maxBack) }

// newMatcher returns a Matcher that scans every block bytes with the given
// window. Tests use small ones, to put block boundaries everywhere.
func newMatcher(emit func(Match), block, ahead, behind int) *Matcher {
	m := &Matcher{emit: emit, buf: make([]byte, 0, block+ahead+behind+64)}
	m.w.ahead, m.w.behind = ahead, behind
	m.w.dec = make([]byte, ahead)
	m.w.dec2 = make([]byte, ahead)
	return m
}

// Write scans p as the continuation of the stream. It never fails.
func (m *Matcher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := copy(m.buf[len(m.buf):cap(m.buf)], p)
		m.buf = m.buf[:len(m.buf)+k]
		p = p[k:]
		if len(m.buf) == cap(m.buf) {
			m.scan(false)
		}
	}
	return n, nil
}

// ReadFrom scans what r holds as the continuation of the stream, reading
// straight into the Matcher's buffer.
func (m *Matcher) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		k, err := r.Read(m.buf[len(m.buf):cap(m.buf)])
		m.buf = m.buf[:len(m.buf)+k]
		total += int64(k)
		if len(m.buf) == cap(m.buf) {
			m.scan(false)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// End ends the stream: the candidates still open are decided with the end
// of the stream as their end, and the remaining matches emitted. The
// Matcher is then ready for a new stream, whose offsets start at 0.
func (m *Matcher) End() {
	m.scan(true)
	m.flush(-1)
	m.buf, m.base, m.next = m.buf[:0], 0, 0
	m.pending = m.pending[:0]
	m.w.decidedName = [2]int64{}
	m.w.serviceAccounts.scanned, m.w.serviceAccounts.hits = 0, m.w.serviceAccounts.hits[:0]
}

// scan looks for anchors in the buffer, decides what it can and keeps
// what later bytes must decide.
func (m *Matcher) scan(final bool) {
	b := m.buf
	m.retry, m.pending = m.pending, m.retry[:0]
	for _, p := range m.retry {
		m.try(p.pos, p.a, final)
	}
	limit := len(b) - tab.max + 1
	if final {
		limit = len(b) - tab.min + 1
	}
	if limit > m.next {
		m.prefilter(b, m.next, limit, final)
		m.next = limit
	}
	// Matches to come start at or after the oldest undecided anchor.
	oldest := m.next
	for _, p := range m.pending {
		oldest = min(oldest, p.pos)
	}
	if final {
		return
	}
	m.flush(m.base + int64(oldest))
	// Keep what the undecided anchors and the look-behind need.
	keep := max(oldest-m.w.behind, 0)
	n := copy(m.buf, m.buf[keep:])
	m.buf = m.buf[:n]
	m.base += int64(keep)
	m.next -= keep
	for i := range m.pending {
		m.pending[i].pos -= keep
	}
}

// prefilter finds the anchors starting in b[from:limit] and tries each.
// It is the loop every byte goes through, so it does one table lookup per
// byte pair and compares whole anchors only where a key pair is.
func (m *Matcher) prefilter(b []byte, from, limit int, final bool) {
	t := tab
	// Key pairs of anchors starting in [from, limit) lie in
	// [from, limit+maxKey+1].
	end := min(len(b), limit+t.maxKey+1)
	if end-from < 2 {
		return
	}
	b = b[:end]
	prev := uint16(b[from])
	for i := from + 1; i < len(b); i++ {
		c := uint16(b[i])
		x := prev<<8 | c
		prev = c
		if t.bits[x>>6]&(1<<(x&63)) == 0 {
			continue
		}
		for _, k := range t.groups[t.group[x]-1] {
			s := i - 1 - k.off
			if s >= from && s < limit && hasPrefix(b[s:], k.a.lit) {
				m.try(s, k.a, final)
			}
		}
	}
}

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

// try runs the detector of the anchor at pos.
func (m *Matcher) try(pos int, a *anchor, final bool) {
	w := &m.w
	w.reset(m.buf, m.base, pos, final)
	switch a.detect(w) {
	case accept:
		m.queue = append(m.queue, Match{
			Kind:       w.kind,
			Start:      m.base + int64(w.start),
			End:        m.base + int64(w.end),
			Value:      slices.Clone(m.buf[w.vstart:w.vend]),
			ValueStart: m.base + int64(w.vstart),
			Detail:     w.detail,
		})
	case more:
		if final || pos+m.w.ahead <= len(m.buf) {
			return // a detector that overstepped its window: nothing to wait for
		}
		m.pending = append(m.pending, pending{pos, a})
	}
}

// flush emits the queued matches that no later match can overlap: those
// whose group of mutually overlapping matches ends at or before upTo (all
// of them when upTo is negative). In each group, the most specific matches
// win, then the earliest.
func (m *Matcher) flush(upTo int64) {
	q := m.queue
	if len(q) == 0 {
		return
	}
	slices.SortFunc(q, func(a, b Match) int {
		if a.ValueStart != b.ValueStart {
			return cmp.Compare(a.ValueStart, b.ValueStart)
		}
		return cmp.Compare(a.valueEnd(), b.valueEnd())
	})
	kept := q[:0]
	for i := 0; i < len(q); {
		j, end := i+1, q[i].valueEnd()
		for j < len(q) && q[j].ValueStart < end {
			end = max(end, q[j].valueEnd())
			j++
		}
		if upTo >= 0 && end > upTo {
			kept = append(kept, q[i:j]...)
		} else {
			m.emitGroup(q[i:j])
		}
		i = j
	}
	clear(q[len(kept):])
	m.queue = kept
}

func (m *Matcher) emitGroup(g []Match) {
	if len(g) == 1 {
		m.emit(g[0])
		return
	}
	order := make([]int, len(g))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return g[b].Kind.rank() - g[a].Kind.rank() })
	chosen := make([]bool, len(g))
	for _, i := range order {
		ok := true
		for j := range g {
			if chosen[j] && g[i].overlaps(&g[j]) {
				ok = false
				break
			}
		}
		chosen[i] = ok
	}
	for i := range g {
		if chosen[i] {
			m.emit(g[i])
		}
	}
}

// Find returns the matches in b, scanned as one stream.
func Find(b []byte) []Match {
	var out []Match
	m := NewMatcher(func(x Match) { out = append(out, x) })
	m.Write(b)
	m.End()
	return out
}
