package main

import (
	"io"
	"os"

	"golang.org/x/term"

	"github.com/ckpt-dev/ckpt/internal/render"
)

// app is what every command shares: the standard streams and the
// environment. Commands receive it instead of reaching for globals.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// program is the name ckpt was run as; "kubectl-ckpt" makes it a
	// kubectl plugin.
	program string
	// exit, when set, ends the process: run calls it when a command does
	// not stop within stopGrace of a signal (a read blocked on a FIFO or
	// a hung filesystem), so that ckpt stays interruptible.
	exit func(code int)
}

// isTerminal reports whether w is a terminal, for progress bars and for
// refusing to print binary data to a screen.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// warnf prints a one-line warning on stderr.
func (a *app) warnf(format string, args ...any) {
	render.Printf(a.stderr, "ckpt: warning: "+format+"\n", args...)
}
