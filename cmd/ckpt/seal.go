package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/internal/progress"
	"github.com/ckpt-dev/ckpt/internal/regfile"
	"github.com/ckpt-dev/ckpt/internal/render"
	"github.com/ckpt-dev/ckpt/shred"
)

// describeArchive returns what reads the identity of the archive called
// name as it streams through a seal, for the manifest: archive.ReadIdentity
// on the tee of the plaintext.
func describeArchive(name string) func(io.Reader) (archive.Identity, error) {
	return func(r io.Reader) (archive.Identity, error) {
		id, err := archive.ReadIdentity(name, r)
		if err != nil {
			return archive.Identity{}, err
		}
		return *id, nil
	}
}

type sealFlags struct {
	recipients     *recipientFlags
	passphraseFile string
	sign           string
	force          bool
	shredSource    bool
	node           string
	name           string
}

func newSealCmd(a *app) *cobra.Command {
	f := &sealFlags{}
	cmd := &cobra.Command{
		Use:   "seal ARCHIVE... (-r RECIPIENT | -R FILE | -p) [--sign KEY] [-o OUT]",
		Short: "Encrypt checkpoint archives with age, beside a checksum and a (signed) manifest",
		Long: `seal encrypts each archive with age in one streaming pass and writes, beside
the sealed file:

  NAME.tar.age            the ciphertext (age -d opens it)
  NAME.tar.age.sha256     its checksum line (sha256sum -c checks it)
  NAME.tar.age.json       the manifest: sizes and SHA-256 of plaintext and
                          ciphertext, what the archive is, recipients, node, time
  NAME.tar.age.json.sig   with --sign, an SSH signature of the manifest
                          (ssh-keygen -Y verify -n ` + "ckpt-manifest@ckpt.dev" + `)

Every file is written atomically with mode 0600 and never over an existing
one without --force. -o names the sealed file (one archive), a directory,
or - for standard output; with -o - the sidecars are written beside the
archive, under the name --name gives the sealed file (NAME.tar.age by default).

--sign takes a private key file, a public key file whose key is in
ssh-agent (SSH_AUTH_SOCK), or "agent" for the agent's only key.

--shred-source shreds each archive once its sealed copy is written,
synced and read back from the disk with a matching hash.

Kubelet names contain ':', which scp reads as host:path: copy them as
./NAME or after --, e.g. scp -- ./checkpoint-*.tar.age* host:/dir/`,
		Example: `  ckpt seal checkpoint-web_default-app-2025-01-02T03:04:05Z.tar -r age1... --sign ~/.ssh/id_ed25519
  ckpt seal /var/lib/kubelet/checkpoints/*.tar -R team.pub -o /srv/outbox/ --shred-source
  ckpt seal x.tar -r age1... -o - | ssh host 'cat > x.tar.age'`,
		Args: cobra.MinimumNArgs(1),
	}
	o := addOutputFlags(cmd, true)
	f.recipients = addRecipientFlags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.passphraseFile, "passphrase-file", "", "read the passphrase (for -p, or of an encrypted --sign key) from the first line of `FILE`")
	fl.StringVar(&f.sign, "sign", "", "sign the manifest with the SSH `KEY`: a private key file, a .pub file of a key in ssh-agent, or \"agent\"")
	fl.BoolVar(&f.force, "force", false, "overwrite existing output files")
	fl.BoolVar(&f.shredSource, "shred-source", false, "shred each archive after its sealed copy is written and read back")
	fl.StringVar(&f.node, "node", "", "the `NAME` of the node in the manifest (default: this host's name)")
	fl.StringVar(&f.name, "name", "", "with -o -, the `NAME` the sidecars give the sealed file (default: ARCHIVE.age)")
	af := addAuditFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return af.run(cmd.Context(), a, func(ctx context.Context) error { return runSeal(ctx, a, f, o, args) })
	}
	return cmd
}

// sealReport is the output of ckpt seal.
type sealReport struct {
	Sealed []sealedArchive `json:"sealed"`
}

type sealedArchive struct {
	Archive string `json:"archive"`
	// Sealed is the sealed file's path, or "-" for standard output.
	Sealed        string               `json:"sealed"`
	ChecksumFile  string               `json:"checksum_file"`
	ManifestFile  string               `json:"manifest_file"`
	SignatureFile string               `json:"signature_file"`
	Size          int64                `json:"size"`
	SHA256        string               `json:"sha256"`
	ArchiveSize   int64                `json:"archive_size"`
	ArchiveSHA256 string               `json:"archive_sha256"`
	Recipients    []seal.RecipientInfo `json:"recipients"`
	Signer        string               `json:"signer"`
	Identity      sealedIdentity       `json:"identity"`
	// ReadBack says the sealed file was read back from disk and matched.
	ReadBack bool `json:"read_back"`
	// Shred is what happened to the archive with --shred-source, else null.
	Shred *shredOutcome `json:"shred"`
}

type shredOutcome struct {
	Status    string   `json:"status"`
	Assurance string   `json:"assurance"`
	Reasons   []string `json:"reasons"`
}

func runSeal(ctx context.Context, a *app, f *sealFlags, o *outputFlag, args []string) error {
	toStdout := o.file == "-"
	var outDir string
	if o.file != "" && !toStdout {
		if st, err := os.Stat(o.file); err == nil && st.IsDir() {
			outDir = o.file
		} else if strings.HasSuffix(o.file, "/") {
			return usageErrorf("-o %s: no such directory", o.file)
		}
	}
	switch {
	case len(args) > 1 && toStdout:
		return usageErrorf("-o - takes one archive: standard output holds one sealed file")
	case len(args) > 1 && o.file != "" && outDir == "":
		return usageErrorf("-o %s names one file but %d archives were given; give a directory", o.file, len(args))
	case f.shredSource && toStdout:
		return usageErrorf("--shred-source needs the sealed file on disk to read it back; it cannot be used with -o -")
	case f.name != "" && !toStdout:
		return usageErrorf("--name is for -o -; otherwise the sealed file's own name is used")
	case toStdout && isTerminal(a.stdout):
		return usageErrorf("refusing to write ciphertext to a terminal; redirect it or give -o FILE")
	}
	for _, arg := range args {
		switch {
		case arg == "-" && o.file == "":
			return usageErrorf("sealing standard input needs -o FILE or -o -")
		case arg == "-" && f.shredSource:
			return usageErrorf("--shred-source cannot shred standard input")
		case arg == "-" && toStdout && f.name == "":
			return usageErrorf("sealing standard input to standard output needs --name for the sidecars")
		case seal.IsSidecar(arg) || strings.HasSuffix(arg, seal.SealedSuffix):
			return usageErrorf("%s is already sealed", arg)
		}
	}

	recipients, signer, done, err := loadSealKeys(a, f.recipients, f.sign, &secrets{a: a, file: f.passphraseFile})
	if err != nil {
		return err
	}
	defer done()
	node := f.node
	if node == "" {
		if node, err = os.Hostname(); err != nil {
			return fmt.Errorf("node name: %w (give --node)", err)
		}
	}

	job := &sealJob{a: a, f: f, recipients: recipients, signer: signer, node: node}
	report := sealReport{Sealed: []sealedArchive{}}
	b := &batch{a: a, total: len(args)}
	for _, arg := range args {
		if err := ctx.Err(); err != nil {
			return err
		}
		var out *sealedArchive
		var err error
		switch {
		case toStdout:
			out, err = job.toStream(ctx, arg)
		default:
			dst := o.file
			if dst == "" || outDir != "" {
				dir := outDir
				if dir == "" {
					dir = filepath.Dir(arg)
				}
				dst = filepath.Join(dir, filepath.Base(arg)+seal.SealedSuffix)
			}
			out, err = job.toFile(ctx, arg, dst)
		}
		auditFrom(ctx).seal(ctx, arg, out, err)
		if out != nil {
			report.Sealed = append(report.Sealed, *out)
		}
		if err != nil {
			b.fail(err)
		}
	}
	w := a.stdout
	if toStdout {
		w = a.stderr
	}
	if len(report.Sealed) > 0 {
		if err := o.emit(w, report, func(w io.Writer) error { return report.table(w) }); err != nil {
			return err
		}
	}
	return b.err()
}

type sealJob struct {
	a          *app
	f          *sealFlags
	recipients []keys.Recipient
	signer     ssh.Signer
	node       string
}

// options are the sealing options for the archive called name, of size
// bytes (0 when unknown), with a progress bar.
func (j *sealJob) options(name string, size int64) (seal.Options, *progress.Bar) {
	bar := progress.New(j.a.stderr, "sealing "+filepath.Base(name), size)
	return seal.Options{
		Recipients: j.recipients,
		Describe:   describeArchive(name),
		Progress:   bar.Add,
		Signer:     j.signer,
		Node:       j.node,
		Tool:       "ckpt " + version,
		Overwrite:  j.f.force,
	}, bar
}

// toFile seals one archive into dst, then shreds the archive if asked.
func (j *sealJob) toFile(ctx context.Context, src, dst string) (*sealedArchive, error) {
	var size int64
	if st, err := os.Stat(src); err == nil {
		size = st.Size()
	}
	opts, bar := j.options(src, size)
	opts.ReadBack = j.f.shredSource
	var res *seal.Result
	var err error
	if src == "-" {
		res, err = seal.Reader(ctx, dst, j.a.stdin, opts)
	} else {
		res, err = seal.File(ctx, dst, src, opts)
	}
	if err != nil {
		bar.Clear()
		return nil, err
	}
	bar.Finish()
	j.warnDescribe(src, res.DescribeErr)
	out := j.describe(src, res)
	if j.f.shredSource {
		r, err := shred.File(ctx, src, shred.Options{})
		out.Shred = &shredOutcome{Status: string(r.Status), Assurance: string(r.Assurance), Reasons: r.Reasons}
		if out.Shred.Reasons == nil {
			out.Shred.Reasons = []string{}
		}
		if err != nil {
			return out, fmt.Errorf("%s: sealed to %s, but the archive was not shredded: %w", src, dst, err)
		}
		if r.Assurance == shred.BestEffort {
			j.a.warnf("%s: shredded, best effort: %s", src, strings.Join(r.Reasons, "; "))
		}
	}
	return out, nil
}

// toStream seals one archive (src, or the app's standard input for "-")
// to standard output, and writes the sidecars beside the archive under
// the sealed file's name (--name, else the archive's name and .age).
func (j *sealJob) toStream(ctx context.Context, src string) (*sealedArchive, error) {
	name, dir := j.f.name, "."
	in := j.a.stdin
	var size int64
	if src != "-" {
		file, err := regfile.Open(src)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		if st, err := file.Stat(); err == nil {
			size = st.Size()
		}
		in, dir = file, filepath.Dir(src)
		if name == "" {
			name = filepath.Base(src) + seal.SealedSuffix
		}
	}
	if strings.Contains(name, "/") {
		return nil, usageErrorf("--name %q: a file name, without directories", name)
	}
	opts, bar := j.options(src, size)
	if src != "-" {
		opts.Name = filepath.Base(src)
	}
	res, err := seal.Stream(ctx, j.a.stdout, in, filepath.Join(dir, name), opts)
	if err != nil {
		bar.Clear()
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	bar.Finish()
	j.warnDescribe(src, res.DescribeErr)
	out := j.describe(src, res)
	out.Sealed = "-"
	return out, nil
}

func (j *sealJob) warnDescribe(src string, err error) {
	if err != nil {
		j.a.warnf("%s: the manifest says nothing about the archive's container: %v", src, err)
	}
}

func (j *sealJob) describe(src string, res *seal.Result) *sealedArchive {
	files, m := res.Files, res.Manifest
	out := &sealedArchive{
		Archive:       src,
		Sealed:        files.Sealed,
		ChecksumFile:  files.Checksum,
		ManifestFile:  files.Manifest,
		SignatureFile: files.Signature,
		Size:          m.Sealed.Size,
		SHA256:        m.Sealed.SHA256,
		ArchiveSize:   m.Archive.Size,
		ArchiveSHA256: m.Archive.SHA256,
		Recipients:    m.Recipients,
		Identity:      sealedIdentity{m.Identity},
		ReadBack:      res.ReadBack,
	}
	if j.signer != nil {
		out.Signer = keys.SSHFingerprint(j.signer.PublicKey())
	}
	return out
}

func (r sealReport) table(w io.Writer) error {
	var rows [][]string
	for _, s := range r.Sealed {
		signed := "no"
		if s.Signer != "" {
			signed = s.Signer
		}
		source := "kept"
		if s.Shred != nil {
			source = s.Shred.Status + " (" + s.Shred.Assurance + ")"
		}
		var types []string
		for _, rc := range s.Recipients {
			types = append(types, rc.Type)
		}
		rows = append(rows, []string{s.Sealed, render.Bytes(s.Size), shortHash(s.SHA256), strings.Join(types, ","), signed, source})
	}
	return render.Table(w, []string{"sealed", "size", "digest", "recipients", "signed by", "source"}, rows)
}

// shortHash abbreviates a hex digest for tables; JSON has it whole.
func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}
