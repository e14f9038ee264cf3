package seal

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"filippo.io/age"

	"github.com/ckpt-dev/ckpt/crypto/sign"
	"github.com/ckpt-dev/ckpt/internal/regfile"
)

// Policy says what verification requires of a sealed file's signature.
type Policy struct {
	// AllowedSigners, when set, is the OpenSSH allowed signers file the
	// manifest's signer must be listed in. Without it, a signature is only
	// checked to be valid and is reported as untrusted.
	AllowedSigners *sign.AllowedSigners
	// Principal, when set, is the principal the signer must be allowed as
	// (ssh-keygen -Y verify -I).
	Principal string
	// RequireSignature fails verification of an unsigned file.
	RequireSignature bool
	// Now is the time the signer's validity is checked at; time.Now if zero.
	Now time.Time
}

// Report is what verification established about a sealed file.
type Report struct {
	// Files are the sealed file and its sidecars; Signature is empty when
	// the file is not signed.
	Files    Sidecars
	Manifest *Manifest
	// Signature is the verified signature, nil when there is none.
	Signature *sign.Signature
	// Ciphertext is the sealed file's size and hash as read.
	Ciphertext Digest
	// Plaintext is the decrypted archive's size and hash, when it was
	// decrypted ([VerifyOptions].Identities, [Open]).
	Plaintext *Digest
}

// VerifyOptions configure [Verify].
type VerifyOptions struct {
	Policy
	// Identities, when set, make the check deep: the file is also decrypted
	// in memory and its plaintext checked against the manifest. Nothing is
	// written anywhere.
	Identities []age.Identity
	// Inspect, when set with Identities, receives the plaintext as it is
	// decrypted, to check that the archive inside is sound. Its error is
	// returned as is (not as one of the failure classes): the sealing is
	// sound, the archive sealed is not.
	Inspect func(plaintext io.Reader) error
	// Progress, when set, is called with the number of bytes processed.
	Progress func(n int64)
}

// prepared is what can be checked about a sealed file without reading it:
// its sidecars, the signature and the manifest.
type prepared struct {
	files    Sidecars
	size     int64
	line     SumLine
	manifest *Manifest
	sig      *sign.Signature
}

// prepare reads and checks the sidecars of the sealed file at path: the
// checksum line must name the file; the signature, when present or
// required, must verify under p before the manifest is parsed; the manifest
// must name the file, of size bytes.
func prepare(path string, size int64, p Policy) (*prepared, error) {
	files := SidecarsFor(path)
	data, err := regfile.ReadSmall(files.Checksum, MaxSumFileSize)
	if isNotExist(err) {
		return nil, missingSidecar(files.Checksum, "checksum file")
	} else if err != nil {
		return nil, err
	}
	raw, err := regfile.ReadSmall(files.Manifest, maxManifest)
	if isNotExist(err) {
		return nil, missingSidecar(files.Manifest, "manifest")
	} else if err != nil {
		return nil, err
	}
	sig, err := regfile.ReadSmall(files.Signature, maxSignature)
	if isNotExist(err) {
		sig = nil
	} else if err != nil {
		return nil, err
	}
	pr, err := prepareData(files, data, raw, sig, p)
	if err != nil {
		return nil, err
	}
	pr.size = size
	return pr, nil
}

// maxSignature caps a signature sidecar; one is well under 1 KiB.
const maxSignature = 64 << 10

// prepareData checks sidecars already read: sig is nil when there is none.
func prepareData(files Sidecars, data, raw, sig []byte, p Policy) (*prepared, error) {
	path := files.Sealed
	pr := &prepared{files: files}
	name := filepath.Base(path)
	lines, err := ParseSumFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", pr.files.Checksum, ErrChecksum, err)
	}
	if len(lines) != 1 {
		return nil, fmt.Errorf("%s: %w: %d lines, want one", pr.files.Checksum, ErrChecksum, len(lines))
	}
	pr.line = lines[0]
	if pr.line.Name != name {
		return nil, fmt.Errorf("%s: %w: the line is for %q, not %q", pr.files.Checksum, ErrChecksum, pr.line.Name, name)
	}

	switch {
	case sig == nil:
		if p.RequireSignature {
			return nil, fmt.Errorf("%s: %w: no signature (%s) and one is required", path, ErrSignature, filepath.Base(pr.files.Signature))
		}
		pr.files.Signature = ""
	default:
		now := p.Now
		if now.IsZero() {
			now = time.Now()
		}
		pr.sig, err = sign.Verify(raw, sig, p.AllowedSigners, p.Principal, now)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", pr.files.Signature, ErrSignature, err)
		}
	}

	pr.manifest, err = ParseManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", pr.files.Manifest, ErrManifest, err)
	}
	if pr.manifest.Sealed.Name != name {
		return nil, fmt.Errorf("%s: %w: it describes %q, not %q", pr.files.Manifest, ErrManifest, pr.manifest.Sealed.Name, name)
	}
	return pr, nil
}

// SetData is a sealed set's sidecars as read from somewhere other than
// beside the sealed file: a download, before anything is written.
type SetData struct {
	// Files are the paths the set will have; only their base names are
	// checked, and they name the set in errors.
	Files Sidecars
	// Checksum and Manifest are the sidecars' contents; Signature is nil
	// when the set is unsigned.
	Checksum, Manifest, Signature []byte
}

// VerifyDigest checks a sealed set whose ciphertext was hashed while it was
// transferred (got), against its sidecars, under p, as [Verify] does but
// without reading the ciphertext again.
func VerifyDigest(set SetData, got Digest, p Policy) (*Report, error) {
	if int64(len(set.Checksum)) > MaxSumFileSize || len(set.Manifest) > maxManifest || len(set.Signature) > maxSignature {
		return nil, fmt.Errorf("%s: %w: a sidecar is too large", set.Files.Sealed, ErrManifest)
	}
	pr, err := prepareData(set.Files, set.Checksum, set.Manifest, set.Signature, p)
	if err != nil {
		return nil, err
	}
	rep := pr.report()
	rep.Ciphertext = got
	return rep, pr.checkCiphertext(got)
}

// checkCiphertext compares what was read of the sealed file with the
// checksum line first (a transfer error or tampering shows there, as it
// would to sha256sum -c) and then with the manifest.
func (pr *prepared) checkCiphertext(got Digest) error {
	path := pr.files.Sealed
	if got.SHA256 != pr.line.Sum {
		return fmt.Errorf("%s: %w: sha256 is %x, %s says %s", path, ErrChecksum, got.SHA256, filepath.Base(pr.files.Checksum), pr.line.Hex())
	}
	m := pr.manifest.Sealed
	if hex.EncodeToString(got.SHA256[:]) != m.SHA256 || got.Size != m.Size {
		return fmt.Errorf("%s: %w: the file is %d bytes with sha256 %x; the manifest says %d bytes with sha256 %s",
			path, ErrManifest, got.Size, got.SHA256, m.Size, m.SHA256)
	}
	return nil
}

// checkPlaintext compares the decrypted archive with the manifest.
func (pr *prepared) checkPlaintext(got Digest) error {
	m := pr.manifest.Archive
	if hex.EncodeToString(got.SHA256[:]) != m.SHA256 || got.Size != m.Size {
		return fmt.Errorf("%s: %w: the plaintext is %d bytes with sha256 %x; the manifest says %d bytes with sha256 %s",
			pr.files.Sealed, ErrManifest, got.Size, got.SHA256, m.Size, m.SHA256)
	}
	return nil
}

func (pr *prepared) report() *Report {
	return &Report{Files: pr.files, Manifest: pr.manifest, Signature: pr.sig}
}

// Verify checks the sealed file at path against its sidecars: the
// signature of the manifest (when present, or required by the policy), the
// SHA-256 of the file against its checksum line and the manifest, and,
// with opts.Identities, the decrypted plaintext against the manifest. The
// deep check decrypts in memory while the file is hashed, in the same pass,
// and writes nothing.
func Verify(ctx context.Context, path string, opts VerifyOptions) (*Report, error) {
	f, st, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pr, err := prepare(path, st.Size(), opts.Policy)
	if err != nil {
		return nil, err
	}
	rep := pr.report()
	if len(opts.Identities) == 0 {
		got, err := hashFile(ctx, f, opts.Progress)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rep.Ciphertext = got
		return rep, pr.checkCiphertext(got)
	}

	d := NewDecrypter(opts.Identities...)
	var sink plaintextSink
	var inspect *inspection
	if opts.Inspect != nil {
		inspect = startInspection(ctx, opts.Inspect)
		sink = inspect.write
	}
	// One read: the bytes decrypted (and inspected) are the bytes hashed.
	res := decryptOnce(ctx, d, f, sink, opts.Progress)
	var ierr error
	if inspect != nil {
		ierr = inspect.finish(res.decryptErr)
	}
	if err := pr.checkOnce(rep, res); err != nil {
		return nil, err
	}
	if ierr != nil {
		// The sealing is sound (the plaintext is what was sealed); the
		// archive sealed is not.
		return nil, fmt.Errorf("%s: the sealed archive does not decode: %w", path, ierr)
	}
	return rep, nil
}

// checkOnce checks what decryptOnce read against the sidecars, in the
// order a receiver needs: the ciphertext (checksum line, manifest) before
// age's verdict, then the plaintext. It fills in rep.
func (pr *prepared) checkOnce(rep *Report, res onceResult) error {
	path := pr.files.Sealed
	if res.readErr != nil {
		return fmt.Errorf("%s: %w", path, res.readErr)
	}
	rep.Ciphertext = res.ciphertext
	if err := pr.checkCiphertext(res.ciphertext); err != nil {
		return err
	}
	if res.decryptErr != nil {
		return fmt.Errorf("%s: %w", path, res.decryptErr)
	}
	rep.Plaintext = &res.plaintext
	return pr.checkPlaintext(res.plaintext)
}

// inspection feeds the plaintext to an Inspect hook running in its own
// goroutine, through a pipe.
type inspection struct {
	pw   *io.PipeWriter
	done chan error
}

func startInspection(ctx context.Context, inspect func(io.Reader) error) *inspection {
	pr, pw := io.Pipe()
	in := &inspection{pw: pw, done: make(chan error, 1)}
	go func() {
		err := inspect(pr)
		// Whatever the hook left unread is drained, so the writer never
		// blocks on a hook that has returned.
		io.Copy(io.Discard, pr)
		in.done <- err
	}()
	return in
}

// write blocks until the hook has read p (or returned).
func (in *inspection) write(p []byte) error {
	_, err := in.pw.Write(p)
	if err != nil && err != io.ErrClosedPipe {
		return err
	}
	return nil
}

func (in *inspection) finish(cause error) error {
	if cause != nil {
		in.pw.CloseWithError(cause)
	} else {
		in.pw.Close()
	}
	return <-in.done
}
