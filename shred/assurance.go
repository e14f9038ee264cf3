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

// Assessment is what the storage under one file means for overwriting it.
type Assessment struct {
	// Filesystem is the mount's type, "ext4", "btrfs", "fuse.sshfs", ...
	Filesystem string `json:"filesystem"`
	MountPoint string `json:"mount_point"`
	// Device is the kernel name of the block device under the
	// filesystem ("vda1", "dm-0", "loop3"), "" when there is none.
	Device string `json:"device"`
	// BlockSize is the filesystem block size: passes cover the file
	// rounded up to it, so the slack after the last byte is overwritten
	// too.
	BlockSize int64     `json:"block_size"`
	Assurance Assurance `json:"assurance"`
	// Findings are every fact checked, in order: filesystem, file
	// attributes and extents, then the device stack.
	Findings []Finding `json:"findings"`
}

// Reasons returns the texts of the findings that set the level.
func (a Assessment) Reasons() []string { return reasons(a.Findings) }
