package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ckpt-dev/ckpt/internal/render"
	"github.com/ckpt-dev/ckpt/scan"
)

// scanRowLocations is how many locations a finding shows in the table;
// -o json lists them all (up to --max-locations).
const scanRowLocations = 3

// scanInline is the longest revealed value shown in the table; longer or
// multi-line values (keys, certificates) follow it.
const scanInline = 64

func renderScan(w io.Writer, r *scan.Report, many bool) error {
	rows := [][]string{}
	for _, a := range r.Archives {
		var parts []string
		for _, s := range a.Scanned {
			parts = append(parts, fmt.Sprintf("%s %s", s.Source, render.Bytes(s.Bytes)))
		}
		rows = append(rows, []string{a.Archive, strconv.Itoa(a.Containers), strconv.Itoa(a.Processes), strings.Join(parts, ", ")})
	}
	if err := render.Table(w, []string{"ARCHIVE", "CONTAINERS", "PROCESSES", "SCANNED"}, rows); err != nil {
		return err
	}
	for _, a := range r.Archives {
		for _, n := range a.NotScanned {
			render.Printf(w, "not scanned: %s\n", qualify(a.Archive, n, many))
		}
		for _, n := range a.Warnings {
			render.Printf(w, "warning: %s\n", qualify(a.Archive, n, many))
		}
	}
	fmt.Fprintln(w)
	if len(r.Findings) == 0 && r.Unlisted == 0 {
		_, err := fmt.Fprintln(w, "No secrets found.")
		return err
	}
	rows = rows[:0]
	for _, s := range r.Summary {
		if s.Occurrences > 0 {
			rows = append(rows, []string{string(s.Kind), strconv.Itoa(s.Findings), strconv.Itoa(s.Occurrences)})
		}
	}
	if err := render.Table(w, []string{"KIND", "FINDINGS", "OCCURRENCES"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(w)
	valueHeader := "PREVIEW"
	if r.Revealed {
		valueHeader = "VALUE"
	}
	rows = rows[:0]
	var blocks []string
	for i, f := range r.Findings {
		n := strconv.Itoa(i + 1)
		shown := f.Preview
		if r.Revealed {
			if v, ok := inlineValue(f.Value); ok {
				shown = v
			} else {
				shown += " (below)"
				blocks = append(blocks, fmt.Sprintf("#%s %s%s:\n%s\n", n, f.Kind, paren(render.Escape(f.Detail)), blockValue(f.Value)))
			}
		}
		for j, l := range f.Locations {
			if j == scanRowLocations {
				rows = append(rows, []string{"", "", "", "", "", fmt.Sprintf("... %d more", f.Count-j), ""})
				break
			}
			where := describeLocation(l, many)
			if j == 0 {
				rows = append(rows, []string{n, string(f.Kind), shown, strconv.Itoa(f.Length), strconv.Itoa(f.Count), where, f.Detail})
			} else {
				rows = append(rows, []string{"", "", "", "", "", where, ""})
			}
		}
	}
	if err := render.Table(w, []string{"#", "KIND", valueHeader, "LENGTH", "COUNT", "WHERE", "DETAIL"}, rows); err != nil {
		return err
	}
	if r.Unlisted > 0 {
		render.Printf(w, "%d more occurrences of values past the limit of distinct values are counted above, not listed\n", r.Unlisted)
	}
	for _, b := range blocks {
		fmt.Fprintf(w, "\n%s", b) // blockValue escaped it
	}
	return nil
}

func qualify(archive, what string, many bool) string {
	if many {
		return filepath.Base(archive) + ": " + what
	}
	return what
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// describeLocation says where a value is, in a few words.
func describeLocation(l scan.Location, many bool) string {
	var s string
	switch l.Source {
	case scan.SourceMemory, scan.SourceEnviron, scan.SourceCmdline:
		switch {
		case l.PID == 0 && l.Mapping == "shmem":
			s = fmt.Sprintf("shared memory %#x (%s)", l.Address, filepath.Base(l.File))
		case l.PID == 0:
			s = fmt.Sprintf("%s +%d", l.File, l.Offset)
		default:
			s = fmt.Sprintf("pid %d", l.PID)
			if l.Comm != "" {
				s += " (" + l.Comm + ")"
			}
			where := l.Mapping
			if l.Source != scan.SourceMemory {
				where = string(l.Source)
			}
			if where == "" {
				where = "memory"
			}
			s += fmt.Sprintf(" %s %#x", where, l.Address)
			if l.MappingFile != "" {
				s += " " + l.MappingFile
			}
		}
	case scan.SourceSpec:
		s = fmt.Sprintf("%s %s", l.File, l.Field)
	case scan.SourceRootFS:
		s = fmt.Sprintf("rootfs %s +%d", l.Path, l.Offset)
	case scan.SourcePayload:
		s = fmt.Sprintf("%s entry %d +%d", filepath.Base(l.File), *l.Entry, l.Offset)
	default:
		s = fmt.Sprintf("%s +%d", l.File, l.Offset)
	}
	if l.Container != "" {
		s = "[" + l.Container + "] " + s
	}
	if many {
		s = filepath.Base(l.Archive) + ": " + s
	}
	return s
}

// inlineValue returns a value for a table cell: one line of printable
// text, short enough.
func inlineValue(v string) (string, bool) {
	if len(v) > scanInline {
		return "", false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return "", false
		}
	}
	return v, true
}

// blockValue returns a value for printing on its own lines: as it is when
// it is printable text (a PEM block), quoted otherwise, so that control
// characters never reach the terminal.
func blockValue(v string) string {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c > 0x7e {
			return strconv.Quote(v)
		}
	}
	return strings.TrimRight(v, "\n")
}
