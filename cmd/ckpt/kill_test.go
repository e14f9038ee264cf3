package main

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKillLeavesNothing: a signal (even SIGKILL) while open or seal writes
// its output leaves no file in the output directory: neither plaintext nor a
// partial sealed set. SIGINT/SIGTERM exit 130, SIGHUP 129. A later run
// removes the temporary files of killed writers (on filesystems without
// O_TMPFILE they are named).
func TestKillLeavesNothing(t *testing.T) {
	ckpt, work, key, id := keyedBinary(t)
	src := filepath.Join(work, "src")
	os.Mkdir(src, 0o700)
	plain := filepath.Join(src, "x.tar")
	buf := make([]byte, 128<<20)
	rand.Read(buf)
	if err := os.WriteFile(plain, buf, 0o600); err != nil {
		t.Fatal(err)
	}
	buf = nil
	sealTo(t, ckpt, id, plain)

	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
		for _, verb := range []string{"open", "seal"} {
			out := filepath.Join(work, verb+"-"+strconv.Itoa(int(sig)))
			os.Mkdir(out, 0o700)
			var args []string
			switch verb {
			case "open":
				args = []string{"open", plain + ".age", "-i", key, "-o", filepath.Join(out, "x.tar")}
			case "seal":
				args = []string{"seal", plain, "-r", id.Recipient().String(), "-o", filepath.Join(out, "x.tar.age")}
			}
			cmd := exec.Command(ckpt, args...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if !waitForOutputFd(cmd.Process.Pid, out) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("%s: never opened a file in %s", verb, out)
			}
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			want := map[syscall.Signal]int{syscall.SIGKILL: -1, syscall.SIGTERM: exitInterrupted, syscall.SIGINT: exitInterrupted, syscall.SIGHUP: exitHangup}[sig]
			if code == 0 {
				t.Logf("%s %v: finished before the signal", verb, sig)
				continue
			}
			if code != want {
				t.Errorf("%s %v: exit %d (%v), want %d", verb, sig, code, err, want)
			}
			assertNoStrayFiles(t, out)
		}
	}

	// A temporary name left by a killed writer (where there is no
	// O_TMPFILE) is removed by the next run.
	out := filepath.Join(work, "stale")
	os.Mkdir(out, 0o700)
	dead := exec.Command("true")
	dead.Run()
	stale := filepath.Join(out, ".x.tar.tmp-"+strconv.Itoa(dead.Process.Pid)+"-0123456789ab")
	os.WriteFile(stale, []byte("plaintext"), 0o600)
	if msg, err := exec.Command(ckpt, "open", plain+".age", "-i", key, "-o", filepath.Join(out, "x.tar")).CombinedOutput(); err != nil {
		t.Fatalf("open: %v\n%s", err, msg)
	}
	assertNoStrayFiles(t, out, "x.tar")
}

// waitForOutputFd waits until process pid has a file of dir open (named,
// or unnamed: "/dir/#123 (deleted)").
func waitForOutputFd(pid int, dir string) bool {
	fds := "/proc/" + strconv.Itoa(pid) + "/fd"
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		ents, err := os.ReadDir(fds)
		if err != nil {
			return false
		}
		for _, e := range ents {
			if l, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && strings.HasPrefix(l, dir+"/") {
				return true
			}
		}
	}
	return false
}
