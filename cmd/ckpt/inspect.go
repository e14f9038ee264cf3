package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/inspect"
)

func newInspectCmd(a *app) *cobra.Command {
	var s inspect.Sections
	var all, psTree bool
	cmd := &cobra.Command{
		Use:   "inspect ARCHIVE...",
		Short: "Show what a checkpoint holds: identity, sizes, processes, files, sockets, mounts, memory",
		Long: `Inspect reads each archive once, in place, and shows who it is of and what
the processes in it were doing. Nothing is extracted to disk. ARCHIVE may be
"-" for standard input, compressed (gzip, zstd, bzip2, xz) or sealed (give -i).

By default it shows identity, sizes and the process tree with command lines;
the section flags add more, --all adds everything.`,
		Example: `  ckpt inspect /var/lib/kubelet/checkpoints/checkpoint-web-0_default-nginx-2026-11-28T22:28:10Z.tar
  ckpt inspect --files --sockets -o json x.tar | jq '.[0].processes[].fds'
  ckpt inspect -i key.txt x.tar.age`,
		Args: cobra.MinimumNArgs(1),
	}
	f := cmd.Flags()
	f.BoolVar(&psTree, "ps-tree", true, "process tree with command lines (always on)")
	f.BoolVar(&s.Env, "env", false, "environment variables of each process")
	f.BoolVar(&s.Files, "files", false, "open files of each process, with sockets, pipes and locks")
	f.BoolVar(&s.Sockets, "sockets", false, "sockets of each process")
	f.BoolVar(&s.Mounts, "mounts", false, "mounts, as CRIU saw them and as spec.dump configured them")
	f.BoolVar(&s.Maps, "maps", false, "memory mappings of each process")
	f.BoolVar(&s.Stats, "stats", false, "CRIU dump statistics and dump.log summary")
	f.BoolVar(&s.RootFS, "rootfs", false, "files the container changed (rootfs diff) and deleted")
	f.BoolVar(&all, "all", false, "every section")
	out := addOutputFlags(cmd, false)
	src := addSourceFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if all {
			s = inspect.All()
		}
		var reports []*inspect.Report
		for _, name := range args {
			ar, err := src.open(a, name)
			if err != nil {
				return err
			}
			rs, err := inspect.Build(ar, inspect.Options{Sections: s, Limits: src.limits})
			ar.Close()
			if err != nil {
				return err
			}
			reports = append(reports, rs...)
		}
		return out.emit(a.stdout, reports, func(w io.Writer) error { return renderInspect(w, reports, s) })
	}
	return cmd
}
