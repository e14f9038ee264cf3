package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
	"github.com/ckpt-dev/ckpt/internal/progress"
	"github.com/ckpt-dev/ckpt/internal/render"
)

type openFlags struct {
	force    bool
	noVerify bool
}

func newOpenCmd(a *app) *cobra.Command {
	f := &openFlags{}
	cmd := &cobra.Command{
		Use:   "open SEALED... -i IDENTITY... [-o OUT]",
		Short: "Verify and decrypt sealed archives",
		Long: `open checks each sealed file as verify does (signature, checksum, manifest)
and decrypts it, checking the plaintext's size and SHA-256 against the
manifest. The sealed file is read once: every byte decrypted is a byte hashed,
so a file rewritten while it is read fails the checksum. The plaintext goes to
NAME.tar beside NAME.tar.age, to -o FILE or DIR, or to - (standard output:
the ciphertext is first copied, hashed, into memory or an unnamed file in
$TMPDIR, and decrypted from that copy once it matched). A file is written
unnamed (or under a temporary name) with mode 0600 and linked in only if
every check passed: after any failure or kill no plaintext file remains.

--no-verify decrypts files sealed by other tools (plain age -r), which have
no sidecars: age still authenticates every byte, but nothing says who
sealed the file. SEALED may then be - (standard input).

Exit codes: 3 checksum mismatch, 4 signature, 5 no identity matched or
wrong passphrase, 6 ciphertext corrupt or truncated, 7 manifest does not
match, 1 anything else.`,
		Example: `  ckpt open x.tar.age -i key.txt --allowed-signers allowed_signers
  ckpt open x.tar.age -i ~/.ssh/id_ed25519 -o - | tar -t
  ckpt open --no-verify other.age -i key.txt -o other.tar`,
		Args: cobra.MinimumNArgs(1),
	}
	o := addOutputFlags(cmd, true)
	idf := addIdentityFlags(cmd)
	pf := addPolicyFlags(cmd)
	cmd.Flags().BoolVar(&f.force, "force", false, "overwrite existing output files")
	cmd.Flags().BoolVar(&f.noVerify, "no-verify", false, "decrypt without the sidecars (files sealed by other tools)")
	af := addAuditFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if f.noVerify && (pf.allowedSigners != "" || pf.require || pf.signer != "") {
			return usageErrorf("--no-verify checks no signature: drop --allowed-signers, --signer and --require-signature")
		}
		pol, err := pf.policy()
		if err != nil {
			return err
		}
		return af.run(cmd.Context(), a, func(ctx context.Context) error { return runOpen(ctx, a, f, o, pol, idf, args) })
	}
	return cmd
}

type openReport struct {
	Opened []openedArchive `json:"opened"`
}

type openedArchive struct {
	Sealed string `json:"sealed"`
	// Output is the plaintext's path, or "-" for standard output.
	Output string `json:"output"`
	Size   int64  `json:"size"`
	// SHA256 is the archive's, as decrypted (and, unless --no-verify,
	// matched against the manifest).
	SHA256 string `json:"sha256"`
	// Verified says the sidecars were checked (false with --no-verify).
	Verified  bool           `json:"verified"`
	Signature *signatureInfo `json:"signature"`
	Identity  sealedIdentity `json:"identity"`
}

func runOpen(ctx context.Context, a *app, f *openFlags, o *outputFlag, pol seal.Policy, idf *identityFlags, args []string) error {
	toStdout := o.file == "-"
	var outDir string
	if o.file != "" && !toStdout {
		if st, err := os.Stat(o.file); err == nil && st.IsDir() {
			outDir = o.file
		}
	}
	switch {
	case len(args) > 1 && toStdout:
		return usageErrorf("-o - takes one sealed file: several plaintexts on standard output would run together")
	case len(args) > 1 && o.file != "" && outDir == "":
		return usageErrorf("-o %s names one file but %d sealed files were given; give a directory", o.file, len(args))
	case toStdout && isTerminal(a.stdout):
		return usageErrorf("refusing to write a checkpoint's plaintext to a terminal; redirect it or give -o FILE")
	}
	for _, arg := range args {
		switch {
		case arg == "-" && !f.noVerify:
			return usageErrorf("standard input has no sidecars to verify: add --no-verify to decrypt it anyway")
		case arg == "-" && o.file == "":
			return usageErrorf("decrypting standard input needs -o FILE or -o -")
		case seal.IsSidecar(arg):
			return usageErrorf("%s is a sidecar: give the sealed file it belongs to", arg)
		}
	}
	ids, err := idf.identities(a)
	if err != nil {
		return err
	}
	report := openReport{Opened: []openedArchive{}}
	b := &batch{a: a, total: len(args)}
	for _, src := range args {
		if err := ctx.Err(); err != nil {
			return err
		}
		dst := o.file
		if dst == "" || outDir != "" {
			name := strings.TrimSuffix(filepath.Base(src), seal.SealedSuffix)
			if name == filepath.Base(src) {
				b.fail(usageErrorf("%s: the name does not end in %s, so the output's cannot be derived: give -o", src, seal.SealedSuffix))
				continue
			}
			dir := outDir
			if dir == "" {
				dir = filepath.Dir(src)
			}
			dst = filepath.Join(dir, name)
		}
		out, err := openOne(ctx, a, f, pol, ids, src, dst)
		auditFrom(ctx).open(ctx, src, dst, out, err)
		if err != nil {
			b.fail(idf.explainNoIdentity(err))
			continue
		}
		report.Opened = append(report.Opened, *out)
	}
	w := a.stdout
	if toStdout {
		w = a.stderr
	}
	if len(report.Opened) > 0 {
		if err := o.emit(w, report, report.table); err != nil {
			return err
		}
	}
	return b.err()
}

func openOne(ctx context.Context, a *app, f *openFlags, pol seal.Policy, ids []age.Identity, src, dst string) (*openedArchive, error) {
	var size int64
	if src != "-" {
		if st, err := os.Stat(src); err == nil {
			size = st.Size()
		}
	}
	bar := progress.New(a.stderr, "opening "+filepath.Base(src), size)
	opts := seal.OpenOptions{Policy: pol, Identities: ids, NoVerify: f.noVerify, Progress: bar.Add}

	var w io.Writer = a.stdout
	var file *atomicfile.File
	if dst != "-" && src != "-" {
		if in, err := os.Stat(src); err == nil {
			if out, err := os.Stat(dst); err == nil && os.SameFile(in, out) {
				return nil, usageErrorf("%s: the output would be the sealed file itself", dst)
			}
		}
	}
	if dst != "-" {
		var err error
		if file, err = atomicfile.Create(dst, f.force); err != nil {
			return nil, err
		}
		defer file.Abort()
		w = file
		opts.Uncommitted = true
	}
	var rep *seal.Report
	var err error
	if src == "-" {
		rep, err = seal.OpenReader(ctx, w, a.stdin, opts)
	} else {
		rep, err = seal.Open(ctx, w, src, opts)
	}
	if err != nil {
		bar.Clear()
		if src == "-" {
			err = fmt.Errorf("standard input: %w", err)
		}
		return nil, err
	}
	if file != nil {
		if err := file.Commit(); err != nil {
			bar.Clear()
			return nil, err
		}
	}
	bar.Finish()
	out := &openedArchive{
		Sealed:    src,
		Output:    dst,
		Size:      rep.Plaintext.Size,
		SHA256:    hex.EncodeToString(rep.Plaintext.SHA256[:]),
		Verified:  rep.Manifest != nil,
		Signature: newSignatureInfo(rep.Signature),
	}
	if rep.Manifest != nil {
		out.Identity = sealedIdentity{rep.Manifest.Identity}
	}
	warnUntrusted(a, src, rep.Signature)
	return out, nil
}

func (r openReport) table(w io.Writer) error {
	var rows [][]string
	for _, o := range r.Opened {
		signed := o.Signature.String()
		if !o.Verified {
			signed = "not verified"
		}
		rows = append(rows, []string{o.Output, render.Bytes(o.Size), shortHash(o.SHA256), signed, o.Sealed})
	}
	return render.Table(w, []string{"output", "size", "digest", "signed by", "sealed"}, rows)
}
