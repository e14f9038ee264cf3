package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCommitPublishesWhole0600File(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	f := mustCreate(t, p, false)
	defer f.Abort()
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("target visible before commit: %v", err)
	}
	if _, err := f.WriteString("data"); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	assertContent(t, p, "data")
	assertOnly(t, dir, "out")
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	f := mustCreate(t, filepath.Join(dir, "out"), false)
	f.WriteString("partial")
	f.Abort()
	f.Abort()
	assertOnly(t, dir)
}

func TestRefusesExistingUnlessOverwrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	os.WriteFile(p, []byte("old"), 0o600)
	if _, err := Create(p, false); !errors.Is(err, ErrExists) {
		t.Fatalf("Create over existing: %v", err)
	}
	f := mustCreate(t, p, true)
	f.WriteString("new")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	assertContent(t, p, "new")
}

func TestCommitRefusesTargetCreatedMeanwhile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	f := mustCreate(t, p, false)
	os.WriteFile(p, []byte("theirs"), 0o600)
	f.WriteString("ours")
	if err := f.Commit(); !errors.Is(err, ErrExists) {
		t.Fatalf("Commit: %v", err)
	}
	assertContent(t, p, "theirs")
	assertOnly(t, dir, "out")
}

// mustCreate is Create that fails the test on an error.
func mustCreate(t *testing.T, path string, overwrite bool) *File {
	t.Helper()
	f, err := Create(path, overwrite)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// assertContent fails the test unless the file at path holds want.
func assertContent(t *testing.T, path, want string) {
	t.Helper()
	if b, err := os.ReadFile(path); err != nil || string(b) != want {
		t.Fatalf("%s holds %q (%v), want %q", path, b, err, want)
	}
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("dir holds %v, want %v", got, names)
	}
	for i := range names {
		if got[i] != names[i] {
			t.Fatalf("dir holds %v, want %v", got, names)
		}
	}
}

// TestUnnamedUntilCommit: where the filesystem has O_TMPFILE, nothing in
// the directory names the file before Commit, so a killed writer leaves
// nothing behind.
func TestUnnamedUntilCommit(t *testing.T) {
	dir := t.TempDir()
	for _, overwrite := range []bool{false, true} {
		p := filepath.Join(dir, "out")
		f := mustCreate(t, p, overwrite)
		if !f.Unnamed() {
			t.Skip("no O_TMPFILE on this filesystem")
		}
		f.WriteString("secret")
		if overwrite {
			assertOnly(t, dir, "out")
		} else {
			assertOnly(t, dir)
		}
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		assertOnly(t, dir, "out")
		assertContent(t, p, "secret")
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v", st.Mode().Perm())
		}
	}
	// Without overwrite, a target that appeared meanwhile is not replaced.
	f := mustCreate(t, filepath.Join(dir, "late"), false)
	os.WriteFile(filepath.Join(dir, "late"), []byte("theirs"), 0o600)
	if err := f.Commit(); !errors.Is(err, ErrExists) {
		t.Fatalf("commit over a new file: %v", err)
	}
	assertContent(t, filepath.Join(dir, "late"), "theirs")
}

// TestRemoveStale: temporary names of dead writers go; those of live
// writers, and names that are not ours, stay.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.tar")
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	dead := cmd.Process.Pid
	names := map[string]bool{
		".x.tar.tmp-" + strconv.Itoa(dead) + "-0123456789ab":        true,
		".x.tar.tmp-" + strconv.Itoa(os.Getpid()) + "-0123456789ab": false,
		".x.tar.tmp-0123456789ab":                                   false, // no pid
		".y.tar.tmp-" + strconv.Itoa(dead) + "-0123456789ab":        false, // another target
		"x.tar": false,
	}
	for n := range names {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	removed := RemoveStale(p)
	if len(removed) != 1 || filepath.Base(removed[0]) != ".x.tar.tmp-"+strconv.Itoa(dead)+"-0123456789ab" {
		t.Fatalf("removed %v", removed)
	}
	for n, gone := range names {
		_, err := os.Stat(filepath.Join(dir, n))
		if gone != errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: gone=%v, stat %v", n, gone, err)
		}
	}
}

// FuzzTempPID: only names exactly of our pattern yield a pid, and the pid
// is the one the name spells.
func FuzzTempPID(f *testing.F) {
	for _, s := range []string{".x.tar.tmp-123-0123456789ab", ".x.tar.tmp-0123456789ab", ".x.tar.tmp--1-0123456789ab", ".x.tar.tmp-+5-0123456789ab", ".x.tar.tmp-1-0123456789aZ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		pid, ok := tempPID(".x.tar.tmp-", name)
		if !ok {
			return
		}
		if pid <= 0 || !strings.HasPrefix(name, ".x.tar.tmp-"+strconv.Itoa(pid)+"-") || len(name) != len(".x.tar.tmp-"+strconv.Itoa(pid)+"-")+12 {
			t.Fatalf("tempPID(%q) = %d", name, pid)
		}
	})
}

// TestWriteFile: WriteFile publishes a whole 0600 file, refuses an existing
// one unless told to overwrite, and leaves no temporary file either way.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key")
	if err := WriteFile(p, []byte("one"), false); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two"), false); !errors.Is(err, ErrExists) {
		t.Fatalf("WriteFile over an existing file: %v", err)
	}
	assertContent(t, p, "one")
	if err := WriteFile(p, []byte("three"), true); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "three" || st.Mode().Perm() != 0o600 {
		t.Fatalf("content %q, mode %v; want \"three\", 0600", b, st.Mode().Perm())
	}
	assertOnly(t, dir, "key")
}

// TestNeverReplacesADevice: `-o /dev/null --force` once turned the
// machine's /dev/null into a regular file holding the output, because a
// rename replaces whatever the name held.
func TestNeverReplacesADevice(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	nodes := map[string]fs.FileMode{fifo: fs.ModeNamedPipe, dir: fs.ModeDir}
	null := filepath.Join(dir, "null")
	if err := unix.Mknod(null, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err == nil {
		nodes[null] = fs.ModeDevice | fs.ModeCharDevice
	} else {
		t.Logf("no character device (%v): checking the FIFO and the directory only", err)
	}
	for path, mode := range nodes {
		f, err := Create(path, true)
		if !errors.Is(err, ErrNotRegular) {
			if f != nil {
				f.Abort()
			}
			t.Fatalf("Create(%s, overwrite) = %v, want ErrNotRegular", path, err)
		}
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode().Type() != mode {
			t.Fatalf("%s is now %v (%v), want %v", path, fi.Mode().Type(), err, mode)
		}
	}
}
