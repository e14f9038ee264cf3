package shred

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// quick skips the settle watch in tests whose files are old anyway.
func quick() Options { return Options{Settle: -1} }

func TestFileOverwritesAndRemoves(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "checkpoint-web_default-web-2026-01-01T00:00:00Z.tar")
	data, _ := secretAt(t, p, 3<<20+123)
	var begun, last int64
	opt := Options{ // the default settle window: the file is a minute old
		Begin:    func(_ string, total int64) { begun = total },
		Progress: func(n int64) { last = n },
	}
	r, err := File(context.Background(), p, opt)
	if err != nil {
		t.Fatal(err)
	}
	bs := int64(4096)
	var sfs unix.Statfs_t
	if unix.Statfs(dir, &sfs) == nil {
		bs = int64(sfs.Bsize)
	}
	want := roundUp(int64(len(data)), bs)
	if r.Status != StatusRemoved || r.Passes != 1 || r.BytesWritten != want || r.BytesPlanned != want || begun != want || last != want {
		t.Fatalf("result %+v (begin %d, progress %d), want %d bytes in one pass", r, begun, last, want)
	}
	if r.Size != int64(len(data)) || r.Type != "file" || r.Assurance == Refused || len(r.Findings) == 0 {
		t.Fatalf("result %+v", r)
	}
	mustNotExist(t, p)
	if n := names(t, dir); len(n) != 0 {
		t.Fatalf("directory still lists %q", n)
	}
}

func TestFileKeepOverwritesInPlace(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "secret.tar")
	data, marker := secretAt(t, p, 1<<20+5)
	before := statOf(t, p)
	r, err := File(context.Background(), p, Options{Settle: -1, Keep: true, Passes: 2, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusKept || r.Passes != 2 || !r.Verified {
		t.Fatalf("result %+v", r)
	}
	if len(got) != len(data) || bytes.Contains(got, marker) || bytes.Equal(got[:4096], data[:4096]) {
		t.Fatalf("kept file: %d bytes, pattern present: %v", len(got), bytes.Contains(got, marker))
	}
	if after := statOf(t, p); after.Ino != before.Ino {
		t.Fatal("keep replaced the inode instead of overwriting it")
	}

	r, err = File(context.Background(), p, Options{Settle: -1, Keep: true, Zero: true, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(p)
	if r.Passes != 2 || !bytes.Equal(got, make([]byte, len(data))) {
		t.Fatalf("after --zero: passes %d, all zero %v", r.Passes, bytes.Equal(got, make([]byte, len(data))))
	}
}

func TestVerifyCatchesADifferentPass(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := newOverwriter(f, 3<<20, nil)
	a, _ := newKeystream()
	b, _ := newKeystream()
	if err := w.pass(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if err := w.verify(context.Background(), a); err != nil {
		t.Fatalf("verifying the pass written: %v", err)
	}
	if err := w.verify(context.Background(), b); !errors.Is(err, ErrVerify) {
		t.Fatalf("verifying another keystream: %v", err)
	}
}

func TestRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	data, _ := secretAt(t, target, 10000)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, typ, code string }{
		{link, "symlink", "symlink"},
		{fifo, "fifo", "not-regular"},
		{sock, "socket", "not-regular"},
		{"/dev/null", "device", "not-regular"},
		{sub, "directory", "directory"},
		{sub + "/", "directory", "directory"},
		{dir + "/.", "directory", "directory"},
	} {
		if st, err := os.Stat(c.path); c.typ == "device" && (err != nil || st.Mode()&os.ModeCharDevice == 0) {
			// Never shred what a broken machine left in a device's place.
			t.Errorf("%s is not a device on this machine (%v): not shredding it", c.path, err)
			continue
		}
		done := make(chan struct{})
		var r Result
		go func() {
			defer close(done)
			r, err = File(context.Background(), c.path, quick())
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: blocked", c.path)
		}
		if !errors.Is(err, ErrRefused) || r.Status != StatusRefused || r.Assurance != Refused || r.Type != c.typ || !hasFinding(r, c.code, Refused) {
			t.Errorf("%s: %+v, %v", c.path, r, err)
		}
	}
	if got, _ := os.ReadFile(target); !bytes.Equal(got, data) {
		t.Fatal("the symlink's target was changed")
	}
	if _, err := os.Lstat(link); err != nil {
		t.Fatal("the symlink was removed")
	}

	r, err := File(context.Background(), filepath.Join(dir, "missing"), quick())
	if err == nil || errors.Is(err, ErrRefused) || r.Status != StatusFailed || !strings.Contains(r.Error, "no such file") {
		t.Errorf("missing file: %+v, %v", r, err)
	}
}

func TestHardLinkWarns(t *testing.T) {
	dir := t.TempDir()
	p, other := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	_, marker := secretAt(t, p, 100000)
	if err := os.Link(p, other); err != nil {
		t.Fatal(err)
	}
	r, err := File(context.Background(), p, quick())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(r.Warnings, "\n"), "1 other hard link names this file") {
		t.Fatalf("warnings %q", r.Warnings)
	}
	mustNotExist(t, p)
	got, err := os.ReadFile(other)
	if err != nil {
		t.Fatalf("the other name is gone: %v", err)
	}
	if bytes.Contains(got, marker) || len(got) != 0 {
		t.Fatalf("the other name reads %d bytes, pattern present: %v; want the emptied file", len(got), bytes.Contains(got, marker))
	}
}

func TestDryRunTouchesNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.tar")
	data, _ := secretAt(t, p, 50000)
	before := statOf(t, p)
	r, err := File(context.Background(), p, Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusPlanned || r.BytesWritten != 0 || r.BytesPlanned < int64(len(data)) || r.Filesystem == "" || len(r.Findings) == 0 {
		t.Fatalf("dry run result %+v", r)
	}
	after := statOf(t, p)
	if after.Size != before.Size || after.Mtim != before.Mtim || after.Ctim != before.Ctim || after.Ino != before.Ino {
		t.Fatalf("dry run changed the file's metadata: %+v -> %+v", before, after)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, data) {
		t.Fatal("dry run changed the contents")
	}
	if n := names(t, dir); len(n) != 1 || n[0] != "f.tar" {
		t.Fatalf("dry run changed the directory: %q", n)
	}
}

func TestLockedFileIsRefused(t *testing.T) {
	p, data := secretFile(t, 5000)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	refused(t, p, quick(), "locked", "")
	if got, _ := os.ReadFile(p); !bytes.Equal(got, data) {
		t.Fatal("a locked file was changed")
	}
}

func TestFileOpenForWritingIsRefused(t *testing.T) {
	p, _ := secretFile(t, 5000)
	w, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := w.Fd()
	defer w.Close()
	r := refused(t, p, quick(), "being-written", "")
	want := fmt.Sprintf("(pid %d) has fd %d open for writing", os.Getpid(), fd)
	if !strings.Contains(r.Reasons[0], want) {
		t.Fatalf("reason %q lacks %q", r.Reasons[0], want)
	}
}

func TestMappedFileIsRefused(t *testing.T) {
	p, _ := secretFile(t, 8192)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, 8192, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	f.Close() // the mapping outlives the descriptor
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	refused(t, p, quick(), "", "maps it shared and writable")
}

func TestFileHeldByAnotherProcessIsRefused(t *testing.T) {
	p, data := secretFile(t, 5000)
	cmd := exec.Command("sh", "-c", `exec 3>>"$1"; echo ready; exec sleep 60`, "sh", p)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("skipped: cannot run sh: %v", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		t.Fatalf("helper said %q", line)
	}
	refused(t, p, quick(), "", "has fd 3 open for writing")
	if got, _ := os.ReadFile(p); !bytes.Equal(got, data) {
		t.Fatal("a file held open for writing was changed")
	}
}

func TestFileBeingAppendedToIsRefused(t *testing.T) {
	p, data := secretFile(t, 5000)
	// A writer that opens, appends and closes: no descriptor stays open,
	// so only the settle watch can see it.
	cmd := exec.Command("sh", "-c", `while :; do echo more >> "$1"; sleep 0.01; done`, "sh", p)
	if err := cmd.Start(); err != nil {
		t.Skipf("skipped: cannot run sh: %v", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for statOf(t, p).Size == int64(len(data)) {
		time.Sleep(10 * time.Millisecond)
	}
	// A window far longer than the writer's pace, so a loaded machine
	// cannot starve the writer for all of it.
	r := refused(t, p, Options{Settle: 2 * time.Second}, "being-written", "")
	t.Logf("refused: %s", r.Reasons[0])
	if _, err := os.Stat(p); err != nil {
		t.Fatal("a file being written was removed")
	}
}

func TestFileThatGrowsDuringTheShredIsNotRemoved(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	secretAt(t, p, 4<<20+10)
	appended := false
	opt := Options{Settle: -1, Progress: func(int64) {
		if appended {
			return
		}
		appended = true // a writer that ignores the lock
		w, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer w.Close()
		_, _ = w.Write(make([]byte, 2<<20))
	}}
	r, err := File(context.Background(), p, opt)
	if err == nil || r.Status != StatusFailed || !strings.Contains(r.Error, "grew") {
		t.Fatalf("%+v, %v", r, err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal("a file that grew during the shred was removed")
	}
}

func TestInterruptedShredFinishesOnTheSecondRun(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	data, marker := secretAt(t, p, 8<<20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opt := Options{Settle: -1, Progress: func(n int64) {
		if n >= 2<<20 {
			cancel() // as SIGINT does through the command's context
		}
	}}
	r, err := File(ctx, p, opt)
	if !errors.Is(err, context.Canceled) || r.Status != StatusPartial || r.BytesWritten < 2<<20 || r.BytesWritten >= int64(len(data)) {
		t.Fatalf("interrupted: %+v, %v", r, err)
	}
	if !strings.Contains(r.Error, "run again to finish") {
		t.Errorf("error %q does not say how to finish", r.Error)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(data) {
		t.Fatalf("size %d after interruption, want %d", len(got), len(data))
	}
	if bytes.Contains(got[:r.BytesWritten], marker) {
		t.Fatal("the part reported overwritten still holds the pattern")
	}
	if !bytes.Equal(got[len(got)-1<<20:], data[len(data)-1<<20:]) {
		t.Fatal("the part after the interruption was changed: the report would be wrong")
	}
	r, err = File(context.Background(), p, quick())
	if err != nil || r.Status != StatusRemoved {
		t.Fatalf("second run: %+v, %v", r, err)
	}
	mustNotExist(t, p)
}

func TestDirShredsTheTree(t *testing.T) {
	root := filepath.Join(t.TempDir(), "images")
	for _, d := range []string{"", "sub", "sub/deeper", "empty"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"pages-1.img", "pagemap-1.img", "sub/core-1.img", "sub/deeper/x"} {
		data, _ := secret(3000)
		writeSecret(t, filepath.Join(root, f), data)
	}
	rs, err := Dir(context.Background(), root+"/", quick())
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 4 {
		t.Fatalf("got %d results: %+v", len(rs), rs)
	}
	for _, r := range rs {
		if r.Status != StatusRemoved || !strings.HasPrefix(r.Path, root) {
			t.Errorf("%+v", r)
		}
	}
	mustNotExist(t, root)
	if n := names(t, filepath.Dir(root)); len(n) != 0 {
		t.Fatalf("parent still lists %q", n)
	}
}

func TestDirLeavesWhatItRefuses(t *testing.T) {
	root := t.TempDir()
	tree := filepath.Join(root, "t")
	if err := os.MkdirAll(filepath.Join(tree, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(root, "outside")
	data, _ := secretAt(t, outside, 3000)
	writeSecret(t, filepath.Join(tree, "a"), data)
	writeSecret(t, filepath.Join(tree, "sub", "b"), data)
	if err := os.Symlink(outside, filepath.Join(tree, "link")); err != nil {
		t.Fatal(err)
	}
	rs, err := Dir(context.Background(), tree, quick())
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("error %v", err)
	}
	var refused []string
	for _, r := range rs {
		if r.Status == StatusRefused {
			refused = append(refused, r.Path)
		}
	}
	if len(refused) != 1 || refused[0] != filepath.Join(tree, "link") {
		t.Fatalf("refused %q", refused)
	}
	if n := names(t, tree); len(n) != 1 || n[0] != "link" {
		t.Fatalf("tree now holds %q, want only the link", n)
	}
	if got, _ := os.ReadFile(outside); !bytes.Equal(got, data) {
		t.Fatal("the link was followed")
	}

	// A dry run over a tree changes nothing.
	writeSecret(t, filepath.Join(tree, "c"), data)
	rs, err = Dir(context.Background(), tree, Options{Settle: -1, DryRun: true})
	if !errors.Is(err, ErrRefused) || len(rs) != 2 {
		t.Fatalf("dry run: %+v, %v", rs, err)
	}
	if n := names(t, tree); len(n) != 2 {
		t.Fatalf("dry run changed the tree: %q", n)
	}
}

func TestDirOnAFileOrALink(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	secretAt(t, p, 100)
	if err := os.Symlink(dir, filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	rs, err := Dir(context.Background(), filepath.Join(dir, "l"), quick())
	if !errors.Is(err, ErrRefused) || len(rs) != 1 || rs[0].Type != "symlink" {
		t.Fatalf("link: %+v, %v", rs, err)
	}
	rs, err = Dir(context.Background(), p, quick())
	if err != nil || len(rs) != 1 || rs[0].Status != StatusRemoved {
		t.Fatalf("file: %+v, %v", rs, err)
	}
}

func TestRunningProgramIsRefused(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("skipped: no sleep binary")
	}
	bin := filepath.Join(t.TempDir(), "prog")
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for _, opt := range []Options{quick(), {Settle: -1, DryRun: true}} {
		r, err := File(context.Background(), bin, opt)
		if !errors.Is(err, ErrRefused) || !hasFinding(r, "in-use", Refused) {
			t.Fatalf("dry run %v: %+v, %v", opt.DryRun, r, err)
		}
	}
}

func TestAttributesRefuse(t *testing.T) {
	needRoot(t, "setting the immutable and append-only attributes")
	for _, c := range []struct {
		flag uint32
		code string
	}{{flagImmutable, "immutable"}, {flagAppendOnly, "append-only"}} {
		p := filepath.Join(t.TempDir(), "f")
		secretAt(t, p, 4096)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
		if err != nil {
			f.Close()
			t.Skipf("skipped: %s has no file attributes: %v", filepath.Dir(p), err)
		}
		if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags|c.flag)); err != nil {
			f.Close()
			t.Skipf("skipped: cannot set attributes here: %v", err)
		}
		r, err := File(context.Background(), p, quick())
		_ = unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags))
		f.Close()
		if !errors.Is(err, ErrRefused) || !hasFinding(r, c.code, Refused) {
			t.Errorf("%s: %+v, %v", c.code, r, err)
		}
	}
}

func TestReadOnlyMountIsRefused(t *testing.T) {
	needRoot(t, "bind-mounting a directory read-only")
	dir, ro := t.TempDir(), t.TempDir()
	data, _ := secret(4096)
	writeSecret(t, filepath.Join(dir, "f"), data)
	if out, err := exec.Command("mount", "--bind", dir, ro).CombinedOutput(); err != nil {
		t.Skipf("skipped: bind mount failed: %v: %s", err, out)
	}
	defer exec.Command("umount", ro).Run()
	if out, err := exec.Command("mount", "-o", "remount,ro,bind", ro).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v: %s", err, out)
	}
	r, err := File(context.Background(), filepath.Join(ro, "f"), quick())
	if !errors.Is(err, ErrRefused) || !hasFinding(r, "read-only", Refused) {
		t.Fatalf("%+v, %v", r, err)
	}
}
