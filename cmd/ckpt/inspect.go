package main

import (
	"bytes"
	"io"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/internal/inspect"
	"github.com/ckpt-dev/ckpt/internal/render"
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
		if out.format == formatJSON {
			return writeInspectJSON(a.stdout, reports)
		}
		return renderInspect(a.stdout, reports, s)
	}
	return cmd
}

// writeInspectJSON writes reports exactly as render.JSON would, but
// encodes one process, descriptor or mapping at a time: a report of 10,000
// processes, or of one process with 100,000 descriptors, is tens of MB of
// JSON that encoding/json would build, and indent, in memory first.
func writeInspectJSON(w io.Writer, reports []*inspect.Report) error {
	if len(reports) == 0 {
		return render.JSON(w, reports)
	}
	s := render.NewStream(w)
	for _, r := range reports {
		s.Next()
		shell := *r
		shell.Processes = []inspect.Process{}
		err := s.Spliced("  ", &shell, "processes", len(r.Processes), func(i int, prefix string) error {
			return writeProcessJSON(s, prefix, &r.Processes[i])
		})
		if err != nil {
			return err
		}
	}
	return s.Close()
}

// writeProcessJSON writes one process at prefix, its descriptors, locks
// and mappings (its last members, all omitempty) one element at a time.
func writeProcessJSON(s *render.Stream, prefix string, p *inspect.Process) error {
	bw, encode := s.Writer(), s.Encode
	shell := *p
	shell.FDs, shell.Locks, shell.Maps = nil, nil, nil
	b, err := encode(prefix, &shell)
	if err != nil {
		return err
	}
	bw.Write(bytes.TrimSuffix(b, []byte("\n"+prefix+"}")))
	member := func(key string, n int, elem func(int) any) error {
		if n == 0 {
			return nil
		}
		bw.WriteString(",\n" + prefix + "  \"" + key + "\": [")
		for i := range n {
			if i > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n" + prefix + "    ")
			b, err := encode(prefix+"    ", elem(i))
			if err != nil {
				return err
			}
			bw.Write(b)
		}
		bw.WriteString("\n" + prefix + "  ]")
		return nil
	}
	if err := member("fds", len(p.FDs), func(i int) any { return &p.FDs[i] }); err != nil {
		return err
	}
	if err := member("locks", len(p.Locks), func(i int) any { return &p.Locks[i] }); err != nil {
		return err
	}
	if err := member("maps", len(p.Maps), func(i int) any { return &p.Maps[i] }); err != nil {
		return err
	}
	bw.WriteString("\n" + prefix + "}")
	return nil
}
