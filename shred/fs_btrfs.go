package shred

import "fmt"

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
