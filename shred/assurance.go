package shred

// Assurance says how far an overwrite can be trusted to have destroyed the
// data it replaced.
type Assurance string

const (
	// Overwritten means the filesystem and device overwrite in place, so
	// the new bytes landed on the blocks that held the old ones.
	Overwritten Assurance = "overwritten"
	// BestEffort means the file was (or would be) overwritten, but the
	// storage may keep copies elsewhere: the reasons say where.
	BestEffort Assurance = "best-effort"
	// Refused means nothing was (or would be) written.
	Refused Assurance = "refused"
)

// rank orders levels from best to worst, so a file gets the worst level
// any of its checks found.
func (a Assurance) rank() int {
	switch a {
	case Overwritten:
		return 0
	case BestEffort:
		return 1
	default:
		return 2
	}
}

// worse returns the lower of two assurance levels.
func worse(a, b Assurance) Assurance {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Finding is one checked fact about where a file's bytes live and what it
// means for an overwrite.
type Finding struct {
	// Code names the fact for scripts; codes never change meaning.
	Code string `json:"code"`
	// Assurance is the best level this fact allows.
	Assurance Assurance `json:"assurance"`
	// Text explains the fact to a person, naming what was checked.
	Text string `json:"text"`
}

// level is the worst assurance among findings; with no findings at all
// nothing vouches for an in-place overwrite, so it is BestEffort.
func level(fs []Finding) Assurance {
	if len(fs) == 0 {
		return BestEffort
	}
	a := Overwritten
	for _, f := range fs {
		a = worse(a, f.Assurance)
	}
	return a
}

// reasons returns the texts of the findings that set the level: the
// limiting facts for BestEffort and Refused, the supporting ones for
// Overwritten.
func reasons(fs []Finding) []string {
	lv := level(fs)
	out := []string{}
	for _, f := range fs {
		if f.Assurance == lv {
			out = append(out, f.Text)
		}
	}
	return out
}
