package kube

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/ckpt-dev/ckpt/shred"
)

// Status is a check's outcome.
type Status string

const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Check is one doctor finding: what was checked, the outcome, why, and
// what to do.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix"`
}

// Failed reports whether any check failed.
func Failed(cs []Check) bool {
	for _, c := range cs {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// NodeOptions say where a node's facts are.
type NodeOptions struct {
	// Dir is the checkpoint directory; "" means ROOT/checkpoints with the
	// kubelet's --root-dir (default /var/lib/kubelet).
	Dir string
	// MaxPlaintextAge is how long an unsealed archive may rest (default
	// 15 minutes).
	MaxPlaintextAge time.Duration
	// KubeletConfig is the kubelet's configuration file; "" means the
	// running kubelet's --config, else /var/lib/kubelet/config.yaml.
	KubeletConfig string
	// Proc and Etc are the /proc and /etc to read ("" for the real ones).
	Proc, Etc string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

const defaultRootDir = "/var/lib/kubelet"

// Node runs the node checks, in a fixed order.
func Node(o NodeOptions) []Check {
	if o.Proc == "" {
		o.Proc = "/proc"
	}
	if o.Etc == "" {
		o.Etc = "/etc"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxPlaintextAge <= 0 {
		o.MaxPlaintextAge = 15 * time.Minute
	}
	kl := findProcess(o.Proc, func(argv []string) bool { return filepath.Base(argv[0]) == "kubelet" })
	rootDir, configFile := defaultRootDir, ""
	if kl != nil {
		if v := flagValue(kl, "--root-dir"); v != "" {
			rootDir = v
		}
		configFile = flagValue(kl, "--config")
	}
	if o.Dir == "" {
		o.Dir = filepath.Join(rootDir, "checkpoints")
	}
	if o.KubeletConfig == "" {
		o.KubeletConfig = configFile
		if o.KubeletConfig == "" {
			o.KubeletConfig = filepath.Join(defaultRootDir, "config.yaml")
		}
	}
	var out []Check
	out = append(out, checkDir(o.Dir))
	files := listDir(o.Dir)
	out = append(out, checkFileModes(o.Dir, files))
	out = append(out, checkPlaintextAge(o, files))
	out = append(out, checkStorage(o.Dir, files)...)
	out = append(out, checkKubeletConfig(o.KubeletConfig)...)
	out = append(out, checkRuntime(o.Etc))
	out = append(out, checkAgent(o.Proc))
	return out
}

func checkDir(dir string) Check {
	c := Check{Name: "checkpoint-dir"}
	st, err := os.Lstat(dir)
	switch {
	case os.IsNotExist(err):
		c.Status, c.Detail = Warn, dir+" does not exist (no checkpoint was taken yet, or the kubelet uses another --root-dir)"
		c.Fix = "create it as root with mode 0700 (install -d -m 0700 -o root -g root " + dir + "), or point the check at the kubelet's checkpoint directory"
		return c
	case err != nil:
		c.Status, c.Detail, c.Fix = Fail, err.Error(), "run ckpt doctor as root"
		return c
	case !st.IsDir():
		c.Status, c.Detail, c.Fix = Fail, dir+" is not a directory", "point the check at the checkpoint directory"
		return c
	}
	uid := st.Sys().(*syscall.Stat_t).Uid
	mode := st.Mode().Perm()
	var bad []string
	if uid != 0 {
		bad = append(bad, fmt.Sprintf("owned by uid %d, not root", uid))
	}
	if mode&0o077 != 0 {
		bad = append(bad, fmt.Sprintf("mode %04o lets others in", mode))
	}
	if len(bad) > 0 {
		c.Status = Fail
		c.Detail = dir + ": " + strings.Join(bad, ", ") + "; every archive holds all the memory of a container"
		c.Fix = "chown root:root " + dir + " && chmod 0700 " + dir
		return c
	}
	c.Status, c.Detail = Pass, fmt.Sprintf("%s: root, mode %04o", dir, mode)
	return c
}

// entry is a regular file in the checkpoint directory.
type entry struct {
	name  string
	mode  os.FileMode
	uid   uint32
	mtime time.Time
}

func listDir(dir string) []entry {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []entry
	for _, d := range des {
		if !d.Type().IsRegular() {
			continue
		}
		info, err := d.Info()
		if err != nil {
			continue
		}
		out = append(out, entry{d.Name(), info.Mode().Perm(), info.Sys().(*syscall.Stat_t).Uid, info.ModTime()})
	}
	return out
}

// isPlaintext says a name is an archive the kubelet or a runtime wrote, not
// sealed.
func isPlaintext(name string) bool {
	for _, s := range []string{".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.bz2", ".tar.xz"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

func checkFileModes(dir string, files []entry) Check {
	c := Check{Name: "file-modes"}
	var bad []string
	for _, f := range files {
		switch {
		case f.mode&0o077 != 0:
			bad = append(bad, fmt.Sprintf("%s (%04o)", f.name, f.mode))
		case f.uid != 0:
			bad = append(bad, fmt.Sprintf("%s (uid %d)", f.name, f.uid))
		}
	}
	if len(files) == 0 {
		c.Status, c.Detail = Pass, "no files in "+dir
		return c
	}
	if len(bad) > 0 {
		c.Status = Fail
		c.Detail = fmt.Sprintf("%d of %d files are not root-only 0600: %s", len(bad), len(files), clip(bad, 5))
		c.Fix = "chown root:root and chmod 0600 them (find " + dir + " -type f -exec chmod 0600 {} +)"
		return c
	}
	c.Status, c.Detail = Pass, fmt.Sprintf("%d files, all root-only 0600", len(files))
	return c
}

func checkPlaintextAge(o NodeOptions, files []entry) Check {
	c := Check{Name: "plaintext-age"}
	names := map[string]bool{}
	for _, f := range files {
		names[f.name] = true
	}
	var old, kept []string
	now := o.Now()
	for _, f := range files {
		if !isPlaintext(f.name) {
			continue
		}
		sealed := names[f.name+".age"]
		switch {
		case sealed:
			kept = append(kept, f.name)
		case now.Sub(f.mtime) > o.MaxPlaintextAge:
			old = append(old, fmt.Sprintf("%s (%s old)", f.name, now.Sub(f.mtime).Round(time.Second)))
		}
	}
	switch {
	case len(old) > 0:
		c.Status = Fail
		c.Detail = fmt.Sprintf("%d archives rest unsealed longer than %s: %s", len(old), o.MaxPlaintextAge, clip(old, 5))
		c.Fix = "ckpt seal --shred-source them, and run the agent (or ckpt checkpoint --seal) so archives are sealed on arrival"
	case len(kept) > 0:
		c.Status = Warn
		c.Detail = fmt.Sprintf("%d archives are sealed but their plaintext is still here: %s", len(kept), clip(kept, 5))
		c.Fix = "ckpt shred them once the sealed copies are verified"
	default:
		c.Status, c.Detail = Pass, "no plaintext archive older than "+o.MaxPlaintextAge.String()
	}
	return c
}

// checkStorage assesses the filesystem and devices under the directory,
// through its newest file or, with none, an empty probe file.
func checkStorage(dir string, files []entry) []Check {
	st := Check{Name: "storage"}
	enc := Check{Name: "encryption-at-rest"}
	var probe string
	sort.Slice(files, func(i, j int) bool { return files[i].mtime.After(files[j].mtime) })
	if len(files) > 0 {
		probe = filepath.Join(dir, files[0].name)
	} else if f, err := os.CreateTemp(dir, ".ckpt-doctor-*"); err == nil {
		probe = f.Name()
		f.Close()
		defer os.Remove(probe)
	}
	if probe == "" {
		st.Status, st.Detail, st.Fix = Warn, "could not look at the storage under "+dir, "create the directory and run ckpt doctor as root"
		enc.Status, enc.Detail = Warn, st.Detail
		return []Check{st, enc}
	}
	a, err := shred.Assess(probe)
	if err != nil {
		st.Status, st.Detail = Warn, "could not assess the storage: "+err.Error()
		enc.Status, enc.Detail = Warn, st.Detail
		return []Check{st, enc}
	}
	where := a.Filesystem
	if a.Device != "" {
		where += " on " + a.Device
	}
	switch a.Assurance {
	case shred.Overwritten:
		st.Status, st.Detail = Pass, where+": overwriting destroys data in place"
	default:
		st.Status = Warn
		st.Detail = where + ": shredding is best effort here (" + strings.Join(a.Reasons(), "; ") + ")"
		st.Fix = "seal archives on arrival (ckpt agent, or ckpt checkpoint --seal) so plaintext never rests"
	}
	var crypt []string
	for _, f := range a.Findings {
		if f.Code == "dm-crypt" {
			crypt = append(crypt, f.Text)
		}
	}
	switch {
	case len(crypt) > 0:
		enc.Status, enc.Detail = Pass, strings.Join(crypt, "; ")
	case fscrypted(dir):
		enc.Status, enc.Detail = Pass, dir+" is fscrypt-encrypted"
	default:
		enc.Status = Warn
		enc.Detail = "no dm-crypt/LUKS device under " + where + " and " + dir + " is not fscrypt-encrypted: plaintext archives sit on disk in the clear"
		enc.Fix = "put " + dir + " on an encrypted volume (LUKS) or an fscrypt directory, and seal on arrival"
	}
	return []Check{st, enc}
}

// kubeletConfig is the part of KubeletConfiguration the checks read.
type kubeletConfig struct {
	FeatureGates   map[string]bool `json:"featureGates"`
	Authentication struct {
		Anonymous struct {
			Enabled *bool `json:"enabled"`
		} `json:"anonymous"`
	} `json:"authentication"`
	Authorization struct {
		Mode string `json:"mode"`
	} `json:"authorization"`
}

func checkKubeletConfig(path string) []Check {
	gate := Check{Name: "kubelet-checkpoint-gate"}
	anon := Check{Name: "kubelet-anonymous-auth"}
	authz := Check{Name: "kubelet-authorization"}
	data, err := os.ReadFile(path)
	if err != nil {
		for _, c := range []*Check{&gate, &anon, &authz} {
			c.Status, c.Detail, c.Fix = Warn, "kubelet configuration not readable: "+err.Error(), "run as root on the node, or name the kubelet's configuration file"
		}
		return []Check{gate, anon, authz}
	}
	var kc kubeletConfig
	if err := yaml.Unmarshal(data, &kc); err != nil {
		for _, c := range []*Check{&gate, &anon, &authz} {
			c.Status, c.Detail = Warn, path+": "+err.Error()
		}
		return []Check{gate, anon, authz}
	}
	switch on, set := kc.FeatureGates["ContainerCheckpoint"]; {
	case set && !on:
		gate.Status, gate.Detail = Fail, path+": featureGates.ContainerCheckpoint is false: the kubelet has no checkpoint API"
		gate.Fix = "set it to true and restart the kubelet"
	case set:
		gate.Status, gate.Detail = Pass, path+": featureGates.ContainerCheckpoint is true"
	default:
		gate.Status, gate.Detail = Pass, path+": ContainerCheckpoint not set: on by default since Kubernetes 1.30 (off before)"
	}
	if e := kc.Authentication.Anonymous.Enabled; e == nil || *e {
		anon.Status = Fail
		anon.Detail = path + ": authentication.anonymous.enabled is not false: anyone reaching port 10250 is system:anonymous"
		anon.Fix = "set authentication.anonymous.enabled: false"
	} else {
		anon.Status, anon.Detail = Pass, path+": anonymous authentication is off"
	}
	if kc.Authorization.Mode == "Webhook" {
		authz.Status, authz.Detail = Pass, path+": authorization.mode is Webhook: the API server's RBAC decides who may checkpoint"
	} else {
		mode := kc.Authorization.Mode
		if mode == "" {
			mode = "unset"
		}
		authz.Status = Fail
		authz.Detail = path + ": authorization.mode is " + mode + ": every authenticated caller may checkpoint"
		authz.Fix = "set authorization.mode: Webhook"
	}
	return []Check{gate, anon, authz}
}

// checkRuntime reads CRI-O's enable_criu_support, or for containerd looks
// for criu, which it runs from its PATH.
func checkRuntime(etc string) Check {
	c := Check{Name: "runtime-criu"}
	crio := []string{filepath.Join(etc, "crio", "crio.conf")}
	more, _ := filepath.Glob(filepath.Join(etc, "crio", "crio.conf.d", "*.conf"))
	sort.Strings(more)
	crio = append(crio, more...)
	value, from, found := "", "", false
	for _, f := range crio {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		found = true
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if ok && strings.TrimSpace(k) == "enable_criu_support" {
				value, from = strings.TrimSpace(v), f // later drop-ins win
			}
		}
	}
	if found {
		switch value {
		case "true":
			c.Status, c.Detail = Pass, "CRI-O: enable_criu_support = true ("+from+")"
		case "":
			c.Status, c.Detail = Warn, "CRI-O: enable_criu_support is not set; its default depends on the CRI-O version"
			c.Fix = "set enable_criu_support = true under [crio.runtime] in a file in " + filepath.Join(etc, "crio", "crio.conf.d")
		default:
			c.Status, c.Detail = Fail, "CRI-O: enable_criu_support = "+value+" ("+from+"): checkpoints fail with a 500"
			c.Fix = "set enable_criu_support = true and restart crio"
		}
		return c
	}
	if _, err := os.Stat(filepath.Join(etc, "containerd", "config.toml")); err == nil {
		if p, err := lookPath("criu"); err == nil {
			c.Status, c.Detail = Pass, "containerd: criu found at "+p
		} else {
			c.Status, c.Detail = Fail, "containerd: no criu in PATH: checkpoints fail with a 500"
			c.Fix = "install CRIU (apt-get install criu) where containerd finds it"
		}
		return c
	}
	c.Status, c.Detail = Warn, "neither CRI-O nor containerd configuration found under "+etc
	return c
}

func checkAgent(proc string) Check {
	c := Check{Name: "agent"}
	if argv := findProcess(proc, func(argv []string) bool {
		return filepath.Base(argv[0]) == "ckpt" && len(argv) > 1 && argv[1] == "agent"
	}); argv != nil {
		c.Status, c.Detail = Pass, "the ckpt agent runs: "+strings.Join(argv, " ")
		return c
	}
	c.Status, c.Detail = Warn, "no ckpt agent runs on this node: archives stay plaintext until someone seals them"
	c.Fix = "run ckpt agent, or take checkpoints with ckpt checkpoint --seal"
	return c
}

func clip(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(" and %d more", len(s)-n)
}
