package procmem

import (
	"bytes"
	"os/exec"
	"regexp"
	"testing"
)

// hexdumpC runs the real hexdump -C (util-linux's, from bsdextrautils).
func hexdumpC(t *testing.T, b []byte) string {
	t.Helper()
	if _, err := exec.LookPath("hexdump"); err != nil {
		t.Skip("hexdump not installed (Debian: bsdextrautils): cannot compare with hexdump -C")
	}
	cmd := exec.Command("hexdump", "-C")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func regexpMatch(expr string, b []byte) bool { return regexp.MustCompile(expr).Match(b) }
