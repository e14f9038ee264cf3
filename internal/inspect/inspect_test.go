package inspect

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/tartest"
)

func buildReports(t *testing.T, path string, s Sections) []*Report {
	t.Helper()
	a, err := archive.Open(path, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rs, err := Build(a, Options{Sections: s})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func fixture(t *testing.T, glob string) string {
	m, _ := filepath.Glob(filepath.Join("../../testdata/fixtures", glob))
	if len(m) != 1 {
		t.Fatalf("fixture %s", glob)
	}
	return m[0]
}

func TestSimpleFacts(t *testing.T) {
	for _, glob := range []string{"checkpoint-simple-*.tar", "podman-simple.tar", "podman-simple.tar.gz", "podman-simple.tar.zst"} {
		rs := buildReports(t, fixture(t, glob), All())
		if len(rs) != 1 || len(rs[0].Processes) != 1 {
			t.Fatalf("%s: %d reports", glob, len(rs))
		}
		p := rs[0].Processes[0]
		if p.Comm != "ckpt-simple" || len(p.Threads) != 1 || !p.CmdlineComplete || len(p.Cmdline) == 0 {
			t.Errorf("%s: %+v", glob, p)
		}
		if !slices.Contains(p.Env, "FOO=bar") {
			t.Errorf("%s: env %q", glob, p.Env)
		}
		if p.Memory.Resident == 0 || len(p.Maps) == 0 || p.FDs == nil || rs[0].Dump == nil || rs[0].RootFS == nil || rs[0].Mounts == nil {
			t.Errorf("%s: sections missing", glob)
		}
		if rs[0].Dump.Stats == nil || rs[0].Dump.Stats.PagesWritten == 0 {
			t.Errorf("%s: no dump statistics", glob)
		}
	}
}

func TestSectionsAreOptIn(t *testing.T) {
	rs := buildReports(t, fixture(t, "checkpoint-rich-*.tar"), Sections{})
	b, _ := json.Marshal(rs)
	for _, key := range []string{`"env"`, `"fds"`, `"maps"`, `"mounts"`, `"dump"`, `"rootfs"`} {
		if strings.Contains(string(b), key) {
			t.Errorf("default report has %s", key)
		}
	}
	if !strings.Contains(string(b), `"cmdline":["/tmp/ckpt-work/bin/rich"`) {
		t.Error("default report lacks command lines")
	}
	socks := buildReports(t, fixture(t, "checkpoint-rich-*.tar"), Sections{Sockets: true})[0].Processes[0].FDs
	for _, fd := range socks {
		if fd.File.Socket == nil {
			t.Errorf("--sockets listed fd %d %s", fd.FD, fd.File.Description)
		}
	}
	if len(socks) != 3 {
		t.Errorf("parent has %d sockets, want 3", len(socks))
	}
}

// TestPodArchive builds a pod archive from two container fixtures, the way
// pod checkpoints nest container checkpoints in directories.
func TestPodArchive(t *testing.T) {
	var pod []tartest.Member
	pod = append(pod, tartest.Member{Name: "pod.options", Type: '0', Body: []byte(`{"version":1,"containers":{"web":"k8s_web","side":"k8s_side"},"annotations":{"b":"2","a":"1"}}`)})
	for _, c := range []struct{ dir, glob string }{{"side", "checkpoint-simple-*.tar"}, {"web", "checkpoint-rich-*.tar"}} {
		ms, err := tartest.Read(fixture(t, c.glob))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			m.Name = c.dir + "/" + m.Name
			pod = append(pod, m)
		}
	}
	p := filepath.Join(t.TempDir(), "pod.tar")
	if err := os.WriteFile(p, tartest.Tar(pod), 0o600); err != nil {
		t.Fatal(err)
	}
	rs := buildReports(t, p, Sections{Env: true})
	if len(rs) != 2 || rs[0].Container != "side/" || rs[1].Container != "web/" {
		t.Fatalf("reports: %d", len(rs))
	}
	if rs[0].Processes[0].Comm != "ckpt-simple" || rs[1].Processes[0].Comm != "rich-parent" || !slices.Contains(rs[1].Processes[2].Env, "FOO=bar") {
		t.Errorf("containers mixed up: %s %s", rs[0].Processes[0].Comm, rs[1].Processes[0].Comm)
	}
	pi := rs[0].Archive.Pod
	if pi == nil || !slices.Equal(pi.Containers, []string{"side", "web"}) || pi.Options.Annotations[0].Key != "a" {
		t.Errorf("pod info %+v", pi)
	}
}

// TestPodDumpMarksAPod: pod.dump alone (no pod.options) makes a pod
// archive whose containers are its directories.
func TestPodDumpMarksAPod(t *testing.T) {
	pod := []tartest.Member{{Name: "pod.dump", Type: '0', Body: []byte(`{"id":"sandbox"}`)}}
	ms, err := tartest.Read(fixture(t, "checkpoint-simple-*.tar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		m.Name = "app/" + m.Name
		pod = append(pod, m)
	}
	p := filepath.Join(t.TempDir(), "pod.tar")
	if err := os.WriteFile(p, tartest.Tar(pod), 0o600); err != nil {
		t.Fatal(err)
	}
	rs := buildReports(t, p, Sections{})
	if len(rs) != 1 || rs[0].Archive.Pod == nil || !slices.Equal(rs[0].Archive.Pod.Containers, []string{"app"}) || rs[0].Archive.Pod.Options != nil {
		t.Fatalf("pod %+v", rs[0].Archive.Pod)
	}
}
