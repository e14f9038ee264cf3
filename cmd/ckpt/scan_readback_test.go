package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ckpt-dev/ckpt/internal/testgen"
	"github.com/ckpt-dev/ckpt/scan"
	"github.com/ckpt-dev/ckpt/scan/scantest"
)

// TestScanAddressReadsBack takes every memory location `scan` reports for
// a secret of each kind (in the heap, in anonymous memory across page and
// pagemap-entry boundaries, in the environment) and reads its address and
// length back with `mem read`: the bytes are the value, whatever label
// (NAME=, AccountKey=, Authorization: Bearer) stands before it.
func TestScanAddressReadsBack(t *testing.T) {
	plain := filepath.Join(t.TempDir(), "planted.tar")
	if _, err := testgen.WriteFile(plain, scantest.Planted(testgen.EnginePodman), testgen.None, false); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runScan(t, "--reveal", "-o", "json", "--max-locations", "100", plain)
	var r scan.Report
	if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil {
		t.Fatalf("scan: exit %d, %v, stderr %q", code, err, errs)
	}
	kinds := map[scan.Kind]int{}
	for _, f := range r.Findings {
		if f.Length != len(f.Value) {
			t.Errorf("%s: length %d, value of %d bytes", f.Kind, f.Length, len(f.Value))
		}
		for _, l := range f.Locations {
			if l.PID == 0 {
				continue // not in a process's memory
			}
			var got, stderr bytes.Buffer
			code := run([]string{"mem", "read", plain, "--pid", fmt.Sprint(l.PID), "--addr", fmt.Sprintf("%#x", l.Address), "--len", fmt.Sprint(f.Length)},
				&app{stdin: bytes.NewReader(nil), stdout: &got, stderr: &stderr, getenv: func(string) string { return "" }})
			if code != 0 || got.String() != f.Value {
				t.Errorf("%s at pid %d %#x (%s): mem read exit %d, %q, want %q (stderr %q)", f.Kind, l.PID, l.Address, l.Source, code, got.String(), f.Value, stderr.String())
			}
			kinds[f.Kind]++
		}
	}
	for _, fk := range scantest.Fakes() {
		if kinds[fk.Kind] == 0 {
			t.Errorf("%s: no location in memory was read back", fk.Kind)
		}
	}
}
