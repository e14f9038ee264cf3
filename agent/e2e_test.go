package agent

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The agent as a node runs it: archives written slowly in place (as the
// kubelet does), written under a temporary name and renamed, twenty at
// once, one pinned and one that is not a tar; each ends as a sealed set
// that the stock age, sha256sum and ssh-keygen accept, with the plaintext
// shredded except where pinned. Metrics and health are served.
func TestAgentSealsOnArrival(t *testing.T) {
	addr := freePort(t)
	e := newEnv(t, "metrics_addr: "+addr+"\n")
	p := e.start()
	defer p.cmd.Process.Kill()
	waitFor(t, 10*time.Second, "readyz", func() bool { return httpOK("http://" + addr + "/readyz") })

	want := map[string]string{} // name -> plaintext sha256
	var mu sync.Mutex
	add := func(name string, data []byte) {
		mu.Lock()
		want[name] = sum256(data)
		mu.Unlock()
	}
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup

	// Slowly in place, with pauses longer than the settle time while the
	// file is held open for writing, as the runtime writes the tar.
	slow := archiveBytes(t, "team-a", "web-0", "app", at, 1, 256<<10)
	slowName := kubeletName("team-a", "web-0", "app", at)
	add(slowName, slow)
	wg.Go(func() {
		f, err := os.OpenFile(filepath.Join(e.dir, slowName), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
		if err != nil {
			t.Error(err)
			return
		}
		chunk := len(slow) / 4
		for i := 0; i < len(slow); i += chunk {
			f.Write(slow[i:min(i+chunk, len(slow))])
			time.Sleep(500 * time.Millisecond)
		}
		f.Close()
	})
	// Slowly, closing between writes: the end-of-archive check holds it.
	reopen := archiveBytes(t, "team-a", "web-0", "app", at.Add(time.Minute), 2, 128<<10)
	reopenName := kubeletName("team-a", "web-0", "app", at.Add(time.Minute))
	add(reopenName, reopen)
	wg.Go(func() {
		path := filepath.Join(e.dir, reopenName)
		half := len(reopen) / 2
		os.WriteFile(path, reopen[:half], 0o600)
		time.Sleep(1200 * time.Millisecond) // well over the settle time
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Error(err)
			return
		}
		f.Write(reopen[half:])
		f.Close()
	})
	// Temporary name, then rename.
	renamed := archiveBytes(t, "team-b", "db-0", "pg", at, 3, 64<<10)
	renamedName := kubeletName("team-b", "db-0", "pg", at)
	add(renamedName, renamed)
	wg.Go(func() {
		tmp := filepath.Join(e.dir, "."+renamedName+".part")
		os.WriteFile(tmp, renamed, 0o600)
		time.Sleep(400 * time.Millisecond)
		os.Rename(tmp, filepath.Join(e.dir, renamedName))
	})
	// Twenty at once.
	for i := range 20 {
		ts := at.Add(time.Duration(i+10) * time.Minute)
		data := archiveBytes(t, "burst", fmt.Sprintf("job-%d", i), "main", ts, int64(100+i), 32<<10)
		name := kubeletName("burst", fmt.Sprintf("job-%d", i), "main", ts)
		add(name, data)
		wg.Go(func() { os.WriteFile(filepath.Join(e.dir, name), data, 0o600) })
	}
	// Pinned before it arrives: sealed, plaintext kept.
	pinned := archiveBytes(t, "team-a", "web-1", "app", at, 4, 32<<10)
	pinnedName := kubeletName("team-a", "web-1", "app", at)
	add(pinnedName, pinned)
	must(t, os.WriteFile(filepath.Join(e.dir, pinnedName+PinSuffix), nil, 0o600))
	must(t, os.WriteFile(filepath.Join(e.dir, pinnedName), pinned, 0o600))
	// Not a tar at all: still sensitive, sealed with its name's identity.
	bad := []byte(strings.Repeat("not a tar, but it may hold secrets\n", 200))
	badName := kubeletName("forensics", "odd-0", "x", at)
	add(badName, bad)
	must(t, os.WriteFile(filepath.Join(e.dir, badName), bad, 0o600))
	wg.Wait()

	waitFor(t, 60*time.Second, "every archive sealed and its plaintext shredded", func() bool {
		for name := range want {
			if !exists(setFiles(e.dir, name).Signature) {
				return false
			}
			if name != pinnedName && exists(filepath.Join(e.dir, name)) {
				return false
			}
		}
		return true
	})
	for name, sha := range want {
		e.checkSealedWithStockTools(name, sha)
	}
	if !exists(filepath.Join(e.dir, pinnedName)) {
		t.Fatal("the pinned archive's plaintext was removed")
	}
	if m, _ := os.ReadFile(setFiles(e.dir, badName).Manifest); !strings.Contains(string(m), `"namespace": "forensics"`) {
		t.Errorf("the non-tar's manifest does not take its identity from the name:\n%s", m)
	}
	if tmp := hasTemp(listDir(t, e.dir)); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}

	// Unpinning lets the plaintext go.
	must(t, os.Remove(filepath.Join(e.dir, pinnedName+PinSuffix)))
	waitFor(t, 20*time.Second, "the unpinned plaintext shredded", func() bool { return !exists(filepath.Join(e.dir, pinnedName)) })

	// The shred's own writes raise events that settle and find nothing.
	waitFor(t, 10*time.Second, "an empty queue", func() bool {
		return strings.Contains(httpGetQuiet("http://"+addr+"/metrics"), "ckpt_agent_queue_length 0\n")
	})
	metrics := httpGet(t, "http://"+addr+"/metrics")
	for _, line := range []string{
		fmt.Sprintf("ckpt_agent_archives_sealed_total %d", len(want)),
		fmt.Sprintf("ckpt_agent_plaintext_dwell_seconds_count %d", len(want)),
	} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	if !strings.Contains(metrics, `ckpt_agent_archives_shredded_total{assurance=`) {
		t.Error("/metrics lacks the shred counter")
	}
	pub, _ := os.ReadFile(filepath.Join(e.state, NodeKeyName+".pub"))
	if got := httpGet(t, "http://"+addr+"/pubkey"); got != string(pub) || !strings.HasPrefix(got, "ssh-ed25519 ") {
		t.Errorf("/pubkey = %q, want the node key %q", got, pub)
	}
	if !httpOK("http://" + addr + "/healthz") {
		t.Error("/healthz not ok")
	}
	if st, err := os.Stat(filepath.Join(e.state, NodeKeyName)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("node key: %v, %v", st, err)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("agent exited %d on SIGINT\n%s", code, p.log())
	}
	// Every log line is JSON.
	for _, line := range strings.Split(strings.TrimSpace(p.log()), "\n") {
		if !strings.HasPrefix(line, `{"time":`) {
			t.Errorf("not a JSON log line: %s", line)
		}
	}
}

// A missing recipients file keeps the plaintext and keeps the agent up;
// once the file appears the archive is sealed without a restart.
func TestAgentRecoversFromMissingRecipients(t *testing.T) {
	addr := freePort(t)
	e := newEnv(t, "metrics_addr: "+addr+"\n")
	rec, err := os.ReadFile(e.recipients)
	must(t, err)
	must(t, os.Remove(e.recipients))
	at := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	data := archiveBytes(t, "ns", "p", "c", at, 9, 32<<10)
	name := kubeletName("ns", "p", "c", at)
	must(t, os.WriteFile(filepath.Join(e.dir, name), data, 0o600))

	p := e.start()
	defer p.cmd.Process.Kill()
	waitFor(t, 15*time.Second, "a counted recipients failure", func() bool {
		return metricAtLeast(httpGetQuiet("http://"+addr+"/metrics"), `ckpt_agent_failures_total{reason="recipients"}`, 1)
	})
	if sum := sum256(mustRead(t, filepath.Join(e.dir, name))); sum != sum256(data) {
		t.Fatal("plaintext changed while it could not be sealed")
	}
	must(t, os.WriteFile(e.recipients, rec, 0o600))
	waitFor(t, 20*time.Second, "sealed after the recipients file appeared", func() bool { return !exists(filepath.Join(e.dir, name)) })
	e.checkSealedWithStockTools(name, sum256(data))
	p.stop(t)
}

// Retention on twelve checkpoints of one container with
// max_checkpoints 10: the two oldest go, sealed set and all; a pin counts
// toward the limit and stays. Run with --once, as from cron.
func TestAgentRetention(t *testing.T) {
	e := newEnv(t, "retention:\n  global: {max_checkpoints: 10}\n")
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	names := e.writeHourly("team-a", "web-0", "app", at, 12)
	must(t, os.WriteFile(filepath.Join(e.dir, names[0]+PinSuffix), nil, 0o600))
	code, log := e.once()
	if code != 0 {
		t.Fatalf("--once exited %d\n%s", code, log)
	}
	var kept []string
	for _, n := range names {
		if exists(setFiles(e.dir, n).Sealed) {
			kept = append(kept, n)
		} else if exists(setFiles(e.dir, n).Checksum) || exists(setFiles(e.dir, n).Manifest) || exists(filepath.Join(e.dir, n)) {
			t.Errorf("%s: pruned only in part: %v", n, listDir(t, e.dir))
		}
	}
	// The pin (oldest) plus the newest nine: ten in all.
	if want := append([]string{names[0]}, names[3:]...); !slices.Equal(kept, want) {
		t.Fatalf("kept %v\nwant %v", kept, want)
	}
	if !exists(filepath.Join(e.dir, names[0])) {
		t.Error("pinned plaintext removed")
	}
	if !strings.Contains(log, `"msg":"pruned"`) {
		t.Errorf("no prune logged:\n%s", log)
	}
	// Unpinned, its plaintext goes; ten sets are within the limit. One
	// more checkpoint pushes the oldest (the former pin) out.
	must(t, os.Remove(filepath.Join(e.dir, names[0]+PinSuffix)))
	e.writeSettled("team-a", "web-0", "app", at.Add(12*time.Hour), 12, 16<<10)
	if code, log := e.once(); code != 0 {
		t.Fatalf("--once exited %d\n%s", code, log)
	}
	if exists(setFiles(e.dir, names[0]).Sealed) || exists(filepath.Join(e.dir, names[0])) {
		t.Error("the unpinned oldest checkpoint was kept over the limit")
	}
	if n := len(listDir(t, e.dir)); n != 10*4 {
		t.Errorf("%d files left, want 10 sealed sets of 4: %v", n, listDir(t, e.dir))
	}
}

// --operator-policy reads the checkpoint-restore-operator's object.
func TestAgentOperatorPolicy(t *testing.T) {
	e := newEnv(t, "")
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	names := e.writeHourly("team-a", "web-0", "app", at, 4)
	pol := filepath.Join(e.root, "cro.yaml")
	must(t, os.WriteFile(pol, []byte("apiVersion: criu.org/v1\nkind: CheckpointRestoreOperator\nmetadata: {name: x}\nspec:\n  containerPolicies:\n  - {namespace: team-a, pod: web-0, container: app, maxCheckpoints: 2}\n"), 0o600))
	if code, log := e.once("--operator-policy", pol); code != 0 {
		t.Fatalf("--once exited %d\n%s", code, log)
	}
	for i, n := range names {
		if got, want := exists(setFiles(e.dir, n).Sealed), i >= 2; got != want {
			t.Errorf("%s: sealed set present %v, want %v", n, got, want)
		}
	}
}

// Config errors are a clear exit 50 naming the line; --check-config says
// ok for a good one; --dry-run changes nothing.
func TestAgentCommandLine(t *testing.T) {
	e := newEnv(t, "retention:\n  global: {max_checkpoint: 3}\n")
	code, log := e.once()
	if code != 50 || !strings.Contains(log, "line 9: field max_checkpoint not found") {
		t.Fatalf("bad config: exit %d, %s", code, log)
	}
	e.writeConfig("")
	out, err := execOut(ckptBin, "agent", "--check-config", "--config", e.config)
	if err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("--check-config: %v %s", err, out)
	}
	if exists(e.state) {
		t.Error("--check-config created the state directory")
	}
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	name, _ := e.writeSettled("a", "b", "c", at, 1, 16<<10)
	dry, err := execOut(ckptBin, "agent", "--dry-run", "--config", e.config)
	if err != nil || !strings.Contains(dry, `"msg":"would seal"`) {
		t.Fatalf("--dry-run: %v\n%s", err, dry)
	}
	if got := listDir(t, e.dir); !slices.Equal(got, []string{name}) {
		t.Fatalf("--dry-run changed the directory: %v", got)
	}
	must(t, os.Remove(e.recipients))
	if _, err := execOut(ckptBin, "agent", "--check-config", "--config", e.config); exitCode(err) != 50 {
		t.Fatalf("--check-config without recipients: %v", err)
	}
	// --once with an archive it cannot seal: exit 52, plaintext kept.
	code, log = e.once()
	if code != 52 || !exists(filepath.Join(e.dir, name)) {
		t.Fatalf("--once without recipients: exit %d\n%s", code, log)
	}
}

func execOut(prog string, args ...string) (string, error) {
	cmd := newCmd(prog, args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func httpOK(url string) bool {
	r, err := http.Get(url)
	if err != nil {
		return false
	}
	r.Body.Close()
	return r.StatusCode == 200
}

func httpGetQuiet(url string) string {
	r, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func httpGet(t testing.TB, url string) string {
	t.Helper()
	r, err := http.Get(url)
	must(t, err)
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	must(t, err)
	return string(b)
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	return b
}

// A node key certified by an SSH CA (node-key-cert.pub beside it) signs
// with its certificate: one cert-authority line verifies every node.
func TestAgentSignsWithCertificate(t *testing.T) {
	e := newEnv(t, "")
	must(t, os.MkdirAll(e.state, 0o700))
	ca := filepath.Join(e.root, "ca")
	if out, err := execOut("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fleet-ca", "-f", ca); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	if _, _, err := EnsureNodeKey(e.state, "ckpt-agent@"+testNode); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(e.state, NodeKeyName)
	if out, err := execOut("ssh-keygen", "-q", "-s", ca, "-I", testNode, "-n", testNode, key+".pub"); err != nil {
		t.Fatalf("ssh-keygen -s: %v %s", err, out)
	}
	at := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	name, _ := e.writeSettled("ns", "p", "c", at, 1, 16<<10)
	if code, log := e.once(); code != 0 {
		t.Fatalf("--once: %d\n%s", code, log)
	}
	caPub := mustRead(t, ca+".pub")
	allowed := filepath.Join(e.root, "allowed_signers")
	must(t, os.WriteFile(allowed, []byte("* cert-authority "+string(caPub)), 0o600))
	files := setFiles(e.dir, name)
	cmd := newCmd("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", testNode, "-n", "ckpt-manifest@ckpt.dev", "-s", files.Signature)
	m, err := os.Open(files.Manifest)
	must(t, err)
	defer m.Close()
	cmd.Stdin = m
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y verify with the CA: %v\n%s", err, out)
	}
}

// keep_plaintext: the archive is sealed at once; its plaintext stays for
// the grace time, then goes.
func TestAgentKeepPlaintext(t *testing.T) {
	e := newEnv(t, "")
	e.replaceConfig("  recipients_file:", "  keep_plaintext: 3s\n  recipients_file:")
	at := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	name, data := e.writeSettled("ns", "p", "c", at, 1, 16<<10)
	path := filepath.Join(e.dir, name)
	code, log := e.once()
	if code != 0 || !strings.Contains(log, `"in_grace":1`) {
		t.Fatalf("--once: %d\n%s", code, log)
	}
	if !exists(path) || !exists(setFiles(e.dir, name).Signature) {
		t.Fatal("want the sealed set and the plaintext during the grace time")
	}
	time.Sleep(3 * time.Second)
	if code, log := e.once(); code != 0 || exists(path) {
		t.Fatalf("after the grace time: exit %d, plaintext there: %v\n%s", code, exists(path), log)
	}
	e.checkSealedWithStockTools(name, sum256(data))
}

// output_dir: the sealed set goes there, the plaintext is shredded where
// it was written; retention finds the sets there.
func TestAgentOutputDir(t *testing.T) {
	e := newEnv(t, "retention:\n  global: {max_checkpoints: 1}\n")
	out := filepath.Join(e.root, "sealed")
	must(t, os.Mkdir(out, 0o700))
	e.replaceConfig("  recipients_file:", "  output_dir: "+out+"\n  recipients_file:")
	at := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	var names []string
	var sums []string
	for i := range 2 {
		name, data := e.writeSettled("ns", "p", "c", at.Add(time.Duration(i)*time.Hour), int64(i), 16<<10)
		names, sums = append(names, name), append(sums, sum256(data))
	}
	if code, log := e.once(); code != 0 {
		t.Fatalf("--once: %d\n%s", code, log)
	}
	if got := listDir(t, e.dir); len(got) != 0 {
		t.Errorf("left in the watched directory: %v", got)
	}
	if exists(setFiles(out, names[0]).Sealed) {
		t.Error("the older checkpoint was kept over max_checkpoints 1")
	}
	if err := verifySet(setFiles(out, names[1]), sums[1]); err != nil {
		t.Error(err)
	}
}

// An archive that never completes (cut short, its writer gone) is
// reported after stuck_after and never touched.
func TestAgentReportsIncomplete(t *testing.T) {
	addr := freePort(t)
	e := newEnv(t, "metrics_addr: "+addr+"\nstuck_after: 1s\n")
	at := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	name := kubeletName("ns", "p", "c", at)
	data := archiveBytes(t, "ns", "p", "c", at, 1, 64<<10)
	cut := data[:len(data)/2]
	path := filepath.Join(e.dir, name)
	must(t, os.WriteFile(path, cut, 0o600))
	p := e.start()
	defer p.cmd.Process.Kill()
	waitFor(t, 20*time.Second, "the incomplete archive reported", func() bool {
		return metricAtLeast(httpGetQuiet("http://"+addr+"/metrics"), "ckpt_agent_archives_incomplete", 1)
	})
	if !strings.Contains(p.log(), `"msg":"archive has not completed; it is left untouched"`) {
		t.Errorf("no report in the log:\n%s", p.log())
	}
	if sum256(mustRead(t, path)) != sum256(cut) || exists(setFiles(e.dir, name).Sealed) {
		t.Fatal("an incomplete archive was touched")
	}
	// Its writer comes back and finishes it: sealed, the gauge drops.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, err = f.Write(data[len(cut):])
	must(t, err)
	must(t, f.Close())
	waitFor(t, 30*time.Second, "sealed once complete", func() bool { return !exists(path) })
	e.checkSealedWithStockTools(name, sum256(data))
	if !metricAtLeast(httpGetQuiet("http://"+addr+"/metrics"), "ckpt_agent_archives_incomplete", 0) ||
		metricAtLeast(httpGetQuiet("http://"+addr+"/metrics"), "ckpt_agent_archives_incomplete", 1) {
		t.Error("the incomplete gauge did not drop")
	}
	p.stop(t)
}
