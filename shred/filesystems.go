package shred

import (
	"fmt"
	"strings"
)

// flagFindings reports file attributes that stop or weaken an overwrite.
func flagFindings(f facts) []Finding {
	if f.flagsErr != nil {
		return nil // filesystems without attributes (tmpfs, nfs) answer ENOTTY
	}
	var out []Finding
	if f.flags&flagImmutable != 0 {
		out = append(out, Finding{"immutable", Refused, "the file is immutable (chattr +i): it cannot be overwritten"})
	}
	if f.flags&flagAppendOnly != 0 {
		out = append(out, Finding{"append-only", Refused, "the file is append-only (chattr +a): it cannot be overwritten"})
	}
	if f.flags&flagJournalData != 0 && lookupFS(f.magic).kind == kindExt {
		out = append(out, Finding{"data-journal", BestEffort,
			"the file has the data-journaling attribute (chattr +j): its data passes through the journal, which may still hold copies"})
	}
	if f.flags&flagCompressed != 0 {
		out = append(out, Finding{"compressed", BestEffort,
			"the file is compressed (chattr +c): compressed data is rewritten to new blocks"})
	}
	return out
}

// extentFindings reports what FIEMAP says about where the data lives.
func extentFindings(f facts, t fsType) []Finding {
	if f.extentsErr != nil {
		return nil // the filesystem rules say what an unknown layout means for them
	}
	e := f.extents
	var out []Finding
	if e.Shared > 0 {
		out = append(out, Finding{"shared-extents", BestEffort, fmt.Sprintf(
			"%d of %d extents are shared with another file or a snapshot (FIEMAP): the overwrite unshares them and the other copy keeps the data", e.Shared, e.Total)})
	}
	if e.Inline > 0 {
		text := "the file's data is stored inline in filesystem metadata (FIEMAP)"
		switch t.kind {
		case kindBtrfs:
			text += ", which btrfs always copies on write"
		case kindExt:
			text += ", which ext4 writes through its journal"
		}
		out = append(out, Finding{"inline-data", BestEffort, text + ": old copies may remain"})
	}
	if e.Encoded > 0 {
		out = append(out, Finding{"encoded-extents", BestEffort, fmt.Sprintf(
			"%d extents are encoded (compressed) (FIEMAP): encoded data is rewritten to new blocks", e.Encoded)})
	}
	if e.Unknown > 0 {
		out = append(out, Finding{"unknown-extents", BestEffort, fmt.Sprintf(
			"%d extents have no known location (FIEMAP)", e.Unknown)})
	}
	return out
}

// extFindings: ext2/3/4 overwrite file data in place, except when data
// passes through the journal (data=journal, or the per-file +j attribute):
// then the journal holds copies of what was written, including the
// original plaintext, until later transactions reuse its blocks.
func extFindings(f facts) []Finding {
	name := f.name()
	mode, source := extDataMode(f)
	if mode == "journal" {
		return []Finding{{"data-journal", BestEffort, fmt.Sprintf(
			"%s is mounted with data=journal (%s): file data passes through the journal, which may still hold copies of earlier writes",
			name, source)}}
	}
	if mode == "" {
		return []Finding{{"in-place", Overwritten, fmt.Sprintf(
			"%s without a journal overwrites file blocks in place (%s lists no data= mode)", name, source)}}
	}
	return []Finding{{"in-place", Overwritten, fmt.Sprintf(
		"%s with data=%s overwrites file blocks in place (%s)", name, mode, source)}}
}

// extDataMode returns the data= mode and where it was read. The options
// file under /proc/fs/ext4 lists every option, defaults included, and no
// data= mode at all when the filesystem has no journal (mode ""); the
// superblock options in mountinfo only list what differs from the
// default, which is ordered.
func extDataMode(f facts) (mode, source string) {
	if f.ext4Options != nil {
		for _, o := range f.ext4Options {
			if v, ok := strings.CutPrefix(o, "data="); ok {
				return v, f.ext4OptionsPath
			}
		}
		return "", f.ext4OptionsPath
	}
	if f.mount != nil {
		if v, ok := f.mount.superValue("data"); ok {
			return v, "mountinfo"
		}
		return "ordered", "mountinfo shows no data= option, so the default applies"
	}
	return "ordered", "mount not found; ext4's default"
}

// xfsFindings: xfs overwrites unshared blocks in place. Blocks shared by
// reflink copies are copied on write; extentFindings reports those.
func xfsFindings(f facts) []Finding {
	if f.extentsErr != nil {
		return []Finding{{"in-place", BestEffort, fmt.Sprintf(
			"xfs overwrites unshared blocks in place, but the file's extents could not be listed (FIEMAP: %v), so shared blocks cannot be ruled out", f.extentsErr)}}
	}
	text := "xfs overwrites unshared blocks in place"
	if f.extents.Shared == 0 {
		text += " (FIEMAP: no extent is shared)"
	}
	return []Finding{{"in-place", Overwritten, text}}
}

// btrfsFindings: btrfs writes every change to new blocks and frees the old
// ones without overwriting them, unless the file has the NOCOW attribute
// (chattr +C, or a directory's inherited +C). Snapshots and reflinks share
// extents even with NOCOW; extentFindings reports those, and inline data,
// which lives in always-copied metadata.
func btrfsFindings(f facts) []Finding {
	switch {
	case f.flagsErr != nil:
		return []Finding{{"copy-on-write", BestEffort, fmt.Sprintf(
			"btrfs is copy-on-write and the file's attributes could not be read (FS_IOC_GETFLAGS: %v)", f.flagsErr)}}
	case f.flags&flagNoCOW == 0:
		return []Finding{{"copy-on-write", BestEffort,
			"btrfs is copy-on-write and the file lacks the NOCOW attribute (FS_IOC_GETFLAGS): the overwrite goes to new blocks and the old ones are freed, not overwritten"}}
	case f.extentsErr != nil:
		return []Finding{{"nocow", BestEffort, fmt.Sprintf(
			"the file has the btrfs NOCOW attribute, but its extents could not be listed (FIEMAP: %v), so snapshots cannot be ruled out", f.extentsErr)}}
	}
	text := "the file has the btrfs NOCOW attribute (FS_IOC_GETFLAGS): btrfs overwrites its unshared blocks in place"
	if f.extents.Shared == 0 && f.extents.Inline == 0 {
		text += " (FIEMAP: no extent is shared or inline)"
	}
	return []Finding{{"nocow", Overwritten, text}}
}

// overlayFindings: opening a lower-layer file of an overlay mount for
// writing copies it whole into the upper layer; the overwrite then lands
// on that fresh copy and the lower layer keeps the original. Refused unless
// forced, naming the host paths to shred instead.
func overlayFindings(f facts, opt Options) []Finding {
	o := f.overlay
	where := "the layer directories are unknown"
	switch {
	case len(o.found) > 0:
		where = "the file is at " + strings.Join(o.found, ", ")
	case o.upper != "" || len(o.lowers) > 0:
		where = fmt.Sprintf("upperdir=%s, lowerdir=%s; the file was not found in them from here", o.upper, strings.Join(o.lowers, ":"))
	}
	if !opt.Force {
		return []Finding{{"overlay", Refused, fmt.Sprintf(
			"overlayfs: a write copies the file up to the upper layer and leaves the lower layers intact; run ckpt shred on the host path instead (%s)", where)}}
	}
	lowerCopies := []string{}
	for _, p := range o.found {
		if strings.HasPrefix(p, "lower: ") {
			lowerCopies = append(lowerCopies, strings.TrimPrefix(p, "lower: "))
		}
	}
	var out []Finding
	if o.upperPath == "" || len(lowerCopies) > 0 {
		out = append(out, Finding{"overlay", BestEffort, fmt.Sprintf(
			"overlayfs (forced): the write copies the file up and the lower layers keep the original (%s)", where)})
	} else {
		out = append(out, Finding{"overlay", BestEffort, fmt.Sprintf(
			"overlayfs (forced): the file exists only in the upper layer (%s); earlier copies in lower layers cannot be ruled out", o.upperPath)})
	}
	if a := o.upperAssessment; a != nil {
		out = append(out, prefixed("upper layer "+o.upperPath+": ", a.Findings)...)
	}
	return out
}

// prefixed returns findings about something underneath (a loop device's
// backing file, an overlay's upper layer) labelled with where they apply.
func prefixed(prefix string, fs []Finding) []Finding {
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		f.Text = prefix + f.Text
		out = append(out, f)
	}
	return out
}

// capLevel lowers findings about storage underneath to at most lv: a
// refusal there (an overlay under a loop device, say) does not stop the
// write, which already happens through the layer above.
func capLevel(fs []Finding, lv Assurance) []Finding {
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		if f.Assurance.rank() > lv.rank() {
			f.Assurance = lv
		}
		out = append(out, f)
	}
	return out
}

// memoryFindings: tmpfs and ramfs keep files in page cache only. The
// overwrite rewrites the file's current pages, but pages the kernel moved
// earlier (compaction, migration) were freed without being cleared unless
// init_on_free=1, and tmpfs pages may have been swapped out.
func memoryFindings(f facts) []Finding {
	name := f.name()
	var out []Finding
	if f.initOnFree {
		out = append(out, Finding{"memory", Overwritten, fmt.Sprintf(
			"%s keeps files in memory and the kernel clears freed pages (init_on_free=1 on its command line)", name)})
	} else {
		out = append(out, Finding{"memory", BestEffort, fmt.Sprintf(
			"%s keeps files in memory: pages the kernel moved earlier (compaction, migration) were freed with their contents, which stay in RAM until reused unless the kernel clears freed pages (init_on_free=1 is not on its command line)", name)})
	}
	if lookupFS(f.magic).name == "ramfs" {
		return out // ramfs pages are never swapped
	}
	switch {
	case f.swapsErr != nil:
		out = append(out, Finding{"swap", BestEffort, fmt.Sprintf(
			"could not read the active swap areas (%v): pages of a tmpfs file may have been written to swap", f.swapsErr)})
	case len(f.swaps) > 0:
		out = append(out, Finding{"swap", BestEffort, fmt.Sprintf(
			"swap is active (%s): pages of a tmpfs file may have been written there", strings.Join(f.swaps, ", "))})
	default:
		out = append(out, Finding{"swap", Overwritten, "no swap is active (/proc/swaps)"})
	}
	return out
}

// otherFindings covers the filesystems with one answer for every file.
func otherFindings(f facts, t fsType) []Finding {
	name := f.name()
	switch t.kind {
	case kindInPlace:
		return []Finding{{"in-place", Overwritten, fmt.Sprintf("%s overwrites file clusters in place", name)}}
	case kindCOW:
		return []Finding{{"copy-on-write", BestEffort, fmt.Sprintf(
			"%s is copy-on-write: the overwrite goes to new blocks, and the old ones stay until reused or held by snapshots", name)}}
	case kindLog:
		return []Finding{{"log-structured", BestEffort, fmt.Sprintf(
			"%s is log-structured: overwrites are normally written to new blocks and the old ones stay until cleaned", name)}}
	case kindRemote:
		return []Finding{{"remote", BestEffort, fmt.Sprintf(
			"%s stores data on a server or in a user-space daemon: ckpt cannot see how it handles overwrites", name)}}
	case kindStacked:
		return []Finding{{"stacked", BestEffort, fmt.Sprintf(
			"%s stores the file in another filesystem that ckpt does not assess", name)}}
	case kindPseudo:
		return []Finding{{"pseudo-filesystem", Refused, fmt.Sprintf(
			"%s is a kernel interface, not storage: writing to it would change the running system, not destroy data", name)}}
	case kindReadOnly:
		return []Finding{{"read-only", Refused, fmt.Sprintf("%s is a read-only filesystem", name)}}
	}
	return []Finding{{"unknown-filesystem", BestEffort, fmt.Sprintf(
		"ckpt does not know how %s (statfs magic %#x) handles overwrites", name, f.magic)}}
}
