package shred

import (
	"errors"
	"strings"
	"testing"
)

// rotationalDisk is the media walk of a plain spinning disk, which lets a
// filesystem rule decide the level on its own.
func rotationalDisk() []Finding {
	return []Finding{{"rotational", Overwritten, "sda is a rotational disk"}}
}

func codes(fs []Finding) string {
	var cs []string
	for _, f := range fs {
		cs = append(cs, f.Code+"="+string(f.Assurance))
	}
	return strings.Join(cs, " ")
}

func TestJudge(t *testing.T) {
	ext4 := &mount{FSType: "ext4", Point: "/"}
	ext4Journal := &mount{FSType: "ext4", Point: "/", Super: []string{"rw", "data=journal"}}
	ro := &mount{FSType: "ext4", Point: "/", Options: []string{"ro"}}
	errNotty := errors.New("inappropriate ioctl for device")
	tests := []struct {
		name  string
		f     facts
		opt   Options
		want  Assurance
		codes string // the findings' codes, in order
	}{
		{"ext4 ordered on a spinning disk",
			facts{magic: magicExt, mount: ext4, ext4Options: []string{"rw", "data=ordered"}, ext4OptionsPath: "/proc/fs/ext4/sda1/options", device: "sda1", media: rotationalDisk()},
			Options{}, Overwritten, "in-place=overwritten rotational=overwritten"},
		{"ext4 without a journal",
			facts{magic: magicExt, mount: ext4, ext4Options: []string{"rw"}, device: "sda1", media: rotationalDisk()},
			Options{}, Overwritten, "in-place=overwritten rotational=overwritten"},
		{"ext4 data=journal from /proc/fs/ext4",
			facts{magic: magicExt, mount: ext4, ext4Options: []string{"data=journal"}, device: "sda1", media: rotationalDisk()},
			Options{}, BestEffort, "data-journal=best-effort rotational=overwritten"},
		{"ext4 data=journal from mountinfo",
			facts{magic: magicExt, mount: ext4Journal, device: "sda1", media: rotationalDisk()},
			Options{}, BestEffort, "data-journal=best-effort rotational=overwritten"},
		{"ext4 file with chattr +j",
			facts{magic: magicExt, mount: ext4, flags: flagJournalData, device: "sda1", media: rotationalDisk()},
			Options{}, BestEffort, "in-place=overwritten data-journal=best-effort rotational=overwritten"},
		{"ext4 inline data",
			facts{magic: magicExt, mount: ext4, extents: extentSummary{Total: 1, Inline: 1}, device: "sda1", media: rotationalDisk()},
			Options{}, BestEffort, "in-place=overwritten inline-data=best-effort rotational=overwritten"},
		{"ext4 on an SSD",
			facts{magic: magicExt, mount: ext4, device: "nvme0n1p1", media: []Finding{{"non-rotational", BestEffort, "x"}}},
			Options{}, BestEffort, "in-place=overwritten non-rotational=best-effort"},
		{"ext4 whose device was not found",
			facts{magic: magicExt, mount: ext4},
			Options{}, BestEffort, "in-place=overwritten device-unknown=best-effort"},
		{"read-only mount",
			facts{magic: magicExt, mount: ro, device: "sda1", media: rotationalDisk()},
			Options{}, Refused, "read-only=refused in-place=overwritten rotational=overwritten"},
		{"immutable file",
			facts{magic: magicExt, mount: ext4, flags: flagImmutable, device: "sda1", media: rotationalDisk()},
			Options{}, Refused, "in-place=overwritten immutable=refused rotational=overwritten"},
		{"xfs unshared",
			facts{magic: magicXFS, extents: extentSummary{Total: 3}, device: "sda1", media: rotationalDisk()},
			Options{}, Overwritten, "in-place=overwritten rotational=overwritten"},
		{"xfs reflinked",
			facts{magic: magicXFS, extents: extentSummary{Total: 3, Shared: 2}, device: "sda1", media: rotationalDisk()},
			Options{}, BestEffort, "in-place=overwritten shared-extents=best-effort rotational=overwritten"},
		{"xfs without FIEMAP",
			facts{magic: magicXFS, extentsErr: errNotty, device: "sda1", media: rotationalDisk()},
			Options{}, BestEffort, "in-place=best-effort rotational=overwritten"},
		{"btrfs default",
			facts{magic: magicBtrfs, extents: extentSummary{Total: 1}, device: "sda1", media: rotationalDisk()},
			Options{}, BestEffort, "copy-on-write=best-effort rotational=overwritten"},
		{"btrfs NOCOW",
			facts{magic: magicBtrfs, flags: flagNoCOW, extents: extentSummary{Total: 1}, device: "sda1", media: rotationalDisk()},
			Options{}, Overwritten, "nocow=overwritten rotational=overwritten"},
		{"btrfs NOCOW in a snapshot",
			facts{magic: magicBtrfs, flags: flagNoCOW, extents: extentSummary{Total: 1, Shared: 1}, device: "sda1", media: rotationalDisk()},
			Options{}, BestEffort, "nocow=overwritten shared-extents=best-effort rotational=overwritten"},
		{"btrfs inline",
			facts{magic: magicBtrfs, flags: flagNoCOW, extents: extentSummary{Total: 1, Inline: 1}, device: "sda1", media: rotationalDisk()},
			Options{}, BestEffort, "nocow=overwritten inline-data=best-effort rotational=overwritten"},
		{"btrfs compressed",
			facts{magic: magicBtrfs, flags: flagCompressed, extents: extentSummary{Total: 1, Encoded: 1}, device: "sda1", media: rotationalDisk()},
			Options{}, BestEffort, "copy-on-write=best-effort compressed=best-effort encoded-extents=best-effort rotational=overwritten"},
		{"overlay",
			facts{magic: magicOverlay, flagsErr: errNotty, extentsErr: errNotty, overlay: overlayFacts{lowers: []string{"/l"}, found: []string{"lower: /l/f"}}},
			Options{}, Refused, "overlay=refused"},
		{"overlay forced",
			facts{magic: magicOverlay, flagsErr: errNotty, extentsErr: errNotty, overlay: overlayFacts{lowers: []string{"/l"}, found: []string{"lower: /l/f"}}},
			Options{Force: true}, BestEffort, "overlay=best-effort"},
		{"tmpfs without swap",
			facts{magic: magicTmpfs, flagsErr: errNotty, extentsErr: errNotty},
			Options{}, BestEffort, "memory=best-effort swap=overwritten"},
		{"tmpfs with swap",
			facts{magic: magicTmpfs, flagsErr: errNotty, extentsErr: errNotty, swaps: []string{"/dev/sda2"}},
			Options{}, BestEffort, "memory=best-effort swap=best-effort"},
		{"tmpfs clearing freed pages, no swap",
			facts{magic: magicTmpfs, flagsErr: errNotty, extentsErr: errNotty, initOnFree: true},
			Options{}, Overwritten, "memory=overwritten swap=overwritten"},
		{"zfs", facts{magic: magicZFS}, Options{}, BestEffort, "copy-on-write=best-effort"},
		{"f2fs", facts{magic: magicF2FS, device: "sda1", media: rotationalDisk()}, Options{}, BestEffort, "log-structured=best-effort"},
		{"nfs", facts{magic: magicNFS}, Options{}, BestEffort, "remote=best-effort"},
		{"fuse", facts{magic: magicFUSE, mount: &mount{FSType: "fuse.sshfs"}}, Options{}, BestEffort, "remote=best-effort"},
		{"vfat", facts{magic: magicMSDOS, device: "sdb1", media: rotationalDisk()}, Options{}, Overwritten, "in-place=overwritten rotational=overwritten"},
		{"squashfs", facts{magic: magicSquashfs}, Options{}, Refused, "read-only=refused"},
		{"sysfs", facts{magic: 0x62656572, mount: &mount{FSType: "sysfs"}}, Options{}, Refused, "pseudo-filesystem=refused"},
		{"procfs", facts{magic: 0x9fa0}, Options{}, Refused, "pseudo-filesystem=refused"},
		{"cgroup2", facts{magic: 0x63677270}, Options{}, Refused, "pseudo-filesystem=refused"},
		{"debugfs", facts{magic: 0x64626720}, Options{}, Refused, "pseudo-filesystem=refused"},
		{"configfs", facts{magic: 0x62656570}, Options{}, Refused, "pseudo-filesystem=refused"},
		{"unknown", facts{magic: 0x1234}, Options{}, BestEffort, "unknown-filesystem=best-effort"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := judge(tt.f, tt.opt)
			if got := codes(fs); got != tt.codes {
				t.Errorf("findings %q, want %q", got, tt.codes)
			}
			if got := level(fs); got != tt.want {
				t.Errorf("level %s, want %s; findings: %+v", got, tt.want, fs)
			}
			for _, f := range fs {
				if f.Text == "" {
					t.Errorf("finding %s has no text", f.Code)
				}
			}
		})
	}
}

func TestJudgeTextsNameTheirSource(t *testing.T) {
	f := facts{magic: magicExt, mount: &mount{FSType: "ext3"}, ext4Options: []string{"data=writeback"}, ext4OptionsPath: "/proc/fs/ext4/sdb1/options"}
	got := judge(f, Options{})[0].Text
	if !strings.Contains(got, "ext3 with data=writeback") || !strings.Contains(got, "/proc/fs/ext4/sdb1/options") {
		t.Errorf("text %q does not name the filesystem, mode and source", got)
	}
	o := facts{magic: magicOverlay, flagsErr: errors.New("x"), extentsErr: errors.New("x"),
		overlay: overlayFacts{upper: "/u", lowers: []string{"/l1", "/l2"}, found: []string{"lower: /l2/a/f"}}}
	got = judge(o, Options{})[0].Text
	if !strings.Contains(got, "lower: /l2/a/f") || !strings.Contains(got, "host path") {
		t.Errorf("overlay refusal %q does not name the host path", got)
	}
}

func TestReasonsAreTheLimitingFindings(t *testing.T) {
	fs := []Finding{{"a", Overwritten, "fine"}, {"b", BestEffort, "copy"}, {"c", BestEffort, "ssd"}}
	if got := strings.Join(reasons(fs), "|"); got != "copy|ssd" {
		t.Errorf("reasons %q", got)
	}
	if got := level(nil); got != BestEffort {
		t.Errorf("no findings vouch for nothing: got %s", got)
	}
	if got := strings.Join(reasons(fs[:1]), "|"); got != "fine" {
		t.Errorf("overwritten reasons %q", got)
	}
}

func TestCapLevel(t *testing.T) {
	got := capLevel([]Finding{{"overlay", Refused, "x"}, {"rotational", Overwritten, "y"}}, BestEffort)
	if got[0].Assurance != BestEffort || got[1].Assurance != Overwritten {
		t.Errorf("capLevel = %+v", got)
	}
}

func TestOptions(t *testing.T) {
	if err := (Options{Keep: true, Discard: true}).Validate(); err == nil {
		t.Error("keep with discard accepted")
	}
	if err := (Options{Passes: MaxPasses + 1}).Validate(); err == nil {
		t.Error("too many passes accepted")
	}
	if err := (Options{Passes: -1}).Validate(); err == nil {
		t.Error("negative passes accepted")
	}
	if (Options{}).passes() != 1 || (Options{}).settle() != DefaultSettle {
		t.Error("zero Options are not one pass with the default settle window")
	}
	plan := strings.Join(Options{Passes: 3, Zero: true, Verify: true, Discard: true}.Plan(), "\n")
	for _, want := range []string{"3 passes", "zeros", "read the last pass back", "rename", "unlink", "FITRIM"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	if keep := strings.Join(Options{Keep: true}.Plan(), "\n"); strings.Contains(keep, "unlink") {
		t.Errorf("keep plan removes the file:\n%s", keep)
	}
}
