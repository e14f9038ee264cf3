package render

import (
	"bytes"
	"io"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

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
