package shred

import (
	"fmt"
	"strings"
)

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
