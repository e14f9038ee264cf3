package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/crypto/sign"
	"github.com/ckpt-dev/ckpt/internal/inspect"
	"github.com/ckpt-dev/ckpt/internal/progress"
	"github.com/ckpt-dev/ckpt/internal/render"
)

// policyFlags say what a signature must satisfy, on verify and open.
type policyFlags struct {
	allowedSigners string
	signer         string
	require        bool
}

func addPolicyFlags(cmd *cobra.Command) *policyFlags {
	p := &policyFlags{}
	fl := cmd.Flags()
	fl.StringVar(&p.allowedSigners, "allowed-signers", "", "OpenSSH allowed signers `FILE` the manifest's signer must be in (ssh-keygen(1), ALLOWED SIGNERS); implies --require-signature")
	fl.StringVarP(&p.signer, "signer", "I", "", "require the signer to be allowed as `PRINCIPAL` (as ssh-keygen -Y verify -I)")
	fl.BoolVar(&p.require, "require-signature", false, "fail when the manifest is not signed (without --allowed-signers any valid signature passes, untrusted)")
	return p
}

// policy builds the signature policy. --allowed-signers implies
// --require-signature: once the user says whose signatures count, a file
// whose signature was deleted must not pass as merely unsigned.
func (p *policyFlags) policy() (seal.Policy, error) {
	pol := seal.Policy{Principal: p.signer, RequireSignature: p.require || p.allowedSigners != ""}
	if p.allowedSigners == "" {
		if p.signer != "" {
			return pol, usageErrorf("--signer needs --allowed-signers FILE, the list it is looked up in")
		}
		return pol, nil
	}
	data, err := os.ReadFile(p.allowedSigners)
	if err != nil {
		return pol, fmt.Errorf("--allowed-signers: %w", err)
	}
	pol.AllowedSigners, err = sign.ParseAllowedSigners(p.allowedSigners, data)
	if err != nil {
		return pol, fmt.Errorf("--allowed-signers: %w", err)
	}
	return pol, nil
}

// warnUntrusted says that a signature checked without allowed signers
// proves nothing about who made it.
func warnUntrusted(a *app, file string, s *sign.Signature) {
	if s != nil && !s.Trusted {
		a.warnf("%s: the signature by %s is valid, but was not checked against --allowed-signers: it does not show who sealed the file", file, s.Fingerprint)
	}
}

// signatureInfo is a verified signature in command output.
type signatureInfo struct {
	// Signer is the fingerprint of the signing key.
	Signer string `json:"signer"`
	// Principals are the allowed signers names that accept the key.
	Principals []string `json:"principals"`
	// Trusted says an allowed signers file accepted the key.
	Trusted bool `json:"trusted"`
}

func newSignatureInfo(s *sign.Signature) *signatureInfo {
	if s == nil {
		return nil
	}
	p := s.Principals
	if p == nil {
		p = []string{}
	}
	return &signatureInfo{Signer: s.Fingerprint, Principals: p, Trusted: s.Trusted}
}

func (s *signatureInfo) String() string {
	switch {
	case s == nil:
		return "unsigned"
	case s.Trusted:
		return strings.Join(s.Principals, ",")
	}
	return "untrusted " + s.Signer
}

func newVerifyCmd(a *app) *cobra.Command {
	var deep bool
	cmd := &cobra.Command{
		Use:   "verify SEALED... [--allowed-signers FILE] [--deep -i IDENTITY]",
		Short: "Check sealed archives after transfer: signature, checksum, manifest",
		Long: `verify checks each sealed file against the files beside it, in this order:
the SSH signature of the manifest (when there is one, or when
--require-signature is given) against --allowed-signers; the SHA-256 of the
sealed file against its .sha256 line and the manifest. With --deep it also
decrypts the file in memory (-i) and checks the plaintext's size and
SHA-256 against the manifest. Nothing is written.

Exit codes: 3 checksum mismatch, 4 signature, 5 no identity matched,
6 ciphertext corrupt or truncated, 7 manifest does not match the file,
1 anything else (e.g. a sidecar missing).`,
		Example: `  ckpt verify ./checkpoint-*.tar.age --allowed-signers allowed_signers
  ckpt verify ./x.tar.age --allowed-signers allowed_signers -I node1 --deep -i key.txt -o json`,
		Args: cobra.MinimumNArgs(1),
	}
	o := addOutputFlags(cmd, false)
	pf := addPolicyFlags(cmd)
	idf := addIdentityFlags(cmd)
	cmd.Flags().BoolVar(&deep, "deep", false, "also decrypt in memory (needs -i or a passphrase) and check the plaintext against the manifest")
	af := addAuditFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if deep && !idf.given() && !(&secrets{a: a}).canPrompt() {
			return usageErrorf("--deep decrypts: give the key with -i KEYFILE (or --passphrase-file)")
		}
		if !deep && idf.given() {
			return usageErrorf("-i and --passphrase-file are for --deep")
		}
		pol, err := pf.policy()
		if err != nil {
			return err
		}
		return af.run(cmd.Context(), a, func(ctx context.Context) error { return runVerify(ctx, a, o, pol, idf, deep, args) })
	}
	return cmd
}

type verifyReport struct {
	Files []verifiedFile `json:"files"`
}

type verifiedFile struct {
	File string `json:"file"`
	OK   bool   `json:"ok"`
	// Checks lists what was checked, in order.
	Checks    []string        `json:"checks"`
	Signature *signatureInfo  `json:"signature"`
	Sealed    seal.FileDigest `json:"sealed"`
	Archive   seal.FileDigest `json:"archive"`
	Identity  sealedIdentity  `json:"identity"`
	SealedAt  string          `json:"sealed_at"`
	Node      string          `json:"node"`
	Error     string          `json:"error"`
	ExitCode  int             `json:"exit_code"`
}

func runVerify(ctx context.Context, a *app, o *outputFlag, pol seal.Policy, idf *identityFlags, deep bool, args []string) error {
	opts := seal.VerifyOptions{Policy: pol}
	if deep {
		ids, err := idf.identities(a)
		if err != nil {
			return err
		}
		opts.Identities = ids
	}
	report := verifyReport{Files: []verifiedFile{}}
	b := &batch{a: a, total: len(args)}
	for _, path := range args {
		if err := ctx.Err(); err != nil {
			return err
		}
		out := verifiedFile{File: path, Checks: []string{}}
		rep, err := verifyOne(ctx, a, path, opts, idf)
		if err != nil {
			out.Error, out.ExitCode = oneLine(err), exitCode(err)
			b.fail(err)
		} else {
			out = verified(path, rep)
			warnUntrusted(a, path, rep.Signature)
		}
		auditFrom(ctx).verify(ctx, out)
		report.Files = append(report.Files, out)
	}
	if err := o.emit(a.stdout, report, report.table); err != nil {
		return err
	}
	return b.err()
}

func verifyOne(ctx context.Context, a *app, path string, opts seal.VerifyOptions, idf *identityFlags) (*seal.Report, error) {
	if seal.IsSidecar(path) {
		return nil, usageErrorf("%s is a sidecar: give the sealed file it belongs to", path)
	}
	var size int64
	if st, err := os.Stat(path); err == nil {
		size = st.Size()
	}
	bar := progress.New(a.stderr, "verifying "+path, size)
	opts.Progress = bar.Add
	if len(opts.Identities) > 0 {
		// The deep check also decodes the archive as it is decrypted.
		plain := strings.TrimSuffix(path, seal.SealedSuffix)
		opts.Inspect = func(r io.Reader) error { return inspect.Check(plain, r) }
	}
	rep, err := seal.Verify(ctx, path, opts)
	if err != nil {
		bar.Clear()
		return nil, idf.explainNoIdentity(err)
	}
	bar.Finish()
	return rep, nil
}

// verified is the output for the sealed file at path that passed as rep
// says.
func verified(path string, rep *seal.Report) verifiedFile {
	m := rep.Manifest
	return verifiedFile{
		File: path, OK: true, Checks: checksDone(rep), Signature: newSignatureInfo(rep.Signature),
		Sealed: m.Sealed, Archive: m.Archive, Identity: sealedIdentity{m.Identity}, SealedAt: m.SealedAt, Node: m.Node,
	}
}

// checksDone names the checks rep passed: a deep check (a plaintext) also
// decoded the archive.
func checksDone(rep *seal.Report) []string {
	var c []string
	if rep.Signature != nil {
		if rep.Signature.Trusted {
			c = append(c, "signature")
		} else {
			c = append(c, "signature-untrusted")
		}
	}
	c = append(c, "checksum", "manifest")
	if rep.Plaintext != nil {
		c = append(c, "plaintext", "archive")
	}
	return c
}

func (r verifyReport) table(w io.Writer) error {
	var rows [][]string
	for _, f := range r.Files {
		result := "ok"
		if !f.OK {
			result = failureClass(f.ExitCode)
		}
		what := "-"
		if f.OK {
			what = archiveLabel(f.Identity.Identity, f.Archive.Name)
		}
		signed := "-"
		if f.OK {
			signed = f.Signature.String()
		}
		checks := strings.Join(f.Checks, ",")
		if checks == "" {
			checks = "-"
		}
		rows = append(rows, []string{f.File, result, signed, checks, what})
	}
	return render.Table(w, []string{"file", "result", "signed by", "checked", "archive"}, rows)
}

func failureClass(code int) string {
	switch code {
	case exitChecksum:
		return "CHECKSUM MISMATCH"
	case exitSignature:
		return "BAD SIGNATURE"
	case exitDecrypt:
		return "NO IDENTITY"
	case exitCorrupt:
		return "CORRUPT"
	case exitManifest:
		return "MANIFEST MISMATCH"
	}
	return "FAILED"
}

// sealedIdentity is an archive's identity as a sealed set's manifest holds
// it, printed in the manifest's form (docs/formats.md), so that seal,
// verify and open show what the manifest says, as they always have.
type sealedIdentity struct{ archive.Identity }

func (s sealedIdentity) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(seal.Manifest{Identity: s.Identity})
	if err != nil {
		return nil, err
	}
	var m struct {
		Identity json.RawMessage `json:"identity"`
	}
	err = json.Unmarshal(b, &m)
	return m.Identity, err
}

// archiveLabel names the container an archive is of, namespace/pod/container,
// or falls back to the archive's file name when the manifest does not say.
func archiveLabel(id archive.Identity, fallback string) string {
	var parts []string
	for _, v := range []string{id.Namespace, id.Pod, id.Container} {
		if v != "" {
			parts = append(parts, v)
		}
	}
	if len(parts) == 0 {
		return fallback
	}
	return strings.Join(parts, "/")
}
