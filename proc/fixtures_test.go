package proc

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
)

const fixtures = "../testdata/fixtures"

// load returns the decoded images and the tree of a fixture archive.
func load(t *testing.T, glob string) (*criu.ImageSet, *Tree, string) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(fixtures, glob))
	if len(m) != 1 {
		t.Fatalf("fixture %s: %v", glob, m)
	}
	a, err := archive.Open(m[0], archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c, err := archive.Load(a, archive.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	images := c.Checkpoints[0].Images
	tree, err := Build(images)
	if err != nil {
		t.Fatal(err)
	}
	return images, tree, filepath.Join(fixtures, "expected", filepath.Base(m[0]))
}

var allFixtures = []string{"checkpoint-simple-*.tar", "checkpoint-rich-*.tar", "podman-simple.tar", "podman-simple.tar.gz", "podman-simple.tar.zst", "podman-rich.tar", "podman-rich.tar.zst"}

// critSections splits crit's "x" output into per-pid line lists.
func critSections(t *testing.T, path string) map[uint32][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[uint32][]string{}
	var cur uint32
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if pid, err := strconv.ParseUint(strings.TrimSpace(line), 10, 32); err == nil && !strings.HasPrefix(line, "\t") {
			cur = uint32(pid)
			out[cur] = []string{}
			continue
		}
		if strings.TrimSpace(line) != "" {
			out[cur] = append(out[cur], strings.TrimSpace(line))
		}
	}
	return out
}

// TestTreeMatchesCrit compares the tree with `crit x ps`.
func TestTreeMatchesCrit(t *testing.T) {
	for _, glob := range allFixtures {
		t.Run(glob, func(t *testing.T) {
			_, tree, expect := load(t, glob)
			b, err := os.ReadFile(filepath.Join(expect, "crit-x-ps.txt"))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")[1:]
			if len(lines) != len(tree.Processes) {
				t.Fatalf("%d processes, crit has %d", len(tree.Processes), len(lines))
			}
			row := regexp.MustCompile(`^\s*(\d+)\s+(\d+)\s+(\d+)(\s+)(\S+)$`)
			for _, l := range lines {
				m := row.FindStringSubmatch(l)
				pid, _ := strconv.Atoi(m[1])
				p, err := tree.Find(uint32(pid))
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(p.PGID) != m[2] || fmt.Sprint(p.SID) != m[3] || p.Comm != m[5] {
					t.Errorf("pid %d: pgid %d sid %d comm %q, crit says %v", pid, p.PGID, p.SID, p.Comm, m[2:])
				}
				depth := (len(m[4]) - 3) / 4
				if d := depthOf(tree, p); d != depth {
					t.Errorf("pid %d at depth %d, crit shows %d", pid, d, depth)
				}
			}
		})
	}
}

func depthOf(t *Tree, p *Process) int {
	d := 0
	for q := p; ; d++ {
		parent, err := t.Find(q.PPID)
		if err != nil || parent == q {
			return d
		}
		q = parent
	}
}

// TestFDsMatchCrit compares descriptors, cwd and root with `crit x fds`.
func TestFDsMatchCrit(t *testing.T) {
	for _, glob := range allFixtures {
		t.Run(glob, func(t *testing.T) {
			_, tree, expect := load(t, glob)
			want := critSections(t, filepath.Join(expect, "crit-x-fds.txt"))
			for pid, lines := range want {
				p, err := tree.Find(pid)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, fd := range p.FDs {
					got = append(got, fmt.Sprintf("%d: %s", fd.FD, critName(fd.File)))
				}
				got = append(got, "cwd: "+p.Cwd, "root: "+p.Root)
				if strings.Join(got, "\n") != strings.Join(lines, "\n") {
					t.Errorf("pid %d:\nours:\n%s\ncrit:\n%s", pid, strings.Join(got, "\n"), strings.Join(lines, "\n"))
				}
			}
		})
	}
}

// critName renders a file the way crit's "x fds" does.
func critName(f *File) string {
	switch {
	case f.Pipe != nil:
		return fmt.Sprintf("pipe[%d]", f.Pipe.Inode)
	case f.Socket != nil && f.Socket.Family == "unix":
		return fmt.Sprintf("unix[%d (%d)]", f.Socket.Inode, f.Socket.Peer)
	case f.Socket != nil:
		return fmt.Sprintf("INETSK.%d", f.ID)
	}
	return f.Path
}

// TestMapsMatchCrit compares mappings with `crit x mems`.
func TestMapsMatchCrit(t *testing.T) {
	line := regexp.MustCompile(`^([0-9a-f]+)-([0-9a-f]+)\s+(\S{3})\s*(.*)$`)
	for _, glob := range allFixtures {
		t.Run(glob, func(t *testing.T) {
			images, tree, expect := load(t, glob)
			want := critSections(t, filepath.Join(expect, "crit-x-mems.txt"))
			for pid, lines := range want {
				p, _ := tree.Find(pid)
				maps, err := tree.Maps(images, p)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasSuffix(lines[0], p.Exe) {
					t.Errorf("pid %d exe %q, crit %q", pid, p.Exe, lines[0])
				}
				lines = lines[1:]
				if len(lines) != len(maps) {
					t.Fatalf("pid %d: %d mappings, crit %d", pid, len(maps), len(lines))
				}
				for i, l := range lines {
					m := line.FindStringSubmatch(l)
					got := maps[i]
					start, _ := strconv.ParseUint(m[1], 16, 64)
					end, _ := strconv.ParseUint(m[2], 16, 64)
					if got.Start != start || got.End != end || got.Perms[:3] != m[3] {
						t.Errorf("pid %d mapping %d: %x-%x %s, crit %s", pid, i, got.Start, got.End, got.Perms, l)
					}
					if got.Kind == "file" {
						wantFile := strings.TrimSpace(strings.Split(m[4], " + ")[0])
						if got.File != wantFile {
							t.Errorf("pid %d mapping %d: file %q, crit %q", pid, i, got.File, wantFile)
						}
						if strings.Contains(m[4], " + ") && fmt.Sprintf("0x%x", got.Offset) != strings.Split(m[4], " + ")[1] {
							t.Errorf("pid %d mapping %d: offset %#x, crit %s", pid, i, got.Offset, m[4])
						}
					}
					if strings.Contains(m[4], "[vdso]") && got.Kind != "vdso" || strings.Contains(m[4], "[vsyscall]") && got.Kind != "vsyscall" {
						t.Errorf("pid %d mapping %d: kind %s, crit %s", pid, i, got.Kind, m[4])
					}
				}
			}
		})
	}
}
