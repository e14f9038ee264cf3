package shred

import (
	"errors"
	"fmt"
	"time"
)

// DefaultSettle is how long a recently modified file must stay unchanged
// before it is treated as finished; see Options.Settle.
const DefaultSettle = 2 * time.Second

// MaxPasses bounds Options.Passes: more passes buy nothing on any modern
// drive and a typo should not keep a disk busy for a day.
const MaxPasses = 35

// Options control File and Dir. The zero value is one random pass, then
// removal.
type Options struct {
	// Passes is the number of random passes; 0 means 1, which is what
	// NIST SP 800-88 and GNU shred's own documentation advise for modern
	// drives.
	Passes int
	// Zero adds a final pass of zeros, to hide that the file was
	// shredded. It never replaces the random passes.
	Zero bool
	// Verify reads the last pass back from the device and compares it.
	Verify bool
	// Keep overwrites the file but leaves it in place, at its size.
	Keep bool
	// Force shreds where the overwrite is known to miss copies and ckpt
	// would otherwise refuse: a file seen through an overlay mount.
	Force bool
	// Discard asks the filesystem to trim the blocks the file held once
	// it is removed (FITRIM over its extents), so thin or flash storage
	// can forget them. It cannot be combined with Keep.
	Discard bool
	// DryRun checks and assesses without opening anything for writing.
	DryRun bool
	// Settle is how long a file modified in the recent past is watched
	// for changes before it is touched; 0 means DefaultSettle and a
	// negative value disables the watch (processes holding the file open
	// for writing are refused regardless).
	Settle time.Duration
	// Begin, when set, is called once a file's checks pass and before its
	// first write, with the number of bytes all passes will write.
	Begin func(path string, total int64)
	// Progress, when set, is called after each write with the bytes
	// overwritten so far in the current file, across passes.
	Progress func(n int64)
}

func (o Options) passes() int {
	if o.Passes <= 0 {
		return 1
	}
	return o.Passes
}

func (o Options) settle() time.Duration {
	if o.Settle == 0 {
		return DefaultSettle
	}
	return o.Settle
}

// Validate reports option combinations that make no sense.
func (o Options) Validate() error {
	if o.Passes < 0 || o.Passes > MaxPasses {
		return fmt.Errorf("passes must be between 1 and %d, not %d", MaxPasses, o.Passes)
	}
	if o.Keep && o.Discard {
		return errors.New("discard releases the file's blocks and cannot be combined with keep")
	}
	return nil
}

// Plan describes, in order, what File does to each regular file with
// these options, for dry runs and help text.
func (o Options) Plan() []string {
	steps := []string{"check: regular file, not a link, exclusive lock, not being written"}
	n := o.passes()
	noun := "pass"
	if n > 1 {
		noun = "passes"
	}
	steps = append(steps, fmt.Sprintf("overwrite with %d %s of AES-256-CTR keystream up to the next block boundary, fdatasync after each", n, noun))
	if o.Zero {
		steps = append(steps, "overwrite with zeros, fdatasync")
	}
	if o.Verify {
		steps = append(steps, "drop the file's cached pages, read the last pass back and compare")
	}
	if o.Keep {
		return append(steps, "restore the original size and keep the file")
	}
	steps = append(steps,
		"rename to a random name of the same length, fsync the directory",
		"truncate to zero, unlink, fsync the directory")
	if o.Discard {
		steps = append(steps, "trim the freed blocks (FITRIM)")
	}
	return steps
}
