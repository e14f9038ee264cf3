package agent

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ckpt-dev/ckpt/crypto/seal"
)

// PinSuffix marks an archive pinned: NAME.keep beside NAME, as the
// checkpoint-restore-operator's PodRestore (and people) create it.
const PinSuffix = ".keep"

// archiveExts are the names the agent treats as checkpoint archives. The
// kubelet writes .tar; compressed ones come from people and other tools.
var archiveExts = []string{".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".tar.bz2"}

// isArchiveName reports a checkpoint archive's name: not hidden (writers
// use hidden temporary names), with an archive extension.
func isArchiveName(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	for _, ext := range archiveExts {
		if strings.HasSuffix(name, ext) && len(name) > len(ext) {
			return true
		}
	}
	return false
}

// tempName matches the temporary files a sealing run writes for a sealed
// file or a sidecar (internal/atomicfile: ".NAME.tmp-PID-<12 hex>", named
// only where O_TMPFILE is missing or while a --force replacement is
// published); a killed run leaves them behind. The group is NAME.
var tempName = regexp.MustCompile(`^\.(.+\.age(?:\.sha256|\.json|\.json\.sig)?)\.tmp-[0-9]+-[0-9a-f]{12}$`)

// setFiles are the files of the sealed set of archive name in dir.
func setFiles(dir, name string) seal.Sidecars {
	return seal.SidecarsFor(filepath.Join(dir, name+seal.SealedSuffix))
}

// setState is which files of a sealed set exist.
type setState struct {
	sealed, sum, manifest, sig bool
}

func (s setState) any() bool { return s.sealed || s.sum || s.manifest || s.sig }

// complete reports all files a set has present; signed sets have four.
func (s setState) complete(signed bool) bool {
	return s.sealed && s.sum && s.manifest && (s.sig || !signed)
}

func statSet(f seal.Sidecars) setState {
	exists := func(p string) bool { _, err := os.Lstat(p); return err == nil }
	return setState{exists(f.Sealed), exists(f.Checksum), exists(f.Manifest), exists(f.Signature)}
}

// removeSet unlinks a sealed set, the sealed file first: a set cut short
// by a crash is then sidecars without a sealed file, which no one takes
// for a sealed archive, and a later run finishes the job.
func removeSet(f seal.Sidecars) error {
	var first error
	for _, p := range []string{f.Sealed, f.Checksum, f.Manifest, f.Signature} {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) && first == nil {
			first = err
		}
	}
	if err := syncDir(filepath.Dir(f.Sealed)); err != nil && first == nil {
		first = err
	}
	return first
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// sealedArchiveName returns the archive name a sealed-set file belongs
// to: "X.tar" for "X.tar.age" and its sidecars, else "".
func sealedArchiveName(name string) string {
	for _, suf := range []string{seal.SignatureSuffix, seal.ManifestSuffix, seal.ChecksumSuffix, ""} {
		base, ok := strings.CutSuffix(name, seal.SealedSuffix+suf)
		if ok && isArchiveName(base) {
			return base
		}
	}
	return ""
}
