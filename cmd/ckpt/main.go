// Command ckpt inspects, seals, verifies and shreds Kubernetes container
// checkpoint archives. See README.md for the daily workflows.
package main

import (
	"os"
	"path/filepath"
)

func main() {
	os.Exit(Main())
}

// Main runs ckpt with the process's arguments and standard streams and
// returns the exit code. The end-to-end tests call it as the "ckpt" command.
func Main() int {
	return run(os.Args[1:], &app{
		stdin:   os.Stdin,
		stdout:  os.Stdout,
		stderr:  os.Stderr,
		getenv:  os.Getenv,
		program: filepath.Base(os.Args[0]),
		exit:    os.Exit,
	})
}
