package agent

// Helpers for the tests that run the real ckpt binary on real directories,
// as a node runs it.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/internal/testgen"
)

// ckptBin is the binary built once by TestMain.
var ckptBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ckpt-agent-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ckptBin = filepath.Join(dir, "ckpt")
	args := []string{"build", "-o", ckptBin}
	if os.Getenv("CKPT_TEST_RACE") != "" {
		// The agent's concurrency runs in the binary: build it with the
		// race detector to check it under the end-to-end tests.
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "./cmd/ckpt")...)
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one node: a checkpoint directory, a state directory, an age key
// pair and a config.
type env struct {
	t          testing.TB
	root, dir  string
	state      string
	identity   string // age identity file, for age -d
	recipients string
	config     string
	metrics    string // host:port when served
}

const testNode = "node-1"

func newEnv(t testing.TB, extra string) *env {
	t.Helper()
	root := t.TempDir()
	return newEnvAt(t, root, filepath.Join(root, "checkpoints"), extra)
}

func newEnvAt(t testing.TB, root, dir, extra string) *env {
	t.Helper()
	e := &env{t: t, root: root, dir: dir, state: filepath.Join(root, "state")}
	if err := os.MkdirAll(e.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	e.identity = filepath.Join(root, "identity")
	e.recipients = filepath.Join(root, "recipients")
	must(t, os.WriteFile(e.identity, []byte(id.String()+"\n"), 0o600))
	must(t, os.WriteFile(e.recipients, []byte("# the forensics team\n"+id.Recipient().String()+"\n"), 0o600))
	e.writeConfig(extra)
	return e
}

func (e *env) writeConfig(extra string) {
	cfg := fmt.Sprintf("dir: %s\nnode: %s\nstate_dir: %s\nsettle: 300ms\nrescan: 2s\nseal:\n  recipients_file: %s\n%s",
		e.dir, testNode, e.state, e.recipients, extra)
	e.config = filepath.Join(e.root, "agent.yaml")
	must(e.t, os.WriteFile(e.config, []byte(cfg), 0o600))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// freePort returns a loopback address nobody listens on.
func freePort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// once runs ckpt agent --once and returns its exit code and log.
func (e *env) once(args ...string) (int, string) {
	e.t.Helper()
	cmd := exec.Command(ckptBin, append([]string{"agent", "--once", "--config", e.config}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stderr.String()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return 0, stderr.String()
}

// agentProc is a running agent; its log goes to a file.
type agentProc struct {
	cmd     *exec.Cmd
	logPath string
}

func (e *env) start() *agentProc { return e.startEnv(nil) }

// startEnv starts the agent with the environment env (nil: this process's).
func (e *env) startEnv(env []string) *agentProc {
	e.t.Helper()
	f, err := os.CreateTemp(e.root, "agent-*.log")
	must(e.t, err)
	defer f.Close()
	p := &agentProc{logPath: f.Name()}
	p.cmd = exec.Command(ckptBin, "agent", "--config", e.config)
	p.cmd.Stderr = f
	p.cmd.Env = env
	must(e.t, p.cmd.Start())
	return p
}

func (p *agentProc) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// stop sends SIGTERM and returns the exit code.
func (p *agentProc) stop(t testing.TB) int {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		return 0
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("agent did not stop on SIGINT\n%s", p.log())
		return -1
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// archiveBytes is a small format-valid archive of one container.
func archiveBytes(t testing.TB, ns, pod, ctr string, at time.Time, seed int64, pages int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	_, err := testgen.Write(&buf, testgen.Spec{Seed: seed, Namespace: ns, Pod: pod, Container: ctr, Checkpointed: at, PageBytes: pages})
	must(t, err)
	return buf.Bytes()
}

// writeSettled writes into the watched directory the archive of one
// container checkpointed at at, under the kubelet's name, back-dated past
// the settle time so that --once takes it at once. It returns the name and
// the archive's bytes.
func (e *env) writeSettled(ns, pod, ctr string, at time.Time, seed, pages int64) (string, []byte) {
	e.t.Helper()
	name := kubeletName(ns, pod, ctr, at)
	data := archiveBytes(e.t, ns, pod, ctr, at, seed, pages)
	path := filepath.Join(e.dir, name)
	must(e.t, os.WriteFile(path, data, 0o600))
	old := time.Now().Add(-time.Minute)
	must(e.t, os.Chtimes(path, old, old))
	return name, data
}

// writeHourly writes n settled checkpoints of one container, an hour apart
// from at (seeds 0 to n-1), and returns their names, oldest first.
func (e *env) writeHourly(ns, pod, ctr string, at time.Time, n int) []string {
	e.t.Helper()
	names := make([]string, n)
	for i := range n {
		names[i], _ = e.writeSettled(ns, pod, ctr, at.Add(time.Duration(i)*time.Hour), int64(i), 16<<10)
	}
	return names
}

// kubeletName is the file name the kubelet gives a checkpoint.
func kubeletName(ns, pod, ctr string, at time.Time) string {
	return fmt.Sprintf("checkpoint-%s_%s-%s-%s.tar", pod, ns, ctr, at.UTC().Format(time.RFC3339))
}

func sum256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkSealedWithStockTools checks the sealed set of archive name with
// age -d, sha256sum -c and ssh-keygen -Y verify, and that it decrypts to
// the archive's bytes (by hash).
func (e *env) checkSealedWithStockTools(name, wantSHA string) {
	t := e.t
	t.Helper()
	files := setFiles(e.dir, name)
	for _, p := range []string{files.Sealed, files.Checksum, files.Manifest, files.Signature} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("sealed set of %s: %v", name, err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", p, st.Mode().Perm())
		}
	}
	out, err := exec.Command("age", "-d", "-i", e.identity, files.Sealed).Output()
	if err != nil {
		t.Fatalf("age -d %s: %v", files.Sealed, err)
	}
	if got := sum256(out); got != wantSHA {
		t.Fatalf("%s decrypts to sha256 %s, want %s", files.Sealed, got, wantSHA)
	}
	c := exec.Command("sha256sum", "-c", filepath.Base(files.Checksum))
	c.Dir = e.dir
	if msg, err := c.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c %s: %v\n%s", files.Checksum, err, msg)
	}
	pub, err := os.ReadFile(filepath.Join(e.state, NodeKeyName+".pub"))
	must(t, err)
	allowed := filepath.Join(t.TempDir(), "allowed_signers")
	must(t, os.WriteFile(allowed, []byte("ckpt-agent@"+testNode+" "+string(pub)), 0o600))
	manifest, err := os.Open(files.Manifest)
	must(t, err)
	defer manifest.Close()
	v := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "ckpt-agent@"+testNode, "-n", "ckpt-manifest@ckpt.dev", "-s", files.Signature)
	v.Stdin = manifest
	if msg, err := v.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y verify %s: %v\n%s", files.Signature, err, msg)
	}
}

// verifySet checks a sealed set in process (signature, checksum,
// manifest) and that it is of the archive with plaintext hash wantSHA.
func verifySet(files seal.Sidecars, wantSHA string) error {
	rep, err := seal.Verify(context.Background(), files.Sealed, seal.VerifyOptions{Policy: seal.Policy{RequireSignature: true}})
	if err != nil {
		return err
	}
	if rep.Manifest.Archive.SHA256 != wantSHA {
		return fmt.Errorf("%s: manifest names plaintext %s, want %s", files.Sealed, rep.Manifest.Archive.SHA256, wantSHA)
	}
	return nil
}

// listDir returns the names in dir.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	must(t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func hasTemp(names []string) []string {
	var out []string
	for _, n := range names {
		if strings.Contains(n, ".tmp-") {
			out = append(out, n)
		}
	}
	return out
}

func newCmd(prog string, args ...string) *exec.Cmd { return exec.Command(prog, args...) }

// exitCode is the exit code in err from exec, 0 for nil.
func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// writeConfigSettle rewrites the config with another settle time.
func (e *env) writeConfigSettle(settle string) { e.replaceConfig("settle: 300ms", "settle: "+settle) }

// replaceConfig replaces one line of the config.
func (e *env) replaceConfig(old, new string) {
	b, err := os.ReadFile(e.config)
	must(e.t, err)
	must(e.t, os.WriteFile(e.config, []byte(strings.Replace(string(b), old, new, 1)), 0o600))
}

// metricAtLeast reports whether the series in a /metrics page is at
// least min.
func metricAtLeast(page, series string, min float64) bool {
	for _, line := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return err == nil && f >= min
		}
	}
	return false
}
