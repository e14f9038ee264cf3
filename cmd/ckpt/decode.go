package main

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
)

func newDecodeCmd(a *app) *cobra.Command {
	var noPayload bool
	cmd := &cobra.Command{
		Use:   "decode ARCHIVE [IMAGE...]",
		Short: "Print CRIU images as JSON, as crit decode does",
		Long: `Decode prints CRIU images of a checkpoint as JSON in crit's format
("magic" and "entries", flags and addresses as crit shows them, payloads in
base64 under "extra"). With one IMAGE the output is exactly that image's
object; with several, or none (all images), it is an array of
{"image": NAME, "decoded": OBJECT}, in archive order. IMAGE is a name such as pstree.img,
pstree or checkpoint/pstree.img.

Raw images (memory pages) are not CRIU entries: read them with ckpt mem.`,
		Example: `  ckpt decode x.tar pstree.img | jq '.entries[].pid'
  ckpt decode x.tar core-1 mm-1 --no-payload`,
		Args: cobra.MinimumNArgs(1),
	}
	cmd.Flags().BoolVar(&noPayload, "no-payload", false, "show payload sizes (extra_size) instead of payloads")
	src := addSourceFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		want := map[string]bool{}
		for _, n := range args[1:] {
			n = path.Base(n)
			if !strings.HasSuffix(n, ".img") && n != "stats-dump" {
				n += ".img"
			}
			if criu.IsRaw(n) {
				k := criu.RawKind(n)
				if strings.Contains(k, "memory pages") {
					return usageErrorf("%s is %s, not a CRIU image: use ckpt mem read", n, k)
				}
				return usageErrorf("%s is %s, not a CRIU image with entries: nothing to decode", n, k)
			}
			want[n] = true
		}
		ar, err := src.open(a, args[0])
		if err != nil {
			return err
		}
		defer ar.Close()
		single := len(want) == 1
		w := bufio.NewWriter(a.stdout)
		defer w.Flush()
		found := map[string]bool{}
		first := true
		_, err = ar.Walk(func(e *archive.Entry, r io.Reader) error {
			base, kind := archive.ImageOf(e)
			if kind != archive.ImageEntries || len(want) > 0 && !want[base] {
				return nil
			}
			found[base] = true
			opt := criu.JSONOptions{Options: criu.Options{Size: e.Size, MaxEntry: src.limits.MaxEntry}, NoPayload: noPayload}
			if single {
				return decodeError(ar, e, criu.WriteJSON(w, r, opt))
			}
			if first {
				w.WriteString("[\n")
			} else {
				w.WriteString(",\n")
			}
			first = false
			fmt.Fprintf(w, "{\"image\": %q, \"decoded\": ", base)
			if err := criu.WriteJSON(w, r, opt); err != nil {
				return decodeError(ar, e, err)
			}
			w.WriteString("}")
			return nil
		})
		if err != nil {
			return err
		}
		if !single {
			if first {
				w.WriteString("[")
			}
			w.WriteString("\n]\n")
		}
		var missing []string
		for n := range want {
			if !found[n] {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			return &archive.Error{Archive: args[0], Entry: "checkpoint/" + missing[0], Err: fmt.Errorf("%w: no such image in the archive", archive.ErrMissing)}
		}
		return nil
	}
	return cmd
}

func decodeError(ar *archive.Archive, e *archive.Entry, err error) error {
	if err == nil {
		return nil
	}
	return &archive.Error{Archive: ar.Name(), Entry: e.Name, Err: err}
}
