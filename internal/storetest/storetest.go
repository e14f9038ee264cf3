// Package storetest runs real stores for tests, on 127.0.0.1 and free
// ports: a MinIO server (S3) and Debian's docker-registry (the CNCF
// distribution registry), each in a temporary directory and stopped at the
// end of the test.
//
// A missing binary skips the test with a message saying how to get it,
// unless CI=true, where it is a failure: CI must not pass by skipping.
package storetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/crypto/bcrypt"
)

// MinIOPath is where CI caches the MinIO binary (built with `go install
// github.com/minio/minio@latest`); CKPT_MINIO overrides it, and PATH is
// searched last.
const MinIOPath = "/var/cache/ckpt/bin/minio"

// binary finds a server binary or skips (fails under CI=true).
func binary(t testing.TB, env string, paths []string, name, how string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		paths = append([]string{p}, paths...)
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found (%s); %s", name, env, how)
	if env == "" {
		msg = fmt.Sprintf("%s not found; %s", name, how)
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing program is a failure)")
	}
	t.Skip(msg)
	return ""
}

// Skopeo runs skopeo, the client the tests read registries and OCI layouts
// with, and returns its output; the test fails when skopeo does. Without
// skopeo the test skips (fails under CI=true).
func Skopeo(t testing.TB, args ...string) []byte {
	t.Helper()
	bin := binary(t, "", nil, "skopeo", "install Debian's skopeo package")
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo %v: %v\n%s", args, err, out)
	}
	return out
}

// FreePort returns a port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// process is a started server and a channel closed when it has exited.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func start(t testing.TB, cmd *exec.Cmd) *process {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	return p
}

// kill stops the process at once and waits for it to be gone.
func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
}

// waitHTTP polls url until it answers with one of ok, or fails the test.
func waitHTTP(t testing.TB, url string, p *process, ok ...int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			t.Fatalf("%s exited before answering", p.cmd.Path)
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			for _, c := range ok {
				if resp.StatusCode == c {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer at %s within 60s", p.cmd.Path, url)
}

// MinIO is a running single-drive MinIO server.
type MinIO struct {
	t        testing.TB
	bin, dir string
	Addr     string // 127.0.0.1:PORT
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string

	mu   sync.Mutex // Start and Stop may run on other goroutines
	proc *process
}

// StartMinIO starts MinIO on a free port with a fresh drive.
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	bin := binary(t, "CKPT_MINIO", []string{MinIOPath}, "minio", "build it with: GOBIN=/var/cache/ckpt/bin go install github.com/minio/minio@latest")
	m := &MinIO{t: t, bin: bin, dir: t.TempDir(), AccessKey: "ckpt-test", SecretKey: "ckpt-test-secret-key"}
	m.Addr = "127.0.0.1:" + strconv.Itoa(FreePort(t))
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// Endpoint is the server's URL.
func (m *MinIO) Endpoint() string { return "http://" + m.Addr }

// Start (re)starts the server on its address and drive.
func (m *MinIO) Start() {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	cmd := exec.Command(m.bin, "server", m.dir, "--address", m.Addr, "--console-address", "127.0.0.1:"+strconv.Itoa(FreePort(m.t)), "--quiet")
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+m.AccessKey, "MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "CI=")
	m.proc = start(m.t, cmd)
	waitHTTP(m.t, m.Endpoint()+"/minio/health/ready", m.proc, 200)
}

// Stop kills the server at once, as a crash or a cable pull would.
func (m *MinIO) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil {
		m.proc.kill()
		m.proc = nil
	}
}

// Env returns the AWS environment that points the SDK at the server.
func (m *MinIO) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + m.AccessKey, "AWS_SECRET_ACCESS_KEY=" + m.SecretKey,
		"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL_S3=" + m.Endpoint(),
		// No shared config or IMDS from the machine running the tests.
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
	}
}

// MakeBucket creates a bucket.
func (m *MinIO) MakeBucket(name string) {
	m.t.Helper()
	// A server that answers its readiness check may still say "not
	// initialized" for a moment.
	var err error
	for i := 0; i < 100; i++ {
		if err = putBucket(m.Endpoint(), name, m.AccessKey, m.SecretKey); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.t.Fatal(err)
}

// Registry is a running distribution registry.
type Registry struct {
	Addr string // 127.0.0.1:PORT
	// User and Password are set when it requires basic auth.
	User, Password string
	Dir            string // its storage
}

// StartRegistry starts docker-registry on a free port with a config
// written here; with auth, it requires htpasswd basic auth (bcrypt).
func StartRegistry(t testing.TB, auth bool) *Registry {
	t.Helper()
	bin := binary(t, "CKPT_REGISTRY", []string{"/usr/bin/docker-registry"}, "docker-registry", "install Debian's docker-registry package")
	dir := t.TempDir()
	r := &Registry{Addr: "127.0.0.1:" + strconv.Itoa(FreePort(t)), Dir: filepath.Join(dir, "storage")}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, r.Dir, r.Addr)
	if auth {
		r.User, r.Password = "ckpt", "ckpt-registry-password"
		hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(r.User+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: ckpt-test\n    path: %s\n", htpasswd)
	}
	config := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, exec.Command(bin, "serve", config))
	t.Cleanup(p.kill)
	waitHTTP(t, "http://"+r.Addr+"/v2/", p, 200, 401)
	return r
}

// DockerConfig writes a docker config.json with the given credentials for
// the registry into a new directory and returns it, for DOCKER_CONFIG.
func (r *Registry) DockerConfig(t testing.TB, user, password string) string {
	t.Helper()
	dir := t.TempDir()
	auths := map[string]any{}
	if user != "" {
		auths[r.Addr] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))}
	}
	cfg := map[string]any{"auths": auths}
	data, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Client returns an S3 client of the server's, for tests to create
// buckets and look at or alter objects behind ckpt's back.
func (m *MinIO) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(m.Endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
	})
}

func putBucket(endpoint, name, key, secret string) error {
	c := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
	})
	_, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)})
	return err
}
