package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/image"
	"github.com/ckpt-dev/ckpt/internal/render"
)

func newBuildCmd(a *app) *cobra.Command {
	var force, insecure bool
	var encryptTo []string
	cmd := &cobra.Command{
		Use:   "build ARCHIVE IMAGE",
		Short: "Make the OCI image a checkpoint is restored from in Kubernetes",
		Long: `build turns a container checkpoint archive into the image CRI-O restores
from: one layer with the archive's files, and the annotations CRI-O reads
(` + image.AnnotationCRIOCheckpointName + `) and checkpointctl's
org.criu.checkpoint.* keys, from the archive's identity. It reads the
archive once, plain, compressed or sealed (-i), and extracts nothing.

IMAGE is one of
  oci-layout:DIR[:TAG]        an OCI image layout directory (created or added to)
  docker-archive:FILE[:REF]   a docker save tarball (docker load, podman load)
  REGISTRY/REPOSITORY[:TAG]   pushed with docker's credentials, as crane does

The layer is the checkpoint's plaintext: every memory page of the container.
Written to a registry, the registry can read it; keep such images in a
registry as restricted as the checkpoints themselves (see docs/transfer.md
on layer encryption). --encrypt-layer encrypts the layer with ocicrypt's JWE
scheme, as skopeo copy --encryption-key jwe:KEY does, so that only holders of
the private key (CRI-O with it in its decryption_keys_path) can read it.`,
		Example: `  ckpt build checkpoint-web_prod-app-2025-06-01T10:00:00Z.tar oci-layout:./img:web
  ckpt build -i key.txt x.tar.age registry.example.com/restore/web:v1`,
		Args: cobra.ExactArgs(2),
	}
	o := addOutputFlags(cmd, false)
	src := addSourceFlags(cmd)
	cmd.Flags().BoolVarP(&force, "force", "f", false, "overwrite an existing docker-archive file")
	cmd.Flags().BoolVar(&insecure, "insecure-registry", false, "push over plain HTTP (always allowed on loopback)")
	cmd.Flags().StringArrayVar(&encryptTo, "encrypt-layer", nil, "encrypt the layer with ocicrypt to this JWE public key `[jwe:]FILE` (PEM or JWK; repeatable; oci-layout: only)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		target := args[1]
		var enc *image.Encryption
		if len(encryptTo) > 0 {
			var pubs [][]byte
			for _, f := range encryptTo {
				data, err := os.ReadFile(strings.TrimPrefix(f, "jwe:"))
				if err != nil {
					return fmt.Errorf("--encrypt-layer: %w", err)
				}
				pubs = append(pubs, data)
			}
			var err error
			if enc, err = image.NewJWE(pubs); err != nil {
				return fmt.Errorf("--encrypt-layer: %w", err)
			}
			if !strings.HasPrefix(target, "oci-layout:") {
				return usageErrorf("--encrypt-layer writes an oci-layout:DIR target; copy it on with skopeo copy oci:DIR docker://…, which keeps the layer encrypted")
			}
		}
		ar, err := src.open(a, args[0])
		if err != nil {
			return err
		}
		defer ar.Close()
		if enc == nil && !strings.HasPrefix(target, "oci-layout:") && !strings.HasPrefix(target, "docker-archive:") {
			a.warnf("%s: the image layer is the checkpoint's plaintext (all its memory); the registry and anyone who can pull from it can read it", target)
		}
		res, err := image.Build(cmd.Context(), ar, target, image.Options{Insecure: insecure, Overwrite: force, Encrypt: enc})
		if err != nil {
			return err
		}
		return o.emit(a.stdout, res, func(w io.Writer) error { return renderBuild(w, res) })
	}
	return cmd
}

func renderBuild(w io.Writer, r *image.Result) error {
	rows := [][]string{
		{"image", r.Target},
		{"manifest", dash(r.Digest)},
		{"image id", r.ImageID},
		{"layer", r.LayerDigest + " (" + render.Bytes(r.LayerSize) + ")"},
	}
	keys := make([]string, 0, len(r.Annotations))
	for k := range r.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rows = append(rows, []string{k, r.Annotations[k]})
	}
	return render.Table(w, []string{"field", "value"}, rows)
}
