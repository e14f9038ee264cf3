package shred

import "fmt"

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
