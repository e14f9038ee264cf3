package shred

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// These tests mount real filesystems on loop devices: they need root,
// the mkfs tool and kernel support, and skip with the reason when one is
// missing. CI (.ci/run) runs as root with e2fsprogs, xfsprogs and
// btrfs-progs installed.

// image is a filesystem in a file, mounted through a loop device.
type image struct {
	t        *testing.T
	file     string // the image file
	dev      string // /dev/loopN
	mnt      string // where it is mounted
	detached bool
}

// mountImage makes a filesystem of sizeMiB with mkfs in a sparse file and
// mounts it with options (may be "").
func mountImage(t *testing.T, fstype string, sizeMiB int64, mkfs []string, options string) *image {
	t.Helper()
	needRoot(t, "mounting a "+fstype+" loop image")
	for _, tool := range []string{mkfs[0], "losetup", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipped: %s is not installed (%v); .ci/run installs it", tool, err)
		}
	}
	dir := t.TempDir()
	im := &image{t: t, file: filepath.Join(dir, fstype+".img"), mnt: filepath.Join(dir, "mnt")}
	if err := os.Mkdir(im.mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(im.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(sizeMiB << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	run(t, append(mkfs, im.file)...)
	out, err := exec.Command("losetup", "--find", "--show", im.file).CombinedOutput()
	if err != nil {
		t.Skipf("skipped: no loop device: %v: %s", err, out)
	}
	im.dev = strings.TrimSpace(string(out))
	t.Cleanup(im.detach)
	args := []string{"-t", fstype}
	if options != "" {
		args = append(args, "-o", options)
	}
	if out, err := exec.Command("mount", append(args, im.dev, im.mnt)...).CombinedOutput(); err != nil {
		if strings.Contains(string(out), "unknown filesystem type") {
			t.Skipf("skipped: the kernel does not support %s: %s", fstype, out)
		}
		t.Fatalf("mount %s: %v: %s", fstype, err, out)
	}
	return im
}

// detach unmounts and frees the loop device, so the image file holds
// everything the filesystem wrote.
func (im *image) detach() {
	if im.detached {
		return
	}
	im.detached = true
	if out, err := exec.Command("umount", im.mnt).CombinedOutput(); err != nil {
		im.t.Errorf("umount %s: %v: %s", im.mnt, err, out)
	}
	if out, err := exec.Command("losetup", "-d", im.dev).CombinedOutput(); err != nil {
		im.t.Errorf("losetup -d %s: %v: %s", im.dev, err, out)
	}
}

// bytes reads the whole image file.
func (im *image) bytes() []byte {
	b, err := os.ReadFile(im.file)
	if err != nil {
		im.t.Fatal(err)
	}
	return b
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// at returns the image bytes an extent occupies.
func at(img []byte, e extent) []byte {
	return img[e.Physical : e.Physical+e.Length]
}

// TestExt4BytesAreGone is the proof: a file's blocks, located with FIEMAP,
// hold the pattern before the shred and do not after, read from the image
// file once the filesystem is unmounted.
func TestExt4BytesAreGone(t *testing.T) {
	for _, keep := range []bool{false, true} {
		name := "remove"
		if keep {
			name = "keep"
		}
		t.Run(name, func(t *testing.T) {
			im := mountImage(t, "ext4", 64, []string{"mkfs.ext4", "-q", "-F", "-b", "4096"}, "")
			p := filepath.Join(im.mnt, "checkpoint.tar")
			data, marker := secretAt(t, p, 3<<20+123)
			es := extentsOf(t, p)
			img := im.bytes()
			var held int
			for _, e := range es {
				held += bytes.Count(at(img, e), marker)
			}
			if want := (len(data) + 63) / 64; held != want {
				t.Fatalf("control: the extents FIEMAP reported hold %d lines of the pattern, want %d", held, want)
			}

			r, err := File(context.Background(), p, Options{Settle: -1, Keep: keep})
			if err != nil {
				t.Fatal(err)
			}
			if r.Filesystem != "ext4" || !hasFinding(r, "in-place", Overwritten) || !strings.HasPrefix(r.Device, "loop") {
				t.Errorf("assessment %+v", r)
			}
			if keep {
				got, err := os.ReadFile(p)
				if err != nil || len(got) != len(data) || bytes.Contains(got, marker) {
					t.Fatalf("kept file: %d bytes, %v, pattern present: %v", len(got), err, bytes.Contains(got, marker))
				}
				if after := extentsOf(t, p); len(after) != len(es) || after[0].Physical != es[0].Physical {
					t.Fatalf("ext4 moved the file: %+v -> %+v", es, after)
				}
			} else if n := names(t, im.mnt); len(n) != 1 || n[0] != "lost+found" {
				t.Fatalf("directory lists %q", n)
			}
			im.detach()
			img = im.bytes()
			for _, e := range es {
				if bytes.Contains(at(img, e), marker) {
					t.Fatalf("the pattern is still in the extent at byte %d of the image", e.Physical)
				}
			}
			if i := bytes.Index(img, marker); i >= 0 {
				t.Fatalf("the pattern is still in the image at byte %d", i)
			}
		})
	}
}

// TestExt4DataJournalIsBestEffort: with data=journal the journal keeps
// copies of file data, so ckpt must not claim an effective overwrite.
func TestExt4DataJournalIsBestEffort(t *testing.T) {
	im := mountImage(t, "ext4", 64, []string{"mkfs.ext4", "-q", "-F"}, "data=journal")
	p := filepath.Join(im.mnt, "f")
	_, marker := secretAt(t, p, 256<<10)
	r, err := File(context.Background(), p, quick())
	if err != nil {
		t.Fatal(err)
	}
	if r.Assurance != BestEffort || !hasFinding(r, "data-journal", BestEffort) || !strings.Contains(strings.Join(r.Reasons, " "), "data=journal") {
		t.Fatalf("data=journal: %+v", r)
	}
	im.detach()
	if i := bytes.Index(im.bytes(), marker); i >= 0 {
		t.Logf("as reported: the pattern survives in the image at byte %d (the journal)", i)
	}
}

func TestExt4JournalDataAttribute(t *testing.T) {
	im := mountImage(t, "ext4", 64, []string{"mkfs.ext4", "-q", "-F"}, "")
	p := filepath.Join(im.mnt, "f")
	secretAt(t, p, 8192)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err == nil {
		err = unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags|flagJournalData))
	}
	f.Close()
	if errors.Is(err, unix.EPERM) {
		t.Skip("skipped: chattr +j needs CAP_SYS_RESOURCE, which this process lacks")
	}
	if err != nil {
		t.Fatalf("chattr +j: %v", err)
	}
	a, err := Assess(p)
	if err != nil {
		t.Fatal(err)
	}
	if a.Assurance != BestEffort || !strings.Contains(strings.Join(a.Reasons(), " "), "chattr +j") {
		t.Fatalf("+j file: %+v", a)
	}
}

// TestExt4DiscardTrimsTheBlocks: a loop device turns discards into holes
// in its image file, so after --discard the file's extents read as zeros.
func TestExt4DiscardTrimsTheBlocks(t *testing.T) {
	im := mountImage(t, "ext4", 64, []string{"mkfs.ext4", "-q", "-F", "-E", "nodiscard"}, "")
	p := filepath.Join(im.mnt, "f")
	data, _ := secretAt(t, p, 1<<20)
	es := extentsOf(t, p)
	r, err := File(context.Background(), p, Options{Settle: -1, Discard: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Discarded < int64(len(data)) || len(r.Warnings) != 0 {
		t.Fatalf("discarded %d bytes, warnings %q", r.Discarded, r.Warnings)
	}
	im.detach()
	img := im.bytes()
	for _, e := range es {
		if b := at(img, e); !bytes.Equal(b, make([]byte, len(b))) {
			t.Fatalf("extent at byte %d was not trimmed", e.Physical)
		}
	}
}

func TestXFSReflinkIsBestEffort(t *testing.T) {
	im := mountImage(t, "xfs", 320, []string{"mkfs.xfs", "-q", "-f", "-m", "reflink=1"}, "")
	plain := filepath.Join(im.mnt, "plain")
	_, plainMarker := secretAt(t, plain, 1<<20)
	r, err := File(context.Background(), plain, quick())
	if err != nil {
		t.Fatal(err)
	}
	if r.Filesystem != "xfs" || !hasFinding(r, "in-place", Overwritten) || hasFinding(r, "shared-extents", BestEffort) {
		t.Fatalf("unshared xfs file: %+v", r)
	}
	data, marker := secret(1 << 20)

	orig, clone := filepath.Join(im.mnt, "orig"), filepath.Join(im.mnt, "clone")
	writeSecret(t, orig, data)
	src, err := os.Open(orig)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.Create(clone)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlFileClone(int(dst.Fd()), int(src.Fd())); err != nil {
		t.Fatalf("FICLONE: %v", err)
	}
	src.Close()
	dst.Close()
	r, err = File(context.Background(), orig, quick())
	if err != nil {
		t.Fatal(err)
	}
	if r.Assurance != BestEffort || !hasFinding(r, "shared-extents", BestEffort) {
		t.Fatalf("reflinked file: %+v", r)
	}
	// What the reason says is true: the clone still holds the data.
	if got, _ := os.ReadFile(clone); !bytes.Contains(got, marker) {
		t.Fatal("the clone lost the data: the reason would be wrong")
	}
	im.detach()
	if i := bytes.Index(im.bytes(), plainMarker); i >= 0 {
		t.Fatalf("the unshared file's pattern survived an overwrite reported as in place, at byte %d", i)
	}
}

func TestBtrfs(t *testing.T) {
	im := mountImage(t, "btrfs", 256, []string{"mkfs.btrfs", "-q", "-f"}, "")
	ctx := context.Background()

	cow := filepath.Join(im.mnt, "cow")
	_, cowMarker := secretAt(t, cow, 1<<20)
	r, err := File(ctx, cow, quick())
	if err != nil {
		t.Fatal(err)
	}
	if r.Assurance != BestEffort || !hasFinding(r, "copy-on-write", BestEffort) {
		t.Fatalf("btrfs file: %+v", r)
	}

	// NOCOW must be set while the file is empty.
	nocow := filepath.Join(im.mnt, "nocow")
	f, err := os.OpenFile(nocow, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, flagNoCOW); err != nil {
		t.Fatalf("chattr +C: %v", err)
	}
	f.Close()
	os.Remove(nocow + ".tmp")
	ncData, ncMarker := secret(1 << 20)
	if err := os.WriteFile(nocow, ncData, 0o600); err != nil {
		t.Fatal(err)
	}
	unix.Sync()
	r, err = File(ctx, nocow, quick())
	if err != nil {
		t.Fatal(err)
	}
	if !hasFinding(r, "nocow", Overwritten) || hasFinding(r, "copy-on-write", BestEffort) {
		t.Fatalf("NOCOW file: %+v", r)
	}

	small := filepath.Join(im.mnt, "small")
	writeSecret(t, small, []byte("token=0123456789abcdef\n"))
	a, err := Assess(small)
	if err != nil {
		t.Fatal(err)
	}
	if !hasFinding(Result{Findings: a.Findings}, "inline-data", BestEffort) {
		t.Fatalf("small btrfs file: %+v", a)
	}

	if _, err := exec.LookPath("btrfs"); err == nil {
		run(t, "btrfs", "-q", "subvolume", "create", filepath.Join(im.mnt, "sv"))
		inSV := filepath.Join(im.mnt, "sv", "f")
		secretAt(t, inSV, 1<<20)
		run(t, "btrfs", "-q", "subvolume", "snapshot", filepath.Join(im.mnt, "sv"), filepath.Join(im.mnt, "snap"))
		r, err := File(ctx, inSV, Options{Settle: -1, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if !hasFinding(r, "shared-extents", BestEffort) {
			t.Fatalf("file in a snapshotted subvolume: %+v", r)
		}
	} else {
		t.Log("btrfs tool missing: snapshot case not run")
	}

	im.detach()
	img := im.bytes()
	if bytes.Contains(img, ncMarker) {
		t.Fatal("the NOCOW file's pattern survived an overwrite reported as in place")
	}
	if i := bytes.Index(img, cowMarker); i >= 0 {
		t.Logf("as reported: the copy-on-write file's pattern survives at byte %d of the image", i)
	}
}

func TestOverlayIsRefused(t *testing.T) {
	needRoot(t, "mounting overlayfs")
	dir := t.TempDir()
	lower, upper, work, merged := filepath.Join(dir, "lower"), filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "merged")
	for _, d := range []string{lower, upper, work, merged} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	data, marker := secret(100000)
	writeSecret(t, filepath.Join(lower, "ckpt.tar"), data)
	if out, err := exec.Command("mount", "-t", "overlay", "overlay", "-o", "lowerdir="+lower+",upperdir="+upper+",workdir="+work, merged).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot mount overlayfs: %v: %s", err, out)
	}
	defer exec.Command("umount", merged).Run()
	p := filepath.Join(merged, "ckpt.tar")

	r, err := File(context.Background(), p, quick())
	if !errors.Is(err, ErrRefused) || r.Filesystem != "overlay" || !hasFinding(r, "overlay", Refused) {
		t.Fatalf("overlay: %+v, %v", r, err)
	}
	if why := strings.Join(r.Reasons, " "); !strings.Contains(why, "lower: "+filepath.Join(lower, "ckpt.tar")) {
		t.Fatalf("refusal does not name the host path: %q", why)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, data) {
		t.Fatal("the refused file changed")
	}
	if n := names(t, upper); len(n) != 0 {
		t.Fatalf("the refusal copied the file up: %q", n)
	}

	r, err = File(context.Background(), p, Options{Settle: -1, Force: true})
	if err != nil || r.Assurance != BestEffort || !hasFinding(r, "overlay", BestEffort) {
		t.Fatalf("forced: %+v, %v", r, err)
	}
	mustNotExist(t, p)
	// What the reason says is true: the lower layer keeps the original.
	if got, _ := os.ReadFile(filepath.Join(lower, "ckpt.tar")); !bytes.Contains(got, marker) {
		t.Fatal("the lower layer lost the data: the reason would be wrong")
	}
}

func TestTmpfsIsDetected(t *testing.T) {
	needRoot(t, "mounting tmpfs")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot mount tmpfs: %v: %s", err, out)
	}
	defer exec.Command("umount", dir).Run()
	p := filepath.Join(dir, "f")
	secretAt(t, p, 10000)
	r, err := File(context.Background(), p, quick())
	if err != nil {
		t.Fatal(err)
	}
	if r.Filesystem != "tmpfs" || r.MountPoint != dir || r.Device != "" || !hasFinding(r, "memory", r.Assurance) || len(r.Findings) != 2 || r.Findings[1].Code != "swap" {
		t.Fatalf("tmpfs: %+v", r)
	}
	mustNotExist(t, p)
}
