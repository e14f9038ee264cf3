package main

import "fmt"

// batch collects the failures of a command working on several files, so
// that one bad file does not stop the others. With several files each
// failure is printed as it happens and the command ends with a summary;
// the first failure decides the exit code.
type batch struct {
	a      *app
	total  int
	failed int
	first  error
}

func (b *batch) fail(err error) {
	b.failed++
	if b.first == nil {
		b.first = err
	}
	if b.total > 1 {
		fmt.Fprintf(b.a.stderr, "ckpt: %s\n", oneLine(err))
	}
}

func (b *batch) err() error {
	if b.first == nil {
		return nil
	}
	if b.total == 1 {
		return b.first
	}
	return withCode(exitCode(b.first), fmt.Errorf("%d of %d failed", b.failed, b.total))
}
