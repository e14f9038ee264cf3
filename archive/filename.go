package archive

import (
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// FileName is what the kubelet's file name says about a checkpoint:
// checkpoint-<pod>_<namespace>-<container>-<RFC 3339 time>.tar. It is a
// fallback for when the archive's metadata cannot be read (a sealed archive
// without a key): pod names never contain "_", but namespaces and container
// names may both contain "-", so the boundary between them is ambiguous.
type FileName struct {
	Pod string `json:"pod"`
	// NamespaceContainer is "<namespace>-<container>" as written.
	NamespaceContainer string `json:"namespace_container"`
	// Splits are the ways NamespaceContainer divides into valid names.
	Splits []NameSplit `json:"splits"`
	// Time is the checkpoint time in UTC. The kubelet writes local time,
	// with its offset.
	Time time.Time `json:"time"`
}

// NameSplit is one reading of "<namespace>-<container>".
type NameSplit struct {
	Namespace string `json:"namespace"`
	Container string `json:"container"`
}

var kubeletName = regexp.MustCompile(`^checkpoint-([a-z0-9.-]+)_([a-z0-9-]+)-(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))$`)

// dns1123Label is what Kubernetes allows for namespaces and container names.
var dns1123Label = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ParseFileName reads a kubelet checkpoint file name. Extensions ckpt or a
// user may have added (.gz, .zst, .age, ...) are ignored.
func ParseFileName(name string) (FileName, bool) {
	base := filepath.Base(name)
	for _, ext := range []string{".age", ".gz", ".zst", ".bz2", ".xz", ".tgz", ".tar"} {
		base = strings.TrimSuffix(base, ext)
	}
	m := kubeletName.FindStringSubmatch(base)
	if m == nil {
		return FileName{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, m[3])
	if err != nil {
		return FileName{}, false
	}
	fn := FileName{Pod: m[1], NamespaceContainer: m[2], Time: t.UTC()}
	for i := range len(m[2]) {
		if m[2][i] != '-' {
			continue
		}
		ns, ctr := m[2][:i], m[2][i+1:]
		if dns1123Label.MatchString(ns) && dns1123Label.MatchString(ctr) {
			fn.Splits = append(fn.Splits, NameSplit{ns, ctr})
		}
	}
	if len(fn.Splits) == 0 {
		return FileName{}, false
	}
	return fn, true
}
