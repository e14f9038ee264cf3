package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/internal/atomicfile"
	"github.com/ckpt-dev/ckpt/internal/procmem"
	"github.com/ckpt-dev/ckpt/mem"
)

func newMemReadCmd(a *app) *cobra.Command {
	var opt procmem.ReadOptions
	var addr, mapRef string
	var length sizeFlag
	var relative, fillAbsent, force bool
	cmd := &cobra.Command{
		Use:   "read ARCHIVE --pid P (--addr A --len N | --map N)",
		Short: "Read a range of a process's memory: raw bytes or a hexdump",
		Long: `Read prints memory of one process. On a terminal it shows a hexdump in the
layout of "hexdump -C", with memory the checkpoint does not hold marked as
absent. Otherwise (a pipe, a file) it writes the raw bytes; -o FILE writes
them to FILE (created 0600, complete or not at all). Raw output cannot show a
gap, so a range with absent pages is refused unless --fill-absent writes
zeros in their place. -o table forces the hexdump, -o json gives the bytes in
hex with the absent spans.

--map takes the number "ckpt mem maps" shows, or an address (0x...) inside
the mapping.`,
		Example: `  ckpt mem read x.tar --pid 1 --addr 0x55d5dcbb12a0 --len 64
  ckpt mem read x.tar --pid 1 --map 7 -o heap.bin
  ckpt mem read x.tar --pid 1 --map 0x7ffe2633afc3 -o table | less`,
		Args: cobra.ExactArgs(1),
	}
	addSelectFlags(cmd, &opt.Select, "the process (required)")
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "", "start address (hex)")
	f.Var(&length, "len", "bytes to read (4096, 64KiB, 1MiB)")
	f.StringVar(&mapRef, "map", "", "read a whole mapping: its number in 'ckpt mem maps', or an address in it (0x...)")
	f.BoolVar(&relative, "relative", false, "hexdump offsets from the start of the range instead of addresses (as hexdump -C of the same bytes)")
	f.BoolVar(&fillAbsent, "fill-absent", false, "in raw output, write zeros for memory the checkpoint does not hold instead of refusing")
	f.BoolVar(&force, "force", false, "overwrite an existing output file")
	out := addOutputFlags(cmd, true)
	src := addSourceFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if opt.PID == 0 {
			return usageErrorf("--pid is required")
		}
		switch {
		case mapRef != "" && (addr != "" || length != 0):
			return usageErrorf("give either --addr and --len or --map, not both")
		case mapRef != "":
			ref, err := parseMapRef(mapRef)
			if err != nil {
				return usageErrorf("--map: %v", err)
			}
			opt.Map = ref
		case addr == "" || length == 0:
			return usageErrorf("give --addr and --len (a length above 0), or --map")
		default:
			start, err := mem.ParseAddr(addr)
			if err != nil {
				return usageErrorf("--addr: %v", err)
			}
			if start+uint64(length) < start {
				return usageErrorf("--addr %s --len %d runs past the end of the address space", addr, length)
			}
			opt.Range = mem.Range{Start: start, End: start + uint64(length)}
		}
		mode, err := readMode(cmd, a, out)
		if err != nil {
			return err
		}
		opt.Limits = src.limits
		ar, err := src.open(a, args[0])
		if err != nil {
			return err
		}
		defer ar.Close()

		var w io.Writer = a.stdout
		var file *atomicfile.File
		if out.file != "" && out.file != "-" {
			if file, err = atomicfile.Create(out.file, force); err != nil {
				return err
			}
			defer file.Abort()
			w = file
		}
		sink := newReadSink(mode, w, relative, fillAbsent)
		opt.Plan = sink.plan
		opt.Block = sink.block
		if mode != readHexdump || file != nil {
			// A hexdump on the terminal is its own progress.
			bar := memProgress(a, "reading", ar)
			opt.Progress = bar.Add
			defer bar.Clear()
		}
		if _, err := procmem.Read(cmd.Context(), ar, opt); err != nil {
			return err
		}
		if err := sink.close(); err != nil {
			return err
		}
		if file != nil {
			return file.Commit()
		}
		return nil
	}
	return cmd
}

type readOutput int

const (
	readRaw readOutput = iota
	readHexdump
	readJSON
)

// readMode chooses raw bytes, a hexdump or JSON from -o and where stdout
// goes.
func readMode(cmd *cobra.Command, a *app, o *outputFlag) (readOutput, error) {
	explicitTable := o.format == formatTable && (cmd.Flags().Changed("format") || cmd.Flags().Changed("output") && o.file == "")
	switch {
	case o.format == formatJSON:
		return readJSON, nil
	case explicitTable:
		return readHexdump, nil
	case o.file == "-" && isTerminal(a.stdout):
		return 0, usageErrorf("refusing to write raw memory to a terminal: redirect it, give -o FILE, or drop -o - for a hexdump")
	case o.file != "":
		return readRaw, nil
	case isTerminal(a.stdout):
		return readHexdump, nil
	}
	return readRaw, nil
}

// parseMapRef reads --map: a mapping number, or an address in hex with 0x.
func parseMapRef(s string) (procmem.MapRef, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		a, err := mem.ParseAddr(s)
		return procmem.MapRef{Addr: a, ByAddr: true}, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return procmem.MapRef{}, fmt.Errorf("%q: want a mapping number from 'ckpt mem maps' (1, 2, ...) or an address like 0x7ffe2633a000", s)
	}
	return procmem.MapRef{Index: n}, nil
}

// readSink renders what procmem.Read delivers.
type readSink struct {
	mode       readOutput
	w          *bufio.Writer
	raw        io.Writer
	hd         *mem.Hexdump
	js         *jsonSpans
	base       uint64 // subtracted from addresses (--relative)
	relative   bool
	fillAbsent bool
	zeros      []byte
}

func newReadSink(mode readOutput, w io.Writer, relative, fillAbsent bool) *readSink {
	s := &readSink{mode: mode, raw: w, relative: relative, fillAbsent: fillAbsent}
	switch mode {
	case readHexdump:
		s.hd = mem.NewHexdump(w)
	case readJSON:
		s.w = bufio.NewWriterSize(w, 256<<10)
	}
	return s
}

func (s *readSink) plan(p *procmem.ReadPlan) error {
	if s.relative {
		s.base = p.Start
	}
	switch s.mode {
	case readRaw:
		if sp, ok := p.FirstAbsent(); ok && !s.fillAbsent {
			return fmt.Errorf("pid %d: %#x-%#x (%d bytes) is absent: %v; raw output cannot show a gap: read a narrower range, use the hexdump (-o table), or --fill-absent for zeros", p.PID, sp.Addr, sp.Addr+sp.Len, sp.Len, sp.Absent)
		}
	case readJSON:
		s.js = newJSONSpans(s.w, p)
	}
	return nil
}

func (s *readSink) block(b mem.Block) error {
	switch s.mode {
	case readHexdump:
		if b.Absent != nil {
			return s.hd.Absent(b.Addr-s.base, b.Len, b.Absent)
		}
		return s.hd.Write(b.Addr-s.base, b.Data)
	case readJSON:
		return s.js.block(b)
	}
	if b.Absent == nil {
		_, err := s.raw.Write(b.Data)
		return err
	}
	if s.zeros == nil {
		s.zeros = make([]byte, 64<<10)
	}
	for n := b.Len; n > 0; {
		k := min(n, uint64(len(s.zeros)))
		if _, err := s.raw.Write(s.zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (s *readSink) close() error {
	switch s.mode {
	case readHexdump:
		return s.hd.Close()
	case readJSON:
		if err := s.js.close(); err != nil {
			return err
		}
		return s.w.Flush()
	}
	return nil
}
