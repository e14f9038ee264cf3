package progress

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

func TestSilentWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "seal", 100)
	io.Copy(io.Discard, b.Reader(strings.NewReader(strings.Repeat("x", 100))))
	b.Finish()
	if buf.Len() != 0 {
		t.Fatalf("bar drew on a non-terminal: %q", buf.String())
	}
}

func TestDrawsAndThrottles(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	b := newBar(&buf, "seal", 4<<20, true, func() time.Time { return clock })
	clock = clock.Add(time.Second)
	b.Add(1 << 20)
	b.Add(1 << 20) // same instant: no redraw
	if got := strings.Count(buf.String(), "\r"); got != 1 {
		t.Fatalf("%d redraws, want 1: %q", got, buf.String())
	}
	clock = clock.Add(time.Second)
	b.Add(2 << 20)
	b.Finish()
	out := buf.String()
	if !strings.Contains(out, "100%") || !strings.Contains(out, "4.0 MiB/4.0 MiB") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("final draw wrong: %q", out)
	}
}
