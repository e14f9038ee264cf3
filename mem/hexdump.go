package mem

import (
	"fmt"
	"io"
	"math/bits"
)

// Hexdump writes memory in the layout of `hexdump -C`: an address, sixteen
// bytes in hex in two groups of eight, the same bytes as text, and a row
// that repeats the previous one in all sixteen bytes folded into a single
// "*". Addresses are the process's virtual addresses, so a range that
// starts at 0 prints exactly what hexdump -C prints for the same bytes.
//
// Memory that is not in the dump is printed as a line of its own that
// says so, never as zeros, and rows are never folded across it.
type Hexdump struct {
	w        io.Writer
	buf      []byte // output not yet written to w
	err      error
	next     uint64 // address of the next byte
	started  bool
	row      [16]byte // a partial row waiting for more bytes
	nrow     int
	prev     [16]byte // the last full row, for folding
	havePrev bool
	folding  bool
}

// hexdumpBuf is how much output is gathered before a write: rows are
// formatted in place, and the writer sees few, large writes.
const hexdumpBuf = 256 << 10

// NewHexdump returns a Hexdump writing to w. Call Close to print the final
// address line and flush.
func NewHexdump(w io.Writer) *Hexdump {
	return &Hexdump{w: w, buf: make([]byte, 0, hexdumpBuf)}
}

// Write prints p, the bytes at addr.
func (h *Hexdump) Write(addr uint64, p []byte) error {
	if len(p) == 0 {
		return h.err // hexdump prints nothing for nothing
	}
	if h.started && addr != h.next {
		h.flushRow()
		h.havePrev, h.folding = false, false
	}
	h.started = true
	h.next = addr
	if h.nrow > 0 {
		k := copy(h.row[h.nrow:], p)
		h.nrow += k
		p = p[k:]
		h.next += uint64(k)
		if h.nrow < 16 {
			return h.err
		}
		row := h.row
		h.fullRow(h.next-16, row[:])
		h.nrow = 0
	}
	for len(p) >= 16 && h.err == nil {
		h.fullRow(h.next, p[:16])
		p = p[16:]
		h.next += 16
	}
	if len(p) > 0 {
		h.nrow = copy(h.row[:], p)
		h.next += uint64(len(p))
	}
	return h.err
}

// Absent prints that the n bytes at addr are not in the dump, and why.
func (h *Hexdump) Absent(addr, n uint64, why error) error {
	h.flushRow()
	h.havePrev, h.folding = false, false
	h.started = true
	h.room(256)
	h.buf = appendAddr(h.buf, addr)
	h.buf = fmt.Appendf(h.buf, "  -- %d bytes absent to ", n)
	h.buf = appendAddr(h.buf, addr+n)
	h.buf = fmt.Appendf(h.buf, ": %v --\n", why)
	h.next = addr + n
	return h.err
}

// Close prints the final address line, as hexdump does, and flushes.
func (h *Hexdump) Close() error {
	if h.started {
		h.flushRow()
		h.room(24)
		h.buf = append(appendAddr(h.buf, h.next), '\n')
	}
	h.flush()
	return h.err
}

// room makes sure n more bytes fit in the buffer.
func (h *Hexdump) room(n int) {
	if cap(h.buf)-len(h.buf) < n {
		h.flush()
	}
}

func (h *Hexdump) flush() {
	if len(h.buf) > 0 && h.err == nil {
		_, h.err = h.w.Write(h.buf)
	}
	h.buf = h.buf[:0]
}

// flushRow prints a pending partial row. hexdump never folds a partial
// row: it is not sixteen equal bytes.
func (h *Hexdump) flushRow() {
	if h.nrow == 0 {
		return
	}
	h.line(h.next-uint64(h.nrow), h.row[:h.nrow])
	h.nrow = 0
}

func (h *Hexdump) fullRow(addr uint64, p []byte) {
	r := [16]byte(p)
	if h.havePrev && r == h.prev {
		if !h.folding {
			h.room(2)
			h.buf = append(h.buf, '*', '\n')
			h.folding = true
		}
		return
	}
	h.prev, h.havePrev, h.folding = r, true, false
	h.room(96)
	h.buf = appendAddr(h.buf, addr)
	n := len(h.buf)
	h.buf = h.buf[:n+71]
	formatRow((*[71]byte)(h.buf[n:]), &r)
}

const hexDigits = "0123456789abcdef"

// printable maps a byte to itself when it is printable ASCII (as C's
// isprint in the C locale, which hexdump uses) and to '.' otherwise.
const printable = "................................" + // 0x00-0x1f
	" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~" +
	"................................................................" + // 0x7f-0xbe
	"................................................................." // 0xbf-0xff

// formatRow lays out the 71 bytes that follow the address of a full row.
func formatRow(o *[71]byte, r *[16]byte) {
	o[0], o[1] = ' ', ' '
	for i := range 8 {
		c := r[i]
		o[2+3*i], o[3+3*i], o[4+3*i] = hexDigits[c>>4], hexDigits[c&15], ' '
		c = r[8+i]
		o[27+3*i], o[28+3*i], o[29+3*i] = hexDigits[c>>4], hexDigits[c&15], ' '
	}
	o[26] = ' '
	o[51], o[52] = ' ', '|'
	for i, c := range r {
		o[53+i] = printable[c] // a table, not a branch random bytes mispredict
	}
	o[69], o[70] = '|', '\n'
}

// line formats a row of fewer than 16 bytes.
func (h *Hexdump) line(addr uint64, p []byte) {
	h.room(96)
	b := appendAddr(h.buf, addr)
	b = append(b, ' ', ' ')
	for i := range 16 {
		if i == 8 {
			b = append(b, ' ')
		}
		if i < len(p) {
			b = append(b, hexDigits[p[i]>>4], hexDigits[p[i]&15], ' ')
		} else {
			b = append(b, ' ', ' ', ' ')
		}
	}
	b = append(b, ' ', '|')
	for _, c := range p {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		b = append(b, c)
	}
	h.buf = append(b, '|', '\n')
}

// appendAddr writes addr in lowercase hex, at least eight digits, as
// hexdump's %08.8_ax does.
func appendAddr(b []byte, addr uint64) []byte {
	n := max(8, (bits.Len64(addr)+3)/4)
	var d [16]byte
	for i := 15; i >= 0; i-- {
		d[i] = hexDigits[addr&15]
		addr >>= 4
	}
	return append(b, d[16-n:]...)
}
