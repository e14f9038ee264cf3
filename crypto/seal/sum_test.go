package seal

import (
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var sumNames = []string{
	"checkpoint-web-7d9f_default-app-2025-01-02T03:04:05Z.tar.age", // kubelet's colons
	"with space.age",
	" leading space",
	"*star-first",
	`back\slash`,
	"new\nline",
	"carriage\rreturn",
	`\n literally`,
	"ünïcödé",
}

func TestSumRoundTrip(t *testing.T) {
	for _, name := range sumNames {
		l := SumLine{Sum: sha256.Sum256([]byte(name)), Name: name}
		s := l.String()
		if !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
			t.Errorf("%q: line %q is not one line", name, s)
		}
		got, err := ParseSumFile([]byte(s))
		if err != nil || len(got) != 1 || got[0] != l {
			t.Errorf("%q: parsed %q as %+v, %v", name, s, got, err)
		}
	}
}

func TestEscapingMatchesCoreutils(t *testing.T) {
	l := SumLine{Name: "a\\b\nc\rd"}
	want := `\` + strings.Repeat("0", 64) + `  a\\b\nc\rd` + "\n"
	if got := l.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	plain := SumLine{Name: "x:y z"}
	if got := plain.String(); got != strings.Repeat("0", 64)+"  x:y z\n" {
		t.Errorf("got %q", got)
	}
}

// TestSha256sumAccepts runs coreutils on our lines and parses its lines: the
// receiver's `sha256sum -c` must accept what seal writes, byte for byte.
func TestSha256sumAccepts(t *testing.T) {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("sha256sum not installed (coreutils)")
	}
	dir := t.TempDir()
	var lines strings.Builder
	for i, name := range sumNames {
		data := []byte(strings.Repeat("x", i))
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		lines.WriteString(SumLine{Sum: sha256.Sum256(data), Name: name}.String())
	}
	if err := os.WriteFile(filepath.Join(dir, "SUMS"), []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sha256sum", "--strict", "-c", "SUMS")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c rejected our lines: %v\n%s", err, out)
	}
	// And ours reads what coreutils writes.
	args := append([]string{"--"}, sumNames...)
	cmd = exec.Command("sha256sum", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSumFile(out)
	if err != nil {
		t.Fatalf("parse coreutils output: %v\n%s", err, out)
	}
	if len(got) != len(sumNames) {
		t.Fatalf("got %d lines", len(got))
	}
	for i, l := range got {
		if l.Name != sumNames[i] || l.Sum != sha256.Sum256([]byte(strings.Repeat("x", i))) {
			t.Errorf("line %d: %+v", i, l)
		}
	}
	// Tampering with a file makes coreutils fail, as it does us.
	if err := os.WriteFile(filepath.Join(dir, sumNames[0]), []byte("changed"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command("sha256sum", "-c", "SUMS")
	cmd.Dir = dir
	if err := cmd.Run(); err == nil {
		t.Fatal("sha256sum -c accepted a changed file")
	}
}

func TestParseSumLineRejects(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for _, line := range []string{
		"",
		hex,
		hex + " ",
		hex + "  ",
		hex + " x",             // one space
		hex + "\tname",         // tab
		hex[:63] + "  name",    // short digest
		hex + "0  name",        // long digest
		"zz" + hex[2:] + "  x", // not hex
		`\` + hex + `  a\qb`,   // unknown escape
		`\` + hex + `  a\`,     // dangling backslash
		"SHA256 (x) = " + hex,  // BSD tag format: not written by us
	} {
		if _, err := parseSumLine(line); !errors.Is(err, errMalformedSum) {
			t.Errorf("parseSumLine(%q) = %v, want errMalformedSum", line, err)
		}
	}
	for _, file := range []string{"", "\n", hex + "  a\n\n", strings.Repeat("x", MaxSumFileSize+1)} {
		if _, err := ParseSumFile([]byte(file)); !errors.Is(err, errMalformedSum) {
			t.Errorf("ParseSumFile(%.20q) = %v, want errMalformedSum", file, err)
		}
	}
}

func TestParseSumLineAccepts(t *testing.T) {
	hex := strings.Repeat("AB", 32)
	for _, tc := range []struct{ file, name string }{
		{hex + "  a\n", "a"},
		{hex + " *a\n", "a"},   // binary mode
		{hex + "  a\r\n", "a"}, // CRLF, as sha256sum -c takes it
		{hex + "  a", "a"},     // no final newline
	} {
		got, err := ParseSumFile([]byte(tc.file))
		if err != nil || len(got) != 1 || got[0].Name != tc.name || got[0].Sum[0] != 0xab {
			t.Errorf("ParseSumFile(%q) = %+v, %v", tc.file, got, err)
		}
	}
}

func FuzzParseSumLine(f *testing.F) {
	for _, name := range sumNames {
		f.Add(strings.TrimSuffix(SumLine{Name: name}.String(), "\n"))
	}
	f.Add(`\` + strings.Repeat("0", 64) + `  \\\n`)
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseSumLine(s)
		if err != nil {
			return
		}
		// Whatever parses formats back to a line that parses the same.
		again, err := parseSumLine(strings.TrimSuffix(l.String(), "\n"))
		if err != nil || again != l {
			t.Fatalf("%q parsed as %+v, which formats to %q and parses as %+v, %v", s, l, l.String(), again, err)
		}
	})
}

func FuzzSumLineString(f *testing.F) {
	for _, name := range sumNames {
		f.Add(name, []byte{1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, name string, seed []byte) {
		if name == "" {
			return
		}
		l := SumLine{Sum: sha256.Sum256(seed), Name: name}
		got, err := ParseSumFile([]byte(l.String()))
		if err != nil {
			// A name ending in a bare CR cannot be told from a CRLF line
			// end; coreutils escapes CR, and so do we, so this must parse.
			t.Fatalf("%q: %v", l.String(), err)
		}
		if len(got) != 1 || got[0] != l {
			t.Fatalf("%q: round trip gave %+v", l.String(), got)
		}
	})
}
