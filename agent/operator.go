package agent

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// operatorResource is the part of a checkpoint-restore-operator
// CheckpointRestoreOperator object (criu.org/v1) that holds its retention
// policy. Sizes there are in MB (read as MiB).
type operatorResource struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		GlobalPolicy struct {
			MaxCheckpointsPerNamespace *int `json:"maxCheckpointsPerNamespace"`
			MaxCheckpointsPerPod       *int `json:"maxCheckpointsPerPod"`
			MaxCheckpointsPerContainer *int `json:"maxCheckpointsPerContainer"`
			MaxCheckpointSize          *int `json:"maxCheckpointSize"`
			MaxTotalSizePerNamespace   *int `json:"maxTotalSizePerNamespace"`
			MaxTotalSizePerPod         *int `json:"maxTotalSizePerPod"`
			MaxTotalSizePerContainer   *int `json:"maxTotalSizePerContainer"`
		} `json:"globalPolicy"`
		ContainerPolicies []struct {
			Namespace string `json:"namespace"`
			Pod       string `json:"pod"`
			Container string `json:"container"`
			operatorLimits
		} `json:"containerPolicies"`
		PodPolicies []struct {
			Namespace string `json:"namespace"`
			Pod       string `json:"pod"`
			operatorLimits
		} `json:"podPolicies"`
		NamespacePolicies []struct {
			Namespace string `json:"namespace"`
			operatorLimits
		} `json:"namespacePolicies"`
	} `json:"spec"`
}

type operatorLimits struct {
	MaxCheckpoints    *int `json:"maxCheckpoints"`
	MaxCheckpointSize *int `json:"maxCheckpointSize"`
	MaxTotalSize      *int `json:"maxTotalSize"`
}

func (o operatorLimits) limits() Limits {
	return Limits{MaxCheckpoints: val(o.MaxCheckpoints), MaxCheckpointSize: mib(o.MaxCheckpointSize), MaxTotalSize: mib(o.MaxTotalSize)}
}

func val(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func mib(p *int) Size { return Size(int64(val(p)) << 20) }

// LoadOperatorPolicy reads a CheckpointRestoreOperator YAML object as a
// retention policy, so that a cluster moving from the operator keeps its
// policy as written. Fields this agent has no use for (checkpointDirectory,
// applyPoliciesImmediately, retainOrphan, status) are ignored.
func LoadOperatorPolicy(path string) (Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Policy{}, err
	}
	p, err := ParseOperatorPolicy(data)
	if err != nil {
		return Policy{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ParseOperatorPolicy is LoadOperatorPolicy on data.
func ParseOperatorPolicy(data []byte) (Policy, error) {
	// Decode leniently first: metadata and fields we ignore may hold
	// anything. Then check the kind.
	var r operatorResource
	if err := yaml.Unmarshal(data, &r); err != nil {
		return Policy{}, err
	}
	if r.Kind != "CheckpointRestoreOperator" {
		return Policy{}, fmt.Errorf("kind %q: want a CheckpointRestoreOperator object (apiVersion criu.org/v1)", r.Kind)
	}
	g := r.Spec.GlobalPolicy
	p := Policy{
		Global:          Limits{MaxCheckpoints: val(g.MaxCheckpointsPerContainer), MaxCheckpointSize: mib(g.MaxCheckpointSize), MaxTotalSize: mib(g.MaxTotalSizePerContainer)},
		GlobalPod:       Limits{MaxCheckpoints: val(g.MaxCheckpointsPerPod), MaxTotalSize: mib(g.MaxTotalSizePerPod)},
		GlobalNamespace: Limits{MaxCheckpoints: val(g.MaxCheckpointsPerNamespace), MaxTotalSize: mib(g.MaxTotalSizePerNamespace)},
	}
	for _, c := range r.Spec.ContainerPolicies {
		p.Containers = append(p.Containers, ContainerLimits{Namespace: c.Namespace, Pod: c.Pod, Container: c.Container, Limits: c.limits()})
	}
	for _, c := range r.Spec.PodPolicies {
		p.Pods = append(p.Pods, PodLimits{Namespace: c.Namespace, Pod: c.Pod, Limits: c.limits()})
	}
	for _, c := range r.Spec.NamespacePolicies {
		p.Namespaces = append(p.Namespaces, NamespaceLimits{Namespace: c.Namespace, Limits: c.limits()})
	}
	return p, nil
}
