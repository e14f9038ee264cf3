package seal

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/ckpt-dev/ckpt/internal/regfile"
)

// OpenOptions configure OpenFile.
type OpenOptions struct {
	Policy
	Identities []age.Identity
	// NoVerify decrypts without the sidecars: for files sealed by other
	// tools (plain `age -r`). age still authenticates every byte, but
	// nothing says who sealed the file or what it should hold.
	NoVerify bool
	// Uncommitted says that nobody sees dst until the caller commits it
	// after OpenFile returns nil, and that the caller discards it otherwise
	// (an atomicfile). OpenFile then decrypts while it hashes the sealed
	// file, in one pass. Without it the whole file is checked before the
	// first byte of plaintext is written.
	Uncommitted bool
	// Progress, when set, is called with the number of bytes processed.
	Progress func(n int64)
	// TempDir is where a private copy of a large sealed file goes when
	// dst cannot be taken back (Uncommitted unset); os.TempDir when empty.
	TempDir string
}

// OpenFile verifies the sealed file at path as VerifyFile does and writes
// its plaintext to dst. The sealed file is read once: every byte decrypted
// is a byte hashed, so a file changed while it is read is caught rather than
// decrypted. The ciphertext must match the checksum line and the manifest,
// and the plaintext's size and SHA-256 the manifest. ASCII-armored files
// (age -a) are decrypted too.
//
// With opts.Uncommitted, the plaintext is written to dst as the file is
// read and hashed, and the caller discards dst unless OpenFile returns nil.
// Without it, dst cannot be taken back (standard output): the ciphertext is
// first copied, hashed, into memory or an unnamed file in opts.TempDir that
// no one else can write, and decrypted from that copy once it matched.
func OpenFile(ctx context.Context, path string, dst io.Writer, opts OpenOptions) (*Report, error) {
	f, err := regfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	d := NewDecrypter(opts.Identities...)
	sink := func(p []byte) error {
		if _, err := dst.Write(p); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
	if opts.NoVerify {
		// Nothing is compared with anything, so there is no window
		// between a check and a read; age authenticates every chunk
		// under the file key of the header it read.
		out := output{sink: sink}
		if at, ok := dst.(io.WriterAt); ok && opts.Uncommitted {
			// A temporary file: the workers write their blocks in parallel.
			out = output{at: at}
		}
		pt, err := decryptFile(ctx, d, f, st.Size(), out, opts.Progress)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &Report{Files: Sidecars{Sealed: path}, Plaintext: &pt}, nil
	}

	pr, err := prepare(path, f, opts.Policy)
	if err != nil {
		return nil, err
	}
	rep := pr.report()
	if opts.Uncommitted {
		res := decryptOnce(ctx, d, f, sink, opts.Progress)
		if res.readErr != nil {
			return nil, fmt.Errorf("%s: %w", path, res.readErr)
		}
		rep.Ciphertext = res.ciphertext
		if err := pr.checkCiphertext(res.ciphertext); err != nil {
			return nil, err
		}
		if res.decryptErr != nil {
			return nil, fmt.Errorf("%s: %w", path, res.decryptErr)
		}
		if err := pr.checkPlaintext(res.plaintext); err != nil {
			return nil, err
		}
		rep.Plaintext = &res.plaintext
		return rep, nil
	}

	tmp := opts.TempDir
	if tmp == "" {
		tmp = os.TempDir()
	}
	snap, ct, err := privateCopy(ctx, f, st.Size(), tmp, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer snap.close()
	rep.Ciphertext = ct
	if err := pr.checkCiphertext(ct); err != nil {
		return nil, err
	}
	pt, err := decryptFile(ctx, d, snap, snap.size, output{sink: sink}, opts.Progress)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// The copy matched the signed manifest and age authenticated every
	// chunk, so this cannot fail short of a bug; it is checked anyway.
	if err := pr.checkPlaintext(pt); err != nil {
		return nil, err
	}
	rep.Plaintext = &pt
	return rep, nil
}

// OpenStream decrypts the age file read from src into dst without sidecars,
// for sealed data arriving on a pipe. ASCII-armored input (age -a) is
// accepted, as by OpenFile. As with OpenOptions.NoVerify, age
// authenticates the ciphertext but nothing says who sealed it.
func OpenStream(ctx context.Context, src io.Reader, dst io.Writer, identities []age.Identity, progress func(int64)) (Digest, error) {
	d := NewDecrypter(identities...)
	sink := func(p []byte) error {
		if _, err := dst.Write(p); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
	br := bufio.NewReader(src)
	head, _ := br.Peek(64)
	if isArmored(head) {
		r, err := d.decrypt(armor.NewReader(sourceReader{br}))
		if err != nil {
			return Digest{}, err
		}
		return readPlaintext(ctx, r, sink, progress)
	}
	return decryptStream(ctx, d, br, sink, progress)
}
