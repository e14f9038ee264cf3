// Package levels holds only a test: it keeps the module's imports pointing
// the one way ARCHITECTURE.md says they point.
package levels

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const root = "../.."

// rules is what the Levels section of ARCHITECTURE.md says: the level of
// each folder and the imports allowed against the levels, as debts.
type rules struct {
	level map[string]int // folder → level
	debts map[[2]string]bool
}

// The two capabilities of the table that are not plain "lower levels only".
const (
	levelInternal     = 0 // plumbing: imported by all, imports all but cmd
	levelCapabilities = 5 // agent, audit, kube, remote, image: may import each other
)

// TestImportLevels fails on any import in the module, in code or in tests,
// that goes against the levels in ARCHITECTURE.md, and on a debt listed there
// that is gone (so that its row goes too).
func TestImportLevels(t *testing.T) {
	r := readRules(t, filepath.Join(root, "ARCHITECTURE.md"))
	module := modulePath(t)
	pkgs := moduleImports(t, module)
	if len(pkgs) < 15 || len(pkgs["cmd/ckpt"]) < 5 {
		t.Fatalf("found %d packages (cmd/ckpt imports %v): the walk no longer sees the module", len(pkgs), pkgs["cmd/ckpt"])
	}
	problems, used := r.check(pkgs)
	for debt := range r.debts {
		if !used[debt] {
			problems = append(problems, fmt.Sprintf("ARCHITECTURE.md lists the debt %s → %s, which no longer exists: remove its row", debt[0], debt[1]))
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestCheckFindsViolations shows the check failing on the imports it must
// refuse, so that TestImportLevels passing means something.
func TestCheckFindsViolations(t *testing.T) {
	r := readRules(t, filepath.Join(root, "ARCHITECTURE.md"))
	allowed := map[string][]string{
		"cmd/ckpt":          {"archive", "agent", "internal/render", "internal/procmem"},
		"agent":             {"audit", "crypto/seal", "shred", "internal/atomicfile"},
		"scan":              {"mem", "proc", "archive", "internal/testgen"},
		"internal/procmem":  {"mem", "proc", "mem/elfcore", "scan"},
		"proc":              {"criu"},
		"internal/testgen":  {"criu", "archive"},
		"crypto/seal":       {"crypto/sign", "crypto/keys", "internal/writeback"},
		"archive":           {"criu"},
		"internal/tartest":  nil,
		"kube/doctor":       {"remote/s3", "archive"},
		"scan/scantest":     {"scan", "internal/testgen"},
		"crypto/sign":       {"crypto/keys"},
		"mem/elfcore":       nil,
		"internal/benchutl": {"internal/testgen"},
	}
	if problems, _ := r.check(allowed); len(problems) > 0 {
		t.Errorf("allowed imports refused:\n%s", strings.Join(problems, "\n"))
	}
	for from, to := range map[string]string{
		"archive":          "crypto/seal", // the archive knows age only through an interface
		"criu":             "archive",     // upward
		"scan":             "agent",       // a domain package on a capability
		"internal/testgen": "cmd/ckpt",    // nothing imports cmd
		"agent":            "cmd/ckpt",    // nothing imports cmd
		"shred":            "crypto/keys", // same level
		"diff":             "scan",        // same level
		"proc":             "mem",         // the page index lives in criu
		"tools/gen":        "archive",     // a folder ARCHITECTURE.md does not place
	} {
		problems, _ := r.check(map[string][]string{from: {to}})
		if len(problems) != 1 {
			t.Errorf("%s → %s: got %q, want one problem", from, to, problems)
		}
	}
	// A debt allows one package's import, not its folder's.
	r.debts = map[[2]string]bool{{"proc", "mem"}: true}
	if problems, used := r.check(map[string][]string{"proc": {"mem"}}); len(problems) != 0 || !used[[2]string{"proc", "mem"}] {
		t.Errorf("the debt proc → mem is not honoured: %q", problems)
	}
	if problems, _ := r.check(map[string][]string{"proc/sub": {"mem/deep"}}); len(problems) != 1 {
		t.Errorf("proc/sub → mem/deep: got %q, want one problem (debts name packages, not folders)", problems)
	}
}

// check returns the imports of pkgs (package → imported packages, paths
// relative to the module) that break r, and the debts it used.
func (r rules) check(pkgs map[string][]string) (problems []string, used map[[2]string]bool) {
	used = map[[2]string]bool{}
	for _, from := range slices.Sorted(maps.Keys(pkgs)) {
		fromRoom, ok := r.room(from)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: its folder has no level in ARCHITECTURE.md: add it to the Levels table", from))
			continue
		}
		for _, to := range pkgs[from] {
			toRoom, ok := r.room(to)
			if !ok {
				continue // reported as an importer of its own, when it is in the module
			}
			fl, tl := r.level[fromRoom], r.level[toRoom]
			switch {
			case fromRoom == toRoom:
			case toRoom == "cmd":
				problems = append(problems, fmt.Sprintf("%s imports %s: nothing imports cmd", from, to))
			case fl == levelInternal || tl == levelInternal:
			case fl == levelCapabilities && tl == levelCapabilities:
			case tl < fl:
			case r.debts[[2]string{from, to}]:
				used[[2]string{from, to}] = true
			default:
				problems = append(problems, fmt.Sprintf("%s (level %d, %s) imports %s (level %d, %s): imports point down only", from, fl, fromRoom, to, tl, toRoom))
			}
		}
	}
	return problems, used
}

// room is the folder of the Levels table that holds pkg: the longest one
// that is pkg or a parent of it.
func (r rules) room(pkg string) (string, bool) {
	best := ""
	for f := range r.level {
		if (pkg == f || strings.HasPrefix(pkg, f+"/")) && len(f) > len(best) {
			best = f
		}
	}
	return best, best != ""
}

var (
	levelRow = regexp.MustCompile("^\\|\\s*(\\d+)\\s*\\|(.*)\\|\\s*$")
	debtRow  = regexp.MustCompile("^\\|\\s*`([^`]+)`\\s*\\|\\s*`([^`]+)`\\s*\\|")
	quoted   = regexp.MustCompile("`([^`]+)`")
)

// readRules parses the Levels section: its first table gives folders
// (quoted names before any parenthesis) by level, its second the debts.
func readRules(t *testing.T, file string) rules {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Levels\n")
	if !ok {
		t.Fatalf("%s: no \"## Levels\" section", file)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	r := rules{level: map[string]int{}, debts: map[[2]string]bool{}}
	for line := range strings.Lines(section) {
		line = strings.TrimSpace(line)
		if m := levelRow.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			names, _, _ := strings.Cut(m[2], "(")
			for _, q := range quoted.FindAllStringSubmatch(names, -1) {
				if _, dup := r.level[q[1]]; dup {
					t.Fatalf("%s: %s has two levels", file, q[1])
				}
				r.level[q[1]] = n
			}
		} else if m := debtRow.FindStringSubmatch(line); m != nil {
			r.debts[[2]string{m[1], m[2]}] = true
		}
	}
	if r.level["cmd"] == 0 || r.level["criu"] == 0 || len(r.level) < 15 {
		t.Fatalf("%s: the Levels tables no longer parse: %v, debts %v", file, r.level, r.debts)
	}
	if r.level["internal"] != levelInternal || r.level["agent"] != levelCapabilities {
		t.Fatalf("%s: internal must be level %d and agent level %d, as this test reads them", file, levelInternal, levelCapabilities)
	}
	return r
}

func modulePath(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.TrimSpace(m)
		}
	}
	t.Fatal("go.mod: no module line")
	return ""
}

// moduleImports reads the imports of every Go file of the module, tests and
// every build tag included, by package directory, relative to the module.
func moduleImports(t *testing.T, module string) map[string][]string {
	t.Helper()
	pkgs := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if q, ok := strings.CutPrefix(p, module+"/"); ok && q != pkg && !slices.Contains(pkgs[pkg], q) {
				pkgs[pkg] = append(pkgs[pkg], q)
			}
		}
		if _, ok := pkgs[pkg]; !ok {
			pkgs[pkg] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}
