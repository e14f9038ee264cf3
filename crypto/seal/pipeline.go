package seal

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"runtime"

	"filippo.io/age/armor"
)

// plaintextSink receives the plaintext in order, one block at a time.
type plaintextSink func(p []byte) error

// output says where decrypted plaintext goes: to at, at its offset, written
// by whichever worker decrypted it (a temporary file, so that writing runs
// in parallel too); and, in order, to sink. Either may be nil.
type output struct {
	at   io.WriterAt
	sink plaintextSink
}

// inOrder returns out as a sink only: for sequential decryption, writes to
// at happen in order too.
func (out output) inOrder() plaintextSink {
	var off int64
	return func(p []byte) error {
		if out.at != nil {
			if _, err := out.at.WriteAt(p, off); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			off += int64(len(p))
		}
		if out.sink != nil {
			return out.sink(p)
		}
		return nil
	}
}

// decryptAt decrypts the age file of size bytes in src with d, using up to
// one worker per core on consecutive blocks, writes each block to out.at and
// passes the plaintext in order to out.sink while hashing it. age
// authenticates every 64 KiB chunk, and blocks are whole chunks, so the
// workers never share one.
func decryptAt(ctx context.Context, d *Decrypter, src io.ReaderAt, size int64, out output, progress func(int64)) (Digest, error) {
	ra, n, err := d.DecryptReaderAt(src, size)
	if err != nil {
		return Digest{}, err
	}
	workers := min(runtime.GOMAXPROCS(0), 4)
	blocks := (n + blockSize - 1) / blockSize
	p := newPool(poolBlocks+workers, blockSize)

	type job struct {
		index int64
		out   chan *block
	}
	jobs := make(chan job)
	// order carries each block's result channel in file order; its capacity
	// bounds how far the workers run ahead of the consumer.
	order := make(chan chan *block, poolBlocks)
	g, ctx := newGroup(ctx)

	g.Go(func() error {
		defer close(jobs)
		defer close(order)
		for i := range blocks {
			out := make(chan *block, 1)
			select {
			case order <- out:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case jobs <- job{i, out}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range workers {
		g.Go(func() error {
			for j := range jobs {
				b, err := p.get(ctx, 1)
				if err != nil {
					return err
				}
				off := j.index * blockSize
				want := int(min(blockSize, n-off))
				got, err := ra.ReadAt(b.buf[:want], off)
				if got < want {
					if err == nil || err == io.EOF {
						err = fmt.Errorf("%w: short read at offset %d", ErrCorrupt, off)
					}
					return err
				}
				b.n = got
				if out.at != nil {
					if _, err := out.at.WriteAt(b.bytes(), off); err != nil {
						b.release()
						return fmt.Errorf("write: %w", err)
					}
				}
				j.out <- b
			}
			return nil
		})
	}
	var dig Digest
	g.Go(func() error {
		h := sha256.New()
		for next := range order {
			var b *block
			select {
			case b = <-next:
			case <-ctx.Done():
				return ctx.Err()
			}
			h.Write(b.bytes())
			var err error
			if out.sink != nil {
				err = out.sink(b.bytes())
			}
			dig.Size += int64(b.n)
			b.release()
			if err != nil {
				return err
			}
			if progress != nil {
				progress(int64(b.n))
			}
		}
		h.Sum(dig.SHA256[:0])
		return nil
	})
	if err := g.Wait(); err != nil {
		return Digest{}, err
	}
	return dig, nil
}

// decryptFile decrypts the age file of size bytes in f: with random access
// and parallel workers, or through age's streaming reader when the file is
// ASCII-armored.
func decryptFile(ctx context.Context, d *Decrypter, f io.ReaderAt, size int64, out output, progress func(int64)) (Digest, error) {
	head := make([]byte, 64)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return Digest{}, err
	}
	if isArmored(head[:n]) {
		src := armor.NewReader(sourceReader{io.NewSectionReader(f, 0, size)})
		r, err := d.decrypt(src)
		if err != nil {
			return Digest{}, err
		}
		return readBlocks(ctx, r, out.inOrder(), progress)
	}
	return decryptAt(ctx, d, f, size, out, progress)
}

// decryptStream is decryptAt for a source without random access (a pipe):
// age's streaming reader, one block at a time.
func decryptStream(ctx context.Context, d *Decrypter, src io.Reader, sink plaintextSink, progress func(int64)) (Digest, error) {
	r, err := d.Decrypt(src)
	if err != nil {
		return Digest{}, err
	}
	return readBlocks(ctx, r, sink, progress)
}

// readBlocks reads r to its end in blocks, hashing each and passing it
// to sink (when set).
func readBlocks(ctx context.Context, r io.Reader, sink plaintextSink, progress func(int64)) (Digest, error) {
	h := sha256.New()
	buf := make([]byte, blockSize)
	var dig Digest
	for {
		if err := ctx.Err(); err != nil {
			return Digest{}, err
		}
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			h.Write(buf[:n])
			if sink != nil {
				if serr := sink(buf[:n]); serr != nil {
					return Digest{}, serr
				}
			}
			dig.Size += int64(n)
			if progress != nil {
				progress(int64(n))
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return Digest{}, err
		}
	}
	h.Sum(dig.SHA256[:0])
	return dig, nil
}

// hashFile hashes the file f to its end. It reads sequentially, so it can run
// beside decryptAt reading the same file without sharing a position.
func hashFile(ctx context.Context, f io.ReaderAt, progress func(int64)) (Digest, error) {
	return readBlocks(ctx, io.NewSectionReader(f, 0, math.MaxInt64), nil, progress)
}
