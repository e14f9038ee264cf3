package main

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSealForceKeepsOldSetOnFullDisk: `seal --force` over an existing
// sealed set on a full filesystem fails, and the old set is still there,
// complete: it verifies and opens. The filesystem is a tmpfs with room for
// the old set and one more file (nr_inodes), so that a new .age fits but
// its sidecars do not: before, the new .age replaced the old one before the
// sidecars were written, and the old set was lost. It needs root to mount.
func TestSealForceKeepsOldSetOnFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	ckpt, work, key, id := keyedBinary(t)
	dir := filepath.Join(work, "small")
	os.Mkdir(dir, 0o700)
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=4m,nr_inodes=5"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)

	small, big := filepath.Join(work, "small.tar"), filepath.Join(work, "big.tar")
	for p, n := range map[string]int{small: 300 << 10, big: 800 << 10} {
		b := make([]byte, n)
		rand.Read(b)
		os.WriteFile(p, b, 0o600)
	}
	sealed := filepath.Join(dir, "x.tar.age")
	sealTo(t, ckpt, id, small, "-o", sealed)
	out, err := exec.Command(ckpt, "seal", "--force", big, "-r", id.Recipient().String(), "-o", sealed).CombinedOutput()
	if err == nil {
		t.Fatalf("seal --force on a full filesystem succeeded:\n%s", out)
	}
	t.Logf("seal --force: %v: %s", err, out)
	if out, err := exec.Command(ckpt, "verify", sealed).CombinedOutput(); err != nil {
		t.Fatalf("the old set no longer verifies: %v\n%s", err, out)
	}
	plain := filepath.Join(work, "out.tar")
	if out, err := exec.Command(ckpt, "open", sealed, "-i", key, "-o", plain).CombinedOutput(); err != nil {
		t.Fatalf("the old set no longer opens: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(plain)
	want, _ := os.ReadFile(small)
	if string(got) != string(want) {
		t.Fatal("the old set opens to something else")
	}
	assertNoStrayFiles(t, dir, "x.tar.age", "x.tar.age.sha256", "x.tar.age.json")
}
