package shred

import (
	"fmt"
	"strings"
)

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
