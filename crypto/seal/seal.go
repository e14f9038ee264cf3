package seal

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/crypto/keys"
)

// Digest is the size and SHA-256 of a stream.
type Digest struct {
	Size   int64
	SHA256 [sha256.Size]byte
}

// Options configure sealing. [Seal] uses Recipients, Describe and
// Progress; [File], [Reader] and [Stream], which write a sealed set (the
// sealed file and its sidecars), use the rest too.
type Options struct {
	// Recipients are who can open the sealed file.
	Recipients []keys.Recipient
	// Describe, when set, receives the plaintext as it streams by and
	// returns what the archive is, for the manifest. It runs concurrently
	// with encryption on the same buffers, so it costs little, but it holds
	// the pipeline back if it is slower than encryption. It should read to
	// the end; what it leaves is discarded. Its error does not fail the
	// seal: it is returned in [Result].DescribeErr.
	Describe func(plaintext io.Reader) (archive.Identity, error)
	// Progress, when set, is called with the number of plaintext bytes read
	// after each block.
	Progress func(n int64)

	// Signer, when set, signs the manifest (NAME.json.sig).
	Signer ssh.Signer
	// Name is the archive's name in the manifest. When empty, [File] takes
	// the archive's file name, [Reader] and [Stream] the sealed file's
	// name without [SealedSuffix].
	Name string
	// Node and Tool go into the manifest.
	Node, Tool string
	// Now is the sealing time; time.Now when nil.
	Now func() time.Time
	// Overwrite allows replacing existing output files.
	Overwrite bool
	// ReadBack, for [File] and [Reader], re-reads the sealed file from the
	// device after it is synced and checks its hash, before the sidecars
	// are written: the proof a caller wants before it destroys the source.
	ReadBack bool
}

// Result is what sealing learned on its pass and, for a sealed set, what
// it wrote.
type Result struct {
	Plaintext  Digest
	Ciphertext Digest
	// Identity is what Describe returned; DescribeErr its error.
	Identity    archive.Identity
	DescribeErr error
	// Files and Manifest are the sealed set written by [File], [Reader]
	// and [Stream]; zero after [Seal].
	Files    Sidecars
	Manifest *Manifest
	// ReadBack is true when the sealed file was read back and matched.
	ReadBack bool
}

// Seal encrypts src to the recipients with age and writes the ciphertext to
// dst, hashing plaintext and ciphertext on the way. It reads src once. The
// stages (read, hash plaintext, describe, encrypt, hash ciphertext, write)
// run concurrently on two pools of fixed buffers, so memory is bounded (about
// 16 MiB) and, with two cores, hashing overlaps encryption.
//
// On error nothing is said about what was written to dst: callers write to a
// temporary file and discard it, as [File] does.
func Seal(ctx context.Context, dst io.Writer, src io.Reader, opts Options) (*Result, error) {
	if err := keys.CheckMix(opts.Recipients); err != nil {
		return nil, err
	}
	g, ctx := newGroup(ctx)
	plain := newPool(poolBlocks, blockSize)
	cipher := newPool(poolBlocks, blockSize)

	toHash := make(chan *block, poolBlocks)
	toEncrypt := make(chan *block, poolBlocks)
	var toDescribe chan *block
	consumers := int32(2)
	if opts.Describe != nil {
		toDescribe = make(chan *block, poolBlocks)
		consumers++
	}
	toHashCipher := make(chan *block, poolBlocks)
	toWrite := make(chan *block, poolBlocks)

	res := &Result{}

	// Read the plaintext and hand every block to the hasher, the encryptor
	// and the describer.
	g.Go(func() error {
		defer close(toHash)
		defer close(toEncrypt)
		if toDescribe != nil {
			defer close(toDescribe)
		}
		for {
			b, err := plain.get(ctx, consumers)
			if err != nil {
				return err
			}
			n, rerr := io.ReadFull(src, b.buf)
			b.n = n
			if n == 0 {
				b.refs.Store(1)
				b.release()
			} else {
				res.Plaintext.Size += int64(n)
				for _, ch := range []chan *block{toHash, toEncrypt, toDescribe} {
					if ch == nil {
						continue
					}
					if err := send(ctx, ch, b); err != nil {
						return err
					}
				}
				if opts.Progress != nil {
					opts.Progress(int64(n))
				}
			}
			switch {
			case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
				return nil
			case rerr != nil:
				return fmt.Errorf("read: %w", rerr)
			}
		}
	})

	g.Go(func() error {
		res.Plaintext.SHA256 = hashBlocks(sha256.New(), toHash)
		return nil
	})

	if toDescribe != nil {
		g.Go(func() error {
			r := &blockReader{ctx: ctx, ch: toDescribe}
			info, err := opts.Describe(r)
			r.drain()
			res.Identity, res.DescribeErr = info, err
			return nil
		})
	}

	// Encrypt, collecting the ciphertext into blocks for the hasher and the
	// writer. age's writer emits 64 KiB chunks from a buffer it reuses, so
	// they are copied out; a copy costs a fraction of the hashing.
	g.Go(func() error {
		defer close(toHashCipher)
		defer close(toWrite)
		out := &blockWriter{ctx: ctx, pool: cipher, outs: []chan *block{toHashCipher, toWrite}}
		w, err := age.Encrypt(out, keys.AgeRecipients(opts.Recipients)...)
		if err != nil {
			return err
		}
		for b := range toEncrypt {
			_, err := w.Write(b.bytes())
			b.release()
			if err != nil {
				drainBlocks(toEncrypt)
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		return out.flush()
	})

	g.Go(func() error {
		res.Ciphertext.SHA256 = hashBlocks(sha256.New(), toHashCipher)
		return nil
	})

	g.Go(func() error {
		for b := range toWrite {
			if ctx.Err() == nil {
				n, err := dst.Write(b.bytes())
				res.Ciphertext.Size += int64(n)
				if err != nil {
					b.release()
					drainBlocks(toWrite)
					return fmt.Errorf("write: %w", err)
				}
			}
			b.release()
		}
		return nil
	})

	if err := g.Wait(); err != nil {
		return nil, err
	}
	return res, nil
}

// hashBlocks hashes every block arriving on ch, releasing each, and returns
// the digest.
func hashBlocks(h hash.Hash, ch <-chan *block) (sum [sha256.Size]byte) {
	for b := range ch {
		h.Write(b.bytes())
		b.release()
	}
	h.Sum(sum[:0])
	return sum
}

// drainBlocks releases what is left on ch after a stage failed, so that the
// stages feeding it can finish.
func drainBlocks(ch <-chan *block) {
	for b := range ch {
		b.release()
	}
}

// blockWriter collects written bytes into pool blocks and sends each full
// block to every channel in outs.
type blockWriter struct {
	ctx  context.Context
	pool *pool
	outs []chan *block
	cur  *block
}

func (w *blockWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if w.cur == nil {
			b, err := w.pool.get(w.ctx, int32(len(w.outs)))
			if err != nil {
				return written, err
			}
			w.cur = b
		}
		n := copy(w.cur.buf[w.cur.n:], p)
		w.cur.n += n
		p = p[n:]
		written += n
		if w.cur.n == len(w.cur.buf) {
			if err := w.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (w *blockWriter) flush() error {
	b := w.cur
	if b == nil {
		return nil
	}
	w.cur = nil
	for i, ch := range w.outs {
		if err := send(w.ctx, ch, b); err != nil {
			// The stages that did not get it will never release it.
			for range w.outs[i:] {
				b.release()
			}
			return err
		}
	}
	return nil
}
