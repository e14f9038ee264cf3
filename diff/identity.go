package diff

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ckpt-dev/ckpt/archive"
)

// ErrDifferentContainers is returned by Compare when the identities of the
// two checkpoints say they are of different containers, unless
// Options.Force is set.
var ErrDifferentContainers = errors.New("the checkpoints are of different containers")

// Two checkpoints are of different containers when a field that names one
// container differs and both archives fill it in: the container id, the
// pod uid, the namespace, the pod name or the container name. Other
// identity fields (image, node, IP, times) are reported when they differ
// but decide nothing: the checkpoint time always differs, and a field one
// archive leaves empty (Podman has no pod) proves nothing either way.

// decisive names the identity fields that tell containers apart.
var decisive = []string{"container_id", "pod_uid", "namespace", "pod", "container"}

// identityFields lists the identity fields in report order.
func identityFields(id archive.Identity) []FieldChange {
	t := func(v time.Time) any {
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format(time.RFC3339)
	}
	return []FieldChange{
		{Field: "container_id", Old: id.ContainerID}, {Field: "pod_uid", Old: id.PodUID},
		{Field: "namespace", Old: id.Namespace}, {Field: "pod", Old: id.Pod}, {Field: "container", Old: id.Container},
		{Field: "image", Old: id.Image}, {Field: "engine", Old: id.Engine}, {Field: "runtime", Old: id.Runtime},
		{Field: "criu_version", Old: id.CRIUVersion}, {Field: "host", Old: id.Host}, {Field: "hostname", Old: id.Hostname},
		{Field: "ip", Old: id.IP}, {Field: "networks", Old: networksText(id.Networks)},
		{Field: "created", Old: t(id.Created)}, {Field: "checkpointed", Old: t(id.Checkpointed)},
	}
}

// networksText is every network in one comparable line.
func networksText(ns []archive.Network) string {
	var parts []string
	for _, n := range ns {
		f := []string{n.Name, n.Interface, strings.Join(n.IPs, ","), n.MAC, strings.Join(n.Gateways, ",")}
		parts = append(parts, strings.Join(f, " "))
	}
	return strings.Join(parts, "; ")
}

// compareIdentity lists the identity fields that differ and those of them
// that make the checkpoints of different containers.
func compareIdentity(a, b archive.Identity) (changes []FieldChange, mismatch []FieldChange) {
	fa, fb := identityFields(a), identityFields(b)
	changes = []FieldChange{}
	for i := range fa {
		if fa[i].Old == fb[i].Old {
			continue
		}
		c := FieldChange{Field: fa[i].Field, Old: fa[i].Old, New: fb[i].Old}
		changes = append(changes, c)
		if isDecisive(c.Field) && c.Old != "" && c.New != "" {
			mismatch = append(mismatch, c)
		}
	}
	return changes, mismatch
}

func isDecisive(field string) bool {
	for _, d := range decisive {
		if d == field {
			return true
		}
	}
	return false
}

// mismatchError explains which fields differ.
func mismatchError(path string, m []FieldChange) error {
	var parts []string
	for _, c := range m {
		parts = append(parts, fmt.Sprintf("%s %q in A, %q in B", c.Field, c.Old, c.New))
	}
	where := ""
	if path != "" {
		where = "container " + strings.TrimSuffix(path, "/") + ": "
	}
	return fmt.Errorf("%s%w: %s", where, ErrDifferentContainers, strings.Join(parts, ", "))
}
