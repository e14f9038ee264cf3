package shred

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
