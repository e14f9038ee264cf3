// Command swapper is the attacker of the swap tests: it waits, with
// inotify, for the first read of a file (IN_ACCESS) and then rewrites the
// file in place with other bytes of the same size, as someone who can write
// a shared upload directory would. It prints "ready" once it watches.
//
// Usage: swapper TARGET REPLACEMENT
package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: swapper TARGET REPLACEMENT")
		os.Exit(2)
	}
	target, repl := os.Args[1], os.Args[2]
	data, err := os.ReadFile(repl)
	if err != nil {
		fail(err)
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		fail(err)
	}
	if _, err := unix.InotifyAddWatch(fd, target, unix.IN_ACCESS); err != nil {
		fail(err)
	}
	// Opened before the victim reads, so the rewrite costs one pwrite.
	w, err := os.OpenFile(target, os.O_WRONLY, 0)
	if err != nil {
		fail(err)
	}
	fmt.Println("ready")
	buf := make([]byte, 4096)
	if _, err := unix.Read(fd, buf); err != nil {
		fail(err)
	}
	if _, err := w.WriteAt(data, 0); err != nil {
		fail(err)
	}
	fmt.Fprintln(os.Stderr, "swapped")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "swapper:", err)
	os.Exit(1)
}
