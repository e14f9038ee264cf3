package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/mem"
)

// Options configure a Scanner. The zero value is ready to use.
type Options struct {
	Limits archive.Limits
	// Reveal keeps each value in its Finding. Without it, findings carry
	// only a redacted preview, and values are never held.
	Reveal bool
	// MaxLocations caps the locations listed per finding (default 16); the
	// rest are counted.
	MaxLocations int
	// MaxFindings caps the distinct values listed (default 10000); the rest
	// are counted in the summary, so that a hostile archive cannot make the
	// report grow without bound.
	MaxFindings int
	// Progress, when set, is called with the number of bytes scanned as the
	// scan proceeds.
	Progress func(n int64)
}

// A Scanner scans archives, one reading each, and collects what it finds
// in all of them, deduplicated.
type Scanner struct {
	opt      Options
	found    *collector
	archives []ArchiveSummary
	m        *Matcher
	// onMatch receives the Matcher's matches for the stream being scanned.
	onMatch func(Match)
	readBuf []byte
}

// New returns a Scanner.
func New(opt Options) *Scanner {
	if opt.MaxLocations <= 0 {
		opt.MaxLocations = 16
	}
	if opt.MaxFindings <= 0 {
		opt.MaxFindings = 10000
	}
	s := &Scanner{opt: opt, found: newCollector(opt.Reveal, opt.MaxLocations, opt.MaxFindings)}
	s.m = NewMatcher(func(m Match) { s.onMatch(m) })
	return s
}

// Report returns what the scans found so far.
func (s *Scanner) Report() *Report {
	summary, findings := s.found.report()
	return &Report{
		Archives: slices.Clone(s.archives),
		Summary:  summary,
		Findings: findings,
		Unlisted: s.found.unlisted,
		Revealed: s.opt.Reveal,
	}
}

// archiveScan is the state of one archive's scan.
type archiveScan struct {
	s       *Scanner
	a       *archive.Archive
	ctx     context.Context
	sum     ArchiveSummary
	sources map[Source]*SourceSummary
}

// Scan reads the archive once and adds what it holds to the report. It
// stops with ctx's error when ctx is done. An error leaves the report with
// part of the archive in it; callers that report nothing on failure
// discard the Scanner.
func (s *Scanner) Scan(ctx context.Context, a *archive.Archive) error {
	as := &archiveScan{s: s, a: a, ctx: ctx, sum: ArchiveSummary{Archive: a.Name(), NotScanned: []string{}, Warnings: []string{}}, sources: map[Source]*SourceSummary{}}
	contents, err := archive.Load(a, archive.LoadOptions{
		Limits:  s.opt.Limits,
		Pages:   mem.Pages(a, as.pages, mem.PagesOptions{Orphan: as.orphanPages}),
		Payload: as.payload,
		RootFS:  as.rootfs,
		DevShm:  as.devshm,
		Other:   as.other,
	})
	if err != nil {
		return err
	}
	for _, c := range contents.Checkpoints {
		as.spec(c)
		as.describeMemory(c)
		as.sum.Processes += countProcesses(c)
	}
	as.sum.Containers = len(contents.Checkpoints)
	as.sum.Warnings = append(as.sum.Warnings, contents.Warnings...)
	for _, src := range sourceOrder {
		if st := as.sources[src]; st != nil {
			as.sum.Scanned = append(as.sum.Scanned, *st)
		}
	}
	if as.sum.Scanned == nil {
		as.sum.Scanned = []SourceSummary{}
	}
	s.archives = append(s.archives, as.sum)
	return nil
}

// scanned counts one item of a source.
func (as *archiveScan) scanned(src Source, bytes int64) {
	st := as.sources[src]
	if st == nil {
		st = &SourceSummary{Source: src}
		as.sources[src] = st
	}
	st.Items++
	st.Bytes += bytes
}

// progress counts bytes read for the caller's progress display, and
// stops the reading when the scan is cancelled.
func (as *archiveScan) progress(n int) error {
	if as.s.opt.Progress != nil && n > 0 {
		as.s.opt.Progress(int64(n))
	}
	return as.ctx.Err()
}

// stream scans r as one stream (a member, a file, a payload, a string)
// and counts it as scanned in base's source. Each match is found at base,
// at the offset of its value; keep, when set, says which matches count.
func (as *archiveScan) stream(r io.Reader, base Location, keep func(Match) bool) error {
	as.s.onMatch = func(m Match) {
		if keep == nil || keep(m) {
			l := base
			l.Offset = m.ValueStart
			as.s.found.add(m.Kind, m.Value, m.Detail, l)
		}
	}
	n, err := as.s.m.ReadFrom(&countingReader{r: r, as: as})
	as.s.m.End()
	as.scanned(base.Source, n)
	return err
}

type countingReader struct {
	r  io.Reader
	as *archiveScan
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if cerr := c.as.progress(n); cerr != nil {
		return n, cerr
	}
	return n, err
}

func (as *archiveScan) location(c *archive.Checkpoint, src Source, file string) Location {
	l := Location{Archive: as.a.Name(), Source: src, File: file}
	if c != nil {
		l.Container = strings.TrimSuffix(c.Prefix, "/")
		l.File = c.Prefix + file
	}
	return l
}

// payload scans the data that follows a CRIU entry: pipe and FIFO
// buffers, socket queues, TCP streams, ghost files, SysV shared memory.
func (as *archiveScan) payload(c *archive.Checkpoint, img *criu.Image, i int, _ proto.Message, r io.Reader) error {
	base := as.location(c, SourcePayload, "checkpoint/"+img.Name)
	base.Entry = &i
	return as.stream(r, base, nil)
}

// rootfs scans a file of the rootfs diff.
func (as *archiveScan) rootfs(c *archive.Checkpoint, f *archive.ListedFile, r io.Reader) error {
	return as.nestedFile(as.location(c, SourceRootFS, "rootfs-diff.tar"), f, r)
}

// devshm scans a file of the container's /dev/shm (Podman exports it).
func (as *archiveScan) devshm(c *archive.Checkpoint, f *archive.ListedFile, r io.Reader) error {
	return as.nestedFile(as.location(c, SourceFile, "devshm-checkpoint.tar"), f, r)
}

// other scans the container log and the files Load does not interpret,
// and the tmpfs tarballs among raw CRIU images.
func (as *archiveScan) other(c *archive.Checkpoint, e *archive.Entry, r io.Reader) error {
	rel := e.Name
	base := Location{Archive: as.a.Name(), Source: SourceFile, File: e.Name}
	if c != nil {
		rel = strings.TrimPrefix(e.Name, c.Prefix)
		base.Container = strings.TrimSuffix(c.Prefix, "/")
	}
	switch {
	case rel == "container.log" || rel == "ctr.log":
		base.Source = SourceLog
	case strings.HasPrefix(rel, "checkpoint/tmpfs-"):
		return as.tarball(e, base, r)
	case strings.HasPrefix(rel, "checkpoint/") && strings.HasSuffix(rel, ".img") && criu.RawKind(rel) == "":
		// Netlink and iptables dumps, known kinds, are scanned as bytes.
		return as.unreadable(e, r, errors.New("raw CRIU image of an unknown kind"))
	}
	return as.stream(r, base, nil)
}

func files(n int) string {
	if n == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", n)
}
