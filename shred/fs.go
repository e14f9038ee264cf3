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

// pseudoFilesystem names the kernel's interfaces that look like files:
// writing random bytes into them is never a shred, and into some (sysfs,
// procfs, debugfs, configfs) it changes the running system. They are
// refused by magic, whatever mountinfo calls them.
func pseudoFilesystem(magic int64) (string, bool) {
	switch magic {
	case 0x9fa0:
		return "proc", true
	case 0x62656572:
		return "sysfs", true
	case 0x27e0eb:
		return "cgroup", true
	case 0x63677270:
		return "cgroup2", true
	case 0x64626720:
		return "debugfs", true
	case 0x74726163:
		return "tracefs", true
	case 0x73636673:
		return "securityfs", true
	case 0x62656570:
		return "configfs", true
	case 0x1cd1:
		return "devpts", true
	case 0x6165676c:
		return "pstore", true
	case 0xcafe4a11:
		return "bpf", true
	case 0xde5e81e4:
		return "efivarfs", true
	case 0xf97cff8c:
		return "selinuxfs", true
	case 0x43415d53:
		return "smackfs", true
	case 0x42494e4d:
		return "binfmt_misc", true
	case 0x19800202:
		return "mqueue", true
	case 0x65735543:
		return "fusectl", true
	case 0x0187:
		return "autofs", true
	case 0x6e736673:
		return "nsfs", true
	case 0x67596969:
		return "rpc_pipefs", true
	case 0x958458f6:
		return "hugetlbfs", true
	case 0x50495045:
		return "pipefs", true
	case 0x534f434b:
		return "sockfs", true
	case 0x09041934:
		return "anon_inode", true
	case 0x62646576:
		return "bdev", true
	case 0x6e667364:
		return "nfsd", true
	}
	return "", false
}

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
	kindPseudo          // a kernel interface, not storage
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
	if name, ok := pseudoFilesystem(magic); ok {
		return fsType{name, kindPseudo}
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
