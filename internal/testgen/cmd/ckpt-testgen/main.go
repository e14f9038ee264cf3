// Command ckpt-testgen writes a synthetic checkpoint archive, for
// benchmarks and for trying ckpt by hand:
//
//	ckpt-testgen -o big.tar -size 1GiB -procs 4 -threads 2
//	ckpt-testgen -o pod.tar.zst -compress zstd -engine podman -fill text
//
// The file is written atomically (mode 0600). "-o -" writes to standard
// output, which must not be a terminal.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/ckpt-dev/ckpt/internal/atomicfile"
	"github.com/ckpt-dev/ckpt/internal/testgen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks mistakes in the command line (exit status 2).
var errUsage = errors.New("usage")

func run(args []string, stdout *os.File, stderr io.Writer) int {
	err := generate(args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "ckpt-testgen: %v\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "ckpt-testgen: %v\n", err)
	return 1
}

func generate(args []string, stdout *os.File, stderr io.Writer) error {
	fs := flag.NewFlagSet("ckpt-testgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the archive to `FILE` (- for standard output)")
	size := fs.String("size", "64MiB", "total size of the memory pages (e.g. 4096, 64MiB, 1GiB)")
	procs := fs.Int("procs", 1, "number of processes")
	threads := fs.Int("threads", 1, "threads per process")
	comp := fs.String("compress", "none", "compression: none, gzip, zstd or xz")
	engine := fs.String("engine", "cri-o", "layout: cri-o, containerd or podman")
	seed := fs.Int64("seed", 1, "seed of addresses, ids and page contents")
	fill := fs.String("fill", "random", "page contents: random, pattern, zeros or text")
	order := fs.String("order", "runtime", "member order: runtime (CRIU's sorted order), reverse or shuffled")
	force := fs.Bool("force", false, "replace an existing file")
	layout := fs.String("layout", "", "also write what was generated, as JSON, to `FILE`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *out == "" {
		return fmt.Errorf("%w: -o FILE is required", errUsage)
	}
	var s testgen.Spec
	var err error
	if s.PageBytes, err = testgen.ParseSize(*size); err != nil {
		return fmt.Errorf("%w: -size: %v", errUsage, err)
	}
	if s.Engine, err = testgen.ParseEngine(*engine); err != nil {
		return fmt.Errorf("%w: -engine: %v", errUsage, err)
	}
	if s.Fill, err = testgen.ParseFill(*fill); err != nil {
		return fmt.Errorf("%w: -fill: %v", errUsage, err)
	}
	if s.Order, err = testgen.ParseOrder(*order); err != nil {
		return fmt.Errorf("%w: -order: %v", errUsage, err)
	}
	c, err := testgen.ParseCompression(*comp)
	if err != nil {
		return fmt.Errorf("%w: -compress: %v", errUsage, err)
	}
	s.Processes, s.ThreadsPerProcess, s.Seed = *procs, *threads, *seed

	start := time.Now()
	var l testgen.Layout
	if *out == "-" {
		if term.IsTerminal(int(stdout.Fd())) {
			return fmt.Errorf("%w: refusing to write an archive to a terminal", errUsage)
		}
		l, err = writeStream(stdout, s, c)
	} else {
		l, err = testgen.WriteFile(*out, s, c, *force)
	}
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if *layout != "" {
		if err := writeLayout(*layout, l, *force); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "wrote %s: %s archive, %d processes, %d bytes of pages, %d bytes of tar in %.2fs (%.0f MB/s of tar)\n",
		*out, l.Spec.Engine, len(l.Processes), l.PagesBytes, l.Bytes, elapsed.Seconds(), float64(l.Bytes)/elapsed.Seconds()/1e6)
	return nil
}

func writeStream(w io.Writer, s testgen.Spec, c testgen.Compression) (testgen.Layout, error) {
	zw, err := testgen.Compress(w, c)
	if err != nil {
		return testgen.Layout{}, err
	}
	l, err := testgen.Write(zw, s)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	return l, err
}

func writeLayout(path string, l testgen.Layout, force bool) error {
	f, err := atomicfile.Create(path, force)
	if err != nil {
		return err
	}
	defer f.Abort()
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(l); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}
