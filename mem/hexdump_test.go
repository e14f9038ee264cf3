package mem

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/internal/fixture"
)

func dump(t testing.TB, b []byte, chunks []int) string {
	var out bytes.Buffer
	h := NewHexdump(&out)
	addr := uint64(0)
	for _, n := range chunks {
		if err := h.Write(addr, b[:n]); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
		addr += uint64(n)
	}
	if err := h.Write(addr, b); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestHexdumpMatchesHexdumpC compares with the real hexdump -C on inputs
// that exercise folding: repeated rows, rows equal but for one byte (never
// folded), a partial last row equal to the start of the one before (not
// folded either), and the same bytes delivered in odd pieces.
func TestHexdumpMatchesHexdumpC(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	row := bytes.Repeat([]byte{0x41}, 16)
	almost := bytes.Clone(row)
	almost[15] = 0x42
	cases := map[string][]byte{
		"empty":    nil,
		"one byte": {0},
		"all bytes": func() []byte {
			b := make([]byte, 256)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}(),
		"repeats":       bytes.Repeat(row, 10),
		"differ late":   append(append(bytes.Repeat(row, 3), almost...), bytes.Repeat(row, 2)...),
		"partial equal": append(bytes.Repeat(row, 2), row[:7]...),
		"zeros 3 pages": make([]byte, 3*criu.PageSize+5),
	}
	random := make([]byte, 70000)
	for i := range random {
		random[i] = byte(rng.IntN(4)) // few values: many repeated rows
	}
	cases["random"] = random
	for name, b := range cases {
		want := fixture.HexdumpC(t, b)
		for _, chunks := range [][]int{nil, {1}, {15, 1, 17}, {len(b) / 2}} {
			if sum(chunks) > len(b) {
				continue
			}
			if got := dump(t, b, chunks); got != want {
				t.Errorf("%s, pieces %v:\n%s\nhexdump -C:\n%s", name, chunks, got, want)
			}
		}
	}
}

func sum(s []int) (n int) {
	for _, v := range s {
		n += v
	}
	return n
}

// TestHexdumpAbsent: an absent stretch is a line of its own, and rows
// around it are not folded into each other.
func TestHexdumpAbsent(t *testing.T) {
	var out bytes.Buffer
	h := NewHexdump(&out)
	zeros := make([]byte, 32)
	h.Write(0x7f0000000000, zeros)
	h.Absent(0x7f0000000020, 0x2000, criu.ErrNotDumped)
	h.Write(0x7f0000002020, zeros[:16])
	h.Close()
	want := `7f0000000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|
*
7f0000000020  -- 8192 bytes absent to 7f0000002020: not in the dump (unmapped, or never touched) --
7f0000002020  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|
7f0000002030
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n += len(p); f.n > 1000 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestHexdumpReportsWriteErrors(t *testing.T) {
	h := NewHexdump(&failWriter{})
	var err error
	for i := 0; err == nil && i < 100000; i++ {
		err = h.Write(uint64(i)*16, []byte(strings.Repeat(string(rune('a'+i%26)), 16)))
	}
	if err == nil {
		err = h.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("error %v", err)
	}
}

// BenchmarkHexdump formats random memory (no folding) to io.Discard.
func BenchmarkHexdump(b *testing.B) {
	data := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	b.SetBytes(int64(len(data)))
	h := NewHexdump(discard{})
	for i := 0; b.Loop(); i++ {
		h.Write(uint64(i)*uint64(len(data)), data)
	}
	h.Close()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestPrintableTable(t *testing.T) {
	if len(printable) != 256 {
		t.Fatalf("%d entries", len(printable))
	}
	for c := range 256 {
		want := byte('.')
		if c >= 0x20 && c <= 0x7e {
			want = byte(c)
		}
		if printable[c] != want {
			t.Errorf("%#x: %q", c, printable[c])
		}
	}
}
