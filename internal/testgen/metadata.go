package testgen

import (
	"encoding/json"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var capNumbers = map[string]uint{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_FOWNER": 3, "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6,
	"CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_NET_BIND_SERVICE": 10, "CAP_SYS_CHROOT": 18, "CAP_SETFCAP": 31,
}

// capabilities is the engine's default capability set, as spec.dump lists
// it and the creds in core images encode it.
func (p *plan) capabilities() []string {
	if p.s.Engine == EnginePodman {
		return []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
			"CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"}
	}
	return []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID",
		"CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_KILL"}
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// imageRef is the image's digest, as runtimes record it.
func (p *plan) imageRef() string { return hexOf(p.s.Seed, "image-ref", 64) }

func (p *plan) sandboxID() string { return hexOf(p.s.Seed, "sandbox-id", 64) }

func (p *plan) mergedRoot() string {
	return "/var/lib/containers/storage/overlay/" + hexOf(p.s.Seed, "layer", 64) + "/merged"
}

// ociSpec is spec.dump: the OCI runtime spec the container ran with.
func (p *plan) ociSpec() *specs.Spec {
	s := &p.s
	caps := p.capabilities()
	oom := 1000
	sp := &specs.Spec{
		Version: "1.0.2-dev",
		Process: &specs.Process{
			User: specs.User{UID: s.UID, GID: s.GID, AdditionalGids: []uint32{s.GID}},
			Args: s.Cmdline, Env: s.Env, Cwd: s.Cwd,
			Capabilities: &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
			OOMScoreAdj:  &oom,
		},
		Root:     &specs.Root{Path: p.mergedRoot()},
		Hostname: s.hostname(),
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
				Pids:    &specs.LinuxPids{Limit: ptr(int64(1024))},
			},
			CgroupsPath: p.cgroupPath(),
			Namespaces: []specs.LinuxNamespace{{Type: "pid"}, {Type: "network", Path: "/var/run/netns/" + uuidOf(s.Seed, "netns")},
				{Type: "ipc"}, {Type: "uts"}, {Type: "mount"}},
			MaskedPaths:   []string{"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"},
			ReadonlyPaths: []string{"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
	if s.Engine == EnginePodman {
		sp.Process.OOMScoreAdj = nil
	}
	for _, m := range p.mounts[1:] {
		opts := []string{"nosuid", "noexec", "nodev"}
		typ, src := m.source, m.source
		if m.extKey != "" {
			typ, src, opts = "bind", "/run/containers/storage/overlay-containers/"+s.ContainerID+m.root, []string{"rw", "rbind", "rprivate", "bind"}
		}
		sp.Mounts = append(sp.Mounts, specs.Mount{Destination: m.mountpoint, Type: typ, Source: src, Options: opts})
	}
	sp.Annotations = p.annotations()
	return sp
}

func ptr[T any](v T) *T { return &v }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings and fixed structs are marshaled
	}
	return string(b)
}

// annotations are what each engine records about the container.
func (p *plan) annotations() map[string]string {
	s := &p.s
	switch s.Engine {
	case EnginePodman:
		return map[string]string{
			"io.container.manager":                "libpod",
			"io.kubernetes.cri-o.Created":         rfc3339(s.Created),
			"io.kubernetes.cri-o.TTY":             "false",
			"io.podman.annotations.autoremove":    "FALSE",
			"io.podman.annotations.init":          "FALSE",
			"io.podman.annotations.privileged":    "FALSE",
			"io.podman.annotations.publish-all":   "FALSE",
			"org.opencontainers.image.stopSignal": "15",
		}
	case EngineContainerd:
		return map[string]string{
			"io.kubernetes.cri.container-name":    s.Container,
			"io.kubernetes.cri.container-type":    "container",
			"io.kubernetes.cri.image-name":        s.Image,
			"io.kubernetes.cri.sandbox-id":        p.sandboxID(),
			"io.kubernetes.cri.sandbox-name":      s.Pod,
			"io.kubernetes.cri.sandbox-namespace": s.Namespace,
			"io.kubernetes.cri.sandbox-uid":       s.PodUID,
		}
	}
	kubeAnn := map[string]string{
		"io.kubernetes.container.hash": "7d0f3e94", "io.kubernetes.container.restartCount": "0",
		"io.kubernetes.container.terminationMessagePath": "/dev/termination-log", "io.kubernetes.container.terminationMessagePolicy": "File",
		"io.kubernetes.pod.terminationGracePeriod": "30",
	}
	labels := map[string]string{
		"io.kubernetes.container.name": s.Container, "io.kubernetes.pod.name": s.Pod,
		"io.kubernetes.pod.namespace": s.Namespace, "io.kubernetes.pod.uid": s.PodUID,
	}
	ann := map[string]string{
		"io.container.manager":                   "cri-o",
		"io.kubernetes.cri-o.Annotations":        mustJSON(kubeAnn),
		"io.kubernetes.cri-o.ContainerID":        s.ContainerID,
		"io.kubernetes.cri-o.ContainerType":      "container",
		"io.kubernetes.cri-o.Created":            rfc3339(s.Created),
		"io.kubernetes.cri-o.IP.0":               s.IP,
		"io.kubernetes.cri-o.Image":              p.imageRef(),
		"io.kubernetes.cri-o.ImageName":          s.Image,
		"io.kubernetes.cri-o.ImageRef":           p.imageRef(),
		"io.kubernetes.cri-o.Labels":             mustJSON(labels),
		"io.kubernetes.cri-o.LogPath":            "/var/log/pods/" + s.Namespace + "_" + s.Pod + "_" + s.PodUID + "/" + s.Container + "/0.log",
		"io.kubernetes.cri-o.Metadata":           mustJSON(map[string]string{"name": s.Container}),
		"io.kubernetes.cri-o.MountPoint":         p.mergedRoot(),
		"io.kubernetes.cri-o.Name":               p.kubeName(),
		"io.kubernetes.cri-o.SandboxID":          p.sandboxID(),
		"io.kubernetes.cri-o.SandboxName":        "k8s_" + s.Pod + "_" + s.Namespace + "_" + s.PodUID + "_0",
		"io.kubernetes.cri-o.SeccompProfilePath": "RuntimeDefault",
		"io.kubernetes.cri-o.Stdin":              "false",
		"io.kubernetes.cri-o.StdinOnce":          "false",
		"io.kubernetes.cri-o.TTY":                "false",
		"io.kubernetes.pod.name":                 s.Pod,
		"io.kubernetes.pod.namespace":            s.Namespace,
		"io.kubernetes.pod.uid":                  s.PodUID,
		"kubernetes.io/config.seen":              rfc3339(s.Created),
		"kubernetes.io/config.source":            "api",
	}
	for k, v := range kubeAnn {
		ann[k] = v
	}
	return ann
}

// kubeName is the name CRI-O gives the container.
func (p *plan) kubeName() string {
	s := &p.s
	return "k8s_" + s.Container + "_" + s.Pod + "_" + s.Namespace + "_" + s.PodUID + "_0"
}

// kubeConfig is config.dump as CRI-O and containerd write it: checkpointctl's
// ContainerConfig.
type kubeConfig struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	RootfsImage     string    `json:"rootfsImage,omitempty"`
	RootfsImageRef  string    `json:"rootfsImageRef,omitempty"`
	RootfsImageName string    `json:"rootfsImageName,omitempty"`
	OCIRuntime      string    `json:"runtime,omitempty"`
	CreatedTime     time.Time `json:"createdTime"`
	CheckpointedAt  time.Time `json:"checkpointedTime"`
	RestoredAt      time.Time `json:"restoredTime"`
	Restored        bool      `json:"restored"`
}

// podmanConfig is the part of libpod's ContainerConfig that matters; the
// real one has about fifty fields. It has no checkpoint time.
type podmanConfig struct {
	Spec            *specs.Spec `json:"spec"`
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	RawImageName    string      `json:"RawImageName"`
	RootfsImageID   string      `json:"rootfsImageID"`
	RootfsImageName string      `json:"rootfsImageName"`
	StaticDir       string      `json:"staticDir"`
	Command         []string    `json:"command"`
	StopSignal      int         `json:"stopSignal"`
	CreatedTime     time.Time   `json:"createdTime"`
	CgroupManager   string      `json:"cgroupManager"`
	CgroupParent    string      `json:"cgroupParent"`
	LogPath         string      `json:"logPath"`
	LogDriver       string      `json:"logDriver"`
	OCIRuntime      string      `json:"runtime"`
	Umask           string      `json:"umask"`
}

func (p *plan) configDump() ([]byte, error) {
	s := &p.s
	switch s.Engine {
	case EnginePodman:
		userdata := "/var/lib/containers/storage/overlay-containers/" + s.ContainerID + "/userdata"
		return json.Marshal(podmanConfig{
			Spec: p.ociSpec(), ID: s.ContainerID, Name: s.Container, RawImageName: s.Image, RootfsImageID: p.imageRef(),
			RootfsImageName: s.Image, StaticDir: userdata, Command: s.Cmdline, StopSignal: 15, CreatedTime: s.Created.UTC(),
			CgroupManager: "cgroupfs", CgroupParent: "/libpod_parent", LogPath: userdata + "/ctr.log", LogDriver: "k8s-file",
			OCIRuntime: s.Runtime, Umask: "0022",
		})
	case EngineContainerd:
		rt := "io.containerd.runc.v2"
		return json.Marshal(kubeConfig{
			ID: s.ContainerID, Name: s.Container + "_" + s.Pod + "_" + s.Namespace + "_" + s.PodUID + "_0",
			RootfsImage: s.Image, RootfsImageRef: s.Image + "@sha256:" + p.imageRef(), RootfsImageName: s.Image,
			OCIRuntime: rt, CreatedTime: s.Created.UTC(), CheckpointedAt: s.Checkpointed.UTC(),
		})
	}
	return json.MarshalIndent(kubeConfig{
		ID: s.ContainerID, Name: p.kubeName(), RootfsImage: s.Image, RootfsImageRef: p.imageRef(), RootfsImageName: s.Image,
		OCIRuntime: s.Runtime, CreatedTime: s.Created.UTC(), CheckpointedAt: s.Checkpointed.UTC(),
	}, "", "  ")
}

// containerdStatus is containerd's own status file (containerstore.Status).
type containerdStatus struct {
	Pid        uint32
	CreatedAt  int64
	StartedAt  int64
	FinishedAt int64
	ExitCode   int32
	Reason     string
	Message    string
	Starting   bool
	Removing   bool
	Unknown    bool
}

func (p *plan) containerdStatus() ([]byte, error) {
	s := &p.s
	return json.Marshal(containerdStatus{Pid: 40000 + uint32(hashOf(s.Seed, "host-pid")%20000), CreatedAt: s.Created.UnixNano(),
		StartedAt: s.Created.Add(time.Second).UnixNano()})
}

// criStatus is status.dump: the CRI ContainerStatus, as containerd
// marshals it.
type criStatus struct {
	ID       string            `json:"id"`
	Metadata map[string]string `json:"metadata"`
	State    int               `json:"state"`
	Created  int64             `json:"created_at"`
	Started  int64             `json:"started_at"`
	Image    map[string]string `json:"image"`
	ImageRef string            `json:"image_ref"`
	Labels   map[string]string `json:"labels"`
	Annot    map[string]string `json:"annotations"`
	LogPath  string            `json:"log_path"`
}

func (p *plan) statusDump() ([]byte, error) {
	s := &p.s
	return json.Marshal(criStatus{
		ID: s.ContainerID, Metadata: map[string]string{"name": s.Container}, State: 1,
		Created: s.Created.UnixNano(), Started: s.Created.Add(time.Second).UnixNano(),
		Image: map[string]string{"image": s.Image}, ImageRef: s.Image + "@sha256:" + p.imageRef(),
		Labels: map[string]string{"io.kubernetes.container.name": s.Container, "io.kubernetes.pod.name": s.Pod,
			"io.kubernetes.pod.namespace": s.Namespace, "io.kubernetes.pod.uid": s.PodUID},
		Annot:   map[string]string{"io.kubernetes.container.hash": "7d0f3e94", "io.kubernetes.container.restartCount": "0"},
		LogPath: "/var/log/pods/" + s.Namespace + "_" + s.Pod + "_" + s.PodUID + "/" + s.Container + "/0.log",
	})
}

// networkStatus is Podman's network.status: "null" without a network.
func (p *plan) networkStatus() ([]byte, error) {
	if p.s.IP == "" {
		return []byte("null"), nil
	}
	type subnet struct {
		IPNet   string `json:"ipnet"`
		Gateway string `json:"gateway"`
	}
	type iface struct {
		Subnets []subnet `json:"subnets"`
		MAC     string   `json:"mac_address"`
	}
	type result struct {
		Interfaces map[string]iface `json:"interfaces"`
	}
	return json.Marshal(map[string]result{"podman": {Interfaces: map[string]iface{
		"eth0": {Subnets: []subnet{{IPNet: p.s.IP + "/16", Gateway: "10.88.0.1"}}, MAC: "5a:" + hexOf(p.s.Seed, "mac", 2) + ":3c:7d:10:2e"},
	}}})
}
