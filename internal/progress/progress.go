// Package progress draws a one-line progress bar on a terminal.
//
// A bar is only drawn when its writer is a terminal: in a pipe or a log file
// the same code runs with a Bar that does nothing, so scripts never see
// carriage returns in their output.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar reports progress towards a total number of bytes. The zero of a
// disabled bar is cheap: Add is a counter increment.
type Bar struct {
	mu      sync.Mutex
	w       io.Writer
	label   string
	total   int64
	done    int64
	start   time.Time
	last    time.Time
	enabled bool
	now     func() time.Time
}

// New returns a bar drawn on w when w is a terminal (an *os.File for which
// isatty holds), and a silent one otherwise. total may be 0 when unknown.
func New(w io.Writer, label string, total int64) *Bar {
	f, ok := w.(*os.File)
	enabled := ok && term.IsTerminal(int(f.Fd()))
	return newBar(w, label, total, enabled, time.Now)
}

func newBar(w io.Writer, label string, total int64, enabled bool, now func() time.Time) *Bar {
	t := now()
	return &Bar{w: w, label: label, total: total, enabled: enabled, start: t, now: now}
}

// Add records n more bytes done and redraws at most ten times a second.
func (b *Bar) Add(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	if !b.enabled {
		return
	}
	if t := b.now(); t.Sub(b.last) >= 100*time.Millisecond {
		b.last = t
		b.draw()
	}
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	b.draw()
	fmt.Fprintln(b.w)
	b.enabled = false
}

// Clear erases the bar, for when an error message follows.
func (b *Bar) Clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	fmt.Fprint(b.w, "\r\033[K")
	b.enabled = false
}

func (b *Bar) draw() {
	elapsed := b.now().Sub(b.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(b.done) / elapsed
	}
	line := fmt.Sprintf("%s %s", b.label, mib(b.done))
	if b.total > 0 {
		frac := min(float64(b.done)/float64(b.total), 1)
		const width = 30
		filled := int(frac * width)
		line = fmt.Sprintf("%s [%s%s] %3.0f%% %s/%s", b.label,
			strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
			frac*100, mib(b.done), mib(b.total))
	}
	fmt.Fprintf(b.w, "\r\033[K%s %s/s", line, mib(int64(rate)))
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// Reader counts what is read through r.
func (b *Bar) Reader(r io.Reader) io.Reader { return &reader{r, b} }

// Writer counts what is written through w.
func (b *Bar) Writer(w io.Writer) io.Writer { return &writer{w, b} }

type reader struct {
	r io.Reader
	b *Bar
}

func (r *reader) Read(p []byte) (int, error) { return r.b.count(r.r.Read(p)) }

type writer struct {
	w io.Writer
	b *Bar
}

func (w *writer) Write(p []byte) (int, error) { return w.b.count(w.w.Write(p)) }

// count adds what one Read or Write moved and passes its results on.
func (b *Bar) count(n int, err error) (int, error) {
	b.Add(int64(n))
	return n, err
}
