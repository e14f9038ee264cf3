package render

import (
	"bytes"
	"strings"
	"testing"
)

func TestTableIsPlainAndAligned(t *testing.T) {
	var b bytes.Buffer
	if err := Table(&b, []string{"pid", "comm"}, [][]string{{"1", "init"}, {"10658", "rich-parent"}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want header and 2 rows, got %q", b.String())
	}
	if !strings.HasPrefix(lines[0], "PID") || strings.ContainsAny(b.String(), "│┌─|+") {
		t.Fatalf("unexpected table style:\n%s", b.String())
	}
	if strings.Index(lines[1], "init") != strings.Index(lines[2], "rich-parent") {
		t.Fatalf("columns not aligned:\n%s", b.String())
	}
}

func TestTree(t *testing.T) {
	var b bytes.Buffer
	roots := []*Node{{Text: "1 a", Children: []*Node{
		{Text: "2 b", Children: []*Node{{Text: "4 d"}}},
		{Text: "3 c"},
	}}}
	if err := Tree(&b, roots); err != nil {
		t.Fatal(err)
	}
	want := "1 a\n├── 2 b\n│   └── 4 d\n└── 3 c\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 1 << 30: "1.0 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
