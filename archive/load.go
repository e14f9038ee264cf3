package archive

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"

	metadata "github.com/checkpoint-restore/checkpointctl/lib"
	"github.com/checkpoint-restore/go-criu/v8/crit/images/stats"
	"google.golang.org/protobuf/proto"

	"github.com/ckpt-dev/ckpt/criu"
)

// PagesImage is a raw memory pages image handed to LoadOptions.Pages.
type PagesImage struct {
	Entry *Entry
	// ID is the N of pages-N.img, which pagemap_head.pages_id refers to.
	ID uint32
	// R reads the pages in order. On random-access archives, and when the
	// pages were held in memory, it is also an io.ReaderAt.
	R io.Reader
	// Final is true when every image of the checkpoint has been read: on a
	// random-access archive, and when Load hands over again pages a hook
	// asked for later. A hook cannot return ErrNotYet then.
	Final bool
}

// ErrNotYet is returned by a LoadOptions.Pages hook, before it reads
// anything, when the images it needs to read the pages (the pagemap that
// indexes them, the process's mm) have not gone by yet: the archive's
// members are not in CRIU's order. Load hands the pages over again, with
// Final set, once the pass is over: from a second pass over a file, or
// from memory on a stream, within Limits.MaxPending.
var ErrNotYet = errors.New("the images these pages need have not been read yet")

// LoadOptions choose what Load hands to consumers besides the Checkpoint.
type LoadOptions struct {
	Limits Limits
	// Pages receives each memory pages image. On random-access archives it
	// is called after the pass, with every image loaded; on sequential ones
	// during the pass, when the pages stream by (CRIU's sorted order puts
	// mm-* and pagemap-* before pages-*). In any other order it may return
	// ErrNotYet and get the pages again after the pass.
	Pages func(c *Checkpoint, p *PagesImage) error
	// Payload receives the raw data that follows CRIU entries: pipe and
	// FIFO buffers, socket queues, TCP streams, ghost files.
	Payload func(c *Checkpoint, img *criu.Image, i int, m proto.Message, r io.Reader) error
	// RootFS receives the content of each regular file of the rootfs diff,
	// and DevShm of the /dev/shm tarball (Podman).
	RootFS func(c *Checkpoint, f *ListedFile, r io.Reader) error
	DevShm func(c *Checkpoint, f *ListedFile, r io.Reader) error
	// Other receives entries Load does not interpret (container logs,
	// unknown files, raw images other than pages).
	Other func(c *Checkpoint, e *Entry, r io.Reader) error
	// Image, when set, receives each decoded CRIU image instead of the
	// Checkpoint's Images, which stay empty: listings that need one image
	// at a time hold one image at a time.
	Image func(c *Checkpoint, img *criu.Image) error
	// Fields, when set, selects what of the entries of CRIU image name
	// (a base name, "core-1.img") is decoded and held; nil decodes all of
	// them. A reader that needs a few facts per process holds those, not
	// every register of every thread (proc.ImageFields).
	Fields func(name string) criu.Fields
	// IdentityOnly reads metadata and CRIU's dump.log and skips CRIU
	// images (but the first pagemap, whose format tells the CRIU version
	// when no dump.log does) and nested tars. On a sequential archive the
	// pass stops once the metadata and a dump.log have been seen, so
	// listing a directory of compressed archives stays cheap; an archive
	// with no dump.log at the top is read to its checkpoint/dump.log, or
	// to the end of checkpoint/ when it has none.
	IdentityOnly bool
}

// Load reads the archive once and returns what it holds.
func Load(a *Archive, opt LoadOptions) (*Contents, error) {
	l := &loader{a: a, opt: opt, limits: a.limits, byPrefix: map[string]*Checkpoint{}}
	if opt.Limits != (Limits{}) {
		l.limits = opt.Limits.WithDefaults()
	}
	if opt.Image == nil {
		l.images = newBudget(l.limits.MaxImages)
	}
	trailer, err := a.Walk(l.entry)
	if err != nil {
		return nil, err
	}
	l.out.Trailer = trailer
	if err := l.finish(); err != nil {
		return nil, err
	}
	return &l.out, nil
}

type loader struct {
	a        *Archive
	opt      LoadOptions
	limits   Limits
	images   *budget // decoded CRIU entries held, against limits.MaxImages; nil when an Image hook takes them
	out      Contents
	byPrefix map[string]*Checkpoint
	deferred []deferredPages // random access: pages handed over after the pass
	later    []laterPages    // sequential: pages a hook asked for after the pass
	held     int64           // bytes of later pages held in memory
	// sawImages says a sequential IdentityOnly pass has been through
	// entries of the container's checkpoint/ directory.
	sawImages bool
}

type deferredPages struct {
	c *Checkpoint
	p *PagesImage
}

// laterPages is a pages image that came before the images it needs.
type laterPages struct {
	c    *Checkpoint
	e    *Entry
	id   uint32
	data []byte // held from a stream; nil when a second pass reads it
}

// containerLevel says whether a path's first element is something a
// container runtime puts at the top of a container checkpoint.
func containerLevel(first string) bool {
	switch first {
	case metadata.ConfigDumpFile, metadata.SpecDumpFile, metadata.StatusFile, "status.dump",
		metadata.NetworkStatusFile, metadata.DeletedFilesFile, metadata.DumpLogFile,
		metadata.RestoreLogFile, "stats-dump", "stats-restore", metadata.RootFsDiffTar,
		metadata.DevShmCheckpointTar, metadata.CheckpointDirectory, metadata.CheckpointVolumesDirectory,
		"artifacts", "container.log", "ctr.log", "bind.mounts":
		return true
	}
	return false
}

// route splits an entry name into the container prefix it belongs to and
// its name relative to that container; ok is false for entries outside
// any container (pod.options, unknown files).
func route(name string) (prefix, rel string, ok bool) {
	first, rest, _ := strings.Cut(name, "/")
	if containerLevel(first) {
		return "", name, true
	}
	if rest != "" {
		second, _, _ := strings.Cut(rest, "/")
		if containerLevel(second) {
			return first + "/", rest, true
		}
	}
	return "", name, false
}

func hasDir(rel, dir string) bool { return strings.HasPrefix(rel, dir+"/") }

func (l *loader) checkpoint(prefix string) *Checkpoint {
	c := l.byPrefix[prefix]
	if c == nil {
		c = &Checkpoint{Prefix: prefix, Images: criu.NewImageSet()}
		l.byPrefix[prefix] = c
	}
	return c
}

func (l *loader) entry(e *Entry, r io.Reader) error {
	l.out.Entries = append(l.out.Entries, e)
	prefix, rel, ok := route(e.Name)
	if l.opt.IdentityOnly && l.identityComplete(prefix, rel) {
		return SkipRest
	}
	if !ok {
		return l.topLevel(e, r)
	}
	if _, ok := l.byPrefix[prefix]; !ok {
		if err := l.a.held.take(containerCost+int64(len(prefix)), "container "+prefix); err != nil {
			return err
		}
	}
	c := l.checkpoint(prefix)
	c.Entries = append(c.Entries, e)
	c.Sizes.Total += e.Size
	if e.Type == TypeDir {
		return nil
	}
	if err := l.containerFile(c, e, rel, r); err != nil {
		return l.a.errorf(e.Name, err)
	}
	return nil
}

func (l *loader) topLevel(e *Entry, r io.Reader) error {
	switch e.Name {
	case metadata.PodOptionsFile:
		var po metadata.CheckpointedPodOptions
		if err := readJSON(r, l.limits.MaxMetadata, &po); err != nil {
			return l.a.errorf(e.Name, err)
		}
		containers := []string{}
		if l.out.Pod != nil {
			containers = l.out.Pod.Containers
		}
		l.out.Pod = podFrom(&po)
		l.out.Pod.Containers = append(l.out.Pod.Containers, containers...)
		return nil
	case metadata.PodDumpFile:
		// The pod's sandbox configuration: its presence alone says this is
		// a pod archive, whatever else it holds.
		if l.out.Pod == nil {
			l.out.Pod = &Pod{Containers: []string{}}
		}
		if l.opt.Other != nil {
			return l.opt.Other(nil, e, r)
		}
		return nil
	}
	if l.opt.Other != nil && e.Type == TypeFile {
		return l.opt.Other(nil, e, r)
	}
	return nil
}

func (l *loader) containerFile(c *Checkpoint, e *Entry, rel string, r io.Reader) error {
	if l.opt.IdentityOnly && !isMetadataFile(rel) && !isDumpLog(rel) {
		if firstPagemap(c, rel) {
			// Its format tells the CRIU version when no dump.log does;
			// the first entries say it.
			c.pagemapSniffed = true
			nr, err := criu.SniffNrPages(r, criu.Options{Size: e.Size, MaxEntry: l.limits.MaxEntry})
			c.pagemapNrPages = nr && err == nil
		}
		return nil
	}
	switch {
	case isMetadataFile(rel):
		c.Sizes.Other += e.Size
		err := c.Metadata.parse(rel, r, l.limits.MaxMetadata)
		if err != nil && isOptional(rel) && (errors.Is(err, ErrBadMetadata) || errors.Is(err, ErrTooLarge)) {
			c.unreadable(e.Name, rel, err)
			return nil
		}
		return err
	case isDumpLog(rel):
		// Runtimes keep CRIU's log at the top or where CRIU wrote it, in
		// checkpoint/; the top-level copy wins when there are both.
		c.Sizes.Other += e.Size
		d, err := readDumpLog(r)
		if err == nil && (rel == metadata.DumpLogFile || !c.topDumpLog) {
			c.DumpLog, c.topDumpLog = d, rel == metadata.DumpLogFile
		}
		return err
	case rel == "stats-dump", rel == metadata.CheckpointDirectory+"/stats-dump":
		c.Sizes.Other += e.Size
		img, err := readImage(l.images, path.Base(rel), r, criu.Options{Size: e.Size, MaxEntry: l.limits.MaxEntry}, l.limits.MaxImage, nil)
		if err != nil {
			if errors.Is(err, criu.ErrFormat) || errors.Is(err, criu.ErrUnknownMagic) {
				// Statistics only: the dump itself is readable without them.
				c.unreadable(e.Name, rel, err)
				return nil
			}
			return err
		}
		if rel == "stats-dump" || !c.topStats {
			if s := criu.First[*stats.StatsEntry](imageSetOf(img), img.Name); s != nil {
				c.Stats, c.topStats = s.GetDump(), rel == "stats-dump"
			}
		}
		return nil
	case rel == metadata.RootFsDiffTar:
		c.Sizes.RootFS += e.Size
		lst, err := readListing(r, l.limits, l.nestedHook(c, l.opt.RootFS), l.a.held)
		c.RootFS = lst
		return err
	case rel == metadata.DevShmCheckpointTar:
		c.Sizes.DevShm += e.Size
		lst, err := readListing(r, l.limits, l.nestedHook(c, l.opt.DevShm), l.a.held)
		c.DevShm = lst
		return err
	case hasDir(rel, metadata.CheckpointDirectory):
		return l.image(c, e, rel, r)
	}
	c.Sizes.Other += e.Size
	if l.opt.Other != nil {
		return l.opt.Other(c, e, r)
	}
	return nil
}

// identityComplete says, on a sequential archive, whether everything
// identity needs has gone by: config.dump and spec.dump, and CRIU's
// dump.log (the node and the CRIU version), which runtimes keep at the top,
// after the metadata as in CRI-O's and containerd's member order, or where
// CRIU wrote it, in checkpoint/. Without a dump.log at the top, the pass
// goes on to the end of checkpoint/ to look for it there, as Load does.
func (l *loader) identityComplete(prefix, rel string) bool {
	if l.a.RandomAccess() || l.out.Pod != nil || prefix != "" {
		return false
	}
	inImages := rel == metadata.CheckpointDirectory || hasDir(rel, metadata.CheckpointDirectory)
	l.sawImages = l.sawImages || inImages
	c := l.byPrefix[""]
	if c == nil || c.Metadata.Config == nil || c.Metadata.Spec == nil || isDumpLog(rel) || isMetadataFile(rel) {
		return false
	}
	return c.DumpLog != nil || l.sawImages && !inImages
}

// firstPagemap says whether rel is the first pagemap image of c: without a
// dump.log, its format tells the CRIU version (see fallbacks), so an
// identity-only pass decodes that one image.
func firstPagemap(c *Checkpoint, rel string) bool {
	name, ok := strings.CutPrefix(rel, metadata.CheckpointDirectory+"/pagemap-")
	if !ok || !strings.HasSuffix(name, ".img") || strings.Contains(name, "/") {
		return false
	}
	return !c.pagemapSniffed
}

// isDumpLog says whether rel is CRIU's log, at the top or in checkpoint/.
func isDumpLog(rel string) bool {
	return rel == metadata.DumpLogFile || rel == metadata.CheckpointDirectory+"/"+metadata.DumpLogFile
}

func (l *loader) nestedHook(c *Checkpoint, hook func(*Checkpoint, *ListedFile, io.Reader) error) NestedFileFunc {
	if hook == nil {
		return nil
	}
	return func(f *ListedFile, r io.Reader) error { return hook(c, f, r) }
}

// image handles one file under checkpoint/ (rel is its name relative to
// the container), as [ImageOf] classifies it.
func (l *loader) image(c *Checkpoint, e *Entry, rel string, r io.Reader) error {
	name, kind := imageOf(rel)
	if kind == ImageNone {
		c.Sizes.Other += e.Size
		if l.opt.Other != nil {
			return l.opt.Other(c, e, r)
		}
		return nil
	}
	if kind == ImageRaw {
		if id, ok := pagesID(name); ok {
			c.Sizes.Pages += e.Size
			c.Pages = append(c.Pages, e)
			return l.pages(c, e, id, r)
		}
		c.Sizes.Images += e.Size
		if l.opt.Other != nil {
			return l.opt.Other(c, e, r)
		}
		return nil
	}
	c.Sizes.Images += e.Size
	var onPayload criu.PayloadFunc
	if l.opt.Payload != nil {
		onPayload = func(img *criu.Image, i int, m proto.Message, pr io.Reader) error {
			return l.opt.Payload(c, img, i, m, pr)
		}
	}
	opt := criu.Options{Size: e.Size, MaxEntry: l.limits.MaxEntry}
	if l.opt.Fields != nil {
		opt.Fields = l.opt.Fields(name)
	}
	img, err := readImage(l.images, name, r, opt, l.limits.MaxImage, onPayload)
	if err != nil {
		if !errors.Is(err, ErrBudget) && errors.Is(err, criu.ErrFormat) || errors.Is(err, criu.ErrUnknownMagic) {
			// Recorded, not fatal here: the commands that need the image
			// fail on it, naming it, and listings still show the rest.
			c.ImageErrors = append(c.ImageErrors, ImageError{Name: name, Err: l.a.errorf(e.Name, err)})
			return nil
		}
		return err
	}
	if l.opt.Image != nil {
		return l.opt.Image(c, img)
	}
	c.Images.Add(img)
	return nil
}

func (l *loader) pages(c *Checkpoint, e *Entry, id uint32, r io.Reader) error {
	if l.opt.Pages == nil {
		return nil
	}
	if l.a.RandomAccess() {
		sr, err := l.a.Section(e)
		if err != nil {
			return err
		}
		l.deferred = append(l.deferred, deferredPages{c, &PagesImage{Entry: e, ID: id, R: sr, Final: true}})
		return nil
	}
	err := l.opt.Pages(c, &PagesImage{Entry: e, ID: id, R: r})
	if !errors.Is(err, ErrNotYet) {
		return err
	}
	lp := laterPages{c: c, e: e, id: id}
	if l.a.reopen == nil {
		// A stream cannot be read again: hold the pages, within bounds.
		if l.held+e.Size > l.limits.MaxPending {
			return fmt.Errorf("%w: it comes before the images that index it (its pagemap or mm) in this stream, not in CRIU's order, so it must be held in memory until they come, and %d bytes of held pages would exceed the %d-byte limit: read the archive from a file, which can be read twice, or raise the limit", ErrOutOfOrder, l.held+e.Size, l.limits.MaxPending)
		}
		// The size is known and bounded: one allocation, no doubling.
		b := make([]byte, e.Size)
		if _, err := io.ReadFull(r, b); err != nil {
			return noEOF(err)
		}
		l.held += e.Size
		lp.data = b
	}
	l.later = append(l.later, lp)
	return nil
}

// handLater gives the hook the pages it asked for after the pass: from
// memory, or from a second pass over the file.
func (l *loader) handLater() error {
	again := map[string]laterPages{}
	for _, lp := range l.later {
		if lp.data == nil {
			again[lp.e.Name] = lp
			continue
		}
		if err := l.opt.Pages(lp.c, &PagesImage{Entry: lp.e, ID: lp.id, R: bytes.NewReader(lp.data), Final: true}); err != nil {
			return l.a.errorf(lp.e.Name, err)
		}
	}
	if len(again) == 0 {
		return nil
	}
	l.a.debugf("%d pages images come before the images that index them (not CRIU's member order): reading the archive a second time for them", len(again))
	b, err := l.a.reopen()
	if err != nil {
		return l.a.errorf("", fmt.Errorf("opening it again for a second pass: %w", err))
	}
	defer b.Close()
	_, err = b.Walk(func(e *Entry, r io.Reader) error {
		lp, ok := again[e.Name]
		if !ok {
			return nil
		}
		delete(again, e.Name)
		if e.Size != lp.e.Size {
			return fmt.Errorf("%w: changed between the two passes (%d bytes, then %d)", ErrTruncated, lp.e.Size, e.Size)
		}
		if err := l.opt.Pages(lp.c, &PagesImage{Entry: lp.e, ID: lp.id, R: r, Final: true}); err != nil {
			return err
		}
		if len(again) == 0 {
			return SkipRest
		}
		return nil
	})
	if err != nil {
		return err
	}
	for name := range again {
		return l.a.errorf(name, fmt.Errorf("%w: gone in the second pass (the file changed while it was read)", ErrTruncated))
	}
	return nil
}

// isOptional says whether a metadata file may be unreadable without
// stopping the read: config.dump and spec.dump say what the checkpoint is,
// the rest only add to it.
func isOptional(rel string) bool {
	return rel != metadata.ConfigDumpFile && rel != metadata.SpecDumpFile
}

// unreadable records an optional file that could not be read; reading goes
// on without it.
func (c *Checkpoint) unreadable(entry, rel string, err error) {
	var ae *Error
	if errors.As(err, &ae) {
		err = ae.Err
	}
	c.Unreadable = append(c.Unreadable, ImageError{Name: rel, Err: err})
	c.warnings = append(c.warnings, fmt.Sprintf("%s: unreadable, read without it: %v", entry, err))
}

// pagesID parses the N of pages-N.img.
func pagesID(name string) (uint32, bool) {
	var id uint32
	if n, err := fmt.Sscanf(name, "pages-%d.img", &id); err != nil || n != 1 || fmt.Sprintf("pages-%d.img", id) != name {
		return 0, false
	}
	return id, true
}

func (l *loader) finish() error {
	for _, p := range slices.Sorted(maps.Keys(l.byPrefix)) {
		c := l.byPrefix[p]
		if c.Metadata.Config == nil && c.Metadata.Spec == nil && c.Images.Len() == 0 && len(c.Pages) == 0 {
			continue // e.g. only a stray log: not a container
		}
		l.out.Checkpoints = append(l.out.Checkpoints, c)
	}
	if len(l.out.Checkpoints) == 0 {
		return l.a.errorf("", fmt.Errorf("%w: the tar holds no container checkpoint (no config.dump, spec.dump or checkpoint/)", ErrNotArchive))
	}
	for _, c := range l.out.Checkpoints {
		if err := l.validate(c); err != nil {
			return err
		}
		c.Identity = identify(&c.Metadata, c.DumpLog)
		l.fallbacks(c)
		l.out.Warnings = append(l.out.Warnings, c.warnings...)
	}
	if l.out.Pod != nil {
		l.out.Pod.reconcile(l.out.Checkpoints)
	}
	if t := l.out.Trailer; t.NonZero > 0 {
		l.out.Warnings = append(l.out.Warnings, fmt.Sprintf("%d bytes after the end-of-archive marker, %d of them not zero: a stale tail from an earlier, longer archive written to the same name?", t.Bytes, t.NonZero))
	}
	if l.out.Trailer.Missing {
		l.out.Warnings = append(l.out.Warnings, "no end-of-archive marker: the archive may be truncated")
	}
	for _, d := range l.deferred {
		if err := l.opt.Pages(d.c, d.p); err != nil {
			return l.a.errorf(d.p.Entry.Name, err)
		}
	}
	return l.handLater()
}

// validate requires the metadata every engine writes.
func (l *loader) validate(c *Checkpoint) error {
	if c.Metadata.Spec == nil {
		return l.a.errorf(c.Prefix+metadata.SpecDumpFile, fmt.Errorf("%w: every engine writes it", ErrMissing))
	}
	if c.Metadata.Config == nil {
		return l.a.errorf(c.Prefix+metadata.ConfigDumpFile, fmt.Errorf("%w: every engine writes it", ErrMissing))
	}
	return nil
}

// fallbacks fills what the metadata did not say, and says where it came
// from.
func (l *loader) fallbacks(c *Checkpoint) {
	id := &c.Identity
	if id.Checkpointed.IsZero() {
		if t := c.newestEntryTime(); !t.IsZero() {
			id.Checkpointed = t
			id.Notes = append(id.Notes, "checkpoint time is the newest file time in the archive: the engine did not record one")
		}
	}
	if c.Prefix == "" {
		id.fillFromFileName(l.a.Name())
	}
	if id.CRIUVersion == "" {
		nrPages := c.pagemapNrPages
		for _, name := range c.Images.Names() {
			if img := c.Images.Get(name); strings.HasPrefix(name, "pagemap-") && img != nil && img.NrPages {
				nrPages = true
				break
			}
		}
		if nrPages {
			id.CRIUVersion = "4.2+"
			id.Notes = append(id.Notes, "CRIU version inferred from the image format (pagemap nr_pages, new in 4.2)")
		}
	}
}

func podFrom(po *metadata.CheckpointedPodOptions) *Pod {
	p := &Pod{Options: &PodOptions{Version: po.Version}}
	for _, k := range slices.Sorted(maps.Keys(po.Annotations)) {
		p.Options.Annotations = append(p.Options.Annotations, KeyValue{k, po.Annotations[k]})
	}
	p.Containers = append([]string{}, slices.Sorted(maps.Keys(po.Containers))...) // [] in JSON, never null
	return p
}

// reconcile adds containers found in the archive that pod.options omits,
// and sorts the list.
func (p *Pod) reconcile(cs []*Checkpoint) {
	for _, c := range cs {
		name := strings.TrimSuffix(c.Prefix, "/")
		if name != "" && !slices.Contains(p.Containers, name) {
			p.Containers = append(p.Containers, name)
		}
	}
	slices.Sort(p.Containers)
	p.Containers = slices.Compact(p.Containers)
}

func imageSetOf(img *criu.Image) *criu.ImageSet {
	s := criu.NewImageSet()
	s.Add(img)
	return s
}
