// Package render prints the values commands build: JSON for machines, plain
// tables and trees for people. Commands never format output by hand, so the
// two views of one value cannot drift apart.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// JSON writes v as indented JSON followed by a newline. Field order is the
// struct's declaration order, so output is stable as long as values hold
// slices rather than maps.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Bytes formats n with binary units (KiB, MiB, ...) for people; JSON output
// always carries the exact byte count instead.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Table writes rows under header as a borderless, left-aligned table in the
// style of kubectl: easy to read in a terminal and easy to cut with awk.
func Table(w io.Writer, header []string, rows [][]string) error {
	var buf bytes.Buffer
	t := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithConfig(tablewriter.Config{
			Header: tw.CellConfig{
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
				Formatting: tw.CellFormatting{AutoFormat: tw.On},
				Padding:    tw.CellPadding{Global: tw.Padding{Left: "", Right: "  "}},
			},
			Row: tw.CellConfig{
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
				Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone},
				Padding:    tw.CellPadding{Global: tw.Padding{Left: "", Right: "  "}},
			},
		}),
	)
	// Cells come from archives: escaped, a name cannot move the cursor or
	// add a row.
	esc := make([][]string, len(rows))
	for i, row := range rows {
		esc[i] = make([]string, len(row))
		for j, c := range row {
			esc[i][j] = Escape(c)
		}
	}
	hdr := make([]string, len(header))
	for i, h := range header {
		hdr[i] = Escape(h)
	}
	t.Header(hdr)
	if err := t.Bulk(esc); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	// The last column's padding leaves trailing blanks that diff and grep trip over.
	for line := range bytes.Lines(buf.Bytes()) {
		if _, err := w.Write(bytes.TrimRight(line, " \n")); err != nil {
			return err
		}
		if _, err := io.WriteString(w, "\n"); err != nil {
			return err
		}
	}
	return nil
}

// Node is one line of a tree and the nodes below it.
type Node struct {
	Text     string
	Children []*Node
}

// Tree writes the nodes with box-drawing branches, as tree(1) does.
func Tree(w io.Writer, roots []*Node) error {
	for _, n := range roots {
		if _, err := fmt.Fprintln(w, Escape(n.Text)); err != nil {
			return err
		}
		if err := treeChildren(w, n.Children, ""); err != nil {
			return err
		}
	}
	return nil
}

func treeChildren(w io.Writer, nodes []*Node, prefix string) error {
	for i, n := range nodes {
		branch, next := "├── ", "│   "
		if i == len(nodes)-1 {
			branch, next = "└── ", "    "
		}
		if _, err := fmt.Fprintf(w, "%s%s%s\n", prefix, branch, Escape(n.Text)); err != nil {
			return err
		}
		if err := treeChildren(w, n.Children, prefix+next); err != nil {
			return err
		}
	}
	return nil
}
