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

// searchReport is the JSON of `mem search`.
type searchReport struct {
	Pattern string `json:"pattern"`
	// Kind is literal, regex, hex or utf16.
	Kind string `json:"kind"`
	*procmem.SearchResult
}

func newMemSearchCmd(a *app) *cobra.Command {
	var opt procmem.SearchOptions
	var isRegex, isHex, isUTF16 bool
	var maxMatch int
	cmd := &cobra.Command{
		Use:   "search ARCHIVE PATTERN",
		Short: "Find a string, bytes or a regex in the memory of every process",
		Long: `Search looks for PATTERN in every memory page of every process (or of
--pid), in one pass over the archive, and prints the pid, address and mapping
of each match. Matches that cross page and pagemap-entry boundaries are found:
memory is searched as the process saw it, contiguous where its addresses are.

PATTERN is a literal string by default. --hex takes bytes in hex ("de ad be
ef"), --utf16 searches for the string in UTF-16LE (Windows, Java, JavaScript),
--regex takes a Go (RE2) regular expression, matched over raw bytes as UTF-8
text; for bytes above 0x7f use --hex. A regex match is found whole up to
--max-match-len bytes (default 4096); longer ones may be cut short. ^ and $
need (?m): memory has no start or end of text.

-C N shows N bytes of context around each match as a hexdump.`,
		Example: `  ckpt mem search x.tar SECRET_TOKEN
  ckpt mem search x.tar --regex 'AKIA[0-9A-Z]{16}' -o json
  ckpt mem search x.tar.zst --hex 'de ad be ef' --pid 1 -C 32`,
		Args: cobra.ExactArgs(2),
	}
	addSelectFlags(cmd, &opt.Select, "only this process (default: every process and shared memory)")
	f := cmd.Flags()
	f.BoolVar(&isRegex, "regex", false, "PATTERN is a regular expression (Go RE2 syntax)")
	f.BoolVar(&isHex, "hex", false, "PATTERN is bytes in hex")
	f.BoolVar(&isUTF16, "utf16", false, "search for PATTERN encoded as UTF-16LE")
	f.IntVarP(&opt.Context, "context", "C", 0, fmt.Sprintf("bytes of context to show around each match (at most %d)", mem.MaxContext))
	f.IntVar(&opt.MaxHits, "max-matches", procmem.DefaultMaxHits, "matches to show; the rest are counted")
	f.IntVar(&maxMatch, "max-match-len", mem.DefaultMaxMatch, "longest regex match found whole")
	out := addOutputFlags(cmd, false)
	src := addSourceFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		pattern := args[1]
		n := 0
		for _, b := range []bool{isRegex, isHex, isUTF16} {
			if b {
				n++
			}
		}
		if n > 1 {
			return usageErrorf("--regex, --hex and --utf16 exclude each other")
		}
		if opt.Context < 0 || opt.Context > mem.MaxContext {
			return usageErrorf("-C %d: want 0 to %d", opt.Context, mem.MaxContext)
		}
		if opt.MaxHits < 1 {
			return usageErrorf("--max-matches %d: want at least 1", opt.MaxHits)
		}
		if cmd.Flags().Changed("max-match-len") && !isRegex {
			return usageErrorf("--max-match-len is for --regex: literal patterns are always found whole")
		}
		rep := searchReport{Pattern: pattern, Kind: "literal"}
		switch {
		case isRegex:
			re, err := mem.NewRegex(pattern, maxMatch)
			if err != nil {
				return usageErrorf("%v", err)
			}
			opt.Pattern, rep.Kind = re, "regex"
		case isHex:
			l, err := mem.ParseHex(pattern)
			if err != nil {
				return usageErrorf("%v", err)
			}
			opt.Pattern, rep.Kind = l, "hex"
		case isUTF16:
			if pattern == "" {
				return usageErrorf("empty pattern")
			}
			opt.Pattern, rep.Kind = mem.UTF16(pattern), "utf16"
		default:
			if pattern == "" {
				return usageErrorf("empty pattern")
			}
			opt.Pattern = mem.Literal(pattern)
		}
		opt.Limits = src.limits
		ar, err := src.open(a, args[0])
		if err != nil {
			return err
		}
		defer ar.Close()
		bar := memProgress(a, "searching", ar)
		opt.Progress = bar.Add
		res, err := procmem.Search(cmd.Context(), ar, opt)
		bar.Clear()
		if err != nil {
			return err
		}
		rep.SearchResult = res
		for _, w := range res.Warnings {
			a.warnf("%s", w)
		}
		return out.emit(a.stdout, rep, func(w io.Writer) error { return renderSearch(w, rep, opt.Context) })
	}
	return cmd
}

func renderSearch(w io.Writer, rep searchReport, context int) error {
	pod := false
	for _, h := range rep.Hits {
		pod = pod || h.Container != ""
	}
	mapping := func(h procmem.ProcessHit) string {
		m := h.Mapping
		if m == nil {
			return "(outside every mapping)"
		}
		s := fmt.Sprintf("#%d %s %s", m.Index, m.Perms, m.Kind)
		if m.Index == 0 {
			s = m.Kind
		}
		if m.File != "" {
			s += " " + m.File
		}
		return s
	}
	if context == 0 {
		header := []string{"pid", "address", "mapping", "match"}
		if pod {
			header = append([]string{"container"}, header...)
		}
		var rows [][]string
		for _, h := range rep.Hits {
			match := h.MatchText
			if len(match) > 80 {
				match = match[:77] + "..."
			}
			row := []string{fmt.Sprint(h.PID), fmt.Sprintf("%#x", h.Address), mapping(h), match}
			if pod {
				row = append([]string{h.Container}, row...)
			}
			rows = append(rows, row)
		}
		if len(rows) > 0 {
			if err := render.Table(w, header, rows); err != nil {
				return err
			}
		}
	} else {
		for _, h := range rep.Hits {
			who := fmt.Sprintf("pid %d (%s)", h.PID, h.Comm)
			if h.Container != "" {
				who = h.Container + " " + who
			}
			render.Printf(w, "%s %#x %s, %d bytes:\n", who, h.Address, mapping(h), h.Length)
			hd := mem.NewHexdump(w)
			start := h.Address - uint64(len(h.Before))
			hd.Write(start, h.Before)
			hd.Write(h.Address, h.Match)
			if h.Truncated {
				hd.Close()
				fmt.Fprintln(w)
				continue
			}
			hd.Write(h.Address+uint64(len(h.Match)), h.After)
			if err := hd.Close(); err != nil {
				return err
			}
			fmt.Fprintln(w)
		}
	}
	render.Println(w, searchSummary(rep))
	return nil
}

func searchSummary(rep searchReport) string {
	plural := func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	var where []string
	where = append(where, plural(rep.Processes, "process", "processes"))
	if rep.Segments > 0 {
		where = append(where, plural(rep.Segments, "shared memory segment", "shared memory segments"))
	}
	s := fmt.Sprintf("%s in %s (%s searched)", plural(rep.Total, "match", "matches"), strings.Join(where, " and "), render.Bytes(rep.Bytes))
	if !rep.Complete {
		s += fmt.Sprintf("; only the first %d are shown (raise --max-matches)", len(rep.Hits))
	}
	return s
}
