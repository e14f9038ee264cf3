package shred

import "fmt"

// Filesystem magic numbers (statfs f_type, include/uapi/linux/magic.h),
// kept here so the rules compile and are tested on every platform.
const (
	magicExt      = 0xef53 // ext2, ext3, ext4
	magicXFS      = 0x58465342
	magicBtrfs    = 0x9123683e
	magicZFS      = 0x2fc12fc1
	magicBcachefs = 0xca451a4e
	magicF2FS     = 0xf2f52010
	magicNILFS    = 0x3434
	magicOverlay  = 0x794c7630
	magicTmpfs    = 0x01021994
	magicRamfs    = 0x858458f6
	magicNFS      = 0x6969
	magicFUSE     = 0x65735546
	magicCIFS     = 0xff534d42
	magicSMB2     = 0xfe534d42
	magicCeph     = 0x00c36400
	magic9P       = 0x01021997
	magicEcryptfs = 0xf15f
	magicMSDOS    = 0x4d44 // vfat, msdos
	magicExFAT    = 0x2011bab0
	magicSquashfs = 0x73717368
	magicEROFS    = 0xe0f5e1e2
	magicCramfs   = 0x28cd3d45
	magicISO9660  = 0x9660
)

// fsKind groups filesystems by how they handle an overwrite.
type fsKind int

const (
	kindUnknown  fsKind = iota
	kindExt             // in place, unless data passes through the journal
	kindXFS             // in place, unless extents are shared
	kindBtrfs           // copy-on-write, unless NOCOW
	kindInPlace         // simple in-place filesystems (FAT)
	kindCOW             // always copy-on-write
	kindLog             // log-structured
	kindMemory          // tmpfs, ramfs
	kindOverlay         // overlayfs
	kindRemote          // the data lives on a server or in a daemon
	kindStacked         // the data lives in another filesystem
	kindReadOnly        // cannot be written at all
)

type fsType struct {
	name string
	kind fsKind
}

// lookupFS names a magic number and says how that filesystem overwrites;
// unknown magics get their number.
func lookupFS(magic int64) fsType {
	switch magic {
	case magicExt:
		return fsType{"ext4", kindExt}
	case magicXFS:
		return fsType{"xfs", kindXFS}
	case magicBtrfs:
		return fsType{"btrfs", kindBtrfs}
	case magicZFS:
		return fsType{"zfs", kindCOW}
	case magicBcachefs:
		return fsType{"bcachefs", kindCOW}
	case magicF2FS:
		return fsType{"f2fs", kindLog}
	case magicNILFS:
		return fsType{"nilfs2", kindLog}
	case magicOverlay:
		return fsType{"overlay", kindOverlay}
	case magicTmpfs:
		return fsType{"tmpfs", kindMemory}
	case magicRamfs:
		return fsType{"ramfs", kindMemory}
	case magicNFS:
		return fsType{"nfs", kindRemote}
	case magicFUSE:
		return fsType{"fuse", kindRemote}
	case magicCIFS:
		return fsType{"cifs", kindRemote}
	case magicSMB2:
		return fsType{"smb2", kindRemote}
	case magicCeph:
		return fsType{"ceph", kindRemote}
	case magic9P:
		return fsType{"9p", kindRemote}
	case magicEcryptfs:
		return fsType{"ecryptfs", kindStacked}
	case magicMSDOS:
		return fsType{"vfat", kindInPlace}
	case magicExFAT:
		return fsType{"exfat", kindInPlace}
	case magicSquashfs:
		return fsType{"squashfs", kindReadOnly}
	case magicEROFS:
		return fsType{"erofs", kindReadOnly}
	case magicCramfs:
		return fsType{"cramfs", kindReadOnly}
	case magicISO9660:
		return fsType{"iso9660", kindReadOnly}
	}
	return fsType{fmt.Sprintf("unknown (statfs magic %#x)", magic), kindUnknown}
}

// name is the filesystem's name for people: mountinfo's type when the
// mount is known (it tells ext3 from ext4 and names FUSE daemons), else the
// name of the magic.
func (f facts) name() string {
	if f.mount != nil && f.mount.FSType != "" {
		return f.mount.FSType
	}
	return lookupFS(f.magic).name
}

// blockBacked reports whether the kind's answer depends on the device.
func (k fsKind) blockBacked() bool {
	return k == kindExt || k == kindXFS || k == kindBtrfs || k == kindInPlace
}

// judge turns facts into findings, filesystem first, then the file's
// attributes and extents, then the device.
func judge(f facts, opt Options) []Finding {
	t := lookupFS(f.magic)
	var out []Finding
	if f.readOnly || (f.mount != nil && f.mount.hasOption("ro")) {
		out = append(out, Finding{"read-only", Refused,
			fmt.Sprintf("%s is mounted read-only", f.name())})
	}
	switch t.kind {
	case kindExt:
		out = append(out, extFindings(f)...)
	case kindXFS:
		out = append(out, xfsFindings(f)...)
	case kindBtrfs:
		out = append(out, btrfsFindings(f)...)
	case kindOverlay:
		out = append(out, overlayFindings(f, opt)...)
	case kindMemory:
		out = append(out, memoryFindings(f)...)
	default:
		out = append(out, otherFindings(f, t)...)
	}
	out = append(out, flagFindings(f)...)
	out = append(out, extentFindings(f, t)...)
	if t.kind.blockBacked() {
		if f.device == "" && len(f.media) == 0 {
			out = append(out, Finding{"device-unknown", BestEffort,
				fmt.Sprintf("could not find the block device under %s, so the media cannot be checked", f.name())})
		}
		out = append(out, f.media...)
	}
	return out
}
