package shred

import "fmt"

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
