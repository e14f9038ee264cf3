package lines

import (
	"bufio"
	"fmt"
	"strings"
	"testing"
)

func TestAllSkipsBlankAndComments(t *testing.T) {
	r := New(bufio.NewScanner(strings.NewReader("# head\n\n  a b  \n\t# indented comment\nc\n   \n")))
	var got []string
	for n, line := range r.All() {
		got = append(got, fmt.Sprintf("%d:%s", n, line))
	}
	if fmt.Sprint(got) != "[3:a b 5:c]" || r.N() != 6 {
		t.Errorf("got %v after %d lines, want [3:a b 5:c] after 6", got, r.N())
	}
}
