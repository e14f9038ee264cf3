package ctxio

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestStopsWhenDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var seen int64
	r := Watch(ctx, strings.NewReader("abcdef"), func(n int64) { seen += n })
	ra, ok := r.(io.ReaderAt)
	if !ok {
		t.Fatal("Watch hides ReadAt")
	}
	if _, ok := Reader(ctx, strings.NewReader("x")).(io.ReaderAt); ok {
		t.Fatal("Reader shows ReadAt")
	}
	buf := make([]byte, 2)
	if n, err := r.Read(buf); n != 2 || err != nil {
		t.Fatalf("Read: %d, %v", n, err)
	}
	if n, err := ra.ReadAt(buf, 4); n != 2 || err != nil || string(buf) != "ef" {
		t.Fatalf("ReadAt: %d, %v, %q", n, err, buf)
	}
	if seen != 4 {
		t.Errorf("progress saw %d bytes, want 4", seen)
	}
	cancel()
	if _, err := r.Read(buf); !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel: %v", err)
	}
	if _, err := ra.ReadAt(buf, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadAt after cancel: %v", err)
	}
	if _, err := Reader(ctx, strings.NewReader("x")).Read(buf); !errors.Is(err, context.Canceled) {
		t.Errorf("Reader after cancel: %v", err)
	}
}
