package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestFIFOs: a FIFO (rsync -a copies them) where a sealed file, a sidecar
// or an archive is expected fails at once with a clear error, instead of
// blocking in open(2) beyond any signal; a device is refused; and a command
// blocked reading a FIFO whose writer never writes still stops on SIGTERM.
func TestFIFOs(t *testing.T) {
	ckpt, work, key, id := keyedBinary(t)
	src := sealArchive(t, ckpt, id, work, 0, 1).path

	run := func(name string, wantCode int, wantErr string, args ...string) {
		t.Helper()
		cmd := exec.Command(ckpt, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitOrKill(t, cmd)
		if code := cmd.ProcessState.ExitCode(); code != wantCode || !strings.Contains(stderr.String(), wantErr) {
			t.Errorf("%s: exit %d, want %d; stderr %q, want %q", name, code, wantCode, stderr.String(), wantErr)
		}
	}

	// A FIFO in place of each file of the sealed set.
	for _, suffix := range []string{".age", ".age.sha256", ".age.json"} {
		dir := filepath.Join(work, "set"+suffix)
		os.Mkdir(dir, 0o700)
		for _, s := range []string{".age", ".age.sha256", ".age.json"} {
			copyFile(t, src+s, filepath.Join(dir, "x.tar"+s))
		}
		fifo := filepath.Join(dir, "x.tar"+suffix)
		os.Remove(fifo)
		if err := unix.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		sealed := filepath.Join(dir, "x.tar.age")
		run("verify with a FIFO "+suffix, exitFailure, "not a regular file (a FIFO)", "verify", sealed)
		run("verify --deep with a FIFO "+suffix, exitFailure, "not a regular file (a FIFO)", "verify", "--deep", sealed, "-i", key)
		run("open with a FIFO "+suffix, exitFailure, "not a regular file (a FIFO)", "open", sealed, "-i", key, "-o", filepath.Join(dir, "out.tar"))
		run("open -o - with a FIFO "+suffix, exitFailure, "not a regular file (a FIFO)", "open", sealed, "-i", key, "-o", "-")
		assertNoStrayFiles(t, dir, "x.tar.age", "x.tar.age.sha256", "x.tar.age.json")
	}
	// A signature sidecar that is a FIFO.
	dir := filepath.Join(work, "sig")
	os.Mkdir(dir, 0o700)
	for _, s := range []string{".age", ".age.sha256", ".age.json"} {
		copyFile(t, src+s, filepath.Join(dir, "x.tar"+s))
	}
	unix.Mkfifo(filepath.Join(dir, "x.tar.age.json.sig"), 0o600)
	run("verify with a FIFO signature", exitFailure, "not a regular file (a FIFO)", "verify", filepath.Join(dir, "x.tar.age"))

	// Sealing a FIFO, and inspecting one with no writer or a device.
	fifo := filepath.Join(work, "fifo.tar")
	unix.Mkfifo(fifo, 0o600)
	run("seal a FIFO", exitFailure, "not a regular file (a FIFO)", "seal", fifo, "-r", id.Recipient().String())
	run("inspect a FIFO without a writer", exitFailure, "fifo.tar", "inspect", fifo)
	run("inspect /dev/zero", exitFailure, "not a regular file (a character device)", "inspect", "/dev/zero")

	// A FIFO whose writer never writes: inspect blocks reading, and
	// SIGTERM still ends it.
	cmd := exec.Command(ckpt, "inspect", fifo)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // blocks until ckpt opened it
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	waitOrKill(t, cmd)
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("inspect of a silent FIFO after SIGTERM: exit %d, want %d", code, exitInterrupted)
	}
	if d := time.Since(start); d > stopGrace+2*time.Second {
		t.Errorf("took %v to stop", d)
	}
}
