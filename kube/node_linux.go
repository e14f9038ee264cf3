package kube

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// fsEncryptFlag is FS_ENCRYPT_FL (include/uapi/linux/fs.h): fscrypt
// policy set on the inode.
const fsEncryptFlag = 0x00000800

func fscrypted(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	return err == nil && flags&fsEncryptFlag != 0
}

// findProcess returns the command line of the first process (lowest pid)
// whose argv ok accepts.
func findProcess(proc string, ok func([]string) bool) []string {
	des, err := os.ReadDir(proc)
	if err != nil {
		return nil
	}
	var pids []int
	for _, d := range des {
		if n, err := strconv.Atoi(d.Name()); err == nil {
			pids = append(pids, n)
		}
	}
	for _, pid := range pids {
		b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if ok(argv) {
			return argv
		}
	}
	return nil
}

// flagValue reads --name=value or --name value from argv.
func flagValue(argv []string, name string) string {
	for i, a := range argv {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(argv) {
			return argv[i+1]
		}
	}
	return ""
}

func lookPath(name string) (string, error) { return exec.LookPath(name) }
