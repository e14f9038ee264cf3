package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ckpt-dev/ckpt/internal/hostile"
)

// TestExitCodeTable: each code means the same for every command that can
// meet its cause: a wrong key is 5 and damaged ciphertext 6 whether the
// sealed archive is inspected, scanned, diffed, listed, verified or opened;
// a limit reached is 11; a secret that cannot be asked for is 2. (That the
// README's table lists exactly the codes of exit.go is TestExitCodesDocumented.)
func TestExitCodeTable(t *testing.T) {
	ckpt, work, key, id := keyedBinary(t)
	wrong := filepath.Join(work, "wrong.txt")
	writeIdentity(t, wrong)
	x := sealArchive(t, ckpt, id, work, 0, 5)
	plain, sealed := x.path, x.sealed
	// Damaged: a byte of the first payload chunk (every reader needs it),
	// sidecars dropped.
	corrupt := filepath.Join(work, "corrupt.tar.age")
	b, _ := os.ReadFile(sealed)
	b[300] ^= 0xff
	os.WriteFile(corrupt, b, 0o600)
	// Over budget.
	big := filepath.Join(work, "big.tar.zst")
	f, _ := os.Create(big)
	if err := hostile.Write(f, hostile.Containers, 20000); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// A passphrase-sealed file, with no terminal to ask on.
	pass := filepath.Join(work, "pass.txt")
	os.WriteFile(pass, []byte("correct horse\n"), 0o600)
	passSealed := filepath.Join(work, "p.tar.age")
	if out, err := exec.Command(ckpt, "seal", plain, "-p", "--passphrase-file", pass, "-o", passSealed).CombinedOutput(); err != nil {
		t.Fatalf("seal -p: %v\n%s", err, out)
	}

	cases := []struct {
		code int
		args []string
	}{
		{exitDecrypt, []string{"inspect", sealed, "-i", wrong}},
		{exitDecrypt, []string{"scan", sealed, "-i", wrong}},
		{exitDecrypt, []string{"images", sealed, "-i", wrong}},
		{exitDecrypt, []string{"mem", "maps", sealed, "-i", wrong}},
		{exitDecrypt, []string{"diff", sealed, plain, "-i", wrong}},
		{exitDecrypt, []string{"verify", "--deep", sealed, "-i", wrong}},
		{exitDecrypt, []string{"open", sealed, "-i", wrong, "-o", filepath.Join(work, "o1.tar")}},
		{exitCorrupt, []string{"inspect", corrupt, "-i", key}},
		{exitCorrupt, []string{"scan", corrupt, "-i", key}},
		{exitCorrupt, []string{"images", corrupt, "-i", key}},
		{exitCorrupt, []string{"diff", corrupt, plain, "-i", key}},
		{exitCorrupt, []string{"open", "--no-verify", corrupt, "-i", key, "-o", filepath.Join(work, "o2.tar")}},
		{exitLimit, []string{"inspect", big}},
		{exitLimit, []string{"scan", big}},
		{exitLimit, []string{"images", big}},
		{exitUsage, []string{"open", passSealed, "-o", filepath.Join(work, "o3.tar")}},
		{exitUsage, []string{"inspect", passSealed}},
		{exitOK, []string{"open", passSealed, "--passphrase-file", pass, "-o", filepath.Join(work, "o4.tar")}},
		{exitUsage, []string{"inspect", "--no-such-flag", plain}},
	}
	for _, c := range cases {
		cmd := exec.Command(ckpt, c.args...)
		cmd.Stdin = bytes.NewReader(nil)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Run()
		if got := cmd.ProcessState.ExitCode(); got != c.code {
			t.Errorf("ckpt %v: exit %d, want %d: %s", c.args, got, c.code, stderr.String())
		}
	}
}
