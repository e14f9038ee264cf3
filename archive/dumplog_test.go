package archive

import (
	"regexp"
	"testing"
)

// stripTime replaced a regexp per log line; it must cut exactly what the
// regexp cut.
func TestStripTimeMatchesRegexp(t *testing.T) {
	re := regexp.MustCompile(`^\(\s*[0-9.]+\)\s*`)
	for _, l := range []string{"(00.000000) CRIU run id", "( 1.5)x", "()x", "(1.5", "(1.5)", "(1.5)  \t y",
		"( )x", "(a)x", "x(1)", "(\t12.) z", "(1.2.3)\r", "", "(", "(99999.999999) Error (criu/cr-dump.c:1): x"} {
		if want, got := re.ReplaceAllString(l, ""), stripTime(l); got != want {
			t.Errorf("stripTime(%q) = %q, the regexp gives %q", l, got, want)
		}
	}
}
