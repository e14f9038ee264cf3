package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/diff"
)

// errDiffer is what --exit-code reports when the checkpoints differ.
var errDiffer = errors.New("the checkpoints differ (--exit-code)")

func newDiffCmd(a *app) *cobra.Command {
	var force, exitCode, reveal bool
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Compare two checkpoints of one container: processes, files, sockets, memory, rootfs",
		Long: `Diff compares two checkpoints of the same container, A (the older) and B:
processes that came and went, and for those in both their threads, open files,
sockets, memory mappings, memory pages, command line and environment; and the
files the container changed in its root filesystem.

Processes are matched by pid and start identity (executable, start addresses
and auxiliary vector, which execve sets and address randomisation makes
unique), so a pid reused by another process shows as one removed and one
added. Memory pages are compared by a hash of their content: the output gives
counts and address ranges of changed, added and removed pages, never their
bytes. Environment values are hidden unless --reveal is given.

Each archive is read once, both at the same time; either may be "-" (standard
input), compressed or sealed (give -i). If their identities say they are of
different containers, diff refuses unless --force is given.

Exit status: 0 when the comparison worked, whether or not the checkpoints
differ; with --exit-code, 10 when they differ. Errors exit 1 (2 for usage
mistakes) and print one line on stderr.`,
		Example: `  ckpt diff checkpoint-web-0_default-nginx-2026-11-28T22:28:10Z.tar checkpoint-web-0_default-nginx-2026-11-28T23:28:10Z.tar
  ckpt diff -o json a.tar.zst b.tar.zst | jq '.summary.pages'
  ckpt diff --exit-code -i key.txt a.tar.age b.tar.age && echo unchanged`,
		Args: cobra.ExactArgs(2),
	}
	f := cmd.Flags()
	f.BoolVar(&force, "force", false, "compare even when the identities say the checkpoints are of different containers")
	f.BoolVar(&exitCode, "exit-code", false, "exit 10 when the checkpoints differ, 0 when they do not")
	f.BoolVar(&reveal, "reveal", false, "show the values of changed environment variables (they often hold secrets)")
	out := addOutputFlags(cmd, false)
	src := addSourceFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if args[0] == "-" && args[1] == "-" {
			return usageErrorf("only one of A and B can be standard input")
		}
		d := diff.New(diff.Options{Limits: src.limits, Force: force, RevealEnv: reveal})
		// The archives stay open until compared: on random-access ones
		// the pages are read again then, so nothing is held per page.
		var opened []io.Closer
		defer func() {
			for _, c := range opened {
				c.Close()
			}
		}()
		var ars []*archive.Archive
		for _, name := range args {
			ar, err := src.open(a, name)
			if err != nil {
				return err
			}
			opened = append(opened, ar)
			ars = append(ars, ar)
		}
		sa, sb, err := d.ReadBoth(cmd.Context(), ars[0], ars[1])
		if errors.Is(err, diff.ErrUnmatched) {
			return fmt.Errorf("%w (raise --max-pending)", err)
		}
		if err != nil {
			return err
		}
		r, err := d.Compare(sa, sb)
		if errors.Is(err, diff.ErrDifferentContainers) {
			return fmt.Errorf("%w (give --force to compare them anyway)", err)
		}
		if err != nil {
			return err
		}
		for _, c := range r.Containers {
			if !c.SameContainer {
				a.warnf("A and B are checkpoints of different containers: compared because of --force")
				break
			}
		}
		// Reports of large dumps run to megabytes: buffer, and let the
		// writer (a pipe, a file) take them at its pace.
		bw := bufio.NewWriterSize(a.stdout, 64<<10)
		if err := out.emit(bw, r, func(w io.Writer) error { return renderDiff(w, r) }); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if exitCode && r.Different {
			return withCode(exitDifferent, errDiffer)
		}
		return nil
	}
	return cmd
}
