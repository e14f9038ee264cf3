package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ckpt-dev/ckpt/internal/kubetest"
)

// These tests talk to internal/kubetest's kubelet and API server, which
// answer as pkg/kubelet/server/server.go (the checkpoint handler and the
// auth filter) and the API server's node proxy do: real TLS, client
// certificates minted here, the kubelet's exact status codes and texts.

func startCluster(t *testing.T) *kubetest.Cluster {
	t.Helper()
	c, err := kubetest.StartCluster(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func direct(t *testing.T, c *kubetest.Cluster, cert, key, token, ca string) *Kubelet {
	t.Helper()
	k, err := NewKubelet(KubeletConfig{URL: c.Env["KUBELET"], CertFile: c.Env[cert], KeyFile: c.Env[key], TokenFile: c.Env[token], CAFile: c.Env[ca]})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func wantKind(t *testing.T, err error, kind Kind, texts ...string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want a *kube.Error of kind %s", err, err, kind)
	}
	if e.Kind != kind || !errors.Is(err, kind) {
		t.Fatalf("kind %s, want %s: %v", e.Kind, kind, err)
	}
	for _, s := range texts {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	return e
}

func TestKubeletDirect(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	req := Request{Namespace: "default", Pod: "web", Container: "app", Timeout: 90 * time.Second}

	res, err := direct(t, c, "ADMIN_CERT", "ADMIN_KEY", "", "KUBELET_CA").Checkpoint(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if dir, name := filepath.Split(res.Archive); filepath.Clean(dir) != c.Env["CHECKPOINTS"] ||
		!strings.HasPrefix(name, "checkpoint-web_default-app-") || !strings.HasSuffix(name, "Z.tar") {
		t.Errorf("archive %q: not the runtime's checkpoint-POD_NS-CTR-TIME.tar in %s", res.Archive, c.Env["CHECKPOINTS"])
	}
	if res.Node != "127.0.0.1" || res.Via != "kubelet" || len(res.Archives) != 1 {
		t.Errorf("result %+v", res)
	}
	if _, err := direct(t, c, "", "", "KUBELET_TOKEN", "KUBELET_CA").Checkpoint(ctx, req); err != nil {
		t.Errorf("with a token: %v", err)
	}

	_, err = direct(t, c, "", "", "", "KUBELET_CA").Checkpoint(ctx, req)
	wantKind(t, err, Unauthorized, `"Unauthorized"`, "no credentials")
	_, err = direct(t, c, "FOREIGN_CERT", "FOREIGN_KEY", "", "KUBELET_CA").Checkpoint(ctx, req)
	wantKind(t, err, Unauthorized, "FOREIGN.crt (user node-admin)")
	_, err = direct(t, c, "", "", "BAD_TOKEN", "KUBELET_CA").Checkpoint(ctx, req)
	wantKind(t, err, Unauthorized, "bad.token")

	_, err = direct(t, c, "STRANGER_CERT", "STRANGER_KEY", "", "KUBELET_CA").Checkpoint(ctx, req)
	wantKind(t, err, Forbidden, "Forbidden (user=intruder, verb=create, resource=nodes, subresource(s)=[checkpoint])", "nodes/checkpoint")

	admin := direct(t, c, "ADMIN_CERT", "ADMIN_KEY", "", "KUBELET_CA")
	_, err = admin.Checkpoint(ctx, Request{Namespace: "default", Pod: "nope", Container: "app"})
	wantKind(t, err, NotFound, `"pod does not exist"`)
	_, err = admin.Checkpoint(ctx, Request{Namespace: "default", Pod: "web", Container: "db"})
	wantKind(t, err, NotFound, `"container db does not exist"`, `no container "db"`)
	_, err = admin.Checkpoint(ctx, Request{Namespace: "default", Pod: "web"})
	wantKind(t, err, Ambiguous)

	c.Kubelet.Set(func(k *kubetest.KubeletConfig) {
		k.RuntimeError = "rpc error: code = Unknown desc = checkpoint/restore support not available"
	})
	_, err = admin.Checkpoint(ctx, req)
	wantKind(t, err, RuntimeFailed, "checkpoint/restore support not available", "enable_criu_support")

	c.Kubelet.Set(func(k *kubetest.KubeletConfig) { k.CheckpointGate = false })
	_, err = admin.Checkpoint(ctx, req)
	wantKind(t, err, NotEnabled, `"404: Page Not Found"`, "ContainerCheckpoint")
}

// ckpt always sends whole seconds, so the kubelet's timeout parse error is
// provoked with a raw request and its answer classified.
func TestKubeletBadTimeout(t *testing.T) {
	c := startCluster(t)
	pair, err := tls.LoadX509KeyPair(c.Env["ADMIN_CERT"], c.Env["ADMIN_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.Kubelet.ServerCA.CertPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}}}}
	for _, q := range []string{"timeout=1.5", "timeout=60&timeout=abc", "timeout="} {
		resp, err := hc.Post(c.Env["KUBELET"]+"/checkpoint/default/web/app?"+q, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		e := classify(answer{status: resp.StatusCode, body: body, endpoint: c.Env["KUBELET"], req: Request{Namespace: "default", Pod: "web", Container: "app"}})
		wantKind(t, e, BadTimeout, "cannot parse value of timeout parameter", "whole number of seconds")
	}
	// The last value counts: a good one after a bad one is accepted.
	resp, err := hc.Post(c.Env["KUBELET"]+"/checkpoint/default/web/app?timeout=abc&timeout=30", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("timeout=abc&timeout=30: status %d, want 200", resp.StatusCode)
	}
	if got := (Request{Timeout: 1500 * time.Millisecond}).timeoutSeconds(); got != 2 {
		t.Errorf("1.5s sent as %d seconds, want 2 (rounded up)", got)
	}
}

func TestKubeletTLS(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	req := Request{Namespace: "default", Pod: "web", Container: "app"}
	_, err := direct(t, c, "ADMIN_CERT", "ADMIN_KEY", "", "OTHER_CA").Checkpoint(ctx, req)
	wantKind(t, err, TLSFailed, "not signed by the CA in "+c.Env["OTHER_CA"], "127.0.0.1")
	_, err = direct(t, c, "ADMIN_CERT", "ADMIN_KEY", "", "").Checkpoint(ctx, req)
	wantKind(t, err, TLSFailed, "system's CA certificates")

	k, err := kubetest.StartKubelet(kubetest.KubeletConfig{CheckpointGate: true, ServerNames: []string{"node-1.example"}})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	ca := filepath.Join(t.TempDir(), "ca.crt")
	os.WriteFile(ca, k.ServerCA.CertPEM, 0o600)
	kl, err := NewKubelet(KubeletConfig{URL: k.URL, CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	_, err = kl.Checkpoint(ctx, req)
	wantKind(t, err, TLSFailed, `not valid for the name "127.0.0.1"`, "node-1.example")

	// A port nobody listens on.
	k.Close()
	_, err = kl.Checkpoint(ctx, req)
	wantKind(t, err, Unreachable, "could not connect")
}

func TestThroughAPIServer(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	connect := func(kc string) *Cluster {
		cl, err := Connect(ClusterConfig{Kubeconfig: c.Env[kc]})
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	alice := connect("KUBECONFIG_ALICE")
	if alice.Namespace != "default" {
		t.Errorf("namespace %q from the kubeconfig, want default", alice.Namespace)
	}
	res, err := alice.Checkpoint(ctx, Request{Namespace: "prod", Pod: "db", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Node != "node-1" || res.Container != "postgres" || res.Via != "api-server" || !strings.Contains(res.Archive, "checkpoint-db_prod-postgres-") {
		t.Errorf("result %+v", res)
	}

	_, err = alice.Checkpoint(ctx, Request{Namespace: "default", Pod: "multi"})
	wantKind(t, err, Ambiguous, "2 containers (app, sidecar)", "default/multi/CONTAINER")
	_, err = alice.Checkpoint(ctx, Request{Namespace: "default", Pod: "ghost"})
	wantKind(t, err, NotFound, `pods \"ghost\" not found`)
	_, err = alice.Checkpoint(ctx, Request{Namespace: "default", Pod: "web", Container: "nope"})
	wantKind(t, err, NotFound, "container nope does not exist")

	_, err = connect("KUBECONFIG_BOB").Checkpoint(ctx, Request{Namespace: "default", Pod: "web"})
	wantKind(t, err, Forbidden, `User \"bob\" cannot create resource \"nodes/proxy\"`, "ckpt-checkpointer")
	_, err = connect("KUBECONFIG_BAD").Checkpoint(ctx, Request{Namespace: "default", Pod: "web"})
	wantKind(t, err, Unauthorized, `user "tester" of context "test", a bearer token`)

	// The kubelet refuses the API server's kubelet client: its 403 comes
	// through the proxy, and the fix is the binding for that user.
	c.Kubelet.Set(func(k *kubetest.KubeletConfig) { delete(k.Allowed, KubeletClientUser) })
	_, err = alice.Checkpoint(ctx, Request{Namespace: "default", Pod: "web"})
	e := wantKind(t, err, Forbidden, "user=kube-apiserver-kubelet-client", "apiserver-kubelet-client.yaml", "system:kubelet-api-admin role lacks nodes/checkpoint")
	if !strings.Contains(e.Endpoint, "kubelet on node-1") {
		t.Errorf("endpoint %q does not name the kubelet", e.Endpoint)
	}
	c.Kubelet.Set(func(k *kubetest.KubeletConfig) { k.Allowed[KubeletClientUser] = true; k.CheckpointGate = false })
	_, err = alice.Checkpoint(ctx, Request{Namespace: "default", Pod: "web"})
	wantKind(t, err, NotEnabled)

	c.API.Set(func(a *kubetest.APIConfig) { a.Nodes["node-1"] = "https://127.0.0.1:1" })
	_, err = alice.Checkpoint(ctx, Request{Namespace: "default", Pod: "web"})
	wantKind(t, err, Unreachable, "error trying to reach service")
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]Request{
		"ns/pod":     {Namespace: "ns", Pod: "pod"},
		"ns/pod/ctr": {Namespace: "ns", Pod: "pod", Container: "ctr"},
		"pod":        {Namespace: "dflt", Pod: "pod"},
	} {
		got, err := ParseTarget(in, "dflt")
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "a/b/c/d", "/pod", "ns/", "ns/pod/"} {
		if _, err := ParseTarget(bad, "dflt"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
