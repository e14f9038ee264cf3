package kubetest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kubelet is a kubelet's authenticated HTTPS port with the checkpoint API.
type Kubelet struct {
	// URL is https://127.0.0.1:PORT.
	URL string
	// ClientCA signs the client certificates the kubelet accepts
	// (--client-ca-file); ServerCA signs the kubelet's serving certificate.
	ClientCA, ServerCA *CA

	srv *http.Server
	ln  net.Listener

	mu  sync.Mutex
	cfg KubeletConfig
	// Requests counts the checkpoint requests that reached the handler.
	requests int
}

// KubeletConfig is what the kubelet knows: its feature gate, pods,
// authorizer and runtime.
type KubeletConfig struct {
	// CheckpointGate is the ContainerCheckpoint feature gate. Off, the
	// checkpoint web service is not installed and go-restful answers its
	// bare 404 page.
	CheckpointGate bool
	// Pods maps "namespace/pod" to the pod's containers.
	Pods map[string][]string
	// Tokens maps bearer tokens to user names (webhook token
	// authentication).
	Tokens map[string]string
	// Allowed are the users the authorizer lets create nodes/checkpoint.
	Allowed map[string]bool
	// RuntimeError, when set, is the CRI error CheckpointContainer returns.
	RuntimeError string
	// Dir is the kubelet's checkpoint directory; Archive, when set, is
	// copied there under the name the runtime gives a checkpoint.
	Dir     string
	Archive string
	// Now stamps archive names; time.Now when nil.
	Now func() time.Time
	// ServerNames are the names in the serving certificate (default
	// 127.0.0.1 and localhost).
	ServerNames []string
}

// StartKubelet serves cfg on 127.0.0.1 with a serving certificate for
// 127.0.0.1 and localhost.
func StartKubelet(cfg KubeletConfig) (*Kubelet, error) {
	serverCA, err := NewCA("kubelet-serving-ca")
	if err != nil {
		return nil, err
	}
	clientCA, err := NewCA("kubernetes")
	if err != nil {
		return nil, err
	}
	names := cfg.ServerNames
	if len(names) == 0 {
		names = []string{"127.0.0.1", "localhost"}
	}
	pair, err := serverCA.Server(names...)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(pair.CertPEM, pair.KeyPEM)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	k := &Kubelet{URL: "https://" + ln.Addr().String(), ClientCA: clientCA, ServerCA: serverCA, cfg: cfg, ln: ln}
	// Like the kubelet with --client-ca-file: a client certificate is
	// requested, and verified by the authenticator, not the handshake, so
	// a missing or foreign certificate ends in 401, not a TLS alert.
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	k.srv = &http.Server{Handler: k, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go k.srv.Serve(tls.NewListener(ln, tlsCfg))
	return k, nil
}

// Close stops the server.
func (k *Kubelet) Close() error { return k.srv.Close() }

// Set replaces the configuration.
func (k *Kubelet) Set(f func(*KubeletConfig)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	f(&k.cfg)
}

// Requests reports how many checkpoint requests reached the handler.
func (k *Kubelet) Requests() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.requests
}

// authenticate returns the user of a verified client certificate or a
// known bearer token.
func (k *Kubelet) authenticate(r *http.Request, cfg *KubeletConfig) (string, bool) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		pool := x509.NewCertPool()
		pool.AddCert(k.ClientCA.Cert)
		inter := x509.NewCertPool()
		for _, c := range r.TLS.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		leaf := r.TLS.PeerCertificates[0]
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
			return leaf.Subject.CommonName, true
		}
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		if u, ok := cfg.Tokens[strings.TrimPrefix(h, "Bearer ")]; ok {
			return u, true
		}
	}
	return "", false
}

// writeError writes text as go-restful's WriteErrorString does.
func writeError(w http.ResponseWriter, code int, text string) {
	w.WriteHeader(code)
	io.WriteString(w, text)
}

func (k *Kubelet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	cfg := k.cfg
	k.mu.Unlock()

	// The authentication filter runs before routing, for every path.
	user, ok := k.authenticate(r, &cfg)
	if !ok {
		writeError(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	// The authorizer runs before routing too: /checkpoint/… is create
	// on nodes/checkpoint whether or not the gate installed the service.
	if parts[0] == "checkpoint" && !cfg.Allowed[user] {
		writeError(w, http.StatusForbidden, fmt.Sprintf("Forbidden (user=%s, verb=create, resource=nodes, subresource(s)=[checkpoint])\n", user))
		return
	}
	if !cfg.CheckpointGate || parts[0] != "checkpoint" || len(parts) != 4 || r.Method != http.MethodPost {
		// No web service serves the path: go-restful's 404 page.
		writeError(w, http.StatusNotFound, "404: Page Not Found")
		return
	}
	k.mu.Lock()
	k.requests++
	k.mu.Unlock()
	ns, pod, ctr := parts[1], parts[2], parts[3]
	containers, ok := cfg.Pods[ns+"/"+pod]
	if !ok {
		writeError(w, http.StatusNotFound, "pod does not exist")
		return
	}
	found := false
	for _, c := range containers {
		found = found || c == ctr
	}
	if !found {
		writeError(w, http.StatusNotFound, fmt.Sprintf("container %v does not exist", ctr))
		return
	}
	// The last timeout value counts; it must parse as a base-10 int64.
	if ts := r.URL.Query()["timeout"]; len(ts) > 0 {
		if _, err := strconv.ParseInt(ts[len(ts)-1], 10, 64); err != nil {
			writeError(w, http.StatusNotFound, "cannot parse value of timeout parameter")
			return
		}
	}
	path, err := k.runtimeCheckpoint(&cfg, ns, pod, ctr)
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("checkpointing of %v/%v/%v failed (%v)", ns, pod, ctr, err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "{\"items\":[\"%s\"]}", path)
}

// runtimeCheckpoint stands in for the CRI CheckpointContainer call: it
// writes the archive as CRI-O and containerd name it,
// checkpoint-POD_NAMESPACE-CONTAINER-TIME.tar, mode 0600.
func (k *Kubelet) runtimeCheckpoint(cfg *KubeletConfig, ns, pod, ctr string) (string, error) {
	if cfg.RuntimeError != "" {
		return "", fmt.Errorf("%s", cfg.RuntimeError)
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	dir := cfg.Dir
	if dir == "" {
		dir = "/var/lib/kubelet/checkpoints"
	}
	path := filepath.Join(dir, fmt.Sprintf("checkpoint-%s_%s-%s-%s.tar", pod, ns, ctr, now().UTC().Format(time.RFC3339)))
	if cfg.Archive == "" {
		return path, nil
	}
	data, err := os.ReadFile(cfg.Archive)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", err
	}
	return path, nil
}
