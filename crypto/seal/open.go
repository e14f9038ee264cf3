package seal

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// OpenOptions configure [Open] and [OpenReader]; OpenReader uses only
// Identities and Progress.
type OpenOptions struct {
	Policy
	// Identities are tried in turn to decrypt (see [NewDecrypter]).
	Identities []age.Identity
	// NoVerify decrypts without the sidecars: for files sealed by other
	// tools (plain `age -r`). age still authenticates every byte, but
	// nothing says who sealed the file or what it should hold.
	NoVerify bool
	// Uncommitted says that nobody sees dst until the caller commits it
	// after Open returns nil, and that the caller discards it otherwise
	// (a temporary file). Open then decrypts while it hashes the sealed
	// file, in one pass. Without it the whole file is checked before the
	// first byte of plaintext is written.
	Uncommitted bool
	// Progress, when set, is called with the number of bytes processed.
	Progress func(n int64)
	// TempDir is where a private copy of a large sealed file goes when
	// dst cannot be taken back (Uncommitted unset); os.TempDir when empty.
	TempDir string
}

// Open verifies the sealed file at src as [Verify] does and writes its
// plaintext to dst. The sealed file is read once: every byte decrypted
// is a byte hashed, so a file changed while it is read is caught rather than
// decrypted. The ciphertext must match the checksum line and the manifest,
// and the plaintext's size and SHA-256 the manifest. ASCII-armored files
// (age -a) are decrypted too.
//
// With opts.Uncommitted, the plaintext is written to dst as the file is
// read and hashed, and the caller discards dst unless Open returns nil.
// Without it, dst cannot be taken back (standard output): the ciphertext is
// first copied, hashed, into memory or an unnamed file in opts.TempDir that
// no one else can write, and decrypted from that copy once it matched.
func Open(ctx context.Context, dst io.Writer, src string, opts OpenOptions) (*Report, error) {
	path := src
	f, st, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := NewDecrypter(opts.Identities...)
	sink := writerSink(dst)
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

	pr, err := prepare(path, st.Size(), opts.Policy)
	if err != nil {
		return nil, err
	}
	rep := pr.report()
	if opts.Uncommitted {
		if err := pr.checkOnce(rep, decryptOnce(ctx, d, f, sink, opts.Progress)); err != nil {
			return nil, err
		}
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

// OpenReader decrypts the age file read from src into dst without
// sidecars, for sealed data arriving on a pipe; the report holds the
// plaintext's digest only. ASCII-armored input (age -a) is accepted, as by
// [Open]. As with [OpenOptions].NoVerify, age authenticates the ciphertext
// but nothing says who sealed it.
func OpenReader(ctx context.Context, dst io.Writer, src io.Reader, opts OpenOptions) (*Report, error) {
	d := NewDecrypter(opts.Identities...)
	sink := writerSink(dst)
	br := bufio.NewReader(src)
	head, _ := br.Peek(64)
	var pt Digest
	if isArmored(head) {
		r, err := d.decrypt(armor.NewReader(sourceReader{br}))
		if err != nil {
			return nil, err
		}
		pt, err = readBlocks(ctx, r, sink, opts.Progress)
		if err != nil {
			return nil, err
		}
		return &Report{Plaintext: &pt}, nil
	}
	pt, err := decryptStream(ctx, d, br, sink, opts.Progress)
	if err != nil {
		return nil, err
	}
	return &Report{Plaintext: &pt}, nil
}

// writerSink hands plaintext to dst.
func writerSink(dst io.Writer) plaintextSink {
	return func(p []byte) error {
		if _, err := dst.Write(p); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
}
