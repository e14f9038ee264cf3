package main

import (
	"errors"
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/procmem"
)

// TestExitCodesDocumented keeps the README's exit code table and exit.go
// saying the same thing: every exit* constant has a row, and every row is
// a constant. Both files are parsed, so a code added to exit.go without a
// row (or a row for a code that is gone) fails here.
func TestExitCodesDocumented(t *testing.T) {
	code := exitConstants(t, "exit.go")
	doc := readmeExitCodes(t, "../../README.md")
	if len(code) < 10 || len(doc) < 10 {
		t.Fatalf("parsed %d codes from exit.go and %d rows from README.md: the parsers no longer match the files", len(code), len(doc))
	}
	for name, c := range code {
		if !slices.Contains(doc, c) {
			t.Errorf("exit.go: %s = %d has no row in README.md's exit code table", name, c)
		}
	}
	for _, c := range doc {
		found := false
		for _, v := range code {
			found = found || v == c
		}
		if !found {
			t.Errorf("README.md documents exit code %d, which exit.go does not define", c)
		}
	}
	if !slices.IsSorted(doc) {
		t.Errorf("README.md's exit codes are not in order: %v", doc)
	}
}

// exitConstants parses the constants named exit* in file, by value.
func exitConstants(t *testing.T, file string) map[string]int {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if !strings.HasPrefix(n.Name, "exit") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.INT {
					t.Fatalf("%s: %s is not an integer literal; the test reads literals only", file, n.Name)
				}
				v, ok := constant.Int64Val(constant.MakeFromLiteral(lit.Value, lit.Kind, 0))
				if !ok {
					t.Fatalf("%s: %s: %s", file, n.Name, lit.Value)
				}
				out[n.Name] = int(v)
			}
		}
	}
	return out
}

var tableRow = regexp.MustCompile(`^\|\s*(\d+)\s*\|`)

// readmeExitCodes parses the first column of the table under the
// "## Exit codes" heading.
func readmeExitCodes(t *testing.T, file string) []int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Exit codes\n")
	if !ok {
		t.Fatalf("%s: no \"## Exit codes\" section", file)
	}
	if end := strings.Index(section, "\n#"); end >= 0 {
		section = section[:end]
	}
	var codes []int
	for line := range strings.Lines(section) {
		m := tableRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		c, err := strconv.Atoi(m[1])
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(codes, c) {
			t.Errorf("%s: exit code %d has two rows", file, c)
		}
		codes = append(codes, c)
	}
	return codes
}

// TestUsageExitCodes checks that what cobra refuses exits 2 and that a
// system error whose text looks like cobra's ("invalid argument" is how
// EINVAL prints) exits 1: usage is a type, not a message.
func TestUsageExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"no-such-command"}, exitUsage, `unknown command "no-such-command" for "ckpt"`},
		{[]string{"inspect"}, exitUsage, "requires at least 1 arg(s)"},
		{[]string{"diff", "a"}, exitUsage, "accepts 2 arg(s), received 1"},
		{[]string{"completion", "bash", "extra"}, exitUsage, "unknown command"},
		{[]string{"--no-such-flag"}, exitUsage, "unknown flag: --no-such-flag"},
		{[]string{"inspect", "--max-entry=abc", "x.tar"}, exitUsage, `invalid argument "abc"`},
		{[]string{"einval"}, exitFailure, "read x.tar: invalid argument"},
		{[]string{"einval", "unknown command", "accepts 1"}, exitFailure, "read x.tar: invalid argument"},
	} {
		var stderr strings.Builder
		a := testRoot()
		a.stderr = &stderr
		root := newRootCmd(a)
		root.AddCommand(&cobra.Command{
			Use:  "einval",
			Args: cobra.ArbitraryArgs,
			RunE: func(*cobra.Command, []string) error {
				return &os.PathError{Op: "read", Path: "x.tar", Err: syscall.EINVAL}
			},
		})
		code := execute(root, tc.args, a)
		if code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("ckpt %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr.String(), tc.code, tc.msg)
		}
	}
}

// TestFlagHints checks that the flags a user can act on are named here,
// where the flags are, and not in the library's errors.
func TestFlagHints(t *testing.T) {
	for _, tc := range []struct {
		lib, hint error
		flag      string
	}{
		{archive.ErrSealed, (&identityFlags{}).explainNoIdentity(&archive.Error{Archive: "x.tar.age", Err: archive.ErrSealed}), "-i KEYFILE"},
		{procmem.ErrAmbiguous, explainAmbiguous(fmt.Errorf("pid 1: %w", procmem.ErrAmbiguous)), "--container NAME"},
	} {
		if strings.Contains(tc.lib.Error(), "-") {
			t.Errorf("library error %q names a flag", tc.lib)
		}
		if !strings.Contains(tc.hint.Error(), tc.flag) || !errors.Is(tc.hint, tc.lib) {
			t.Errorf("%q: want the hint %q, still wrapping %q", tc.hint, tc.flag, tc.lib)
		}
	}
	if err := (&identityFlags{files: []string{"key.txt"}}).explainNoIdentity(archive.ErrSealed); strings.Contains(err.Error(), "-i") {
		t.Errorf("with -i given, no hint to give it: %q", err)
	}
}
