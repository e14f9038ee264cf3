package countio

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestCounts(t *testing.T) {
	r := &Reader{R: strings.NewReader("hello, world")}
	var buf bytes.Buffer
	w := &Writer{W: &buf}
	if _, err := io.Copy(w, io.LimitReader(r, 5)); err != nil {
		t.Fatal(err)
	}
	if r.N != 5 || w.N != 5 || buf.String() != "hello" {
		t.Errorf("read %d, wrote %d, %q; want 5, 5, \"hello\"", r.N, w.N, buf.String())
	}
}
