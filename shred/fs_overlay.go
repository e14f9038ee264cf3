package shred

import (
	"fmt"
	"strings"
)

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
