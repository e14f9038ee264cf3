package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/internal/atomicfile"
	"github.com/ckpt-dev/ckpt/internal/procmem"
	"github.com/ckpt-dev/ckpt/internal/render"
)

// coreReport is the output of `mem core`.
type coreReport struct {
	File string `json:"file"`
	*procmem.CoreInfo
}

func newMemCoreCmd(a *app) *cobra.Command {
	var opt procmem.CoreOptions
	var force bool
	cmd := &cobra.Command{
		Use:   "core ARCHIVE --pid P -o FILE",
		Short: "Write an ELF core file of a process, for gdb and other memory tools",
		Long: `Core writes the memory and registers of one process as an ELF core file, the
format gdb, lldb and memory-forensics tools open: a PT_LOAD segment per
stretch of each mapping the checkpoint holds; one without file bytes where
CRIU had nothing to dump (memory never touched reads as zeros, file pages
never written as the file, as in a kernel core); none where the bytes exist
but not in this checkpoint (a parent pre-dump, lazy pages, shared memory),
so tools say those addresses cannot be read instead of showing zeros;
NT_PRSTATUS and NT_PRFPREG per thread, NT_PRPSINFO,
NT_AUXV and NT_FILE. The file is created 0600, complete or not at all.

  gdb -c FILE [EXECUTABLE]     x/s ADDR, info registers, info proc mappings

Only x86-64 dumps are supported. Use --format json for a JSON summary.`,
		Example: `  ckpt mem core x.tar --pid 1 -o core.1
  gdb -batch -c core.1 -ex 'info registers rip' -ex 'x/s 0x55d5dcbb12a0'`,
		Args: cobra.ExactArgs(1),
	}
	addSelectFlags(cmd, &opt.Select, "the process (required)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing FILE")
	out := addOutputFlags(cmd, true)
	src := addSourceFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if opt.PID == 0 {
			return usageErrorf("--pid is required")
		}
		if out.file == "" || out.file == "-" {
			return usageErrorf("give the core file with -o FILE (a core file is written in place, not to a pipe)")
		}
		opt.Limits = src.limits
		ar, err := src.open(a, args[0])
		if err != nil {
			return err
		}
		defer ar.Close()
		f, err := atomicfile.Create(out.file, force)
		if err != nil {
			return err
		}
		defer f.Abort()
		bar := memProgress(a, "writing core of", ar)
		opt.Progress = bar.Add
		info, err := procmem.WriteCore(cmd.Context(), ar, f.File, opt)
		bar.Clear()
		if err != nil {
			return err
		}
		if err := f.Commit(); err != nil {
			return err
		}
		for _, w := range info.Warnings {
			a.warnf("%s", w)
		}
		rep := coreReport{File: out.file, CoreInfo: info}
		return out.emit(a.stdout, rep, func(w io.Writer) error {
			_, err := render.Printf(w, "%s: pid %d (%s), %d threads, %d segments, %s of memory, %s never dumped (zeros or file), %s left out (not in this checkpoint); %s\n",
				rep.File, info.PID, info.Comm, info.Threads, info.Segments, render.Bytes(int64(info.Present)), render.Bytes(int64(info.Absent)), render.Bytes(int64(info.Unknown)), render.Bytes(info.Size))
			return err
		})
	}
	return cmd
}
