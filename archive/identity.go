package archive

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	metadata "github.com/checkpoint-restore/checkpointctl/lib"
)

// Engines that write checkpoint archives.
const (
	EngineCRIO       = "CRI-O"
	EngineContainerd = "containerd"
	EnginePodman     = "Podman"
)

// Identity says which container a checkpoint is of and how it was made.
type Identity struct {
	Namespace   string `json:"namespace"`
	Pod         string `json:"pod"`
	PodUID      string `json:"pod_uid"`
	Container   string `json:"container"`
	ContainerID string `json:"container_id"`
	Image       string `json:"image"`
	Engine      string `json:"engine"`  // CRI-O, containerd, Podman
	Runtime     string `json:"runtime"` // the OCI runtime: runc, crun
	CRIUVersion string `json:"criu_version"`
	Host        string `json:"host"`     // the node, from CRIU's log
	Hostname    string `json:"hostname"` // the container's own
	IP          string `json:"ip"`       // the first address of Networks
	// Networks are every network the container was attached to, with
	// its interface, addresses (v4 and v6), MAC and gateways, sorted by
	// network and interface name.
	Networks []Network `json:"networks"`
	Created  time.Time `json:"created"`
	// Checkpointed is when the dump was taken.
	Checkpointed time.Time `json:"checkpointed"`
	// FromFileName lists the fields read from the kubelet's file name
	// because the archive did not say: treat them as hints.
	FromFileName []string `json:"from_file_name"`
	// Notes explain other guesses, e.g. a CRIU version inferred from the
	// image format.
	Notes []string `json:"notes"`
}

// Annotations CRI-O, containerd and checkpoint images put in spec.dump.
const (
	annManager          = "io.container.manager"
	annPodName          = "io.kubernetes.pod.name"
	annPodNamespace     = "io.kubernetes.pod.namespace"
	annPodUID           = "io.kubernetes.pod.uid"
	annCRIOMetadata     = "io.kubernetes.cri-o.Metadata"
	annCRIOImageName    = "io.kubernetes.cri-o.ImageName"
	annCRIOLabels       = "io.kubernetes.cri-o.Labels"
	annCRIContainerName = "io.kubernetes.cri.container-name"
	annCRISandboxName   = "io.kubernetes.cri.sandbox-name"
	annCRISandboxNS     = "io.kubernetes.cri.sandbox-namespace"
	annCRISandboxUID    = "io.kubernetes.cri.sandbox-uid"
	annCRIImageName     = "io.kubernetes.cri.image-name"
	annContainerName    = "io.kubernetes.container.name"
)

// identify derives the identity from the parsed metadata, per engine.
func identify(m *Metadata, log *DumpLog) Identity {
	var id Identity
	ann := map[string]string{}
	if m.Spec != nil {
		if m.Spec.Annotations != nil {
			ann = m.Spec.Annotations
		}
		id.Hostname = m.Spec.Hostname
	}
	if c := m.Config; c != nil {
		id.ContainerID = c.ID
		id.Container = c.Name
		id.Image = firstOf(c.RootfsImageName, c.RootfsImage)
		id.Runtime = c.OCIRuntime
		id.Created = c.CreatedTime.UTC()
		if !c.CheckpointedAt.IsZero() {
			id.Checkpointed = c.CheckpointedAt.UTC()
		}
	}
	switch {
	case ann[annManager] == "cri-o":
		id.Engine = EngineCRIO
		var md struct {
			Name string `json:"name"`
		}
		if json.Unmarshal([]byte(ann[annCRIOMetadata]), &md) == nil && md.Name != "" {
			id.Container = md.Name
		} else {
			var labels map[string]string
			if json.Unmarshal([]byte(ann[annCRIOLabels]), &labels) == nil && labels[annContainerName] != "" {
				id.Container = labels[annContainerName]
			}
		}
		id.Namespace, id.Pod, id.PodUID = ann[annPodNamespace], ann[annPodName], ann[annPodUID]
		id.Image = firstOf(ann[annCRIOImageName], id.Image)
		id.Networks = crioNetworks(ann)
	case ann[annManager] == "libpod":
		id.Engine = EnginePodman
		if ns := m.NetworkStatus; ns != nil {
			id.Networks = podmanNetworks(*ns)
		}
	case ann[annCRIContainerName] != "" || m.Status != nil:
		id.Engine = EngineContainerd
		id.Container = firstOf(ann[annCRIContainerName], id.Container)
		id.Namespace, id.Pod, id.PodUID = ann[annCRISandboxNS], ann[annCRISandboxName], ann[annCRISandboxUID]
		id.Image = firstOf(ann[annCRIImageName], id.Image)
	}
	// Checkpoint images and newer engines record these explicitly.
	id.Engine = firstOf(ann[metadata.CheckpointAnnotationEngine], id.Engine)
	id.Container = firstOf(ann[metadata.CheckpointAnnotationName], id.Container)
	id.Pod = firstOf(ann[metadata.CheckpointAnnotationPod], id.Pod)
	id.Namespace = firstOf(ann[metadata.CheckpointAnnotationNamespace], id.Namespace)
	id.PodUID = firstOf(ann[metadata.CheckpointAnnotationPodUID], id.PodUID)
	id.Image = firstOf(ann[metadata.CheckpointAnnotationRootfsImageName], id.Image)
	id.Runtime = firstOf(ann[metadata.CheckpointAnnotationRuntimeName], id.Runtime)
	id.CRIUVersion = ann[metadata.CheckpointAnnotationCriuVersion]
	if log != nil {
		id.CRIUVersion = firstOf(log.CRIUVersion, id.CRIUVersion)
		id.Host = log.Host
	}
	if id.Networks == nil {
		id.Networks = []Network{}
	}
	for _, n := range id.Networks {
		if len(n.IPs) > 0 {
			id.IP = n.IPs[0]
			break
		}
	}
	return id
}

// Network is one network a container was attached to.
type Network struct {
	Name      string   `json:"name"` // empty when the engine does not say
	Interface string   `json:"interface"`
	IPs       []string `json:"ips"` // with their prefix length when known
	MAC       string   `json:"mac"`
	Gateways  []string `json:"gateways"`
}

// podmanNetworks lists every interface of every network of Podman's
// network.status, by name.
func podmanNetworks(ns metadata.PodmanNetworkStatus) []Network {
	out := []Network{}
	for _, name := range slices.Sorted(maps.Keys(ns)) {
		for _, ifname := range slices.Sorted(maps.Keys(ns[name].Interfaces)) {
			iface := ns[name].Interfaces[ifname]
			n := Network{Name: name, Interface: ifname, IPs: []string{}, MAC: iface.MacAddress, Gateways: []string{}}
			for _, sn := range iface.Subnets {
				if sn.IPNet != "" {
					n.IPs = append(n.IPs, sn.IPNet)
				}
				if sn.Gateway != "" && !slices.Contains(n.Gateways, sn.Gateway) {
					n.Gateways = append(n.Gateways, sn.Gateway)
				}
			}
			out = append(out, n)
		}
	}
	return out
}

// crioNetworks reads CRI-O's IP.0, IP.1, ... annotations (v4 and v6 of
// the pod's one network).
func crioNetworks(ann map[string]string) []Network {
	n := Network{IPs: []string{}, Gateways: []string{}}
	for i := 0; ; i++ {
		ip, ok := ann[fmt.Sprintf("io.kubernetes.cri-o.IP.%d", i)]
		if !ok {
			break
		}
		if ip != "" {
			n.IPs = append(n.IPs, ip)
		}
	}
	if len(n.IPs) == 0 {
		return []Network{}
	}
	return []Network{n}
}

// fillFromFileName completes an identity the metadata left empty with what
// the kubelet's file name says, and records that it did.
func (id *Identity) fillFromFileName(name string) {
	fn, ok := ParseFileName(name)
	if !ok {
		return
	}
	if id.Pod == "" {
		id.Pod = fn.Pod
		id.FromFileName = append(id.FromFileName, "pod")
	}
	if len(fn.Splits) == 1 {
		if id.Namespace == "" {
			id.Namespace = fn.Splits[0].Namespace
			id.FromFileName = append(id.FromFileName, "namespace")
		}
		if id.Container == "" {
			id.Container = fn.Splits[0].Container
			id.FromFileName = append(id.FromFileName, "container")
		}
	} else if id.Namespace == "" && id.Container == "" {
		id.Notes = append(id.Notes, "file name is ambiguous: namespace and container are \""+fn.NamespaceContainer+"\" together")
	}
	if id.Checkpointed.IsZero() {
		id.Checkpointed = fn.Time
		id.FromFileName = append(id.FromFileName, "checkpointed")
	}
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// IdentityFromFileName is what the kubelet's file name alone says, for
// archives whose content cannot be read. FromFileName lists every field
// it fills.
func IdentityFromFileName(name string) Identity {
	var id Identity
	id.fillFromFileName(name)
	return id
}
