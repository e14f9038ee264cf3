package archive

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
)

// bufferedAt reads and seeks as a SectionReader over the same bytes does,
// whatever the mix of small reads, big reads and seeks.
func TestBufferedAtReadsAsASection(t *testing.T) {
	data := make([]byte, 300<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b := &bufferedAt{ra: bytes.NewReader(data), size: int64(len(data))}
	s := io.NewSectionReader(bytes.NewReader(data), 0, int64(len(data)))
	for step := range 5000 {
		if rng.IntN(4) == 0 {
			off := rng.Int64N(int64(len(data)) + 10)
			w := io.SeekStart
			if rng.IntN(2) == 0 {
				off, w = rng.Int64N(70<<10), io.SeekCurrent
			}
			p1, e1 := b.Seek(off, w)
			p2, e2 := s.Seek(off, w)
			if p1 != p2 || (e1 == nil) != (e2 == nil) {
				t.Fatalf("step %d: seek %d,%d: %d %v, section %d %v", step, off, w, p1, e1, p2, e2)
			}
			continue
		}
		n := rng.IntN(600)
		if rng.IntN(10) == 0 {
			n = 64<<10 + rng.IntN(10<<10)
		}
		p1, p2 := make([]byte, n), make([]byte, n)
		n1, e1 := io.ReadFull(b, p1)
		n2, e2 := io.ReadFull(s, p2)
		if n1 != n2 || e1 != e2 || !bytes.Equal(p1[:n1], p2[:n2]) {
			t.Fatalf("step %d: read %d: %d %v, section %d %v", step, n, n1, e1, n2, e2)
		}
	}
}
