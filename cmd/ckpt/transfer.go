package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/progress"
	"github.com/ckpt-dev/ckpt/internal/render"
	"github.com/ckpt-dev/ckpt/remote"
)

// remoteFlags locate and tune a store.
type remoteFlags struct {
	opts remote.Options
}

func addRemoteFlags(cmd *cobra.Command) *remoteFlags {
	r := &remoteFlags{}
	fl := cmd.Flags()
	fl.StringVar(&r.opts.Endpoint, "endpoint", "", "S3 endpoint `URL` (default: AWS_ENDPOINT_URL_S3, the shared config's endpoint_url, or AWS)")
	fl.StringVar(&r.opts.Region, "region", "", "S3 `REGION` (default: AWS_REGION or the shared config; us-east-1 when none)")
	fl.IntVar(&r.opts.Retries, "retries", 5, "times a failed request is tried again, with backoff")
	fl.BoolVar(&r.opts.Insecure, "insecure-registry", false, "reach the OCI registry over plain HTTP (always allowed on loopback)")
	return r
}

func (r *remoteFlags) open(ctx context.Context, location string, bar **progress.Bar) (remote.Store, error) {
	opts := r.opts
	if opts.Retries == 0 {
		opts.Retries = -1 // --retries 0: none
	}
	opts.Progress = func(n int64) {
		if *bar != nil {
			(*bar).Add(n)
		}
	}
	return remote.Open(ctx, location, opts)
}

func newPushCmd(a *app) *cobra.Command {
	var allowPlaintext bool
	cmd := &cobra.Command{
		Use:   "push SEALED... s3://BUCKET/PREFIX/|oci://REGISTRY/REPOSITORY[:TAG]",
		Short: "Upload sealed archives to S3-compatible storage or an OCI registry",
		Long: `push uploads each sealed archive with its sidecars (.sha256, .json and,
when signed, .json.sig).

To S3, each file is one object under the prefix, named as the file is
(colons kept). The ciphertext's SHA-256 from its checksum line is sent as
x-amz-checksum-sha256, so the server refuses a corrupted upload and the
file is read once; the archive's identity goes into x-amz-meta-ckpt-*.
Credentials, region and endpoint come from the AWS environment and shared
config (AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_WEB_IDENTITY_TOKEN_FILE,
AWS_REGION, AWS_ENDPOINT_URL_S3) unless --endpoint and --region say.

To a registry, each set is one OCI artifact (artifact type ` + remote.ArtifactType + `)
whose layers are the files, with the identity in annotations, tagged TAG or
a tag made from the file name. Credentials come from docker's config.json
and credential helpers, as crane and docker use them.

Plaintext archives are refused (seal them first) unless --allow-plaintext.

Exit codes: 40 bucket or repository not found, 41 credentials refused,
42 upload rejected by the store, 43 a plaintext archive, 1 anything else.`,
		Example: `  ckpt push /var/lib/kubelet/checkpoints/*.tar.age s3://checkpoints/node1/
  AWS_ENDPOINT_URL_S3=http://127.0.0.1:9000 ckpt push x.tar.age s3://b/p/
  ckpt push x.tar.age oci://registry.example.com/checkpoints/web:2025-06-01`,
		Args: cobra.MinimumNArgs(2),
	}
	o := addOutputFlags(cmd, false)
	rf := addRemoteFlags(cmd)
	cmd.Flags().BoolVar(&allowPlaintext, "allow-plaintext", false, "push archives that are not sealed (their memory leaves the node readable)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		dest, files := args[len(args)-1], args[:len(args)-1]
		loc, err := remote.ParseLocation(dest)
		if err != nil {
			return withCode(exitUsage, err)
		}
		if loc.Name != "" {
			return usageErrorf("%s: push to a prefix ending in /, the sets keep their names", dest)
		}
		if loc.Tag != "" && len(files) > 1 {
			return usageErrorf("%s: one tag cannot name %d sets; leave the tag out to tag each by its name", dest, len(files))
		}
		var bar *progress.Bar
		store, err := rf.open(cmd.Context(), dest, &bar)
		if err != nil {
			return err
		}
		report := pushReport{Pushed: []remote.Entry{}}
		b := &batch{a: a, total: len(files)}
		for _, path := range files {
			if err := cmd.Context().Err(); err != nil {
				return err
			}
			set, err := remote.LoadLocal(path, allowPlaintext)
			if err != nil {
				b.fail(err)
				continue
			}
			if set.Plaintext {
				a.warnf("%s: pushing a plaintext archive: every memory page of the container is readable in %s", path, store)
			}
			bar = progress.New(a.stderr, "pushing "+set.Name, set.Size)
			e, err := remote.PutVerified(cmd.Context(), store, set)
			if err != nil {
				bar.Clear()
				b.fail(err)
				continue
			}
			bar.Finish()
			report.Pushed = append(report.Pushed, *e)
		}
		if err := o.emit(a.stdout, report, report.table); err != nil {
			return err
		}
		return b.err()
	}
	return cmd
}

type pushReport struct {
	Pushed []remote.Entry `json:"pushed"`
}

func (r pushReport) table(w io.Writer) error {
	var rows [][]string
	for _, e := range r.Pushed {
		rows = append(rows, []string{e.Location, render.Bytes(e.Size), e.SHA256, yesNo(e.Signed)})
	}
	return render.Table(w, []string{"location", "size", "sha256", "signed"}, rows)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newPullCmd(a *app) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "pull s3://BUCKET/PREFIX/NAME|oci://REGISTRY/REPOSITORY:TAG DIR",
		Short: "Download a sealed archive and verify it before it appears in DIR",
		Long: `pull downloads one sealed set into DIR and verifies it as verify does
(the signature of the manifest against --allowed-signers, the SHA-256 of
the ciphertext against its checksum line and the manifest) before any of
its files appears in DIR. The ciphertext is hashed as it arrives, so it is
read once. A set that fails is not left in DIR, in any part.

Exit codes: 3 checksum mismatch, 4 signature, 7 manifest, 40 not found,
41 credentials refused, 42 the store sent something unusable, 1 anything else.`,
		Example: `  ckpt pull s3://checkpoints/node1/checkpoint-web_prod-app-2025-06-01T10:00:00Z.tar.age ./in --allowed-signers allowed_signers
  ckpt pull oci://registry.example.com/checkpoints/web:2025-06-01 ./in -o json`,
		Args: cobra.ExactArgs(2),
	}
	o := addOutputFlags(cmd, false)
	rf := addRemoteFlags(cmd)
	pf := addPolicyFlags(cmd)
	cmd.Flags().BoolVarP(&force, "force", "f", false, "overwrite files of the same names in DIR")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		src, dir := args[0], args[1]
		loc, err := remote.ParseLocation(src)
		if err != nil {
			return withCode(exitUsage, err)
		}
		id := loc.Name
		if loc.Scheme == remote.SchemeOCI {
			id = loc.Tag
		}
		if id == "" {
			return usageErrorf("%s: name one set (s3://BUCKET/PREFIX/NAME or oci://REGISTRY/REPOSITORY:TAG); ckpt ls %s lists them", src, loc.Store())
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return usageErrorf("%s: not a directory", dir)
		}
		pol, err := pf.policy()
		if err != nil {
			return err
		}
		var bar *progress.Bar
		store, err := rf.open(cmd.Context(), loc.Store(), &bar)
		if err != nil {
			return err
		}
		bar = progress.New(a.stderr, "pulling "+id, 0)
		rep, err := remote.Pull(cmd.Context(), store, id, dir, remote.PullOptions{Policy: pol, Overwrite: force})
		if err != nil {
			bar.Clear()
			return err
		}
		bar.Finish()
		warnUntrusted(a, rep.Files.Sealed, rep.Signature)
		report := verifyReport{Files: []verifiedFile{verified(rep.Files.Sealed, rep)}}
		return o.emit(a.stdout, report, report.table)
	}
	return cmd
}

// listRemote is `ckpt ls s3://…|oci://…`: the sets in a store, with the
// identity from their manifests.
func listRemote(ctx context.Context, a *app, o *outputFlag, rf *remoteFlags, location string) error {
	loc, err := remote.ParseLocation(location)
	if err != nil {
		return withCode(exitUsage, err)
	}
	var bar *progress.Bar
	store, err := rf.open(ctx, loc.Store(), &bar)
	if err != nil {
		return err
	}
	var entries []remote.Entry
	switch {
	case loc.Name != "" || loc.Tag != "":
		id := loc.Name + loc.Tag
		e, err := store.Stat(ctx, id)
		if err != nil {
			return err
		}
		entries = []remote.Entry{*e}
	default:
		if entries, err = store.List(ctx); err != nil {
			return err
		}
	}
	report := remoteListing{Store: store.String(), Sets: entries}
	if err := o.emit(a.stdout, report, report.table); err != nil {
		return err
	}
	var broken []string
	for _, e := range entries {
		if e.Error != "" {
			broken = append(broken, e.Name+": "+e.Error)
		}
	}
	if len(broken) > 0 {
		return errors.New(strings.Join(broken, "; "))
	}
	return nil
}

type remoteListing struct {
	Store string         `json:"store"`
	Sets  []remote.Entry `json:"sets"`
}

func (r remoteListing) table(w io.Writer) error {
	var rows [][]string
	for _, e := range r.Sets {
		var id archive.Identity
		node, status := "", "sealed"
		if e.Manifest != nil {
			id, node = e.Manifest.Identity, e.Manifest.Node
		}
		switch {
		case e.Error != "":
			status = "ERROR: " + e.Error
		case e.Plaintext:
			status = "PLAINTEXT"
		case e.Signed:
			status = "sealed, signed"
		}
		rows = append(rows, []string{dash(id.Namespace), dash(id.Pod), dash(id.Container), dash(when(id.Checkpointed)),
			dash(node), render.Bytes(e.Size), status, e.Location})
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintf(w, "no sealed sets in %s\n", r.Store)
		return err
	}
	return render.Table(w, []string{"namespace", "pod", "container", "checkpointed", "node", "size", "status", "location"}, rows)
}
