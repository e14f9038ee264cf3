package shred

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// media walks from the block device a filesystem sits on down to the
// physical devices, through partitions, device-mapper and md stacks and
// loop devices, and reports what each layer means for an in-place
// overwrite. name is the device's kernel name ("vda1", "dm-0", "loop3").
func (h host) media(major, minor uint32) (name string, out []Finding) {
	link := h.sysPath("dev", "block", fmt.Sprintf("%d:%d", major, minor))
	dir, err := filepath.EvalSymlinks(link)
	if err != nil {
		return "", []Finding{{"device-unknown", BestEffort, fmt.Sprintf(
			"could not find block device %d:%d in /sys/dev/block (%v), so the media cannot be checked", major, minor, err)}}
	}
	return filepath.Base(dir), h.walkDevice(dir)
}

// walkDevice reports on the device at sysfs directory dir.
func (h host) walkDevice(dir string) []Finding {
	name := filepath.Base(dir)
	if h.exists(filepath.Join(dir, "partition")) {
		return h.walkDevice(filepath.Dir(dir)) // a partition: its disk decides
	}
	if h.exists(filepath.Join(dir, "loop")) {
		return h.loopFindings(dir, name)
	}
	slaves, _ := os.ReadDir(filepath.Join(dir, "slaves"))
	if len(slaves) > 0 {
		return h.stackFindings(dir, name, slaves)
	}
	return h.diskFindings(dir, name)
}

// loopFindings: a loop device writes into its backing file, so the
// backing file's storage decides.
func (h host) loopFindings(dir, name string) []Finding {
	backing, err := h.read(filepath.Join(dir, "loop", "backing_file"))
	if err != nil || backing == "" {
		return []Finding{{"loop", BestEffort, fmt.Sprintf(
			"%s is a loop device whose backing file could not be read", name)}}
	}
	if strings.HasSuffix(backing, " (deleted)") {
		return []Finding{{"loop", BestEffort, fmt.Sprintf(
			"%s is backed by a deleted file (%s) that cannot be assessed", name, backing)}}
	}
	if h.assessPath == nil || h.depth >= maxDepth {
		return []Finding{{"loop", BestEffort, fmt.Sprintf(
			"%s is backed by the file %s, which was not assessed (storage stacked too deep)", name, backing)}}
	}
	a, err := h.assessPath(h.deeper(), backing)
	if err != nil {
		return []Finding{{"loop", BestEffort, fmt.Sprintf(
			"%s is backed by the file %s, which could not be assessed: %v", name, backing, err)}}
	}
	out := []Finding{{"loop", Overwritten, fmt.Sprintf(
		"%s writes in place into its backing file %s", name, backing)}}
	return append(out, prefixed(name+" backing file: ", capLevel(a.Findings, BestEffort))...)
}

// stackFindings: device-mapper and md devices write to the devices below
// them. LVM snapshot origins and thin volumes keep old blocks; LVM names
// their hidden devices "-real" and "-tpool", which is how they are found.
func (h host) stackFindings(dir, name string, slaves []os.DirEntry) []Finding {
	label := name
	dmName, _ := h.read(filepath.Join(dir, "dm", "name"))
	if dmName != "" {
		label = fmt.Sprintf("%s (%s)", name, dmName)
	}
	var out []Finding
	if uuid, _ := h.read(filepath.Join(dir, "dm", "uuid")); strings.HasPrefix(uuid, "CRYPT-") {
		out = append(out, Finding{"dm-crypt", Overwritten, fmt.Sprintf(
			"%s is a dm-crypt device: the disk below holds only ciphertext of the file", label)})
	}
	names := make([]string, 0, len(slaves))
	for _, s := range slaves {
		names = append(names, s.Name())
	}
	sort.Strings(names)
	for _, s := range names {
		sdir, err := filepath.EvalSymlinks(filepath.Join(dir, "slaves", s))
		if err != nil {
			out = append(out, Finding{"device-unknown", BestEffort, fmt.Sprintf(
				"%s sits on %s, which could not be followed in /sys: %v", label, s, err)})
			continue
		}
		below, _ := h.read(filepath.Join(sdir, "dm", "name"))
		switch {
		case strings.HasSuffix(below, "-real"):
			out = append(out, Finding{"snapshot", BestEffort, fmt.Sprintf(
				"%s is the origin of an LVM snapshot (it sits on %s): each write first copies the old block into the snapshot", label, below)})
		case strings.HasSuffix(below, "-tpool"):
			out = append(out, Finding{"thin", BestEffort, fmt.Sprintf(
				"%s is an LVM thin volume (pool %s): thin snapshots share its blocks, and ckpt cannot check for them", label, below)})
		}
		out = append(out, h.walkDevice(sdir)...)
	}
	return out
}

// diskFindings reports on a device with nothing below it in this kernel.
func (h host) diskFindings(dir, name string) []Finding {
	var out []Finding
	switch {
	case strings.HasPrefix(name, "zram"):
		out = append(out, Finding{"zram", BestEffort, fmt.Sprintf(
			"%s is compressed RAM: rewritten pages are stored anew and the old ones freed without being cleared", name)})
	case strings.HasPrefix(name, "nbd"), strings.HasPrefix(name, "rbd"):
		out = append(out, Finding{"network-device", BestEffort, fmt.Sprintf(
			"%s is a network block device: the server's storage may keep copies", name)})
	}
	virtual := h.virtualDisk(dir)
	if virtual != "" {
		out = append(out, Finding{"virtual-disk", BestEffort, fmt.Sprintf(
			"%s is a virtual disk (%s): the host's storage may keep copies the guest cannot see, in snapshots or copy-on-write images", name, virtual)})
	}
	rot, err := h.read(filepath.Join(dir, "queue", "rotational"))
	switch {
	case virtual != "" && err == nil && rot != "0":
		// A virtual disk's rotational flag describes nothing physical.
	case err != nil:
		out = append(out, Finding{"media-unknown", BestEffort, fmt.Sprintf(
			"could not read whether %s is rotational: %v", name, err)})
	case rot == "0":
		out = append(out, Finding{"non-rotational", BestEffort, fmt.Sprintf(
			"%s is non-rotational (SSD or flash, queue/rotational = 0): wear levelling may keep old copies of overwritten blocks", name)})
	default:
		out = append(out, Finding{"rotational", Overwritten, fmt.Sprintf(
			"%s is a rotational disk (queue/rotational = %s): overwrites reach the same sectors", name, rot)})
	}
	return out
}

// virtualDisk names the hypervisor interface or the virtual model of the
// disk at dir, or returns "".
func (h host) virtualDisk(dir string) string {
	for _, bus := range []struct{ part, name string }{
		{"/virtio", "virtio"}, {"/vbd-", "Xen"}, {"/VMBUS:", "Hyper-V"}, {"/vmbus", "Hyper-V"},
	} {
		if strings.Contains(dir, bus.part) {
			return bus.name
		}
	}
	vendor, _ := h.read(filepath.Join(dir, "device", "vendor"))
	model, _ := h.read(filepath.Join(dir, "device", "model"))
	id := vendor + " " + model
	for _, m := range []string{"QEMU", "VMware", "VBOX", "Virtual disk", "Virtual Disk", "Amazon Elastic Block Store", "PersistentDisk"} {
		if strings.Contains(id, m) {
			return "model " + strings.TrimSpace(id)
		}
	}
	return ""
}
