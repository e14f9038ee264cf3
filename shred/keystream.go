package shred

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
)

// keystream is the data a random pass writes: AES-256-CTR under a fresh
// random key. It is a CSPRNG that runs at several GB/s with AES-NI, far
// faster than any disk, and it can be replayed from its key to verify a
// pass without keeping the pass in memory.
type keystream struct {
	key [32]byte
	iv  [aes.BlockSize]byte
	ctr cipher.Stream
}

func newKeystream() (*keystream, error) {
	k := new(keystream)
	if _, err := rand.Read(k.key[:]); err != nil {
		return nil, err
	}
	if _, err := rand.Read(k.iv[:]); err != nil {
		return nil, err
	}
	k.rewind()
	return k, nil
}

// rewind restarts the stream from its first byte.
func (k *keystream) rewind() {
	block, err := aes.NewCipher(k.key[:])
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	k.ctr = cipher.NewCTR(block, k.iv[:])
}

// fill overwrites b with the next len(b) bytes of the stream.
func (k *keystream) fill(b []byte) {
	clear(b)
	k.ctr.XORKeyStream(b, b)
}

// zeros is the pattern of the final zero pass.
type zeros struct{}

func (zeros) fill(b []byte) { clear(b) }
func (zeros) rewind()       {}

// pattern is what one pass writes, replayable for verification.
type pattern interface {
	fill(b []byte)
	rewind()
}
