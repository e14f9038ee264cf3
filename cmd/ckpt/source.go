package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/archive"
)

// sourceFlags are the flags of every command that reads archives: keys
// for sealed ones and the limits that bound what a hostile archive costs.
type sourceFlags struct {
	ids    *identityFlags
	limits archive.Limits
	debug  bool
}

func addSourceFlags(cmd *cobra.Command) *sourceFlags {
	s := &sourceFlags{ids: addIdentityFlags(cmd)}
	f := cmd.Flags()
	f.Var((*sizeFlag)(&s.limits.MaxMetadata), "max-metadata", "largest metadata file (config.dump, spec.dump) read into memory (default 16MiB)")
	f.Var((*sizeFlag)(&s.limits.MaxEntry), "max-entry", "largest single CRIU protobuf entry (default 64MiB)")
	f.Var((*sizeFlag)(&s.limits.MaxImage), "max-image", "largest CRIU image other than pages decoded into memory (default 256MiB)")
	f.Var((*sizeFlag)(&s.limits.MaxImages), "max-images", "most bytes of CRIU entries decoded and held for one archive, all images together (default 64MiB, about 12,000 processes)")
	f.Var((*sizeFlag)(&s.limits.MaxHeld), "max-held", "most memory held for names, listings and per-container records of one archive (default 64MiB)")
	f.Int64Var(&s.limits.MaxRatio, "max-ratio", 0, "largest decompression ratio accepted, against decompression bombs (default 10000)")
	f.Var((*sizeFlag)(&s.limits.MaxPending), "max-pending", "memory held for pages that come before their pagemaps in a piped archive, and by diff for page hashes it cannot compare as both archives stream (default 256MiB)")
	f.BoolVar(&s.debug, "debug", false, "say on stderr how the archive is read (a second pass over a file, and why)")
	return s
}

// open opens an archive named on the command line ("-" is standard input).
func (s *sourceFlags) open(a *app, path string) (*archive.Archive, error) {
	d, err := s.ids.decrypter(a)
	if err != nil {
		return nil, err
	}
	opt := archive.Options{Decrypter: d, Limits: s.limits}
	var ar *archive.Archive
	if s.debug {
		opt.Debug = func(msg string) { fmt.Fprintf(a.stderr, "ckpt: debug: %s\n", msg) }
	}
	if path == "-" {
		ar, err = archive.OpenReader("-", a.stdin, opt)
	} else {
		ar, err = archive.Open(path, opt)
	}
	if err != nil {
		return nil, s.ids.explainNoIdentity(err)
	}
	return ar, nil
}

// sizeFlag parses sizes such as 512, 64KiB, 16MiB or 1G.
type sizeFlag int64

func (s *sizeFlag) String() string {
	if *s == 0 {
		return ""
	}
	return strconv.FormatInt(int64(*s), 10)
}

func (s *sizeFlag) Type() string { return "size" }

func (s *sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = sizeFlag(n)
	return nil
}

// parseSize reads a byte count with an optional binary unit.
func parseSize(v string) (int64, error) {
	units := []struct {
		suffix string
		mul    int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1}}
	mul := int64(1)
	num := strings.TrimSpace(v)
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			num, mul = strings.TrimSuffix(num, u.suffix), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mul {
		return 0, fmt.Errorf("invalid size %q (examples: 4096, 64KiB, 16MiB, 1GiB)", v)
	}
	return n * mul, nil
}
