package shred

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// permissionHelperEnv makes the test binary, run as another user by
// TestPermissionRefusedBeforeWriting, shred one path and print the result.
const permissionHelperEnv = "CKPT_SHRED_PERMISSION_HELPER"

func TestMain(m *testing.M) {
	if p := os.Getenv(permissionHelperEnv); p != "" {
		r, err := File(context.Background(), p, Options{Settle: -1})
		fmt.Printf("%s|%v|%s\n", r.Status, errors.Is(err, ErrRefused), strings.Join(r.Reasons, "; "))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestPermissionRefusedBeforeWriting: a file this user may overwrite but
// not remove is refused before anything is written, not left overwritten
// under its name.
func TestPermissionRefusedBeforeWriting(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} { // another user must reach the file
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(base, "ro-dir")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "f")
	data, _ := secretAt(t, p, 4096)
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}

	var status, refused, why string
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o755)
		r, err := File(context.Background(), p, quick())
		status, refused, why = string(r.Status), fmt.Sprint(errors.Is(err, ErrRefused)), strings.Join(r.Reasons, "; ")
	} else {
		// Root may write anything: run this test binary as nobody.
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(base, "shred.test")
		b, err := os.ReadFile(self)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), permissionHelperEnv+"="+p)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Skipf("skipped: cannot run as nobody: %v: %s", err, out)
		}
		parts := strings.SplitN(strings.TrimSpace(string(out)), "|", 3)
		if len(parts) != 3 {
			t.Fatalf("helper said %q", out)
		}
		status, refused, why = parts[0], parts[1], parts[2]
	}
	if status != string(StatusRefused) || refused != "true" || !strings.Contains(why, "may not remove it: its directory is not writable") {
		t.Fatalf("status %s, refused %s, reasons %q", status, refused, why)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, data) {
		t.Fatal("the file was overwritten although it could not be removed")
	}
}
