package render

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestRowsMatchesTable checks that Rows writes the bytes Table writes,
// for plain cells (its own layout) and for cells it hands to Table.
func TestRowsMatchesTable(t *testing.T) {
	header := []string{"pid", "#", "range", "perms", "offset", "kind", "present", "file"}
	pieces := []string{"", "1", "42", "7f0000001000-7f0000002000", "rw-p", "0000a000", "heap", "4.0 KiB", "12.0 KiB (+4.0 KiB in parent)",
		"/usr/lib/libc.so.6", "a b", "[stack]", "x", "世界", " lead", "trail ", "tab\there", "a\x1bb", "été", "/a/very/long/path/name/of/a/file/that/is/long"}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		plainOnly := n%2 == 0
		var rows [][]string
		for range rng.IntN(20) {
			row := make([]string, len(header))
			for j := range row {
				p := pieces[rng.IntN(len(pieces))]
				for plainOnly && !plainCell(Escape(p)) {
					p = pieces[rng.IntN(len(pieces))]
				}
				row[j] = p
			}
			rows = append(rows, row)
		}
		if len(rows) == 0 {
			continue
		}
		// Every third table leaves its first column out.
		omit := n%3 == 0
		var want, got bytes.Buffer
		r := NewRows(header...)
		for _, row := range rows {
			r.Add(row...)
		}
		if omit {
			r.Omit(0)
			for i := range rows {
				rows[i] = rows[i][1:]
			}
			if err := Table(&want, header[1:], rows); err != nil {
				t.Fatal(err)
			}
		} else if err := Table(&want, header, rows); err != nil {
			t.Fatal(err)
		}
		if err := r.Write(&got); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("rows %q:\nRows wrote\n%s\nTable wrote\n%s", rows, strings.ReplaceAll(got.String(), " ", "·"), strings.ReplaceAll(want.String(), " ", "·"))
		}
	}
}
