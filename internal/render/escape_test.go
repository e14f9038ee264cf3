package render

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain/path.txt":          "plain/path.txt",
		"\x1b]0;owned\x07":        `\x1b]0;owned\x07`,
		"\x1b[2Jcleared":          `\x1b[2Jcleared`,
		"two\nlines\r\ttab":       `two\nlines\r\ttab`,
		"bidi \u202eexe.txt":      `bidi \u202eexe.txt`,
		"c1 \u009b31m":            `c1 \u009b31m`,
		"bad \xff utf8":           `bad \xff utf8`,
		"ünïcødé ok, back\\slash": "ünïcødé ok, back\\slash",
		"del\x7f":                 `del\x7f`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTableAndPrintfEscape(t *testing.T) {
	var b bytes.Buffer
	if err := Table(&b, []string{"path"}, [][]string{{"/etc/\x1b]0;x\x07"}, {"a\nb"}}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(b.String(), "\x1b\x07") || strings.Count(b.String(), "\n") != 3 {
		t.Fatalf("table not escaped: %q", b.String())
	}
	b.Reset()
	Printf(&b, "%s %v %d\n", "\x1b[2J", errors.New("e\x1b"), 7)
	if got := b.String(); got != `\x1b[2J e\x1b 7`+"\n" {
		t.Fatalf("Printf: %q", got)
	}
	b.Reset()
	Tree(&b, []*Node{{Text: "root\x1b", Children: []*Node{{Text: "kid\nx"}}}})
	if strings.Contains(b.String(), "\x1b") || strings.Count(b.String(), "\n") != 2 {
		t.Fatalf("tree: %q", b.String())
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a", "\x1b[2J", "\u202e", "\xff\xfe", "x\u0085y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Escape(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Escape(%q) = %q is not UTF-8", s, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || unsafeRune(r) {
				t.Fatalf("Escape(%q) = %q keeps %U", s, got, r)
			}
		}
		if !needsEscape(s) && got != s {
			t.Fatalf("Escape changed clean %q to %q", s, got)
		}
	})
}
