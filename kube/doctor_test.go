package kube

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func checkMap(cs []Check) map[string]Check {
	m := map[string]Check{}
	for _, c := range cs {
		m[c.Name] = c
	}
	return m
}

func wantCheck(t *testing.T, cs map[string]Check, name string, st Status, texts ...string) {
	t.Helper()
	c, ok := cs[name]
	if !ok {
		t.Fatalf("no check %s", name)
	}
	if c.Status != st {
		t.Errorf("%s: %s (%s), want %s", name, c.Status, c.Detail, st)
	}
	for _, s := range texts {
		if !strings.Contains(c.Detail+" "+c.Fix, s) {
			t.Errorf("%s: %q does not contain %q", name, c.Detail+" fix: "+c.Fix, s)
		}
	}
}

func write(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// fakeProc makes a /proc with one process per command line.
func fakeProc(t *testing.T, cmdlines ...[]string) string {
	dir := t.TempDir()
	for i, argv := range cmdlines {
		write(t, filepath.Join(dir, "1"+string(rune('0'+i)), "cmdline"), strings.Join(argv, "\x00")+"\x00", 0o444)
	}
	write(t, filepath.Join(dir, "self", "cmdline"), "x\x00", 0o444) // not a pid: ignored
	return dir
}

func TestNodeDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: checking owners needs root to chown files")
	}
	root := t.TempDir()
	dir := filepath.Join(root, "kubelet", "checkpoints")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	old := filepath.Join(dir, "checkpoint-web_default-app-2026-12-06T11:00:00Z.tar")
	write(t, old, "old plaintext", 0o600)
	os.Chtimes(old, now.Add(-time.Hour), now.Add(-time.Hour))
	fresh := filepath.Join(dir, "checkpoint-web_default-app-2026-12-06T11:59:00Z.tar")
	write(t, fresh, "fresh", 0o644)
	os.Chtimes(fresh, now.Add(-time.Minute), now.Add(-time.Minute))
	sealed := filepath.Join(dir, "checkpoint-db_prod-pg-2026-12-06T10:00:00Z.tar")
	write(t, sealed, "sealed but kept", 0o600)
	os.Chtimes(sealed, now.Add(-2*time.Hour), now.Add(-2*time.Hour))
	write(t, sealed+".age", "ciphertext", 0o600)
	write(t, sealed+".age.sha256", "sum", 0o600)
	if err := os.Chown(sealed+".age.sha256", 1000, 1000); err != nil {
		t.Fatal(err)
	}

	kcfg := filepath.Join(root, "kubelet-config.yaml")
	write(t, kcfg, `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
featureGates:
  ContainerCheckpoint: false
authentication:
  anonymous:
    enabled: true
authorization:
  mode: AlwaysAllow
`, 0o600)
	etc := t.TempDir()
	write(t, filepath.Join(etc, "crio", "crio.conf"), "[crio.runtime]\nenable_criu_support = true\n", 0o644)
	write(t, filepath.Join(etc, "crio", "crio.conf.d", "20-off.conf"), "[crio.runtime]\nenable_criu_support = false\n", 0o644)
	// The kubelet's --root-dir and --config come from its command line.
	proc := fakeProc(t,
		[]string{"/usr/bin/kubelet", "--root-dir=" + filepath.Join(root, "kubelet"), "--config", kcfg},
		[]string{"/usr/local/bin/ckpt", "agent", "--dir", dir})
	cs := checkMap(Node(NodeOptions{Proc: proc, Etc: etc, Now: func() time.Time { return now }}))

	wantCheck(t, cs, "checkpoint-dir", Fail, dir, "mode 0755", "chmod 0700")
	wantCheck(t, cs, "file-modes", Fail, "2 of 5 files", "11:59:00Z.tar (0644)", ".age.sha256 (uid 1000)")
	wantCheck(t, cs, "plaintext-age", Fail, "1 archives", "11:00:00Z.tar (1h0m0s old)")
	wantCheck(t, cs, "kubelet-checkpoint-gate", Fail, kcfg, "ContainerCheckpoint is false")
	wantCheck(t, cs, "kubelet-anonymous-auth", Fail, "set authentication.anonymous.enabled: false")
	wantCheck(t, cs, "kubelet-authorization", Fail, "AlwaysAllow", "Webhook")
	wantCheck(t, cs, "runtime-criu", Fail, "enable_criu_support = false", "20-off.conf")
	wantCheck(t, cs, "agent", Pass, "ckpt agent --dir")
	if _, ok := cs["storage"]; !ok {
		t.Error("no storage check")
	}

	// Fixed: everything root-only, old plaintext gone, a good config.
	os.Chmod(dir, 0o700)
	os.Chmod(fresh, 0o600)
	os.Chown(sealed+".age.sha256", 0, 0)
	os.Remove(old)
	os.Remove(sealed)
	write(t, kcfg, "featureGates: {ContainerCheckpoint: true}\nauthentication: {anonymous: {enabled: false}}\nauthorization: {mode: Webhook}\n", 0o600)
	os.Remove(filepath.Join(etc, "crio", "crio.conf.d", "20-off.conf"))
	cs = checkMap(Node(NodeOptions{Proc: proc, Etc: etc, Now: func() time.Time { return now }, MaxPlaintextAge: 5 * time.Minute}))
	for _, name := range []string{"checkpoint-dir", "file-modes", "plaintext-age", "kubelet-checkpoint-gate", "kubelet-anonymous-auth", "kubelet-authorization", "runtime-criu"} {
		wantCheck(t, cs, name, Pass)
	}

	// No kubelet and no agent running: the default directory, and a warning.
	cs = checkMap(Node(NodeOptions{Proc: fakeProc(t), Etc: t.TempDir(), KubeletConfig: kcfg}))
	wantCheck(t, cs, "checkpoint-dir", cs["checkpoint-dir"].Status, "/var/lib/kubelet/checkpoints")
	wantCheck(t, cs, "agent", Warn, "ckpt checkpoint --seal")
	wantCheck(t, cs, "runtime-criu", Warn)
}

func TestNodeKubeletConfigUnreadable(t *testing.T) {
	cs := checkMap(Node(NodeOptions{Dir: t.TempDir(), Proc: fakeProc(t), Etc: t.TempDir(), KubeletConfig: "/nonexistent/config.yaml"}))
	wantCheck(t, cs, "kubelet-authorization", Warn, "not readable")
	wantCheck(t, cs, "kubelet-checkpoint-gate", Warn)
}

// The storage checks on real filesystems: loop-mounted ext4 and btrfs,
// and ext4 on dm-crypt. They need root, the mkfs tools, loop devices and
// (for dm-crypt) cryptsetup and device-mapper, and skip with the reason
// when one is missing.

func need(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting filesystems needs root")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipped: %s is not installed; .ci/run installs it", tool)
		}
	}
}

func sh(t *testing.T, args ...string) (string, error) {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// loopDevice attaches a new sparse file of size MiB to a loop device.
func loopDevice(t *testing.T, mib int64) string {
	f := filepath.Join(t.TempDir(), "disk.img")
	fh, err := os.Create(f)
	if err != nil {
		t.Fatal(err)
	}
	fh.Truncate(mib << 20)
	fh.Close()
	dev, err := sh(t, "losetup", "--find", "--show", f)
	if err != nil {
		t.Skipf("skipped: no loop device: %v: %s", err, dev)
	}
	t.Cleanup(func() { sh(t, "losetup", "-d", dev) })
	return dev
}

// mountFS makes fstype on dev and mounts it; returns the mount point.
func mountFS(t *testing.T, dev, fstype string) string {
	mkfs := map[string][]string{"ext4": {"mkfs.ext4", "-q", "-F"}, "btrfs": {"mkfs.btrfs", "-q", "-f"}}[fstype]
	if out, err := sh(t, append(mkfs, dev)...); err != nil {
		t.Skipf("skipped: %s failed: %v: %s", mkfs[0], err, out)
	}
	mnt := t.TempDir()
	if out, err := sh(t, "mount", "-t", fstype, dev, mnt); err != nil {
		t.Skipf("skipped: mounting %s failed: %v: %s", fstype, err, out)
	}
	t.Cleanup(func() { sh(t, "umount", mnt) })
	return mnt
}

func storageChecks(t *testing.T, mnt string) map[string]Check {
	dir := filepath.Join(mnt, "checkpoints")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return checkMap(Node(NodeOptions{Dir: dir, Proc: fakeProc(t), Etc: t.TempDir(), KubeletConfig: "/nonexistent"}))
}

func TestNodeStorageExt4(t *testing.T) {
	need(t, "mkfs.ext4", "losetup", "mount")
	cs := storageChecks(t, mountFS(t, loopDevice(t, 64), "ext4"))
	// The empty directory is assessed through a probe file, removed after.
	if c := cs["storage"]; !strings.Contains(c.Detail, "ext4 on loop") {
		t.Errorf("storage: %+v", c)
	}
	wantCheck(t, cs, "encryption-at-rest", Warn, "no dm-crypt/LUKS", "LUKS")
}

func TestNodeStorageBtrfs(t *testing.T) {
	need(t, "mkfs.btrfs", "losetup", "mount")
	mnt := mountFS(t, loopDevice(t, 128), "btrfs")
	write(t, filepath.Join(mnt, "checkpoints", "checkpoint-a_b-c-2026-12-06T00:00:00Z.tar"), "plaintext", 0o600)
	cs := checkMap(Node(NodeOptions{Dir: filepath.Join(mnt, "checkpoints"), Proc: fakeProc(t), Etc: t.TempDir(), KubeletConfig: "/nonexistent"}))
	// Copy-on-write: shredding is best effort, so seal on arrival.
	wantCheck(t, cs, "storage", Warn, "btrfs", "best effort", "seal archives on arrival")
	wantCheck(t, cs, "encryption-at-rest", Warn)
}

func TestNodeStorageDmCrypt(t *testing.T) {
	need(t, "cryptsetup", "mkfs.ext4", "losetup", "mount")
	dev := loopDevice(t, 64)
	key := filepath.Join(t.TempDir(), "key")
	write(t, key, "a test key, not a secret", 0o600)
	if out, err := sh(t, "cryptsetup", "luksFormat", "-q", "--type", "luks2", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--key-file", key, dev); err != nil {
		t.Skipf("skipped: cryptsetup luksFormat failed: %v: %s", err, out)
	}
	name := "ckpt-doctor-test-" + filepath.Base(dev)
	if out, err := sh(t, "cryptsetup", "open", "--key-file", key, dev, name); err != nil {
		t.Skipf("skipped: cryptsetup open failed (no device-mapper here?): %v: %s", err, out)
	}
	t.Cleanup(func() { sh(t, "cryptsetup", "close", name) })
	cs := storageChecks(t, mountFS(t, "/dev/mapper/"+name, "ext4"))
	wantCheck(t, cs, "encryption-at-rest", Pass, "dm-crypt")
}
