package shred

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSys builds a /sys tree: files maps paths under the root to contents,
// links maps link paths to targets relative to the root.
func fakeSys(t *testing.T, files map[string]string, links map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for l, target := range links {
		full := filepath.Join(root, l)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		rel, err := filepath.Rel(filepath.Dir(full), filepath.Join(root, target))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(rel, full); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestMedia reads what lies under a device from fake /sys trees: the
// device's name, the findings' codes, and a word the first finding's text
// must hold.
func TestMedia(t *testing.T) {
	type query struct {
		major, minor uint32
		name, codes  string
		text         string
	}
	for _, tc := range []struct {
		name         string
		files, links map[string]string
		queries      []query
	}{
		{"partition of a spinning disk", map[string]string{
			"devices/pci0/ata1/block/sda/queue/rotational": "1",
			"devices/pci0/ata1/block/sda/sda1/partition":   "1",
			"devices/pci0/ata1/block/sda/device/model":     "WDC WD40EFRX",
		}, map[string]string{"dev/block/8:1": "devices/pci0/ata1/block/sda/sda1"},
			[]query{{8, 1, "sda1", "rotational=overwritten", ""}}},
		{"SSD", map[string]string{
			"devices/pci0/nvme/nvme0/nvme0n1/queue/rotational":    "0",
			"devices/pci0/nvme/nvme0/nvme0n1/nvme0n1p2/partition": "2",
		}, map[string]string{"dev/block/259:2": "devices/pci0/nvme/nvme0/nvme0n1/nvme0n1p2"},
			[]query{{259, 2, "nvme0n1p2", "non-rotational=best-effort", "nvme0n1 is non-rotational"}}},
		{"virtual disks", map[string]string{
			"devices/pci0/virtio1/block/vda/queue/rotational": "1",
			"devices/pci0/scsi/block/sdb/queue/rotational":    "1",
			"devices/pci0/scsi/block/sdb/device/vendor":       "QEMU",
			"devices/pci0/scsi/block/sdb/device/model":        "QEMU HARDDISK",
		}, map[string]string{
			"dev/block/254:0": "devices/pci0/virtio1/block/vda",
			"dev/block/8:16":  "devices/pci0/scsi/block/sdb",
		}, []query{
			{254, 0, "vda", "virtual-disk=best-effort", "virtio"},
			{8, 16, "sdb", "virtual-disk=best-effort", "QEMU HARDDISK"},
		}},
		{"device mapper", map[string]string{
			"devices/virtual/block/dm-0/dm/name":           "vg-root",
			"devices/virtual/block/dm-0/dm/uuid":           "LVM-abc",
			"devices/virtual/block/dm-1/dm/name":           "vg-root-real",
			"devices/virtual/block/dm-2/dm/name":           "cryptdata",
			"devices/virtual/block/dm-2/dm/uuid":           "CRYPT-LUKS2-abc-cryptdata",
			"devices/pci0/ata1/block/sda/queue/rotational": "0",
			"devices/pci0/ata1/block/sda/sda2/partition":   "2",
		}, map[string]string{
			"dev/block/253:0":                        "devices/virtual/block/dm-0",
			"dev/block/253:2":                        "devices/virtual/block/dm-2",
			"devices/virtual/block/dm-0/slaves/dm-1": "devices/virtual/block/dm-1",
			"devices/virtual/block/dm-1/slaves/sda2": "devices/pci0/ata1/block/sda/sda2",
			"devices/virtual/block/dm-2/slaves/sda2": "devices/pci0/ata1/block/sda/sda2",
		}, []query{
			// An LVM snapshot origin on an SSD.
			{253, 0, "dm-0", "snapshot=best-effort non-rotational=best-effort", "dm-0 (vg-root)"},
			{253, 2, "dm-2", "dm-crypt=overwritten non-rotational=best-effort", ""},
		}},
		{"unknown device", nil, nil, []query{{8, 0, "", "device-unknown=best-effort", ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := host{sys: fakeSys(t, tc.files, tc.links)}
			for _, q := range tc.queries {
				name, fs := h.media(q.major, q.minor)
				if name != q.name || codes(fs) != q.codes || !strings.Contains(fs[0].Text, q.text) {
					t.Errorf("%d:%d: %q %+v; want %q, %s, a first text with %q", q.major, q.minor, name, fs, q.name, q.codes, q.text)
				}
			}
		})
	}
}

func TestMediaLoopFollowsTheBackingFile(t *testing.T) {
	sys := fakeSys(t, map[string]string{
		"devices/virtual/block/loop3/loop/backing_file": "/images/disk.img",
		"devices/virtual/block/loop3/queue/rotational":  "1",
	}, map[string]string{"dev/block/7:3": "devices/virtual/block/loop3"})
	var asked []string
	h := host{sys: sys, assessPath: func(h host, path string) (Assessment, error) {
		asked = append(asked, path)
		if h.depth != 1 {
			t.Errorf("backing file assessed at depth %d", h.depth)
		}
		return Assessment{Findings: []Finding{
			{"copy-on-write", BestEffort, "btrfs is copy-on-write"},
			{"overlay", Refused, "overlayfs"},
		}}, nil
	}}
	name, fs := h.media(7, 3)
	if name != "loop3" || len(asked) != 1 || asked[0] != "/images/disk.img" {
		t.Fatalf("name %s, assessed %q", name, asked)
	}
	if got := codes(fs); got != "loop=overwritten copy-on-write=best-effort overlay=best-effort" {
		t.Errorf("findings %s", got)
	}
	if !strings.HasPrefix(fs[1].Text, "loop3 backing file: btrfs") {
		t.Errorf("backing finding not labelled: %q", fs[1].Text)
	}

	h.assessPath = func(host, string) (Assessment, error) { return Assessment{}, errors.New("gone") }
	if _, fs := h.media(7, 3); codes(fs) != "loop=best-effort" {
		t.Errorf("unassessable backing file: %+v", fs)
	}
	h.depth = maxDepth
	if _, fs := h.media(7, 3); codes(fs) != "loop=best-effort" || !strings.Contains(fs[0].Text, "too deep") {
		t.Errorf("depth limit: %+v", fs)
	}
}
