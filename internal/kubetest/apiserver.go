package kubetest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// APIServer is the part of kube-apiserver that ckpt uses: pods, the node
// proxy, RBAC lists and SelfSubjectAccessReview.
type APIServer struct {
	URL string
	srv *httptest.Server

	mu  sync.Mutex
	cfg APIConfig
}

// User is an authenticated identity.
type User struct {
	Name   string
	Groups []string
}

// APIConfig is the cluster the API server serves.
type APIConfig struct {
	// Tokens maps bearer tokens to users.
	Tokens map[string]User
	Pods   []corev1.Pod
	// Nodes maps node names to their kubelet's URL.
	Nodes map[string]string
	// KubeletClient is the API server's client certificate for kubelets
	// (--kubelet-client-certificate); KubeletCA verifies their serving
	// certificates (--kubelet-certificate-authority).
	KubeletClient Pair
	KubeletCA     *CA
	// Can says whether user may do verb on resource[/subresource]; both
	// the proxy's authorization and SelfSubjectAccessReview ask it.
	Can func(u User, verb, resource, subresource string) bool

	ClusterRoles        []rbacv1.ClusterRole
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	Roles               []rbacv1.Role
	RoleBindings        []rbacv1.RoleBinding
}

// StartAPIServer serves cfg over TLS on 127.0.0.1.
func StartAPIServer(cfg APIConfig) *APIServer {
	s := &APIServer{cfg: cfg}
	s.srv = httptest.NewUnstartedServer(s)
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *APIServer) Close() { s.srv.Close() }

// Set changes the configuration.
func (s *APIServer) Set(f func(*APIConfig)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.cfg)
}

// WriteKubeconfig writes a kubeconfig for the user of token to dir/kubeconfig,
// with the server's CA, context "test" and namespace ns, and returns its path.
func (s *APIServer) WriteKubeconfig(dir, token, ns string) (string, error) {
	ca := pemCert(s.srv.Certificate())
	caFile := filepath.Join(dir, "apiserver-ca.crt")
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		return "", err
	}
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: tester
  user:
    token: %s
contexts:
- name: test
  context:
    cluster: test
    user: tester
    namespace: %s
current-context: test
`, s.URL, caFile, token, ns)
	p := filepath.Join(dir, "kubeconfig")
	return p, os.WriteFile(p, []byte(kc), 0o600)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// status writes a metav1.Status, as the API server reports every error.
func status(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string, details *metav1.StatusDetails) {
	writeJSON(w, code, &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Reason: reason, Details: details, Code: int32(code),
	})
}

func (s *APIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	u, ok := cfg.Tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok {
		status(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized", nil)
		return
	}
	can := func(verb, res, sub string) bool { return cfg.Can != nil && cfg.Can(u, verb, res, sub) }
	p := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && len(p) == 6 && p[0] == "api" && p[2] == "namespaces" && p[4] == "pods":
		if !can("get", "pods", "") {
			status(w, http.StatusForbidden, metav1.StatusReasonForbidden, fmt.Sprintf("pods %q is forbidden: User %q cannot get resource \"pods\" in API group \"\" in the namespace %q", p[5], u.Name, p[3]), &metav1.StatusDetails{Name: p[5], Kind: "pods"})
			return
		}
		for _, pod := range cfg.Pods {
			if pod.Namespace == p[3] && pod.Name == p[5] {
				writeJSON(w, http.StatusOK, pod)
				return
			}
		}
		status(w, http.StatusNotFound, metav1.StatusReasonNotFound, fmt.Sprintf("pods %q not found", p[5]), &metav1.StatusDetails{Name: p[5], Kind: "pods"})
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/pods":
		list := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, Items: cfg.Pods}
		writeJSON(w, http.StatusOK, list)
	case len(p) >= 5 && p[0] == "api" && p[2] == "nodes" && p[4] == "proxy":
		s.proxy(w, r, &cfg, u, p[3], strings.Join(p[5:], "/"))
	case r.Method == http.MethodGet && len(p) == 4 && p[0] == "apis" && p[1] == "rbac.authorization.k8s.io":
		s.rbacList(w, &cfg, p[3])
	case r.Method == http.MethodPost && r.URL.Path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
		var rev authorizationv1.SelfSubjectAccessReview
		if err := json.NewDecoder(r.Body).Decode(&rev); err != nil || rev.Spec.ResourceAttributes == nil {
			status(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "bad review", nil)
			return
		}
		a := rev.Spec.ResourceAttributes
		rev.Status.Allowed = can(a.Verb, a.Resource, a.Subresource)
		if !rev.Status.Allowed {
			rev.Status.Reason = "no RBAC policy matched"
		}
		rev.APIVersion, rev.Kind = "authorization.k8s.io/v1", "SelfSubjectAccessReview"
		writeJSON(w, http.StatusCreated, rev)
	default:
		status(w, http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource", nil)
	}
}

func (s *APIServer) rbacList(w http.ResponseWriter, cfg *APIConfig, kind string) {
	meta := func(k string) metav1.TypeMeta {
		return metav1.TypeMeta{Kind: k, APIVersion: "rbac.authorization.k8s.io/v1"}
	}
	switch kind {
	case "clusterroles":
		writeJSON(w, 200, rbacv1.ClusterRoleList{TypeMeta: meta("ClusterRoleList"), Items: cfg.ClusterRoles})
	case "clusterrolebindings":
		writeJSON(w, 200, rbacv1.ClusterRoleBindingList{TypeMeta: meta("ClusterRoleBindingList"), Items: cfg.ClusterRoleBindings})
	case "roles":
		writeJSON(w, 200, rbacv1.RoleList{TypeMeta: meta("RoleList"), Items: cfg.Roles})
	case "rolebindings":
		writeJSON(w, 200, rbacv1.RoleBindingList{TypeMeta: meta("RoleBindingList"), Items: cfg.RoleBindings})
	default:
		status(w, http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource", nil)
	}
}

// proxy authorizes create on nodes/proxy, then forwards to the node's
// kubelet with the API server's kubelet client certificate and copies the
// answer back unchanged.
func (s *APIServer) proxy(w http.ResponseWriter, r *http.Request, cfg *APIConfig, u User, node, path string) {
	verb := map[string]string{http.MethodGet: "get", http.MethodPost: "create", http.MethodPut: "update", http.MethodDelete: "delete"}[r.Method]
	if cfg.Can == nil || !cfg.Can(u, verb, "nodes", "proxy") {
		status(w, http.StatusForbidden, metav1.StatusReasonForbidden, fmt.Sprintf("nodes %q is forbidden: User %q cannot %s resource \"nodes/proxy\" in API group \"\" at the cluster scope", node, u.Name, verb), &metav1.StatusDetails{Name: node, Kind: "nodes"})
		return
	}
	kubelet, ok := cfg.Nodes[node]
	if !ok {
		status(w, http.StatusNotFound, metav1.StatusReasonNotFound, fmt.Sprintf("nodes %q not found", node), &metav1.StatusDetails{Name: node, Kind: "nodes"})
		return
	}
	tcfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.KubeletCA != nil {
		tcfg.RootCAs = x509.NewCertPool()
		tcfg.RootCAs.AddCert(cfg.KubeletCA.Cert)
	}
	if cfg.KubeletClient.CertPEM != nil {
		c, err := tls.X509KeyPair(cfg.KubeletClient.CertPEM, cfg.KubeletClient.KeyPEM)
		if err != nil {
			status(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error(), nil)
			return
		}
		tcfg.Certificates = []tls.Certificate{c}
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, kubelet+"/"+path+"?"+r.URL.RawQuery, r.Body)
	if err != nil {
		status(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error(), nil)
		return
	}
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: tcfg}}).Do(req)
	if err != nil {
		status(w, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, "error trying to reach service: "+err.Error(), nil)
		return
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}
