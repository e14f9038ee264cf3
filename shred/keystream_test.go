package shred

import (
	"bytes"
	"testing"
)

func TestKeystream(t *testing.T) {
	a, err := newKeystream()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newKeystream()
	x, y := make([]byte, 1<<16), make([]byte, 1<<16)
	a.fill(x)
	b.fill(y)
	if bytes.Equal(x, y) {
		t.Fatal("two keystreams are equal: keys are not random")
	}
	if bytes.Count(x, []byte{0}) > len(x)/128 {
		t.Fatalf("keystream has %d zero bytes in %d", bytes.Count(x, []byte{0}), len(x))
	}
	// Filled in odd-sized pieces after a rewind, the stream is the same:
	// verification replays it that way.
	a.rewind()
	z := make([]byte, len(x))
	for off := 0; off < len(z); off += 1000 {
		a.fill(z[off:min(off+1000, len(z))])
	}
	if !bytes.Equal(x, z) {
		t.Fatal("rewound keystream differs")
	}
	zeros{}.fill(z)
	if !bytes.Equal(z, make([]byte, len(z))) {
		t.Fatal("zero pattern is not zero")
	}
}

func BenchmarkKeystream(b *testing.B) {
	k, err := newKeystream()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		k.fill(buf)
	}
}
