package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ckpt-dev/ckpt/shred"
)

func bigFile(t *testing.T, path string, size int) []byte {
	t.Helper()
	data := bytes.Repeat([]byte("CKPT-SECRET-PAGE-"), size/17+1)[:size]
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return data
}

func runCkpt(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

// TestShredSIGINT interrupts a real shred with SIGINT: the file is left at
// its size, partly overwritten, the exit status is 130, and running the
// same command again finishes it.
func TestShredSIGINT(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("skipped: shred is implemented on Linux only")
	}
	// Keep SIGINT from killing the test binary whatever the timing.
	guard := make(chan os.Signal, 1)
	signal.Notify(guard, syscall.SIGINT)
	defer signal.Stop(guard)

	p := filepath.Join(t.TempDir(), "checkpoint.tar")
	data := bigFile(t, p, 64<<20)
	done := make(chan struct{})
	var code int
	var stdout, stderr string
	go func() {
		defer close(done)
		code, stdout, stderr = runCkpt("shred", "--settle", "0", "-n", "35", p)
	}()
	head := make([]byte, 4096)
	for {
		f, err := os.Open(p)
		if err == nil {
			_, _ = f.ReadAt(head, 0)
			f.Close()
		}
		if err != nil || !bytes.Equal(head, data[:4096]) {
			break // the first pass has begun
		}
		time.Sleep(time.Millisecond)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-done
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitInterrupted, stdout, stderr)
	}
	if !strings.Contains(stdout, " partial ") || !strings.Contains(stdout, "run again to finish") {
		t.Errorf("stdout does not report the partial overwrite:\n%s", stdout)
	}
	if want := "is partly overwritten"; !strings.HasPrefix(stderr, "ckpt: interrupted; "+p) || !strings.Contains(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr %q", stderr)
	}
	st, err := os.Stat(p)
	if err != nil || st.Size() != int64(len(data)) {
		t.Fatalf("after the interruption: %v, %v", st, err)
	}

	code, stdout, stderr = runCkpt("shred", "--settle", "0", p)
	if code != 0 || !strings.Contains(stdout, " removed ") {
		t.Fatalf("second run: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatal("the second run did not remove the file")
	}
}

// TestShredRequire checks --require overwritten against the level the
// storage under the test's temporary directory really gets.
func TestShredRequire(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("skipped: shred is implemented on Linux only")
	}
	dirs := []string{t.TempDir()}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		shm, err := os.MkdirTemp("/dev/shm", "ckpt-test-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(shm) })
			dirs = append(dirs, shm)
		}
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, "f.tar")
		bigFile(t, p, 10000)
		code, stdout, _ := runCkpt("shred", "--dry-run", "--settle", "0", "-o", "json", p)
		var rep shredReport
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != 0 || len(rep.Files) != 1 {
			t.Fatalf("dry run: exit %d, %v\n%s", code, err, stdout)
		}
		want := exitOK
		if rep.Files[0].Assurance == shred.BestEffort {
			want = exitAssurance
		}
		code, stdout, stderr := runCkpt("shred", "--settle", "0", "--require", "overwritten", p)
		if code != want {
			t.Fatalf("%s (%s): exit %d, want %d\n%s%s", dir, rep.Files[0].Assurance, code, want, stdout, stderr)
		}
		if want == exitAssurance && !strings.Contains(stderr, "only reached best-effort; --require overwritten") {
			t.Errorf("stderr %q", stderr)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s: --require must still shred the file", dir)
		}
		t.Logf("%s: %s, exit %d", dir, rep.Files[0].Assurance, code)

		bigFile(t, p, 100)
		if code, stdout, stderr := runCkpt("shred", "--settle", "0", "--require", "best-effort", p); code != 0 {
			t.Fatalf("--require best-effort: exit %d\n%s%s", code, stdout, stderr)
		}
	}
}

// TestShredProgressOnTerminal draws a bar for a large file when stderr is
// a terminal, and none for a small one.
func TestShredProgressOnTerminal(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("skipped: shred is implemented on Linux only")
	}
	ptmx, tty := openPTY(t)
	var got bytes.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(&got, ptmx) // ends with EIO once the terminal side closes
	}()
	dir := t.TempDir()
	bigFile(t, filepath.Join(dir, "small.tar"), 1<<20)
	var out bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: tty, getenv: func(string) string { return "" }}
	if code := run([]string{"shred", "--settle", "0", filepath.Join(dir, "small.tar")}, a); code != 0 {
		t.Fatalf("small file: exit %d\n%s", code, out.String())
	}
	bigFile(t, filepath.Join(dir, "big.tar"), 32<<20)
	if code := run([]string{"shred", "--settle", "0", filepath.Join(dir, "big.tar")}, a); code != 0 {
		t.Fatalf("big file: exit %d\n%s", code, out.String())
	}
	tty.Close()
	<-copied
	s := got.String()
	if !strings.Contains(s, "shred big.tar [") || !strings.Contains(s, "100%") {
		t.Fatalf("no progress bar on the terminal: %q", s)
	}
	if strings.Contains(s, "small.tar") {
		t.Fatalf("a bar for a small file: %q", s)
	}
	if strings.Contains(out.String(), "\r") {
		t.Fatal("progress reached stdout")
	}
}

// openPTY opens a pseudo-terminal pair: the controller and the terminal.
func openPTY(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("skipped: no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ptmx, tty
}
