package proc

import (
	"fmt"
	"slices"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/mnt"

	"github.com/ckpt-dev/ckpt/criu"
)

// Mount is a mount point of the container's mount namespace, as CRIU
// recorded it.
type Mount struct {
	ID         uint32 `json:"id"`
	ParentID   uint32 `json:"parent_id"`
	Mountpoint string `json:"mountpoint"`
	Root       string `json:"root"`
	Source     string `json:"source"`
	FSType     string `json:"fstype"`
	Options    string `json:"options"`
	ReadOnly   bool   `json:"read_only"`
	// External mounts are bind mounts from the host that the runtime sets
	// up again on restore.
	External string `json:"external,omitempty"`
}

// Mounts reads the mountpoints-<ns>.img images, ordered by mount point.
func Mounts(images *criu.ImageSet) []Mount {
	out := []Mount{}
	for _, name := range images.Names() {
		if !strings.HasPrefix(name, "mountpoints-") {
			continue
		}
		for _, e := range criu.All[*mnt.MntEntry](images, name) {
			m := Mount{ID: e.GetMntId(), ParentID: e.GetParentMntId(), Mountpoint: e.GetMountpoint(), Root: e.GetRoot(),
				Source: e.GetSource(), Options: e.GetOptions(), FSType: fsType(e), ReadOnly: e.GetFlags()&1 != 0 || e.GetSbFlags()&1 != 0,
				External: e.GetExtKey()}
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Mount) int {
		if c := strings.Compare(a.Mountpoint, b.Mountpoint); c != 0 {
			return c
		}
		return int(a.ID) - int(b.ID)
	})
	return out
}

func fsType(e *mnt.MntEntry) string {
	if e.GetFsname() != "" {
		return e.GetFsname()
	}
	if name, ok := mnt.Fstype_name[int32(e.GetFstype())]; ok {
		return strings.ToLower(name)
	}
	return fmt.Sprintf("fstype %d", e.GetFstype())
}
