package render

import (
	"bufio"
	"io"
	"slices"
	"strings"
)

// Rows collects a table's rows for Table's layout without holding them as
// [][]string or handing them to tablewriter at once: a row is kept as one
// string of escaped cells, and a column's width as it grows, so that a
// table of 300,000 mappings costs about its printed size (column widths
// need every row before the first is written). Rows writes exactly what
// Table writes for the same cells: when a cell is not plain printable
// ASCII, where display widths and trimming are tablewriter's business,
// Write passes the rows to Table.
type Rows struct {
	header []string
	rows   []string // escaped cells, joined by sep
	widths []int
	plain  bool
	omit   int // a column Write leaves out, or -1
}

// sep joins a row's cells; an escaped cell never holds a control byte.
const sep = "\x00"

// NewRows starts a table under header.
func NewRows(header ...string) *Rows {
	r := &Rows{header: header, widths: make([]int, len(header)), plain: true, omit: -1}
	for i, h := range header {
		r.plain = r.plain && plainCell(h) && h == strings.ToLower(h) && !strings.ContainsAny(h, "_.")
		r.widths[i] = len(h)
	}
	return r
}

// Add adds a row of len(header) cells.
func (r *Rows) Add(cells ...string) {
	var b strings.Builder
	for i, c := range cells {
		c = Escape(c)
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(c)
		r.plain = r.plain && plainCell(c)
		if i < len(r.widths) && len(c) > r.widths[i] {
			r.widths[i] = len(c)
		}
	}
	r.rows = append(r.rows, b.String())
}

// Len is the number of rows added.
func (r *Rows) Len() int { return len(r.rows) }

// Omit leaves column i out of what Write writes: for a column found empty
// only once every row is in.
func (r *Rows) Omit(i int) { r.omit = i }

// drop returns cells without column i (none if i < 0), reusing cells.
func drop[T any](cells []T, i int) []T {
	if i < 0 || i >= len(cells) {
		return cells
	}
	return append(cells[:i], cells[i+1:]...)
}

// Write writes the table as Table does with the same header and cells.
func (r *Rows) Write(w io.Writer) error {
	if !r.plain {
		rows := make([][]string, len(r.rows))
		for i, row := range r.rows {
			rows[i] = drop(strings.Split(row, sep), r.omit)
		}
		return Table(w, drop(slices.Clone(r.header), r.omit), rows)
	}
	widths := drop(slices.Clone(r.widths), r.omit)
	bw := bufio.NewWriterSize(w, 64<<10)
	line := func(cells []string) {
		cells = drop(cells, r.omit)
		// Every column is padded to its width and two blanks; a line's
		// trailing blanks are trimmed, as Table trims them.
		end := len(cells)
		for end > 0 && cells[end-1] == "" {
			end--
		}
		for i, c := range cells[:end] {
			bw.WriteString(c)
			if i < end-1 {
				for n := widths[i] - len(c) + 2; n > 0; n-- {
					bw.WriteByte(' ')
				}
			}
		}
		bw.WriteString("\n")
	}
	hdr := make([]string, len(r.header))
	for i, h := range r.header {
		hdr[i] = strings.ToUpper(h)
	}
	line(hdr)
	cells := make([]string, 0, len(r.header))
	for _, row := range r.rows {
		cells = cells[:0]
		for c := range strings.SplitSeq(row, sep) {
			cells = append(cells, c)
		}
		line(cells)
	}
	return bw.Flush()
}

// plainCell reports whether tablewriter prints c as it is, one column per
// byte: printable ASCII with no blank at either end.
func plainCell(c string) bool {
	for i := 0; i < len(c); i++ {
		if c[i] < 0x20 || c[i] > 0x7e {
			return false
		}
	}
	return c == strings.TrimSpace(c)
}
