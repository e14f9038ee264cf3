// Command ckpt-hostile writes a hostile archive shape for memory tests:
// ckpt-hostile SHAPE N > out.tar.zst
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"

	"github.com/ckpt-dev/ckpt/internal/hostile"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ckpt-hostile SHAPE N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	if err := hostile.Write(w, hostile.Shape(os.Args[1]), n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w.Flush()
}
