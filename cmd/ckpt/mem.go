package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/procmem"
	"github.com/ckpt-dev/ckpt/internal/progress"
)

func newMemCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mem",
		Short: "Process memory: maps, read, search, core files",
		Long: `The mem commands read the memory pages a checkpoint holds, in place: the
pages are never extracted to disk. ARCHIVE may be plain, compressed or sealed
(give -i), or "-" for standard input; each command reads it once.

Memory a checkpoint does not hold (never touched, in a parent pre-dump, left
for lazy restore) is reported as absent, never shown as zeros.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newMemMapsCmd(a), newMemReadCmd(a), newMemSearchCmd(a), newMemCoreCmd(a))
	for _, sub := range cmd.Commands() {
		run := sub.RunE
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			return explainAmbiguous(run(cmd, args))
		}
	}
	return cmd
}

// explainAmbiguous adds the flag that resolves a pid shared by containers:
// the library's errors name no flags.
func explainAmbiguous(err error) error {
	if errors.Is(err, procmem.ErrAmbiguous) {
		return fmt.Errorf("%w; choose one with --container NAME", err)
	}
	return err
}

// addSelectFlags adds --pid and --container.
func addSelectFlags(cmd *cobra.Command, sel *procmem.Select, pidUsage string) {
	cmd.Flags().Uint32Var(&sel.PID, "pid", 0, pidUsage)
	cmd.Flags().StringVar(&sel.Container, "container", "", "the container, in a pod archive whose containers reuse pids")
}

// memProgress returns a progress bar over the pages a command reads, drawn
// only when stderr is a terminal. Its total is the archive's size when the
// archive is a plain file (the pages are nearly all of it), else unknown.
func memProgress(a *app, label string, ar *archive.Archive) *progress.Bar {
	var total int64
	if ar.RandomAccess() && !ar.Sealed() {
		total = ar.Size()
	}
	return progress.New(a.stderr, label+" "+filepath.Base(ar.Name()), total)
}
