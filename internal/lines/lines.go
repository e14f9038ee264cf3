// Package lines reads the line-oriented files ckpt trusts (identities,
// recipients, allowed signers), where blank lines and # comments carry
// nothing and errors name a line by its number.
package lines

import (
	"bufio"
	"iter"
	"strings"
)

// Reader yields the content lines of a scanner.
type Reader struct {
	sc *bufio.Scanner
	n  int
}

// New reads the lines of sc.
func New(sc *bufio.Scanner) *Reader { return &Reader{sc: sc} }

// All yields each line that is neither blank nor a # comment, trimmed, with
// its 1-based number. The scanner's error is the caller's to check.
func (r *Reader) All() iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		for r.sc.Scan() {
			r.n++
			line := strings.TrimSpace(r.sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if !yield(r.n, line) {
				return
			}
		}
	}
}

// N is how many lines were read, content or not: the number of the last.
func (r *Reader) N() int { return r.n }
