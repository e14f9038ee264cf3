package seal

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/internal/atomicfile"
)

// A process killed after any step of a publication leaves a directory
// that the next seal (recoverSet) makes hold the old set or the new one,
// whole, with nothing else beside it; and Recover does the same for a
// directory.
func TestPublicationKilledAtEveryStep(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new []string // suffixes of the set's files ("" is the sealed file)
	}{
		{"unsigned over signed", []string{"", ChecksumSuffix, ManifestSuffix, SignatureSuffix}, []string{"", ChecksumSuffix, ManifestSuffix}},
		{"signed over unsigned", []string{"", ChecksumSuffix, ManifestSuffix}, []string{"", ChecksumSuffix, ManifestSuffix, SignatureSuffix}},
		{"signed over signed", []string{"", ChecksumSuffix, ManifestSuffix, SignatureSuffix}, []string{"", ChecksumSuffix, ManifestSuffix, SignatureSuffix}},
		{"sidecars only (a stream)", []string{ChecksumSuffix, ManifestSuffix}, []string{ChecksumSuffix, ManifestSuffix, SignatureSuffix}},
	} {
		for _, viaDir := range []bool{false, true} {
			steps := 0
			for k := 0; ; k++ {
				dir := t.TempDir()
				sealed := filepath.Join(dir, "checkpoint-a_b-c-2026-12-07T00:00:00Z.tar.age")
				for _, s := range tc.old {
					if err := os.WriteFile(sealed+s, []byte("old"+s), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				var staged []*atomicfile.File
				for _, s := range tc.new {
					f, err := atomicfile.Create(sealed+s, true)
					if err != nil {
						t.Fatal(err)
					}
					f.Write([]byte("new" + s))
					staged = append(staged, f)
				}
				stale := ""
				if slices.Contains(tc.old, SignatureSuffix) && !slices.Contains(tc.new, SignatureSuffix) {
					stale = sealed + SignatureSuffix
				}
				p := newPublication(staged, stale)
				all := p.steps()
				steps = len(all)
				for _, step := range all[:k] {
					if err := step(); err != nil {
						t.Fatalf("%s: step: %v", tc.name, err)
					}
				}
				abortAll(staged) // the kill: unnamed files vanish
				var err error
				if viaDir {
					// Recover skips running processes, this one included:
					// rename the kept names as a dead process's.
					renameKept(t, dir, os.Getpid(), 4194303)
					_, err = recoverDir(dir, func(int) bool { return false })
				} else {
					_, err = recoverSet(sealed, func(int) bool { return false })
				}
				if err != nil {
					t.Fatalf("%s, killed after %d steps: %v", tc.name, k, err)
				}
				got := setOnDisk(t, dir)
				switch {
				case sameSet(got, tc.old, "old"):
					if k == steps {
						t.Errorf("%s: after a whole publication the old set is back", tc.name)
					}
				case sameSet(got, tc.new, "new"):
					if k == 0 {
						t.Errorf("%s: a publication that never started left the new set", tc.name)
					}
				default:
					t.Errorf("%s, killed after %d of %d steps (dir %v): the directory holds %v", tc.name, k, steps, viaDir, got)
				}
				if k >= steps {
					break
				}
			}
		}
	}
}

// setOnDisk maps each file in dir, by suffix after the sealed file's name,
// to its content; other names are reported whole.
func setOnDisk(t *testing.T, dir string) map[string]string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if strings.HasPrefix(e.Name(), ".") {
			got[e.Name()] = "LEFT OVER"
			continue
		}
		got[strings.TrimPrefix(e.Name(), "checkpoint-a_b-c-2026-12-07T00:00:00Z.tar.age")] = string(b)
	}
	return got
}

func sameSet(got map[string]string, want []string, which string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, s := range want {
		if got[s] != which+s {
			return false
		}
	}
	return true
}

func renameKept(t *testing.T, dir string, from, to int) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		for _, kind := range []string{keptPrev, keptNew} {
			if name, ok := strings.CutSuffix(e.Name(), kind+strconv.Itoa(from)); ok {
				if err := os.Rename(filepath.Join(dir, e.Name()), filepath.Join(dir, name+kind+strconv.Itoa(to))); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func TestKeptSet(t *testing.T) {
	for name, want := range map[string]string{
		".x.tar.age.prev-12":             "x.tar.age",
		".x.tar.age.json.sig.new-7":      "x.tar.age",
		".x.tar.age.sha256.prev-4194303": "x.tar.age",
		".x.tar.age.json.prev-1":         "x.tar.age",
		".x.json.prev-1":                 "", // not a .age set: ambiguous
		".x.tar.age.prev-012":            "",
		".x.tar.age.prev-":               "",
		"x.tar.age.prev-1":               "",
		".x.tar.age.tmp-1-abcdefabcdef":  "",
		".age.prev-1":                    "",
	} {
		got, ok := keptSet(name)
		if got != want || ok != (want != "") {
			t.Errorf("keptSet(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}
