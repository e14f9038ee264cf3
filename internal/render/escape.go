package render

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Escape makes s safe to print on a terminal: control characters (C0, DEL,
// C1), bidirectional overrides and bytes that are not UTF-8 are written as
// Go escapes (\x1b, \n, \u202e), so that a name taken from an archive
// cannot retitle or clear the terminal, hide text, or break a table's rows.
// Everything else, backslashes included, is left as it is. JSON output
// needs none of this: the encoder escapes control characters itself.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unsafeRune(r) {
			return true
		}
		i += size
	}
	return false
}

// unsafeRune reports the non-ASCII runes that control a terminal or the
// direction of text: C1 controls, and the bidirectional embeddings,
// overrides and isolates ("Trojan Source"), and the line and paragraph
// separators.
func unsafeRune(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) ||
		(r >= 0x202a && r <= 0x202e) ||
		(r >= 0x2066 && r <= 0x2069) ||
		r == 0x2028 || r == 0x2029 || r == 0x200e || r == 0x200f || r == 0x061c
}

// Printf is fmt.Fprintf for human-readable output: every string, error and
// fmt.Stringer argument is escaped (see Escape) before formatting. The
// format itself is the program's and is not touched.
func Printf(w io.Writer, format string, args ...any) (int, error) {
	return fmt.Fprintf(w, format, escapeArgs(args)...)
}

// Println is fmt.Fprintln with the arguments escaped as by Printf.
func Println(w io.Writer, args ...any) (int, error) {
	return fmt.Fprintln(w, escapeArgs(args)...)
}

func escapeArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = Escape(v)
		case error:
			out[i] = Escape(v.Error())
		case fmt.Stringer:
			out[i] = Escape(v.String())
		case []string:
			esc := make([]string, len(v))
			for j, s := range v {
				esc[j] = Escape(s)
			}
			out[i] = esc
		default:
			out[i] = a
		}
	}
	return out
}
