package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/internal/catalog"
	"github.com/ckpt-dev/ckpt/internal/render"
	"github.com/ckpt-dev/ckpt/remote"
)

func newLsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ls [DIR|ARCHIVE...|s3://BUCKET/PREFIX/|oci://REGISTRY/REPOSITORY]",
		Short: "List checkpoint archives with their identity, storage and permissions",
		Long: `Ls lists the archives in ` + catalog.DefaultDir + ` (or the given
directories and files): namespace, pod, container, checkpoint time, engine,
size, owner and mode, and whether each is plain, compressed or sealed.

Archives are meant to be root-only: files that are not 0600 and owned by
root, and directories that are not 0700, are flagged. Sealed archives are
not decrypted: their identity comes from the manifest beside them, or from
the file name. Broken archives are listed with their error, and make ls
exit 1.

Given a store (s3://BUCKET/PREFIX/ or oci://REGISTRY/REPOSITORY), ls lists
the sealed sets in it with the identity from their manifests, without
fetching any ciphertext (see ckpt push).`,
		Args: cobra.ArbitraryArgs,
	}
	out := addOutputFlags(cmd, false)
	var limits sizeFlag
	cmd.Flags().Var(&limits, "max-metadata", "largest metadata file read into memory (default 16MiB)")
	rf := addRemoteFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 1 && remote.IsLocation(args[0]) {
			return listRemote(cmd.Context(), a, out, rf, args[0])
		}
		if len(args) == 0 {
			args = []string{catalog.DefaultDir}
		}
		c := catalog.List(args, catalog.Options{})
		if err := out.emit(a.stdout, c, func(w io.Writer) error { return renderCatalog(w, c) }); err != nil {
			return err
		}
		if broken := c.Broken(); len(broken) > 0 {
			return fmt.Errorf("%d of the listed paths could not be read; first: %s", len(broken), broken[0].Error)
		}
		return nil
	}
	return cmd
}

func renderCatalog(w io.Writer, c *catalog.Catalog) error {
	for _, d := range c.Directories {
		for _, p := range d.Problems {
			render.Printf(w, "%s: %s\n", d.Path, p)
		}
	}
	var rows [][]string
	for _, e := range c.Archives {
		id := e.Identity
		status := "ok"
		var notes []string
		if e.Error != "" {
			notes = append(notes, "ERROR: "+e.Error)
		}
		notes = append(notes, e.Problems...)
		if e.IdentitySource == "file name" {
			notes = append(notes, "identity from the file name")
		}
		if len(notes) > 0 {
			status = strings.Join(notes, "; ")
		}
		storage := e.Storage
		if len(e.Sidecars) > 0 {
			storage += " (" + strings.Join(e.Sidecars, ",") + ")"
		}
		container := id.Container
		if container == "" && len(id.Notes) > 0 && id.Pod != "" {
			container = "?"
		}
		rows = append(rows, []string{
			dash(id.Namespace), dash(id.Pod), dash(container), dash(when(id.Checkpointed)), dash(id.Engine),
			render.Bytes(e.Size), fmt.Sprintf("%d:%d", e.UID, e.GID), fmt.Sprintf("%04o", e.Mode), dash(storage), e.Path, status,
		})
	}
	if len(rows) == 0 && len(c.Broken()) > 0 {
		return nil // nothing listed: the error says why, without an empty table
	}
	return render.Table(w, []string{"namespace", "pod", "container", "checkpointed", "engine", "size", "owner", "mode", "storage", "path", "status"}, rows)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
