package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
)

// TestOneLineAddsFlagHints checks that the library errors name no flag and that the
// CLI adds it, at the end of the line, however deep the error is wrapped.
func TestOneLineAddsFlagHints(t *testing.T) {
	_, notRecipient := keys.ParseRecipient("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ")
	for _, tc := range []struct {
		err  error
		hint string
	}{
		{fmt.Errorf("out.bin: %w", atomicfile.ErrExists), "file exists (use --force to overwrite)"},
		{&archive.Error{Archive: "r.txt", Err: fmt.Errorf("line 1: %w", notRecipient)}, "not a recipient; `ckpt keygen -y KEYFILE` prints its recipient"},
		{fmt.Errorf("%w: PAGES entry 1: %w", criu.ErrFormat, &criu.PayloadLimitError{Size: 9, Limit: 8}), "payload of 9 bytes exceeds the 8-byte limit (show sizes only with --no-payload)"},
	} {
		if strings.Contains(tc.err.Error(), "ckpt") || strings.Contains(tc.err.Error(), "--") {
			t.Errorf("library error names the CLI: %v", tc.err)
		}
		if got := oneLine(tc.err); !strings.HasSuffix(got, tc.hint) {
			t.Errorf("oneLine(%v) = %q, want it to end in %q", tc.err, got, tc.hint)
		}
	}
	if got := oneLine(fmt.Errorf("x: %w", archive.ErrSealed)); strings.Contains(got, "--force") || strings.Contains(got, "--no-payload") {
		t.Errorf("unrelated error got a hint: %q", got)
	}
}
