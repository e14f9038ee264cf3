package agent

// End-to-end tests of the agent joined to the audit log and to a store:
// the real binary, real directories, a real MinIO server.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ckpt-dev/ckpt/audit"
	"github.com/ckpt-dev/ckpt/internal/storetest"
)

// auditRecords runs ckpt audit show -o json on the log.
func auditRecords(t *testing.T, log string, args ...string) []audit.Record {
	t.Helper()
	out, err := exec.Command(ckptBin, append([]string{"audit", "show", log, "-o", "json"}, args...)...).Output()
	if err != nil {
		t.Fatalf("ckpt audit show: %v", err)
	}
	var recs []audit.Record
	must(t, json.Unmarshal(out, &recs))
	return recs
}

// As root, with the audit log on, the running agent records a cat of a
// sealed archive as an access by cat (its pid, uid, executable), and
// none of its own opens while it seals and shreds.
func TestAgentAuditAccess(t *testing.T) {
	e := newEnv(t, "audit_log: "+"AUDIT"+"\n")
	log := filepath.Join(e.root, "audit.log")
	e.replaceConfig("audit_log: AUDIT", "audit_log: "+log)
	p := e.start()
	defer p.cmd.Process.Kill()
	waitFor(t, 10*time.Second, "watching", func() bool { return strings.Contains(p.log(), `"msg":"watching"`) })
	if strings.Contains(p.log(), "access monitoring is off") {
		p.stop(t)
		t.Skip("access monitoring needs CAP_SYS_ADMIN (run the tests as root): the agent said it is off, and the rest works")
	}
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	name := kubeletName("team-a", "web-0", "app", at)
	must(t, os.WriteFile(filepath.Join(e.dir, name), archiveBytes(t, "team-a", "web-0", "app", at, 1, 64<<10), 0o600))
	files := setFiles(e.dir, name)
	waitFor(t, 20*time.Second, "seal and shred", func() bool {
		return exists(files.Sealed) && !exists(filepath.Join(e.dir, name))
	})
	cat := exec.Command("cat", files.Sealed)
	cat.Stdout = new(bytes.Buffer)
	must(t, cat.Run())
	catPID := cat.Process.Pid
	time.Sleep(3 * time.Second) // the monitor's coalescing window
	if code := p.stop(t); code != 0 {
		t.Fatalf("agent exit %d\n%s", code, p.log())
	}
	agentPID := p.cmd.Process.Pid

	recs := auditRecords(t, log)
	var found int
	for _, r := range recs {
		if r.Action != audit.ActionAccess {
			continue
		}
		if r.Actor.PID == agentPID {
			t.Errorf("the agent's own open is recorded: %+v", r)
		}
		if r.Actor.PID == catPID {
			found++
			if r.File != files.Sealed || filepath.Base(r.Actor.Exe) != "cat" || r.Actor.UID != os.Getuid() {
				t.Errorf("access record %+v: want file %s, exe cat, uid %d", r, files.Sealed, os.Getuid())
			}
		}
	}
	if found != 1 {
		t.Fatalf("%d access records for cat (pid %d), want 1; records: %+v", found, catPID, recs)
	}
	if out, err := exec.Command(ckptBin, "audit", "verify", log).CombinedOutput(); err != nil {
		t.Fatalf("ckpt audit verify: %v\n%s", err, out)
	}
}

// The agent uploads each sealed set to MinIO, keeps it until the store
// holds it whole, and with keep_local: false then deletes it; ckpt pull
// verifies what was uploaded. With MinIO stopped the set stays local,
// the failure is counted, and retention does not prune sets that are not
// uploaded; the next run uploads them.
func TestAgentUpload(t *testing.T) {
	m := storetest.StartMinIO(t)
	m.MakeBucket("ckpt")
	dest := "s3://ckpt/node-1/"
	addr := freePort(t)
	e := newEnv(t, "metrics_addr: "+addr+"\naudit_log: AUDIT\nupload:\n  destination: "+dest+"\n  keep_local: false\n  retries: 1\n  endpoint: "+m.Endpoint()+"\n  region: us-east-1\nretention:\n  global: {max_checkpoints: 1}\n")
	log := filepath.Join(e.root, "audit.log")
	e.replaceConfig("audit_log: AUDIT", "audit_log: "+log)
	env := append(os.Environ(), m.Env()...)
	run := func(args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(ckptBin, args...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		return exitCode(cmd.Run()), out.String()
	}
	write := func(at time.Time, seed int64) string {
		name, _ := e.writeSettled("team-a", "web-0", "app", at, seed, 32<<10)
		return name
	}
	pub, allowed := "", filepath.Join(e.root, "allowed_signers")
	pull := func(name string) {
		t.Helper()
		if pub == "" {
			b, err := os.ReadFile(filepath.Join(e.state, NodeKeyName+".pub"))
			must(t, err)
			pub = string(b)
			must(t, os.WriteFile(allowed, []byte("ckpt-agent@"+testNode+" "+pub), 0o600))
		}
		dir := t.TempDir()
		if code, out := run("pull", dest+name+".age", dir, "--allowed-signers", allowed); code != 0 {
			t.Fatalf("ckpt pull %s: exit %d\n%s", name, code, out)
		}
		if !exists(filepath.Join(dir, name+".age")) {
			t.Fatalf("pull left no %s.age", name)
		}
	}

	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	first := write(at, 1)
	if code, out := run("agent", "--once", "--config", e.config); code != 0 {
		t.Fatalf("agent --once: exit %d\n%s", code, out)
	} else if !strings.Contains(out, `"msg":"uploaded"`) {
		t.Fatalf("no upload logged\n%s", out)
	}
	if names := listDir(t, e.dir); len(names) != 0 {
		t.Fatalf("keep_local: false left %v", names)
	}
	pull(first)

	// The store is down: sets stay local, failures are counted, and
	// retention (max_checkpoints: 1) keeps every set not uploaded.
	m.Stop()
	p := e.startEnv(env)
	defer p.cmd.Process.Kill()
	var later []string
	for i := range 3 {
		later = append(later, write(at.Add(time.Duration(i+1)*time.Hour), int64(i+2)))
	}
	// The sealed count goes up before the plaintext goes: wait for both,
	// so that the stop below does not land between them.
	waitFor(t, 60*time.Second, "upload failures counted, plaintext removed", func() bool {
		page := httpGetQuiet("http://" + addr + "/metrics")
		return metricAtLeast(page, `ckpt_agent_failures_total{reason="upload"}`, 3) &&
			metricAtLeast(page, "ckpt_agent_archives_sealed_total", 3) &&
			!slices.ContainsFunc(later, func(name string) bool { return exists(filepath.Join(e.dir, name)) })
	})
	if code := p.stop(t); code != 0 {
		t.Fatalf("agent exit %d\n%s", code, p.log())
	}
	for _, name := range later {
		if f := setFiles(e.dir, name); !statSet(f).complete(true) {
			t.Fatalf("%s: the sealed set is not kept while the store is down\n%s", name, p.log())
		}
		if exists(filepath.Join(e.dir, name)) {
			t.Errorf("%s: plaintext kept although the local set is sealed", name)
		}
	}
	if strings.Contains(p.log(), `"msg":"pruned"`) {
		t.Fatalf("retention pruned a set that is not uploaded\n%s", p.log())
	}

	// The store is back: the next run uploads them all, then drops them.
	m.Start()
	if code, out := run("agent", "--once", "--config", e.config); code != 0 {
		t.Fatalf("agent --once after the store came back: exit %d\n%s", code, out)
	}
	if names := listDir(t, e.dir); len(names) != 0 {
		t.Fatalf("uploaded sets left behind: %v", names)
	}
	for _, name := range later {
		pull(name)
	}

	var ok, failed int
	for _, r := range auditRecords(t, log, "--action", "upload") {
		switch {
		case r.Result == audit.ResultOK && r.Output == dest && len(r.Digests) == 1 && len(r.Recipients) == 1:
			ok++
		case r.Result == audit.ResultFailed && r.Error != "":
			failed++
		default:
			t.Errorf("upload record %+v", r)
		}
	}
	if ok != 4 || failed < 3 {
		t.Fatalf("%d upload records ok and %d failed, want 4 and at least 3", ok, failed)
	}
	if out, err := exec.Command(ckptBin, "audit", "verify", log).CombinedOutput(); err != nil {
		t.Fatalf("ckpt audit verify: %v\n%s", err, out)
	}
}

// With keep_local (the default) the sets stay after their upload, a
// later run does not upload them again, and retention prunes uploaded
// sets as usual.
func TestAgentUploadKeepLocal(t *testing.T) {
	m := storetest.StartMinIO(t)
	m.MakeBucket("keep")
	e := newEnv(t, "upload:\n  destination: s3://keep/n1/\n  endpoint: "+m.Endpoint()+"\nretention:\n  global: {max_checkpoints: 1}\n")
	env := append(os.Environ(), m.Env()...)
	once := func() string {
		t.Helper()
		cmd := exec.Command(ckptBin, "agent", "--once", "--config", e.config)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("agent --once: %v\n%s", err, out)
		}
		return string(out)
	}
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var names []string
	for i := range 2 {
		at := at.Add(time.Duration(i) * time.Hour)
		name, _ := e.writeSettled("team-a", "web-0", "app", at, int64(i+1), 32<<10)
		names = append(names, name)
	}
	out := once()
	if n := strings.Count(out, `"msg":"uploaded"`); n != 2 {
		t.Fatalf("%d uploads logged, want 2\n%s", n, out)
	}
	if exists(setFiles(e.dir, names[0]).Sealed) || !exists(setFiles(e.dir, names[1]).Sealed) {
		t.Fatalf("want the older set pruned once uploaded and the newer kept: %v", listDir(t, e.dir))
	}
	if out := once(); strings.Contains(out, `"msg":"uploaded"`) {
		t.Fatalf("a set already in the store was uploaded again\n%s", out)
	}
	for _, name := range names {
		st, err := m.Client().HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("keep"), Key: aws.String("n1/" + name + ".age")})
		if err != nil || st.ContentLength == nil || *st.ContentLength == 0 {
			t.Fatalf("%s.age not in the store: %v", name, err)
		}
	}
}
