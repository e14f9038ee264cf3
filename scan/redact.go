package scan

import (
	"bytes"
	"strings"
)

// Preview shows enough of a value to recognise it and not enough to use
// it: its first 4 and last 2 characters, fewer for values under 16 (a
// quarter and an eighth of the length), so that a short password is never
// mostly shown. PEM blocks show their BEGIN line, which says what they are
// and nothing more.
func Preview(v []byte) string {
	if bytes.HasPrefix(v, []byte("-----BEGIN ")) {
		if k := bytes.Index(v[5:], []byte("-----")); k >= 0 && k < 64 {
			return string(v[:5+k+5]) + "..."
		}
	}
	n := len(v)
	head, tail := min(4, n/4), min(2, n/8)
	var sb strings.Builder
	printable(&sb, v[:head])
	sb.WriteString("...")
	printable(&sb, v[n-tail:])
	return sb.String()
}

// printable writes b with bytes outside printable ASCII as '?'.
func printable(sb *strings.Builder, b []byte) {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		sb.WriteByte(c)
	}
}
