package audit

import "testing"

func TestParseCgroup(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	cases := []struct{ in, container, pod string }{
		// kubelet with the systemd driver and containerd.
		{"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901.slice/cri-containerd-" + id + ".scope\n", id, "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901"},
		// CRI-O.
		{"0::/kubepods.slice/kubepods-pod1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901.slice/crio-" + id + ".scope\n", id, "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901"},
		// The cgroupfs driver, cgroup v1.
		{"12:memory:/kubepods/burstable/pod1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901/" + id + "\n", id, "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901"},
		// Docker outside Kubernetes: a container, no pod.
		{"0::/system.slice/docker-" + id + ".scope\n", id, ""},
		// A login session: neither.
		{"0::/user.slice/user-1000.slice/session-3.scope\n", "", ""},
	}
	for _, c := range cases {
		container, pod := parseCgroup(c.in)
		if container != c.container || pod != c.pod {
			t.Errorf("%q: got %q %q, want %q %q", c.in, container, pod, c.container, c.pod)
		}
	}
}

func TestLineSeq(t *testing.T) {
	for in, want := range map[string]int64{`{"seq":0,"time":1}`: 0, `{"seq":1234,"x":1}`: 1234} {
		if got, err := lineSeq([]byte(in)); err != nil || got != want {
			t.Errorf("%s: %d %v", in, got, err)
		}
	}
	for _, in := range []string{`{"seq":01,`, `{"seq":-1,`, `{"time":1,"seq":1}`, `{"seq":1}`, `{"seq":x,`} {
		if _, err := lineSeq([]byte(in)); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}
