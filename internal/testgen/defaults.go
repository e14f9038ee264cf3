package testgen

import (
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path"
	"strings"
	"time"
)

// defaultTime is the checkpoint time when the Spec gives none: a fixed
// instant, so that output is deterministic.
var defaultTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// hashOf derives a number from the seed and a label, so that every default
// is stable for a seed and independent of the others.
func hashOf(seed int64, label string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", seed, label)
	return mix64(h.Sum64())
}

// mix64 is splitmix64's finaliser: a cheap, well-spread bijection.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// newRand returns a generator for one purpose of one seed.
func newRand(seed int64, label string) *rand.Rand {
	return rand.New(rand.NewPCG(hashOf(seed, label), hashOf(seed, label+"#2")))
}

func hexOf(seed int64, label string, n int) string {
	var b []byte
	for i := 0; len(b) < n; i++ {
		v := hashOf(seed, fmt.Sprintf("%s/%d", label, i))
		for j := 0; j < 8; j++ {
			b = append(b, byte(v>>(8*j)))
		}
	}
	return hex.EncodeToString(b)[:n]
}

func uuidOf(seed int64, label string) string {
	h := hexOf(seed, label, 32)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

// resolved returns s with its defaults filled in, or why it cannot be
// written.
func (s Spec) resolved() (Spec, error) {
	var err error
	if s.Engine, err = ParseEngine(s.Engine); err != nil {
		return s, specErrorf("%v", err)
	}
	if s.Processes == 0 {
		s.Processes = 1
	}
	if s.ThreadsPerProcess == 0 {
		s.ThreadsPerProcess = 1
	}
	if s.FirstPID == 0 {
		s.FirstPID = 1
	}
	if s.MaxRunPages == 0 {
		s.MaxRunPages = 256
	}
	if s.MappingPages == 0 {
		s.MappingPages = bulkRegionPages
	}
	switch {
	case s.Processes < 1 || s.Processes > 1<<16:
		return s, specErrorf("processes %d: want 1 to 65536", s.Processes)
	case s.ThreadsPerProcess < 1 || s.ThreadsPerProcess > 1<<14:
		return s, specErrorf("threads per process %d: want 1 to 16384", s.ThreadsPerProcess)
	case s.FirstPID < 1 || s.FirstPID > 1<<22:
		return s, specErrorf("first pid %d: want 1 to 4194304", s.FirstPID)
	case (s.Processes-s.Zombies)*s.ThreadsPerProcess+s.Zombies > 1<<20, s.FirstPID+s.Processes*s.ThreadsPerProcess > 1<<22:
		return s, specErrorf("%d processes of %d threads from pid %d: more than 2^20 tasks or past pid_max (2^22)", s.Processes, s.ThreadsPerProcess, s.FirstPID)
	case s.Zombies < 0 || s.Zombies > maxZombies(s.Processes):
		return s, specErrorf("zombies %d: with %d processes at most %d can be (leaves only, never init)", s.Zombies, s.Processes, maxZombies(s.Processes))
	case s.PageBytes < 0:
		return s, specErrorf("page bytes %d is negative", s.PageBytes)
	case s.Fill < FillRandom || s.Fill > FillText:
		return s, specErrorf("unknown fill %d", s.Fill)
	case s.MaxRunPages < 1 || s.MaxRunPages > 1<<20:
		return s, specErrorf("max run pages %d: want 1 to 1048576", s.MaxRunPages)
	case s.MappingPages < 1 || s.MappingPages > 1<<20:
		return s, specErrorf("mapping pages %d: want 1 to 1048576", s.MappingPages)
	case s.ParentEntries < 0 || s.ParentEntries > 1<<16:
		return s, specErrorf("parent entries %d: want 0 to 65536", s.ParentEntries)
	}
	if s.Cmdline == nil {
		s.Cmdline = []string{"/usr/local/bin/app", "--listen=:8080"}
	}
	if len(s.Cmdline) == 0 || s.Cmdline[0] == "" {
		return s, specErrorf("cmdline needs a program")
	}
	for _, a := range append(append([]string(nil), s.Cmdline...), s.Env...) {
		if strings.ContainsRune(a, 0) {
			return s, specErrorf("cmdline and environment strings cannot hold NUL: %q", a)
		}
	}
	if s.Cwd == "" {
		s.Cwd = "/"
	}
	if !path.IsAbs(s.Cwd) {
		return s, specErrorf("cwd %q is not absolute", s.Cwd)
	}
	if s.Runtime == "" {
		s.Runtime = "runc"
	}
	s.identityDefaults()
	if s.Env == nil {
		s.Env = s.defaultEnv()
	}
	if s.Logs != nil && s.Engine == EngineCRIO {
		return s, specErrorf("CRI-O archives carry no container log; use containerd or Podman for Logs")
	}
	for i := range s.TCP {
		if s.TCP[i].Port == 0 {
			s.TCP[i].Port = uint16(47011 + i)
		}
	}
	for i, f := range s.Files {
		if !path.IsAbs(f.Path) {
			return s, specErrorf("open file %d: path %q is not absolute", i, f.Path)
		}
	}
	for i, f := range s.RootFS {
		if p := strings.Trim(path.Clean("/"+f.Path), "/"); p == "" || p == "." {
			return s, specErrorf("rootfs file %d: empty path", i)
		}
	}
	for i, m := range s.Markers {
		switch {
		case len(m.Data) == 0:
			return s, specErrorf("marker %d is empty", i)
		case m.Process < 0 || m.Process >= s.Processes:
			return s, specErrorf("marker %d: no process %d", i, m.Process)
		case m.Process >= s.Processes-s.Zombies:
			return s, specErrorf("marker %d: process %d is a zombie, it has no memory", i, m.Process)
		case len(m.Data) > 1<<20:
			return s, specErrorf("marker %d: %d bytes, at most 1 MiB", i, len(m.Data))
		}
	}
	return s, nil
}

// maxZombies is how many trailing processes are leaves of the tree.
func maxZombies(n int) int {
	if n < 2 {
		return 0
	}
	return n - n/2
}

func (s *Spec) identityDefaults() {
	if s.Namespace == "" {
		s.Namespace = "default"
	}
	if s.Pod == "" {
		s.Pod = "testgen-" + hexOf(s.Seed, "pod-rs", 9) + "-" + hexOf(s.Seed, "pod", 5)
	}
	if s.PodUID == "" {
		s.PodUID = uuidOf(s.Seed, "pod-uid")
	}
	if s.Container == "" {
		s.Container = "app"
	}
	if s.ContainerID == "" {
		s.ContainerID = hexOf(s.Seed, "container-id", 64)
	}
	if s.Image == "" {
		s.Image = "registry.example.com/testgen/app:1.0"
	}
	if s.IP == "" && s.Engine != EnginePodman {
		s.IP = "10.85.0.17"
	}
	if s.Host == "" {
		s.Host = "node-1"
	}
	if s.Kernel == "" {
		s.Kernel = "6.18.44-testgen"
	}
	if s.Checkpointed.IsZero() {
		s.Checkpointed = defaultTime
	}
	if s.Created.IsZero() {
		s.Created = s.Checkpointed.Add(-90 * time.Minute)
	}
}

// hostname is the container's own host name, as each engine sets it.
func (s *Spec) hostname() string {
	if s.Engine == EnginePodman {
		return s.ContainerID[:12]
	}
	return s.Pod
}

func (s *Spec) defaultEnv() []string {
	if s.Engine == EnginePodman {
		return []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm", "container=podman", "HOME=/", "HOSTNAME=" + s.hostname(),
		}
	}
	return []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOSTNAME=" + s.hostname(),
		"KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443",
		"KUBERNETES_PORT=tcp://10.96.0.1:443", "HOME=/root",
	}
}

// KubeletName is the file name the kubelet gives this checkpoint:
// checkpoint-<pod>_<namespace>-<container>-<RFC 3339 time>.tar.
func (s Spec) KubeletName() string {
	r, err := s.resolved()
	if err != nil {
		r = s
		r.identityDefaults()
	}
	return fmt.Sprintf("checkpoint-%s_%s-%s-%s.tar", r.Pod, r.Namespace, r.Container, r.Checkpointed.UTC().Format(time.RFC3339))
}
