package shred

import (
	"fmt"
	"os"
	"syscall"
)

// Writers lists the processes that hold the file at path open for writing
// or map it shared and writable, as "comm (pid N) has fd 3 open for
// writing": the "still being written" check File makes, for callers that
// wait for a file to be finished rather than refuse it. Processes whose
// descriptors cannot be read (without root) are not seen.
func Writers(path string) ([]string, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("%s: no device and inode", path)
	}
	ws, _, err := newHost().writers(uint64(sys.Dev), sys.Ino, -1)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, w := range ws {
		if !w.exec {
			out = append(out, w.String())
		}
	}
	return out, nil
}
