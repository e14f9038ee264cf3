package testgen

import (
	"encoding/binary"
	"math/bits"
	"strconv"
)

// filler produces the content of ordinary pages. A page's content depends
// only on the seed, the pid and its address, never on what was generated
// before it, so any page can be recomputed (FillPage) and the order in
// which pages are written does not matter.
type filler struct {
	kind FillKind
	seed uint64
	ramp []byte // FillPattern: bytes 0..255 repeated, one page and a period long
}

func newFiller(kind FillKind, seed int64) filler {
	f := filler{kind: kind, seed: uint64(seed)}
	if kind == FillPattern {
		f.ramp = make([]byte, pageSize+256)
		for i := range f.ramp {
			f.ramp[i] = byte(i)
		}
	}
	return f
}

// FillPage writes into p (one page, 4096 bytes) what a page at vaddr of
// process pid holds before anything is planted in it, for a Spec with the
// given fill and seed.
func FillPage(p []byte, kind FillKind, seed int64, pid int, vaddr uint64) {
	newFiller(kind, seed).page(p[:pageSize], uint32(pid), vaddr)
}

func (f filler) page(p []byte, pid uint32, vaddr uint64) {
	switch f.kind {
	case FillZeros:
		clear(p)
	case FillPattern:
		f.pattern(p, pid, vaddr)
	case FillText:
		f.text(p, f.state(pid, vaddr))
	default:
		f.random(p, f.state(pid, vaddr))
	}
}

// state seeds one page's generator.
func (f filler) state(pid uint32, vaddr uint64) uint64 {
	return mix64(f.seed ^ mix64(uint64(pid)<<44^vaddr>>12))
}

// wyrand is a fast 64-bit generator with good statistical quality; the
// data need not be secret, only incompressible.
func wyrand(s *uint64) uint64 {
	*s += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(*s, *s^0xe7037ed1a0b428db)
	return hi ^ lo
}

func (f filler) random(p []byte, s uint64) {
	for i := 0; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], wyrand(&s))
	}
}

func (f filler) pattern(p []byte, pid uint32, vaddr uint64) {
	start := (vaddr / pageSize * 31) & 0xff
	copy(p, f.ramp[start:])
	hdr := append(p[:0], "testgen pid="...)
	hdr = strconv.AppendUint(hdr, uint64(pid), 10)
	hdr = append(hdr, " vaddr=0x"...)
	hdr = strconv.AppendUint(hdr, vaddr, 16)
	_ = append(hdr, '\n')
}

// Log-like text: lines assembled from small vocabularies, each with a
// random request id and number, so that it compresses roughly as logs do.
var (
	textLevels     = [...]string{"INFO ", "WARN ", "DEBUG ", "ERROR "}
	textComponents = [...]string{"http: ", "db: ", "cache: ", "auth: ", "worker: ", "grpc: ", "queue: ", "scheduler: "}
	textMessages   = [...]string{
		"request completed path=/api/v1/orders status=200", "request completed path=/api/v1/users status=404",
		"connection pool exhausted, waiting", "cache miss for key session", "token refreshed for user",
		"retrying after timeout", "select id, name, email from users where id = $1", "health check ok",
		"job finished", "job started", "upstream closed connection", "slow query detected",
		"rate limit exceeded for client", "config reloaded", "message acknowledged", "handshake complete",
	}
)

const hexDigits = "0123456789abcdef"

func (f filler) text(p []byte, s uint64) {
	var line [160]byte
	for i := 0; i < len(p); {
		v := wyrand(&s)
		b := append(line[:0], textLevels[v&3]...)
		b = append(b, textComponents[v>>2&7]...)
		b = append(b, textMessages[v>>5&15]...)
		b = append(b, " id="...)
		id := wyrand(&s)
		for k := 0; k < 16; k++ {
			b = append(b, hexDigits[id>>(4*k)&15])
		}
		b = append(b, " ms="...)
		b = strconv.AppendUint(b, v>>54, 10)
		b = append(b, '\n')
		i += copy(p[i:], b)
	}
}
