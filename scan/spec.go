package scan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ckpt-dev/ckpt/archive"
)

// spec scans what spec.dump configured for the container's process: its
// arguments and environment (secret-named options and variables are
// reported as they are, and every string is scanned for the other kinds)
// and the annotations.
func (as *archiveScan) spec(c *archive.Checkpoint) {
	sp := c.Metadata.Spec
	if sp == nil {
		return
	}
	field := func(name, s string, env bool) {
		base := as.location(c, SourceSpec, "spec.dump")
		base.Field = name
		// A secret-named variable is reported whole, by secretVariable, not
		// again by the matcher.
		as.stream(strings.NewReader(s), base, func(m Match) bool { return !env || m.Kind != EnvSecret })
	}
	if p := sp.Process; p != nil {
		for _, o := range secretOptions(p.Args) {
			l := as.location(c, SourceSpec, "spec.dump")
			l.Field, l.Offset = fmt.Sprintf("process.args[%d]", o.arg), int64(o.at)
			as.s.found.add(EnvSecret, []byte(o.value), o.name, l)
		}
		for i, a := range p.Args {
			field(fmt.Sprintf("process.args[%d]", i), a, false)
		}
		for i, kv := range p.Env {
			if name, value, ok := secretVariable(kv); ok {
				l := as.location(c, SourceSpec, "spec.dump")
				l.Field, l.Offset = fmt.Sprintf("process.env[%d]", i), int64(len(name)+1)
				as.s.found.add(EnvSecret, []byte(value), name, l)
			}
			field(fmt.Sprintf("process.env[%d]", i), kv, true)
		}
	}
	keys := make([]string, 0, len(sp.Annotations))
	for k := range sp.Annotations {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		field("annotations."+k, sp.Annotations[k], false)
	}
}
