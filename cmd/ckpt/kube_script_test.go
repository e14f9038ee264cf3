package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ckpt-dev/ckpt/internal/kubetest"
)

// TestKubeScript runs testdata/kube/*.txtar: ckpt checkpoint and ckpt
// doctor end to end, as the real binary, against internal/kubetest's
// kubelet and API server. No cluster runs here; those servers answer as
// the Kubernetes source says the real ones do (pkg/kubelet/server/server.go:
// the checkpoint handler's JSON, 404 and 500 texts and timeout rules, the
// auth filter's 401 and 403; the API server's node proxy and Status
// errors), over TLS with client certificates minted by the test.
//
// Scripts have, besides status:
//
//	kubecluster            start the kubelet and API server; sets $KUBELET,
//	                       $KUBELET_CA, $ADMIN_CERT, … (kubetest.Cluster.Env)
//	kubelet gate on|off    the ContainerCheckpoint feature gate
//	kubelet runtime-error TEXT   make the runtime's checkpoint fail
//	kubelet deny|allow USER      the kubelet's authorizer refuses or allows USER
//	kubelet remote DIR     archives are written elsewhere, under DIR
//	kubelet down           the API server's proxy cannot reach the kubelet
//	misnamed               start a second kubelet whose certificate names
//	                       only node-1.example: $MISNAMED, $MISNAMED_CA
func TestKubeScript(t *testing.T) {
	fixtures := repoDir(t, "testdata/fixtures")
	archives, _ := filepath.Glob(filepath.Join(fixtures, "checkpoint-simple-*.tar"))
	if len(archives) != 1 {
		t.Fatalf("no simple kubelet fixture in %s", fixtures)
	}
	testscript.Run(t, scriptParams(t, "testdata/kube", scriptCmds{
		"kubecluster": cmdKubeCluster,
		"kubelet":     cmdKubelet,
		"misnamed":    cmdMisnamed,
	}, nil, func(e *testscript.Env) error {
		e.Values["archive"] = archives[0]
		e.Values["cluster"] = new(*kubetest.Cluster)
		return nil
	}))
}

func cmdKubeCluster(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: kubecluster")
	}
	dir := ts.MkAbs("k8s")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		ts.Fatalf("%v", err)
	}
	c, err := kubetest.StartCluster(dir, ts.Value("archive").(string))
	if err != nil {
		ts.Fatalf("kubecluster: %v", err)
	}
	*ts.Value("cluster").(**kubetest.Cluster) = c
	ts.Defer(c.Close)
	for k, v := range c.Env {
		ts.Setenv(k, v)
	}
}

func cmdKubelet(ts *testscript.TestScript, neg bool, args []string) {
	c := *ts.Value("cluster").(**kubetest.Cluster)
	if !neg && c != nil && len(args) == 1 && args[0] == "down" {
		c.API.Set(func(a *kubetest.APIConfig) { a.Nodes["node-1"] = "https://127.0.0.1:1" })
		return
	}
	if neg || c == nil || len(args) != 2 {
		ts.Fatalf("usage: kubelet gate on|off | runtime-error TEXT | deny|allow USER | remote DIR | down (after kubecluster)")
	}
	c.Kubelet.Set(func(k *kubetest.KubeletConfig) {
		switch args[0] {
		case "gate":
			k.CheckpointGate = args[1] == "on"
		case "runtime-error":
			k.RuntimeError = args[1]
		case "deny":
			delete(k.Allowed, args[1])
		case "allow":
			k.Allowed[args[1]] = true
		case "remote":
			// The archive is written on another machine: the kubelet
			// answers a path that does not exist here.
			k.Archive = ""
			k.Dir = args[1]
		default:
			ts.Fatalf("kubelet: unknown setting %q", args[0])
		}
	})
}

func cmdMisnamed(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: misnamed")
	}
	k, err := kubetest.StartKubelet(kubetest.KubeletConfig{CheckpointGate: true, ServerNames: []string{"node-1.example"}})
	if err != nil {
		ts.Fatalf("misnamed: %v", err)
	}
	ts.Defer(func() { k.Close() })
	ca := ts.MkAbs("misnamed-ca.crt")
	if err := os.WriteFile(ca, k.ServerCA.CertPEM, 0o600); err != nil {
		ts.Fatalf("%v", err)
	}
	ts.Setenv("MISNAMED", k.URL)
	ts.Setenv("MISNAMED_CA", ca)
}
