// Package shred overwrites files and removes them, and says honestly
// whether the overwrite reached the bytes that held the data.
//
// Overwriting a file only destroys its old contents when the filesystem and
// the device write the new bytes over the old ones. Copy-on-write and
// log-structured filesystems, snapshots, reflinks, journals that hold data,
// overlay mounts, swap and flash wear levelling all keep copies that an
// overwrite never touches. File overwrites anyway and then reports one of
// three assurance levels, each with the checked facts behind it:
//
//   - Overwritten: an in-place overwrite is effective on this storage.
//   - BestEffort: the file was overwritten, but copies may survive (the
//     reasons say where).
//   - Refused: nothing was written (the reasons say why).
//
// The facts come from statfs, /proc/self/mountinfo, /proc/fs/ext4,
// FS_IOC_GETFLAGS, FIEMAP, /proc/swaps and /sys/dev/block: nothing is
// inferred from a path or a name.
//
// On storage where the level is BestEffort the only real defence is never
// letting plaintext rest: seal at the source, then shred.
package shred
