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
	// (an atomicfile). OpenFile may then decrypt while it hashes the sealed
	// file, in one pass. Without it the whole file is checked before the
	// first byte of plaintext is written.
	Uncommitted bool
	// Progress, when set, is called with the number of bytes processed.
	Progress func(n int64)
}

// OpenFile verifies the sealed file at path as VerifyFile does and writes
// its plaintext to dst, checking its size against the manifest. The
// plaintext is not hashed again (see the Report's Plaintext): a verified
// ciphertext fixes it. ASCII-armored
// files (age -a) are decrypted too, sequentially. On error, dst may
// hold part of the plaintext: callers write to a temporary file and discard
// it on error (see OpenOptions.Uncommitted).
func OpenFile(ctx context.Context, path string, dst io.Writer, opts OpenOptions) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	d := NewDecrypter(opts.Identities...)
	out := output{sink: func(p []byte) error {
		if _, err := dst.Write(p); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}}
	if at, ok := dst.(io.WriterAt); ok && opts.Uncommitted {
		// A temporary file: the workers write their blocks in parallel.
		// (Handing them to writeback as they come doubled the system time
		// on btrfs: the kernel's own writeback does better here.)
		out = output{at: at}
	}
	if opts.NoVerify {
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
	// The plaintext is not hashed again: the ciphertext's hash matches the
	// (signed) manifest and age authenticates every chunk under the file
	// key, so the plaintext is the one sealed, whose hash the manifest
	// records. Its size is checked; verify --deep hashes it.
	out.sizeOnly = true
	if !opts.Uncommitted {
		// Check first, then decrypt: the plaintext goes somewhere that
		// cannot be taken back.
		ct, err := hashFile(ctx, f, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if err := pr.checkCiphertext(ct); err != nil {
			return nil, err
		}
		rep.Ciphertext = ct
		pt, err := decryptFile(ctx, d, f, pr.size, out, opts.Progress)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if err := pr.checkPlaintextSize(&pt); err != nil {
			return nil, err
		}
		rep.Plaintext = &pt
		return rep, nil
	}

	ct, pt, derr := hashAndDecrypt(ctx, f, pr.size, d, out, opts.Progress)
	if ct.err != nil {
		return nil, fmt.Errorf("%s: %w", path, ct.err)
	}
	rep.Ciphertext = ct.digest
	if err := pr.checkCiphertext(ct.digest); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, fmt.Errorf("%s: %w", path, derr)
	}
	if err := pr.checkPlaintextSize(&pt); err != nil {
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
