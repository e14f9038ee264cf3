package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/internal/procmem"
	"github.com/ckpt-dev/ckpt/internal/render"
	"github.com/ckpt-dev/ckpt/mem"
)

func newMemMapsCmd(a *app) *cobra.Command {
	var opt procmem.MapsOptions
	var ranges []string
	var perms, kinds string
	cmd := &cobra.Command{
		Use:   "maps ARCHIVE",
		Short: "Memory maps of the processes, like /proc/PID/maps, with what the dump holds",
		Long: `Maps lists each process's mappings as /proc/PID/maps does (range,
permissions, offset, backing file) with their kind and how many bytes of
each the checkpoint holds. The number in the first column is what
"ckpt mem read --map N" takes; filters do not renumber.

--perms is a pattern over "rwxp": each position is the letter (set), '-'
(clear) or '?' (either): r-x is executable code, ?w writable memory.`,
		Example: `  ckpt mem maps x.tar
  ckpt mem maps x.tar --pid 1 --kind heap,stack
  ckpt mem maps x.tar --perms rw --range 7f0000000000-7fffffffffff -o json`,
		Args: cobra.ExactArgs(1),
	}
	addSelectFlags(cmd, &opt.Select, "only this process (default: all)")
	f := cmd.Flags()
	f.StringArrayVar(&ranges, "range", nil, "only mappings overlapping START-END (hex; repeatable)")
	f.StringVar(&perms, "perms", "", "only mappings whose permissions match, like r-x or rw?p")
	f.StringVar(&kinds, "kind", "", "only mappings of these kinds, comma-separated: heap,stack,vdso,vvar,vsyscall,file,shmem,sysvipc,socket,aio,memfd,anonymous")
	out := addOutputFlags(cmd, false)
	src := addSourceFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		for _, r := range ranges {
			rg, err := mem.ParseRange(r)
			if err != nil {
				return usageErrorf("--range: %v", err)
			}
			opt.Filter.Ranges = append(opt.Filter.Ranges, rg)
		}
		if perms != "" {
			p, err := mem.ParsePerms(perms)
			if err != nil {
				return usageErrorf("--perms: %v", err)
			}
			opt.Filter.Perms = p
		}
		if kinds != "" {
			k, err := mem.ParseMapKinds(kinds)
			if err != nil {
				return usageErrorf("--kind: %v", err)
			}
			opt.Filter.Kinds = k
		}
		opt.Limits = src.limits
		ar, err := src.open(a, args[0])
		if err != nil {
			return err
		}
		defer ar.Close()
		procs, err := procmem.Maps(ar, opt)
		if err != nil {
			return err
		}
		return out.emit(a.stdout, procs, func(w io.Writer) error { return renderMaps(w, procs) })
	}
	return cmd
}

func renderMaps(w io.Writer, procs []procmem.ProcessMaps) error {
	pod := false
	for _, p := range procs {
		pod = pod || p.Container != ""
	}
	header := []string{"pid", "#", "range", "perms", "offset", "kind", "present", "file"}
	if pod {
		header = append([]string{"container"}, header...)
	}
	var rows [][]string
	var notes []string
	for _, p := range procs {
		if p.State == "zombie" || p.State == "dead" {
			notes = append(notes, fmt.Sprintf("pid %d (%s) is a zombie: it has no memory", p.PID, p.Comm))
		}
		for _, m := range p.MissingImages {
			switch {
			case strings.HasPrefix(m, "mm-"):
				notes = append(notes, fmt.Sprintf("pid %d (%s): %s is missing: its mappings are unknown", p.PID, p.Comm, m))
			case strings.HasPrefix(m, "pages-"):
				notes = append(notes, fmt.Sprintf("pid %d (%s): %s is missing: the bytes shown present are what its pagemap claims, not in this archive", p.PID, p.Comm, m))
			default:
				notes = append(notes, fmt.Sprintf("pid %d (%s): %s is missing", p.PID, p.Comm, m))
			}
		}
		for _, m := range p.Mappings {
			present := render.Bytes(m.Present)
			if m.InParent > 0 {
				present += fmt.Sprintf(" (+%s in parent)", render.Bytes(m.InParent))
			}
			if m.Lazy > 0 {
				present += fmt.Sprintf(" (+%s lazy)", render.Bytes(m.Lazy))
			}
			row := []string{fmt.Sprint(p.PID), fmt.Sprint(m.Index), fmt.Sprintf("%08x-%08x", m.Start, m.End), m.Perms, fmt.Sprintf("%08x", m.Offset), m.Kind, present, m.File}
			if pod {
				row = append([]string{p.Container}, row...)
			}
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "no mappings match")
	} else if err := render.Table(w, header, rows); err != nil {
		return err
	}
	for _, n := range notes {
		render.Println(w, n)
	}
	return nil
}
