package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// TestDiffLargeOutput writes a report of several MiB into a pipe that is
// read slowly: checkpointctl diff hangs once its JSON passes 64 KiB; ckpt
// must finish, and the JSON must be whole.
func TestDiffLargeOutput(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar.zst")
	spec := testgen.Spec{Seed: 5}
	if _, err := testgen.WriteFile(a, spec, testgen.None, false); err != nil {
		t.Fatal(err)
	}
	// Thousands of new threads: each adds a thread, two mappings (stack
	// and guard page) and a run of pages to the report.
	spec.ThreadsPerProcess = 1800
	if _, err := testgen.WriteFile(b, spec, testgen.Zstd, false); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"json", "table"} {
		t.Run(format, func(t *testing.T) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			out := make(chan []byte)
			go func() {
				// A slow reader: small reads with pauses, as a pager does.
				var buf bytes.Buffer
				chunk := make([]byte, 4096)
				for i := 0; ; i++ {
					n, err := pr.Read(chunk)
					buf.Write(chunk[:n])
					if err != nil {
						break
					}
					if i%64 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
				pr.Close()
				out <- buf.Bytes()
			}()
			var stderr bytes.Buffer
			code := make(chan int)
			go func() {
				code <- run([]string{"diff", "-o", format, a, b}, &app{stdin: bytes.NewReader(nil), stdout: pw, stderr: &stderr, getenv: func(string) string { return "" }})
				pw.Close()
			}()
			var got []byte
			select {
			case c := <-code:
				if c != 0 {
					t.Fatalf("exit %d: %s", c, stderr.String())
				}
				got = <-out
			case <-time.After(2 * time.Minute):
				t.Fatal("ckpt diff did not finish writing a large report to a pipe")
			}
			if format != "json" {
				if !bytes.Contains(got, []byte("\nDifferences: processes 1 changed; threads 1799 added;")) {
					t.Errorf("the table does not end with the summary: ...%s", got[max(0, len(got)-300):])
				}
				return
			}
			if len(got) < 1<<20 {
				t.Fatalf("report is %d bytes, the test needs more than 1 MiB", len(got))
			}
			var r struct {
				Different bool `json:"different"`
				Summary   struct {
					Threads struct {
						Added int `json:"added"`
					} `json:"threads"`
				} `json:"summary"`
			}
			if err := json.Unmarshal(got, &r); err != nil {
				t.Fatalf("JSON of %d bytes does not parse: %v", len(got), err)
			}
			if !r.Different || r.Summary.Threads.Added != 1799 {
				t.Errorf("different %v, threads added %d, want 1799", r.Different, r.Summary.Threads.Added)
			}
			t.Logf("%d bytes of JSON", len(got))
		})
	}
}
