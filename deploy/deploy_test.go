// Package deploy holds the manifests and units that run ckpt agent on
// every node; its tests decode them as Kubernetes and systemd would.
package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/ckpt-dev/ckpt/agent"
)

func decodeStrict(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Every file kustomization.yaml lists decodes strictly as its kind, and
// every manifest in the directory is listed.
func TestKustomization(t *testing.T) {
	var k struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Namespace  string `json:"namespace"`
		Labels     []struct {
			Pairs map[string]string `json:"pairs"`
		} `json:"labels"`
		Resources []string `json:"resources"`
	}
	decodeStrict(t, "kubernetes/kustomization.yaml", &k)
	if k.Kind != "Kustomization" || k.Namespace != "ckpt-system" {
		t.Fatalf("kustomization: %+v", k)
	}
	files, _ := filepath.Glob("kubernetes/*.yaml")
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && !slices.Contains(k.Resources, b) {
			t.Errorf("%s is not listed in kustomization.yaml", b)
		}
	}
	for _, r := range k.Resources {
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		data, err := os.ReadFile(filepath.Join("kubernetes", r))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, &meta); err != nil {
			t.Fatal(err)
		}
		var obj any
		switch meta.Kind {
		case "Namespace":
			obj = &corev1.Namespace{}
		case "ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "ConfigMap":
			obj = &corev1.ConfigMap{}
		case "Secret":
			obj = &corev1.Secret{}
		case "DaemonSet":
			obj = &appsv1.DaemonSet{}
		default:
			t.Errorf("%s: unexpected kind %q (no RBAC: the agent needs no API access)", r, meta.Kind)
			continue
		}
		decodeStrict(t, filepath.Join("kubernetes", r), obj)
		if meta.Kind != "Namespace" && meta.Metadata.Namespace != "ckpt-system" {
			t.Errorf("%s: namespace %q", r, meta.Metadata.Namespace)
		}
	}
}

func TestDaemonSetSecurity(t *testing.T) {
	var ds appsv1.DaemonSet
	decodeStrict(t, "kubernetes/daemonset.yaml", &ds)
	pod := ds.Spec.Template.Spec
	if pod.ServiceAccountName != "ckpt-agent" || pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod must use the ckpt-agent service account without a token")
	}
	if pod.HostNetwork || pod.HostIPC {
		t.Error("no host network or IPC")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil {
		t.Fatal("no securityContext")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("root filesystem must be read-only")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation must be false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("must not be privileged")
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("seccomp RuntimeDefault")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Error("capabilities: drop ALL")
	}
	// Each added capability must be documented in docs/agent.md.
	doc, err := os.ReadFile("../docs/agent.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range sc.Capabilities.Add {
		if cp != "SYS_PTRACE" {
			t.Errorf("capability %s added; only SYS_PTRACE is shown to be needed", cp)
		}
		if !strings.Contains(string(doc), "CAP_"+string(cp)) {
			t.Errorf("capability %s is not explained in docs/agent.md", cp)
		}
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[res]; !ok {
			t.Errorf("no %s request", res)
		}
		if _, ok := c.Resources.Limits[res]; !ok {
			t.Errorf("no %s limit", res)
		}
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("liveness probe on /healthz")
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	if v := vols["checkpoints"]; v.HostPath == nil || v.HostPath.Path != "/var/lib/kubelet/checkpoints" || mounts["checkpoints"].MountPath != "/var/lib/kubelet/checkpoints" {
		t.Error("the checkpoint directory must be a hostPath mounted at the same path")
	}
	if v := vols["config"]; v.ConfigMap == nil || v.ConfigMap.Name != "ckpt-agent" || !mounts["config"].ReadOnly {
		t.Error("config from the ckpt-agent ConfigMap, read-only")
	}
	if v := vols["keys"]; v.Secret == nil || v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != 0o400 || !mounts["keys"].ReadOnly {
		t.Error("keys from a Secret, mode 0400, read-only")
	}
	if v := vols["state"]; v.HostPath == nil {
		t.Error("the node key's state directory must persist on the node")
	}
}

// The config in the ConfigMap is a valid agent config.
func TestConfigMapConfig(t *testing.T) {
	var cm corev1.ConfigMap
	decodeStrict(t, "kubernetes/configmap.yaml", &cm)
	cfg, err := agent.ParseConfig([]byte(cm.Data["agent.yaml"]))
	if err != nil {
		t.Fatalf("agent.yaml in the ConfigMap: %v", err)
	}
	if cfg.Dir != "/var/lib/kubelet/checkpoints" || cfg.MetricsAddr != ":9737" || cfg.Seal.RecipientsFile != "/etc/ckpt/keys/recipients" {
		t.Errorf("config %+v", cfg)
	}
	var sa corev1.ServiceAccount
	decodeStrict(t, "kubernetes/serviceaccount.yaml", &sa)
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("service account must not mount a token")
	}
}

// unit reads a systemd unit into section -> key -> values.
func unit(t *testing.T, path string) map[string]map[string][]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: bad line %q", path, line)
			}
			out[section][k] = append(out[section][k], v)
		}
	}
	return out
}

func TestSystemdUnitHardening(t *testing.T) {
	u := unit(t, "systemd/ckpt-agent.service")
	s := u["Service"]
	for k, want := range map[string]string{
		"ProtectSystem":            "strict",
		"ProtectHome":              "yes",
		"PrivateTmp":               "yes",
		"NoNewPrivileges":          "yes",
		"CapabilityBoundingSet":    "CAP_SYS_PTRACE",
		"ReadWritePaths":           "/var/lib/kubelet/checkpoints",
		"StateDirectory":           "ckpt-agent",
		"UMask":                    "0077",
		"Restart":                  "always",
		"RestartPreventExitStatus": "50",
	} {
		if got := s[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%v, want %s", k, got, want)
		}
	}
	if !strings.Contains(s["ExecStart"][0], "ckpt agent --config /etc/ckpt/agent.yaml") {
		t.Errorf("ExecStart=%v", s["ExecStart"])
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("systemd-analyze not installed: unit checked by the test only")
		return
	}
	// systemd-analyze verify wants the program to exist: point it at one
	// that does.
	data, err := os.ReadFile("systemd/ckpt-agent.service")
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), "ckpt-agent.service")
	if err := os.WriteFile(tmp, []byte(strings.ReplaceAll(string(data), "/usr/local/bin/ckpt", "/bin/true")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", tmp).CombinedOutput()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// Outside a booted systemd it may complain about the host; only
		// lines about our unit count.
		if strings.Contains(line, "ckpt-agent.service") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
	if err != nil && len(out) == 0 {
		t.Logf("systemd-analyze verify: %v", err)
	}
}
