package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/internal/testgen"
	"github.com/ckpt-dev/ckpt/scan"
	"github.com/ckpt-dev/ckpt/scan/scantest"
)

func runScan(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(append([]string{"scan"}, args...), &app{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

// TestScanPlanted runs the command on an archive with one secret of every
// kind in memory, rootfs diff, queues, log and environment: every kind is
// reported, redacted unless --reveal, and --fail-on exits 8 exactly when
// a named kind is there.
func TestScanPlanted(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "planted.tar")
	if _, err := testgen.WriteFile(plain, scantest.Planted(testgen.EnginePodman), testgen.None, false); err != nil {
		t.Fatal(err)
	}
	fakes := scantest.Fakes()

	code, out, errs := runScan(t, plain)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, f := range fakes {
		row := "  " + string(f.Kind) + "  "
		if !strings.Contains(out, row) || !strings.Contains(out, scan.Preview([]byte(f.Value))) {
			t.Errorf("%s: no row with its preview %q", f.Kind, scan.Preview([]byte(f.Value)))
		}
		// Redacted: no value shows, nor a long piece of one.
		if probe := f.Value[len(f.Value)/2:][:min(12, len(f.Value)/2)]; strings.Contains(out, probe) {
			t.Errorf("%s: %q of its value is in the report", f.Kind, probe)
		}
	}

	code, out, _ = runScan(t, "--reveal", plain)
	if code != 0 {
		t.Fatalf("--reveal: exit %d", code)
	}
	for _, f := range fakes {
		if !strings.Contains(out, strings.TrimRight(f.Value, "\n")) {
			t.Errorf("--reveal: %s value missing", f.Kind)
		}
	}

	code, out, _ = runScan(t, "-o", "json", "--max-locations", "100", plain)
	var r scan.Report
	if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil {
		t.Fatalf("json: exit %d, %v", code, err)
	}
	if len(r.Findings) != len(fakes) || r.Revealed {
		t.Fatalf("json: %d findings, revealed %v", len(r.Findings), r.Revealed)
	}
	for i, f := range r.Findings {
		if f.Kind != fakes[i].Kind || f.Value != "" || f.Count < 6 || len(f.Locations) != f.Count {
			t.Errorf("json: finding %d: %s count %d, %d locations, value %q", i, f.Kind, f.Count, len(f.Locations), f.Value)
		}
	}

	// 12 kinds in 6 places (heap, rootfs, socket, pipe, TCP, log), two
	// more in anonymous memory, the password in spec.dump and the
	// environment of 2 processes: 77 occurrences.
	for _, k := range scan.Kinds() {
		if code, _, errs := runScan(t, "--fail-on", string(k), plain); code != exitFindings || !strings.Contains(errs, "("+string(k)+")") {
			t.Errorf("--fail-on %s: exit %d, stderr %q", k, code, errs)
		}
	}
	if code, _, errs := runScan(t, "--fail-on", "any", "-o", "json", plain); code != exitFindings || !strings.HasPrefix(errs, "ckpt: 77 findings of the kinds --fail-on names (private-key, ") {
		t.Errorf("--fail-on any: exit %d, %q", code, errs)
	}
	rich, _ := filepath.Glob("../../testdata/fixtures/podman-rich.tar")
	if code, _, _ := runScan(t, "--fail-on", "any", rich[0]); code != 0 {
		t.Errorf("--fail-on any on a clean archive: exit %d", code)
	}
}

// TestScanTruncatedStream cuts a compressed archive in the middle of its
// memory pages: exit 1, no report.
func TestScanTruncatedStream(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "planted.tar.zst")
	if _, err := testgen.WriteFile(full, scantest.Planted(testgen.EnginePodman), testgen.Zstd, false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.tar.zst")
	if err := os.WriteFile(cut, b[:len(b)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runScan(t, "--fail-on", "any", cut)
	if code != exitFailure || out != "" || !strings.HasPrefix(errs, "ckpt: "+cut+": ") || strings.Count(errs, "\n") != 1 {
		t.Errorf("exit %d, stdout %d bytes, stderr %q", code, len(out), errs)
	}
}

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
