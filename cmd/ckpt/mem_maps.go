package main

import (
	"fmt"
	"io"
	"strconv"
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
		if out.format == formatJSON {
			return writeMapsJSON(a.stdout, func(fn func(*procmem.ProcessMaps) error) error { return procmem.EachMaps(ar, opt, fn) })
		}
		return renderMaps(a.stdout, func(fn func(*procmem.ProcessMaps) error) error { return procmem.EachMaps(ar, opt, fn) })
	}
	return cmd
}

// eachMaps walks processes' memory maps, one at a time, as
// procmem.EachMaps does.
type eachMaps func(fn func(*procmem.ProcessMaps) error) error

// writeMapsJSON writes the processes' maps exactly as render.JSON writes
// the []procmem.ProcessMaps procmem.Maps returns, but one mapping at a
// time, so that only one process's mappings are ever held: 10,000
// processes of 30 mappings are some 200 MB of indented JSON that
// encoding/json would build in memory before writing a byte. Every
// process's memory is checked before the first is written (EachMaps), so
// a bad archive gives no partial output.
func writeMapsJSON(w io.Writer, each eachMaps) error {
	s := render.NewStream(w)
	err := each(func(p *procmem.ProcessMaps) error {
		s.Next()
		shell := *p
		shell.Mappings = []procmem.NumberedMapping{}
		return s.Spliced("  ", &shell, "mappings", len(p.Mappings), func(i int, prefix string) error {
			b, err := s.Encode(prefix, &p.Mappings[i])
			s.Writer().Write(b)
			return err
		})
	})
	if err != nil {
		return err
	}
	return s.Close()
}

// renderMaps writes the maps as a table. Column widths need every row, so
// the rows are held, as render.Rows holds them (one string per mapping),
// but not the mappings they come from.
func renderMaps(w io.Writer, each eachMaps) error {
	pod := false
	rows := render.NewRows("container", "pid", "#", "range", "perms", "offset", "kind", "present", "file")
	var notes []string
	err := each(func(p *procmem.ProcessMaps) error {
		pod = pod || p.Container != ""
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
		pid := strconv.FormatUint(uint64(p.PID), 10)
		for _, m := range p.Mappings {
			present := render.Bytes(m.Present)
			if m.InParent > 0 {
				present += fmt.Sprintf(" (+%s in parent)", render.Bytes(m.InParent))
			}
			if m.Lazy > 0 {
				present += fmt.Sprintf(" (+%s lazy)", render.Bytes(m.Lazy))
			}
			rows.Add(p.Container, pid, strconv.Itoa(m.Index), fmt.Sprintf("%08x-%08x", m.Start, m.End), m.Perms, fmt.Sprintf("%08x", m.Offset), m.Kind, present, m.File)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !pod {
		rows.Omit(0)
	}
	if rows.Len() == 0 {
		fmt.Fprintln(w, "no mappings match")
	} else if err := rows.Write(w); err != nil {
		return err
	}
	for _, n := range notes {
		render.Println(w, n)
	}
	return nil
}
