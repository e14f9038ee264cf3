package scan

// verdict is what a detector says about a candidate.
type verdict int8

const (
	reject verdict = iota
	accept
	more // the bytes written so far cannot decide
)

// window is what a detector sees: the buffer, the anchor's position, and
// where to put what it found. Detectors read b[at-behind : at+ahead] at
// most, so that every candidate is decided on the same bytes however the
// stream was split.
type window struct {
	b     []byte
	at    int
	final bool // b ends where the stream ends
	// ahead and behind are the matcher's window (maxFwd and maxBack; tests
	// use small ones).
	ahead, behind int
	// base is the stream offset of b[0].
	base int64
	// decidedName holds the stream offsets of the last environment
	// variable name already decided: every anchor inside it would decide
	// the same, so a run of keywords (KEYKEYKEY...) costs no more than one.
	decidedName [2]int64
	// serviceAccounts remembers where "type": "service_account" is, for
	// the GCP detector: scanned is how far it was looked for, hits where
	// it was found (within the buffer).
	serviceAccounts struct {
		scanned int64
		hits    []int64
	}

	kind                     Kind
	start, end, vstart, vend int
	detail                   string

	// Scratch space for decoding, reused: no allocation per candidate.
	dec, dec2 []byte
}

func (w *window) reset(b []byte, base int64, at int, final bool) {
	w.b, w.base, w.at, w.final = b, base, at, final
	w.kind, w.detail = "", ""
}

// fwd is the end of what a detector may read.
func (w *window) fwd() int { return min(len(w.b), w.at+w.ahead) }

// back is the start of what a detector may read behind its anchor.
func (w *window) back() int { return max(0, w.at-w.behind) }

// truncated says the window ends where the buffer does, before the end of
// the stream: a detector that ran out of bytes there must wait for more.
func (w *window) truncated() bool { return !w.final && w.at+w.ahead > len(w.b) }

// outOfBytes is the verdict of a detector that reached the end of its
// window undecided.
func (w *window) outOfBytes() verdict {
	if w.truncated() {
		return more
	}
	return reject
}

// found records a match: [start,end) is the whole match, [vstart,vend) the
// secret value.
func (w *window) found(k Kind, start, end, vstart, vend int, detail string) verdict {
	w.kind, w.start, w.end, w.vstart, w.vend, w.detail = k, start, end, vstart, vend, detail
	return accept
}

// boundaryBefore reports whether the byte before i ends a word (or i is
// the start of the stream, which the matcher guarantees when i has less
// than behind bytes before it).
func (w *window) boundaryBefore(i int) bool { return i == 0 || !isNameChar(w.b[i-1]) }

// valueEnds decides whether a base64-like value of class cls (with '='
// padding) ends at i: accept when the byte there (or the end of the
// stream) cannot continue it, reject when it can, and outOfBytes when i
// is past what the window holds.
func (w *window) valueEnds(i int, cls uint16) verdict {
	c, ok := w.byteAt(i)
	if !ok {
		return w.outOfBytes()
	}
	if c != eos && (is(byte(c), cls) || c == '=') {
		return reject
	}
	return accept
}

// eos is what byteAt returns at the end of the stream.
const eos = -1

// byteAt returns the byte at i, or eos at the end of the stream. ok is
// false past the window or past the bytes written so far: the detector
// must then return outOfBytes.
func (w *window) byteAt(i int) (c int, ok bool) {
	switch {
	case i < w.fwd():
		return int(w.b[i]), true
	case i >= len(w.b) && w.final && i < w.at+w.ahead:
		return eos, true
	}
	return 0, false
}
