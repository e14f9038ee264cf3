package seal

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
	"github.com/ckpt-dev/ckpt/internal/ctxio"
	"github.com/ckpt-dev/ckpt/internal/regfile"
	"github.com/ckpt-dev/ckpt/internal/writeback"
)

// FileOptions configure SealFile.
type FileOptions struct {
	Options
	Recipients []keys.Recipient
	// Signer, when set, signs the manifest (NAME.json.sig).
	Signer ssh.Signer
	// Node and Tool go into the manifest.
	Node, Tool string
	// Now is the sealing time; time.Now when nil.
	Now func() time.Time
	// Overwrite allows replacing existing output files.
	Overwrite bool
	// ReadBack re-reads the sealed file from the device after it is synced
	// and checks its hash, before the sidecars are written: the proof a
	// caller wants before it destroys the source.
	ReadBack bool
}

// FileResult says what SealFile wrote.
type FileResult struct {
	Files    Sidecars
	Manifest *Manifest
	// ReadBack is true when the sealed file was read back and matched.
	ReadBack    bool
	DescribeErr error
}

// SealFile seals the archive at src into dst and writes the sidecars beside
// dst. dst and its sidecars appear complete, synced, mode 0600, or not at
// all: on any error nothing is left behind. An existing output is refused
// (before any work) unless opts.Overwrite is set.
func SealFile(ctx context.Context, src, dst string, opts FileOptions) (*FileResult, error) {
	in, err := regfile.Open(src)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", src)
	}
	if out, err := os.Stat(dst); err == nil && os.SameFile(st, out) {
		// With Overwrite this would replace the archive by its own
		// ciphertext while reading it.
		return nil, fmt.Errorf("%s: the sealed file would be the archive itself", dst)
	}
	return sealFrom(ctx, in, src, filepath.Base(src), dst, opts)
}

// SealFrom is SealFile for an archive read from src (a pipe, say), called
// name in the manifest.
func SealFrom(ctx context.Context, src io.Reader, name, dst string, opts FileOptions) (*FileResult, error) {
	return sealFrom(ctx, src, name, name, dst, opts)
}

// sealFrom seals src; path names it in errors, name in the manifest.
func sealFrom(ctx context.Context, src io.Reader, path, name, dst string, opts FileOptions) (*FileResult, error) {
	if err := keys.CheckMix(opts.Recipients); err != nil {
		return nil, err
	}
	out, err := atomicfile.Create(dst, opts.Overwrite)
	if err != nil {
		return nil, err
	}
	defer out.Abort()
	if !opts.Overwrite {
		// Refuse before the work, not after it.
		side := SidecarsFor(dst)
		for _, p := range []string{side.Checksum, side.Manifest, side.Signature} {
			if _, err := os.Lstat(p); err == nil {
				return nil, fmt.Errorf("%s: %w", p, atomicfile.ErrExists)
			}
		}
	}

	res, err := Seal(ctx, writeback.NewWriter(out.File), src, opts.Recipients, opts.Options)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	result := &FileResult{DescribeErr: res.DescribeErr}
	if opts.ReadBack {
		if err := out.Sync(); err != nil {
			return nil, fmt.Errorf("%s: %w", dst, err)
		}
		if err := readBackFile(ctx, out.File, dst, res.Ciphertext); err != nil {
			return nil, err
		}
		result.ReadBack = true
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	m := NewManifest(res, name, filepath.Base(dst), opts.Recipients, opts.Node, opts.Tool, now())
	// Every file of the set is written before any is published, so a full
	// disk leaves the previous set (with --force) as it was; then they are
	// published together.
	files, staged, err := stageSidecars(dst, m, opts.Signer, opts.Overwrite)
	defer abortAll(staged)
	if err != nil {
		return nil, err
	}
	if err := commitSet(append([]*atomicfile.File{out}, staged...), staleSignature(files, opts.Overwrite)); err != nil {
		return nil, err
	}
	result.Files, result.Manifest = files, m
	return result, nil
}

// readBackFile is readBack for the sealed file not yet published, open as f.
func readBackFile(ctx context.Context, f *os.File, path string, want Digest) error {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	return checkRead(ctx, io.NewSectionReader(f, 0, want.Size+1), path, want)
}

// readBack reads the synced file at path and checks it against want. It
// first asks the kernel to drop the file's cached pages, so that the bytes
// come from the device rather than from memory that was never written out.
func readBack(ctx context.Context, path string, want Digest) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// Advisory: where the kernel keeps the pages anyway the check still
	// proves the file holds the right bytes.
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	return checkRead(ctx, f, path, want)
}

// checkRead hashes r to its end and compares it with want.
func checkRead(ctx context.Context, r io.Reader, path string, want Digest) error {
	h := sha256.New()
	n, err := io.CopyBuffer(h, ctxio.Reader(ctx, r), make([]byte, blockSize))
	if err != nil {
		return fmt.Errorf("%s: read back: %w", path, err)
	}
	var got [sha256.Size]byte
	h.Sum(got[:0])
	if n != want.Size || got != want.SHA256 {
		return fmt.Errorf("%s: read back: %w: the file on disk (%d bytes, sha256 %x) is not what was written (%d bytes, sha256 %x)",
			path, ErrChecksum, n, got, want.Size, want.SHA256)
	}
	return nil
}
