package shred

import "fmt"

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
