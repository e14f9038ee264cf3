package seal

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
	"github.com/ckpt-dev/ckpt/internal/regfile"
	"github.com/ckpt-dev/ckpt/internal/writeback"
)

// File seals the archive at src into the file dst and writes the sidecars
// beside dst. dst and its sidecars appear complete, synced, mode 0600, or
// not at all: on any error nothing is left behind. An existing output is
// refused (before any work) unless opts.Overwrite is set. A set at dst that
// a killed seal left half replaced is first made whole (see [Recover]).
func File(ctx context.Context, dst, src string, opts Options) (*Result, error) {
	in, st, err := openRegular(src)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	if out, err := os.Stat(dst); err == nil && os.SameFile(st, out) {
		// With Overwrite this would replace the archive by its own
		// ciphertext while reading it.
		return nil, fmt.Errorf("%s: the sealed file would be the archive itself", dst)
	}
	if opts.Name == "" {
		opts.Name = filepath.Base(src)
	}
	return sealTo(ctx, dst, in, src, opts)
}

// Reader is [File] for an archive read from src (a pipe, say).
func Reader(ctx context.Context, dst string, src io.Reader, opts Options) (*Result, error) {
	if opts.Name == "" {
		opts.Name = strings.TrimSuffix(filepath.Base(dst), SealedSuffix)
	}
	return sealTo(ctx, dst, src, opts.Name, opts)
}

// Stream seals src into dst, a stream that cannot be taken back (standard
// output, a socket), and writes the sidecars beside sealed, the path the
// ciphertext is meant to have once it is stored (the checksum line and the
// manifest name its base name). The sidecars are written only once the
// whole ciphertext was; an existing sidecar is refused (before any work)
// unless opts.Overwrite is set. On error, what went to dst is not a sealed
// file anyone can verify.
func Stream(ctx context.Context, dst io.Writer, src io.Reader, sealed string, opts Options) (*Result, error) {
	if opts.Name == "" {
		opts.Name = strings.TrimSuffix(filepath.Base(sealed), SealedSuffix)
	}
	if _, err := recoverSet(sealed, processRuns); err != nil {
		return nil, err
	}
	if !opts.Overwrite {
		if err := refuseSidecars(sealed); err != nil {
			return nil, err
		}
	}
	res, err := Seal(ctx, dst, src, opts)
	if err != nil {
		return nil, err
	}
	m := newManifest(res, opts.Name, filepath.Base(sealed), opts)
	files, err := writeSidecars(sealed, m, opts.Signer, opts.Overwrite)
	if err != nil {
		return nil, fmt.Errorf("the ciphertext was written, but its sidecars could not be: %w", err)
	}
	res.Files, res.Manifest = files, m
	return res, nil
}

// refuseSidecars fails when a sidecar of the sealed file at path exists.
func refuseSidecars(path string) error {
	side := SidecarsFor(path)
	for _, p := range []string{side.Checksum, side.Manifest, side.Signature} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s: %w", p, atomicfile.ErrExists)
		}
	}
	return nil
}

// openRegular opens the regular file at path (never blocking on a FIFO)
// and returns it with its status.
func openRegular(path string) (*os.File, os.FileInfo, error) {
	f, err := regfile.Open(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}

// sealTo seals src into the file dst; path names src in errors.
func sealTo(ctx context.Context, dst string, src io.Reader, path string, opts Options) (*Result, error) {
	if err := keys.CheckMix(opts.Recipients); err != nil {
		return nil, err
	}
	// A set a killed seal left half published is made whole first, so
	// that what is refused or replaced is one set.
	if _, err := recoverSet(dst, processRuns); err != nil {
		return nil, err
	}
	out, err := atomicfile.Create(dst, opts.Overwrite)
	if err != nil {
		return nil, err
	}
	defer out.Abort()
	if !opts.Overwrite {
		// Refuse before the work, not after it.
		if err := refuseSidecars(dst); err != nil {
			return nil, err
		}
	}
	res, err := Seal(ctx, writeback.NewWriter(out.File), src, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if opts.ReadBack {
		if err := out.Sync(); err != nil {
			return nil, fmt.Errorf("%s: %w", dst, err)
		}
		if err := readBackFile(ctx, out.File, dst, res.Ciphertext); err != nil {
			return nil, err
		}
		res.ReadBack = true
	}
	m := newManifest(res, opts.Name, filepath.Base(dst), opts)
	// Every file of the set is written before any is published, so a full
	// disk leaves the previous set (with Overwrite) as it was; then they
	// are published together.
	files, staged, err := stageSidecars(dst, m, opts.Signer, opts.Overwrite)
	defer abortAll(staged)
	if err != nil {
		return nil, err
	}
	if err := commitSet(append([]*atomicfile.File{out}, staged...), staleSignature(files, opts.Overwrite)); err != nil {
		return nil, err
	}
	res.Files, res.Manifest = files, m
	return res, nil
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
	got, err := readBlocks(ctx, r, nil, nil)
	if err != nil {
		return fmt.Errorf("%s: read back: %w", path, err)
	}
	if got != want {
		return fmt.Errorf("%s: read back: %w: the file on disk (%d bytes, sha256 %x) is not what was written (%d bytes, sha256 %x)",
			path, ErrChecksum, got.Size, got.SHA256, want.Size, want.SHA256)
	}
	return nil
}
