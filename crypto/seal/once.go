package seal

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"

	"filippo.io/age/armor"
	"golang.org/x/sys/unix"

	"github.com/ckpt-dev/ckpt/internal/ctxio"
)

// Whoever can write a sealed file after it arrived (a shared upload
// directory, a transfer account) can change it between two reads. So a
// verified file is read exactly once: every byte decrypted is a byte that
// was hashed, and the plaintext goes nowhere that cannot be taken back
// before the whole file's hash matched. decryptOnce does that in one pass
// for outputs that can be discarded; privateCopy takes a snapshot nobody
// else can write, for outputs that cannot (standard output).

// onceResult is what decryptOnce read and decrypted.
type onceResult struct {
	ciphertext Digest
	// readErr is an error reading the sealed file; decryption failed too.
	readErr   error
	plaintext Digest
	// decryptErr is age's verdict (or the sink's error).
	decryptErr error
}

// decryptOnce reads src to its end once, hashing every block and handing
// the same block to age's streaming reader, whose plaintext goes to sink. It
// runs to the end of src even when decryption fails, so that the caller can
// put a checksum mismatch before a decryption failure. ASCII-armored files
// are decrypted too.
func decryptOnce(ctx context.Context, d *Decrypter, src io.Reader, sink plaintextSink, progress func(int64)) onceResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var res onceResult
	p := newPool(poolBlocks, blockSize)
	toHash := make(chan *block, poolBlocks)
	toDecrypt := make(chan *block, poolBlocks)
	hashed := make(chan struct{})
	go func() {
		res.ciphertext.SHA256 = hashBlocks(sha256.New(), toHash)
		close(hashed)
	}()
	decrypted := make(chan struct{})
	go func() {
		defer close(decrypted)
		br := &blockReader{ctx: ctx, ch: toDecrypt}
		res.plaintext, res.decryptErr = decryptSequential(ctx, d, streamOnly{br}, sink, progress)
		// What age did not read (after a failure, or trailing bytes) is
		// still hashed: the reader below sends every block to both.
		br.drain()
	}()

	func() {
		defer close(toHash)
		defer close(toDecrypt)
		r := ctxio.Reader(ctx, src)
		for {
			b, err := p.get(ctx, 2)
			if err != nil {
				res.readErr = err
				return
			}
			n, rerr := io.ReadFull(r, b.buf)
			b.n = n
			res.ciphertext.Size += int64(n)
			// Both stages always receive the block: they release it.
			toHash <- b
			toDecrypt <- b
			switch {
			case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
				return
			case rerr != nil:
				res.readErr = rerr
				return
			}
		}
	}()
	<-hashed
	<-decrypted
	if res.readErr != nil && res.decryptErr == nil {
		res.decryptErr = res.readErr
	}
	return res
}

// streamOnly hides every method but Read, so age reads the stream as a
// stream.
type streamOnly struct{ r io.Reader }

func (s streamOnly) Read(p []byte) (int, error) { return s.r.Read(p) }

// decryptSequential decrypts the age file read from src with age's
// streaming reader, binary or ASCII-armored, hashing the plaintext.
func decryptSequential(ctx context.Context, d *Decrypter, src io.Reader, sink plaintextSink, progress func(int64)) (Digest, error) {
	br := bufio.NewReader(sourceReader{src})
	head, _ := br.Peek(64)
	var in io.Reader = br
	if isArmored(head) {
		in = armor.NewReader(br)
	}
	r, err := d.decrypt(in)
	if err != nil {
		return Digest{}, err
	}
	return readBlocks(ctx, r, sink, progress)
}

// maxMemoryCopy is the largest sealed file privateCopy keeps in memory
// rather than in an unnamed temporary file.
const maxMemoryCopy = 32 << 20

// snapshot is a private copy of a sealed file.
type snapshot struct {
	io.ReaderAt
	size  int64
	close func()
}

// privateCopy reads src once to its end, hashing it, into memory when it is
// small and otherwise into an unnamed file in tmpDir (O_TMPFILE, or a file
// removed as soon as it is created), which no other process can open. The
// ciphertext is not secret: what matters is that nobody can change the copy.
func privateCopy(ctx context.Context, src io.Reader, sizeHint int64, tmpDir string, progress func(int64)) (*snapshot, Digest, error) {
	if sizeHint <= maxMemoryCopy {
		h := sha256.New()
		var dig Digest
		var buf bytes.Buffer
		buf.Grow(int(sizeHint) + 1)
		// The file may have grown since it was measured: past the limit
		// it goes to disk after all.
		n, err := io.Copy(io.MultiWriter(&buf, h), io.LimitReader(ctxio.Reader(ctx, src), maxMemoryCopy+1))
		if err != nil {
			return nil, Digest{}, err
		}
		if n <= maxMemoryCopy {
			dig.Size = n
			h.Sum(dig.SHA256[:0])
			if progress != nil {
				progress(n)
			}
			data := buf.Bytes()
			return &snapshot{ReaderAt: bytes.NewReader(data), size: n, close: func() {}}, dig, nil
		}
		src = io.MultiReader(bytes.NewReader(buf.Bytes()), src)
	}
	f, err := unnamedFile(tmpDir)
	if err != nil {
		return nil, Digest{}, fmt.Errorf("a private copy of the sealed file: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	dig, err := readBlocks(ctx, ctxio.Reader(ctx, src), func(p []byte) error {
		if _, err := f.Write(p); err != nil {
			return fmt.Errorf("a private copy of the sealed file in %s: %w (set TMPDIR to a directory with room)", tmpDir, err)
		}
		return nil
	}, progress)
	if err != nil {
		return nil, Digest{}, err
	}
	ok = true
	return &snapshot{ReaderAt: f, size: dig.Size, close: func() { f.Close() }}, dig, nil
}

// unnamedFile creates a file in dir that has no name: O_TMPFILE where the
// filesystem supports it, else a temporary name removed at once.
func unnamedFile(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err == nil {
		return os.NewFile(uintptr(fd), dir+"/(unnamed)"), nil
	}
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EINVAL) {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	f, err := os.CreateTemp(dir, ".ckpt-copy-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
