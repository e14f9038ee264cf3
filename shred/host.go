package shred

import (
	"os"
	"path/filepath"
	"strings"
)

// maxDepth bounds how far assessment follows storage stacked on storage
// (a loop device's backing file, an overlay's upper layer).
const maxDepth = 4

// host is where assessment reads kernel state. Tests point it at fake
// /proc and /sys trees; nothing about it is global.
type host struct {
	proc  string // "/proc"
	sys   string // "/sys"
	depth int    // how many layers of stacked storage led here
	// assessPath assesses a file that storage is stacked on; set by the
	// platform code, nil where it cannot.
	assessPath func(h host, path string) (Assessment, error)
}

func (h host) read(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

func (h host) exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// deeper returns the host for assessing storage one layer down.
func (h host) deeper() host {
	h.depth++
	return h
}

func (h host) procPath(elem ...string) string {
	return filepath.Join(append([]string{h.proc}, elem...)...)
}

func (h host) sysPath(elem ...string) string {
	return filepath.Join(append([]string{h.sys}, elem...)...)
}
