package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// loopFS mounts a fresh ext4 filesystem of size bytes and returns its
// mount point, or skips the test saying why it cannot.
func loopFS(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a loop filesystem")
	}
	root := t.TempDir()
	img := filepath.Join(root, "disk.img")
	f, err := os.Create(img)
	must(t, err)
	must(t, f.Truncate(size))
	f.Close()
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-m", "0", img).CombinedOutput(); err != nil {
		t.Skipf("mkfs.ext4: %v %s", err, out)
	}
	mnt := filepath.Join(root, "mnt")
	must(t, os.Mkdir(mnt, 0o700))
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a loop filesystem here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	return mnt
}

func freeBytes(t *testing.T, dir string) int64 {
	var st syscall.Statfs_t
	must(t, syscall.Statfs(dir, &st))
	return int64(st.Bavail) * st.Bsize
}

// On a full disk the seal fails: the plaintext stays intact, nothing half
// written is left, the failure is counted and retried, and once space is
// freed the archive is sealed without a restart.
func TestAgentFullDisk(t *testing.T) {
	mnt := loopFS(t, 24<<20)
	e := newEnvAt(t, t.TempDir(), filepath.Join(mnt, "checkpoints"), "")
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	name, data := e.writeSettled("ns", "big-0", "app", at, 7, 4<<20)
	path := filepath.Join(e.dir, name)
	// Leave less room than the sealed copy needs.
	filler := filepath.Join(mnt, "filler")
	must(t, os.WriteFile(filler, make([]byte, freeBytes(t, mnt)-int64(len(data))/2), 0o600))

	code, log := e.once()
	if code != 52 || !strings.Contains(log, "no space left on device") {
		t.Fatalf("--once on a full disk: exit %d\n%s", code, log)
	}
	if sum256(mustRead(t, path)) != sum256(data) {
		t.Fatal("plaintext changed by a failed seal")
	}
	if got := listDir(t, e.dir); len(got) != 1 {
		t.Fatalf("a failed seal left files: %v", got)
	}

	addr := freePort(t)
	e.writeConfig("metrics_addr: " + addr + "\n")
	p := e.start()
	defer p.cmd.Process.Kill()
	waitFor(t, 20*time.Second, "a counted seal failure", func() bool {
		return metricAtLeast(httpGetQuiet("http://"+addr+"/metrics"), `ckpt_agent_failures_total{reason="seal"}`, 1)
	})
	if !httpOK("http://" + addr + "/healthz") {
		t.Fatal("agent not healthy while the disk is full")
	}
	must(t, os.Remove(filler))
	waitFor(t, 30*time.Second, "sealed once space was freed", func() bool { return !exists(path) })
	e.checkSealedWithStockTools(name, sum256(data))
	p.stop(t)
}

// A read-only output directory: the plaintext stays, the run fails with
// exit 52, nothing is written.
func TestAgentReadOnlyOutput(t *testing.T) {
	mnt := loopFS(t, 8<<20)
	e := newEnv(t, "")
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
		t.Skipf("remount read-only: %v %s", err, out)
	}
	e.writeConfig("  output_dir: " + mnt + "\n")
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	name, data := e.writeSettled("ns", "p", "c", at, 8, 32<<10)
	path := filepath.Join(e.dir, name)
	code, log := e.once()
	if code != 52 || !strings.Contains(log, "read-only file system") {
		t.Fatalf("--once with a read-only output_dir: exit %d\n%s", code, log)
	}
	if sum256(mustRead(t, path)) != sum256(data) {
		t.Fatal("plaintext changed")
	}
}
