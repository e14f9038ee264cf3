package kubetest

import (
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Cluster is one node's kubelet behind an API server, with the files a
// user of either needs written to a directory.
type Cluster struct {
	Kubelet *Kubelet
	API     *APIServer
	// Env names the files and URLs: KUBELET (URL), KUBELET_CA,
	// OTHER_CA, ADMIN_CERT/ADMIN_KEY (node-admin, allowed),
	// STRANGER_CERT/STRANGER_KEY (a user the kubelet's authorizer
	// refuses), FOREIGN_CERT/FOREIGN_KEY (node-admin signed by another
	// CA), KUBELET_TOKEN (a token file for node-admin), BAD_TOKEN,
	// KUBECONFIG_ALICE (may checkpoint), KUBECONFIG_BOB (may only get
	// pods), KUBECONFIG_BAD (a token the API server does not know),
	// CHECKPOINTS (the kubelet's checkpoint directory).
	Env map[string]string
}

// The users of the API server and what they may do.
var (
	Alice   = User{Name: "alice", Groups: []string{"system:authenticated"}}
	Bob     = User{Name: "bob", Groups: []string{"system:authenticated"}}
	Auditor = User{Name: "auditor", Groups: []string{"ckpt-auditors", "system:authenticated"}}
)

// StartCluster starts a kubelet for node "node-1" with the pods
// default/web (app), default/multi (app, sidecar) and prod/db (postgres),
// and an API server in front of it, and writes the credentials to dir. The
// kubelet writes a copy of archive (if not "") for each checkpoint.
func StartCluster(dir, archive string) (*Cluster, error) {
	ckdir := filepath.Join(dir, "checkpoints")
	if err := os.MkdirAll(ckdir, 0o700); err != nil {
		return nil, err
	}
	pods := map[string][]string{"default/web": {"app"}, "default/multi": {"app", "sidecar"}, "prod/db": {"postgres"}}
	k, err := StartKubelet(KubeletConfig{
		CheckpointGate: true,
		Pods:           pods,
		Tokens:         map[string]string{"node-admin-token": "node-admin"},
		Allowed:        map[string]bool{"node-admin": true, "kube-apiserver-kubelet-client": true},
		Dir:            ckdir,
		Archive:        archive,
	})
	if err != nil {
		return nil, err
	}
	env := map[string]string{"KUBELET": k.URL, "CHECKPOINTS": ckdir}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err == nil {
			err = os.WriteFile(p, data, 0o600)
		}
		return p
	}
	env["KUBELET_CA"] = write("kubelet-ca.crt", k.ServerCA.CertPEM)
	other, _ := NewCA("other")
	env["OTHER_CA"] = write("other-ca.crt", other.CertPEM)
	pairs := map[string]func() (Pair, error){
		"ADMIN":    func() (Pair, error) { return k.ClientCA.Client("node-admin") },
		"STRANGER": func() (Pair, error) { return k.ClientCA.Client("intruder", "developers") },
		"FOREIGN":  func() (Pair, error) { return other.Client("node-admin") },
	}
	for name, mk := range pairs {
		p, e := mk()
		if e != nil {
			return nil, e
		}
		env[name+"_CERT"] = write(name+".crt", p.CertPEM)
		env[name+"_KEY"] = write(name+".key", p.KeyPEM)
	}
	env["KUBELET_TOKEN"] = write("kubelet.token", []byte("node-admin-token\n"))
	env["BAD_TOKEN"] = write("bad.token", []byte("nobody-knows-me\n"))
	if err != nil {
		return nil, err
	}
	kc, err := k.ClientCA.Client("kube-apiserver-kubelet-client", "kubeadm:cluster-admins")
	if err != nil {
		return nil, err
	}
	var corePods []corev1.Pod
	for _, name := range []string{"default/web", "default/multi", "prod/db"} {
		ns, pod := filepath.Split(name)
		p := corev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
			ObjectMeta: metav1.ObjectMeta{Namespace: filepath.Clean(ns), Name: pod},
			Spec:       corev1.PodSpec{NodeName: "node-1"}}
		for _, c := range pods[name] {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "registry.example/" + c})
		}
		corePods = append(corePods, p)
	}
	corePods = append(corePods, corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "node-exporter-x7"},
		Spec: corev1.PodSpec{NodeName: "node-1", Volumes: []corev1.Volume{{Name: "kubelet",
			VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/kubelet"}}}}},
	})
	api := StartAPIServer(APIConfig{
		Tokens:        map[string]User{"alice-token": Alice, "bob-token": Bob, "auditor-token": Auditor},
		Pods:          corePods,
		Nodes:         map[string]string{"node-1": k.URL},
		KubeletClient: kc,
		KubeletCA:     k.ServerCA,
		Can: func(u User, verb, res, sub string) bool {
			switch {
			case res == "pods" && (verb == "get" || verb == "list"):
				return true
			case res == "nodes" && sub == "proxy" && verb == "create":
				return u.Name == "alice"
			}
			return false
		},
		ClusterRoles:        SampleClusterRoles(),
		ClusterRoleBindings: SampleClusterRoleBindings(),
	})
	for name, tok := range map[string]string{"ALICE": "alice-token", "BOB": "bob-token", "BAD": "not-a-token", "AUDITOR": "auditor-token"} {
		sub := filepath.Join(dir, "kc-"+name)
		if err := os.MkdirAll(sub, 0o700); err != nil {
			return nil, err
		}
		p, err := api.WriteKubeconfig(sub, tok, "default")
		if err != nil {
			return nil, err
		}
		env["KUBECONFIG_"+name] = p
	}
	return &Cluster{Kubelet: k, API: api, Env: env}, nil
}

// Close stops both servers.
func (c *Cluster) Close() {
	c.API.Close()
	c.Kubelet.Close()
}

// SampleClusterRoles are the default roles that matter for checkpoints, as
// a kubeadm cluster has them, plus the ones in deploy/rbac.
func SampleClusterRoles() []rbacv1.ClusterRole {
	rule := func(verbs, res []string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{""}, Verbs: verbs, Resources: res}
	}
	return []rbacv1.ClusterRole{
		{ObjectMeta: metav1.ObjectMeta{Name: "cluster-admin"}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "system:kubelet-api-admin"}, Rules: []rbacv1.PolicyRule{
			rule([]string{"get", "list", "watch"}, []string{"nodes"}),
			rule([]string{"proxy"}, []string{"nodes"}),
			rule([]string{"*"}, []string{"nodes/log", "nodes/metrics", "nodes/proxy", "nodes/stats"}),
		}},
		{ObjectMeta: metav1.ObjectMeta{Name: "ckpt-checkpointer"}, Rules: []rbacv1.PolicyRule{
			rule([]string{"get"}, []string{"pods"}), rule([]string{"create"}, []string{"nodes/proxy"})}},
		{ObjectMeta: metav1.ObjectMeta{Name: "ckpt-apiserver-kubelet-checkpoint"}, Rules: []rbacv1.PolicyRule{
			rule([]string{"create"}, []string{"nodes/checkpoint"})}},
		{ObjectMeta: metav1.ObjectMeta{Name: "view"}, Rules: []rbacv1.PolicyRule{rule([]string{"get", "list"}, []string{"pods"})}},
	}
}

// SampleClusterRoleBindings bind the sample roles.
func SampleClusterRoleBindings() []rbacv1.ClusterRoleBinding {
	bind := func(name, role string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
		return rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}, Subjects: subjects}
	}
	return []rbacv1.ClusterRoleBinding{
		bind("cluster-admin", "cluster-admin", rbacv1.Subject{Kind: "Group", Name: "system:masters", APIGroup: rbacv1.GroupName}),
		bind("kubeadm:cluster-admins", "cluster-admin", rbacv1.Subject{Kind: "Group", Name: "kubeadm:cluster-admins", APIGroup: rbacv1.GroupName}),
		bind("system:kube-apiserver", "system:kubelet-api-admin", rbacv1.Subject{Kind: "User", Name: "kube-apiserver-kubelet-client", APIGroup: rbacv1.GroupName}),
		bind("ckpt-checkpointer", "ckpt-checkpointer", rbacv1.Subject{Kind: "User", Name: "alice", APIGroup: rbacv1.GroupName}),
		bind("ckpt-apiserver-kubelet-checkpoint", "ckpt-apiserver-kubelet-checkpoint", rbacv1.Subject{Kind: "User", Name: "kube-apiserver-kubelet-client", APIGroup: rbacv1.GroupName}),
	}
}
