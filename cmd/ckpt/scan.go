package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/progress"
	"github.com/ckpt-dev/ckpt/scan"
)

// scanBarMin is the smallest archive that gets a progress bar; compressed
// archives and streams always do, as their size says little.
const scanBarMin = 64 << 20

func newScanCmd(a *app) *cobra.Command {
	var reveal bool
	var failOn string
	var maxLocations int
	var kinds strings.Builder
	for _, k := range scan.Kinds() {
		fmt.Fprintf(&kinds, "  %-24s %s\n", k, k.Describe())
	}
	cmd := &cobra.Command{
		Use:   "scan ARCHIVE...",
		Short: "Report the secrets an archive carries: private keys, tokens, cloud credentials, passwords",
		Long: `Scan reads each archive once, in place, and reports the sensitive data in it,
for the moment before anyone copies it off the node: every memory page of
every process, the process environments, spec.dump's environment, the files
the container wrote (rootfs diff), pipe and socket queues and TCP streams,
and the container log.

Each finding is a distinct value: its kind, a redacted preview (the value
itself only with --reveal), and where it was found (pid, address and
mapping; or file and offset). Addresses and offsets are the value's own,
past any label such as NAME= or AccountKey=: "ckpt mem read --pid P
--addr ADDRESS --len LENGTH" reads the value back. The same value found in
many places is one finding with a count.

Kinds:
` + kinds.String() + `
With --fail-on, scan exits with status 8 when it finds anything of the kinds
named (or of any kind, with --fail-on any), after printing the report.`,
		Example: `  ckpt scan /var/lib/kubelet/checkpoints/checkpoint-web-0_default-nginx-2026-11-28T22:28:10Z.tar
  ckpt scan --fail-on private-key,kubernetes-token,aws-secret-access-key x.tar && scp x.tar backup:
  ckpt scan -o json x.tar.zst | jq '.findings[] | {kind, detail, count}'`,
		Args: cobra.MinimumNArgs(1),
	}
	f := cmd.Flags()
	f.BoolVar(&reveal, "reveal", false, "show each value in full, not only a redacted preview")
	f.StringVar(&failOn, "fail-on", "", "exit with status 8 if anything of these `KINDS` is found (comma-separated, or any)")
	f.IntVar(&maxLocations, "max-locations", 16, "locations listed per finding; the rest are counted")
	out := addOutputFlags(cmd, false)
	src := addSourceFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var fail []scan.Kind
		if cmd.Flags().Changed("fail-on") {
			var err error
			if fail, err = scan.ParseKinds(failOn); err != nil {
				return usageErrorf("--fail-on: %v", err)
			}
		}
		if maxLocations < 1 {
			return usageErrorf("--max-locations must be at least 1")
		}
		var bar *progress.Bar
		s := scan.New(scan.Options{Limits: src.limits, Reveal: reveal, MaxLocations: maxLocations,
			Progress: func(n int64) { bar.Add(n) }})
		for _, name := range args {
			ar, err := src.open(a, name)
			if err != nil {
				return err
			}
			bar = progress.New(a.stderr, "scanning "+filepath.Base(name), barTotal(ar))
			if ar.Size() >= 0 && ar.Size() < scanBarMin && ar.Compression() == archive.Unknown && !ar.Sealed() {
				bar = progress.New(io.Discard, "", 0) // small: done before a bar could help
			}
			err = s.Scan(cmd.Context(), ar)
			ar.Close()
			if err != nil {
				bar.Clear()
				return err
			}
			bar.Finish()
		}
		rep := s.Report()
		if err := out.emit(a.stdout, rep, func(w io.Writer) error { return renderScan(w, rep, len(args) > 1) }); err != nil {
			return err
		}
		if n := rep.Found(fail); n > 0 {
			return withCode(exitFindings, fmt.Errorf("%s of the kinds --fail-on names (%s)", findingsText(n), foundKinds(rep, fail)))
		}
		return nil
	}
	return cmd
}

// barTotal is what the progress bar counts to: the scan counts the bytes
// it reads, which on a plain archive add up to about its size.
func barTotal(ar *archive.Archive) int64 {
	if ar.Compression() != archive.Unknown || ar.Size() < 0 {
		return 0
	}
	return ar.Size()
}

func foundKinds(r *scan.Report, kinds []scan.Kind) string {
	var out []string
	for _, s := range r.Summary {
		for _, k := range kinds {
			if s.Kind == k && s.Occurrences > 0 {
				out = append(out, string(k))
			}
		}
	}
	return strings.Join(out, ", ")
}

func findingsText(n int) string {
	if n == 1 {
		return "1 finding"
	}
	return fmt.Sprintf("%d findings", n)
}
