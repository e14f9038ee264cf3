package kube

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/ckpt-dev/ckpt/internal/kubetest"
)

func rule(groups, verbs, resources []string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: groups, Verbs: verbs, Resources: resources, ResourceNames: names}
}

var core = []string{""}

func crole(name string, labels map[string]string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	return rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Rules: rules}
}

func crb(name, role string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: role}, Subjects: subjects}
}

func rb(ns, name, kind, role string, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
	return rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef: rbacv1.RoleRef{Kind: kind, Name: role}, Subjects: subjects}
}

func user(n string) rbacv1.Subject  { return rbacv1.Subject{Kind: "User", Name: n} }
func group(n string) rbacv1.Subject { return rbacv1.Subject{Kind: "Group", Name: n} }
func sa(ns, n string) rbacv1.Subject {
	return rbacv1.Subject{Kind: "ServiceAccount", Namespace: ns, Name: n}
}

// summary renders grants one per line for comparison.
func summary(gs []Grant) string {
	var b strings.Builder
	for _, g := range gs {
		b.WriteString(g.Subject.String() + " " + g.Resource + " " + g.Role)
		if g.AggregatedFrom != "" {
			b.WriteString("<" + g.AggregatedFrom)
		}
		b.WriteString(" " + g.Binding)
		for _, f := range []struct {
			on   bool
			name string
		}{{!g.Effective, "ineffective"}, {g.Wildcard, "wildcard"}, {g.Broad, "broad"}, {g.Risk != "", "exec-risk"}} {
			if f.on {
				b.WriteString(" " + f.name)
			}
		}
		if len(g.Nodes) > 0 {
			b.WriteString(" nodes=" + strings.Join(g.Nodes, ","))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestGrants(t *testing.T) {
	p := Policy{
		ClusterRoles: []rbacv1.ClusterRole{
			crole("exact", nil, rule(core, []string{"create"}, []string{"nodes/checkpoint"})),
			crole("star-verbs", nil, rule(core, []string{"*"}, []string{"nodes/proxy"})),
			crole("star-all", nil, rule([]string{"*"}, []string{"*"}, []string{"*"})),
			crole("nodes-any-sub", nil, rule(core, []string{"create"}, []string{"nodes/*"})),
			crole("wrong-group", nil, rule([]string{"apps"}, []string{"create"}, []string{"nodes/checkpoint"})),
			crole("wrong-verb", nil, rule(core, []string{"get", "list"}, []string{"nodes/checkpoint", "nodes/proxy"})),
			crole("one-node", nil, rule(core, []string{"create"}, []string{"nodes/checkpoint"}, "node-7")),
			// An aggregated role with no rules of its own: its selector
			// picks up the labelled role's rules.
			crole("aggregate", nil),
			crole("piece", map[string]string{"ckpt.dev/aggregate-to-forensics": "true"}, rule(core, []string{"create"}, []string{"nodes/checkpoint"})),
			crole("unrelated", map[string]string{"other": "true"}, rule(core, []string{"create"}, []string{"nodes/proxy"})),
		},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
			crb("b-exact", "exact", user("alice"), sa("ops", "checkpointer")),
			crb("b-star-verbs", "star-verbs", group("oncall")),
			crb("b-star-all", "star-all", group("system:masters")),
			crb("b-any-sub", "nodes-any-sub", group("system:authenticated")),
			crb("b-wrong", "wrong-group", user("mallory")),
			crb("b-wrong-verb", "wrong-verb", user("mallory")),
			crb("b-one-node", "one-node", user("carol")),
			crb("b-aggregate", "aggregate", user("dave")),
			crb("b-missing", "no-such-role", user("erin")),
		},
		Roles: []rbacv1.Role{{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "local"},
			Rules: []rbacv1.PolicyRule{rule(core, []string{"create"}, []string{"nodes/proxy"})}}},
		RoleBindings: []rbacv1.RoleBinding{
			// Namespace bindings to a ClusterRole and to a Role: nodes are
			// cluster-scoped, so neither grants anything.
			rb("team", "rb-exact", "ClusterRole", "exact", sa("", "builder")),
			rb("team", "rb-local", "Role", "local", user("frank")),
		},
	}
	p.ClusterRoles[7].AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
		{MatchLabels: map[string]string{"ckpt.dev/aggregate-to-forensics": "true"}}}}

	want := `Group oncall nodes/proxy ClusterRole/star-verbs ClusterRoleBinding/b-star-verbs wildcard exec-risk
Group system:authenticated nodes/checkpoint ClusterRole/nodes-any-sub ClusterRoleBinding/b-any-sub wildcard broad
Group system:authenticated nodes/proxy ClusterRole/nodes-any-sub ClusterRoleBinding/b-any-sub wildcard broad exec-risk
Group system:masters nodes/checkpoint ClusterRole/star-all ClusterRoleBinding/b-star-all wildcard
Group system:masters nodes/proxy ClusterRole/star-all ClusterRoleBinding/b-star-all wildcard exec-risk
ServiceAccount ops/checkpointer nodes/checkpoint ClusterRole/exact ClusterRoleBinding/b-exact
ServiceAccount team/builder nodes/checkpoint ClusterRole/exact RoleBinding/team/rb-exact ineffective
User alice nodes/checkpoint ClusterRole/exact ClusterRoleBinding/b-exact
User carol nodes/checkpoint ClusterRole/one-node ClusterRoleBinding/b-one-node nodes=node-7
User dave nodes/checkpoint ClusterRole/aggregate<ClusterRole/piece ClusterRoleBinding/b-aggregate
User frank nodes/proxy Role/team/local RoleBinding/team/rb-local ineffective exec-risk
`
	if got := summary(p.Grants()); got != want {
		t.Errorf("grants:\n%s\nwant:\n%s", got, want)
	}

	if got := summary(p.GrantsFor("zed", []string{"oncall"}, NodesProxy)); !strings.Contains(got, "Group oncall") || !strings.Contains(got, "Group system:authenticated") {
		t.Errorf("zed in oncall: %s", got)
	}
	if got := p.GrantsFor("system:serviceaccount:ops:checkpointer", nil, NodesCheckpoint); len(got) != 2 {
		t.Errorf("ops/checkpointer: %s", summary(got))
	}
	if got := p.GrantsFor("system:serviceaccount:team:builder", nil, NodesCheckpoint); len(got) != 1 || got[0].Subject.Name != "system:authenticated" {
		t.Errorf("team/builder holds only the broad grant, not its namespaced one: %s", summary(got))
	}
}

func TestAnalyzeCluster(t *testing.T) {
	p := Policy{ClusterRoles: kubetest.SampleClusterRoles(), ClusterRoleBindings: kubetest.SampleClusterRoleBindings()}
	hp := func(ns, name, path string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PodSpec{NodeName: "n1",
			Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}}}}}
	}
	pods := []corev1.Pod{hp("a", "root", "/"), hp("a", "kubelet", "/var/lib/kubelet/"), hp("a", "exact", "/var/lib/kubelet/checkpoints"),
		hp("a", "inside", "/var/lib/kubelet/checkpoints/x"), hp("b", "logs", "/var/log"), hp("b", "sibling", "/var/lib/kubelet/checkpoints-old"), hp("b", "pods", "/var/lib/kubelet/pods")}
	r := AnalyzeCluster(p, pods, nil, "/var/lib/kubelet/checkpoints")
	var names []string
	for _, m := range r.HostPathPods {
		names = append(names, m.Pod)
	}
	if got := strings.Join(names, ","); got != "exact,inside,kubelet,root" {
		t.Errorf("host path pods %s", got)
	}
	status := map[string]Status{}
	for _, c := range r.Checks {
		status[c.Name] = c.Status
	}
	if status["host-path-pods"] != Fail || status["apiserver-kubelet-client"] != Pass || status["rbac-nodes-proxy"] != Warn || !Failed(r.Checks) {
		t.Errorf("checks %+v", r.Checks)
	}
	// Without the binding from deploy/rbac the kubelet client has only
	// system:kubelet-api-admin, which lacks nodes/checkpoint.
	p.ClusterRoleBindings = p.ClusterRoleBindings[:4]
	r = AnalyzeCluster(p, nil, nil, "/var/lib/kubelet/checkpoints")
	for _, c := range r.Checks {
		if c.Name == "apiserver-kubelet-client" && (c.Status != Warn || !strings.Contains(c.Fix, "apiserver-kubelet-client.yaml")) {
			t.Errorf("%+v", c)
		}
	}
}

func TestClusterDoctorThroughAPIServer(t *testing.T) {
	c := startCluster(t)
	cl, err := Connect(ClusterConfig{Kubeconfig: c.Env["KUBECONFIG_AUDITOR"]})
	if err != nil {
		t.Fatal(err)
	}
	r, err := cl.Doctor(context.Background(), "/var/lib/kubelet/checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.HostPathPods) != 1 || r.HostPathPods[0].Pod != "node-exporter-x7" {
		t.Errorf("host path pods %+v", r.HostPathPods)
	}
	if len(r.Access) != 3 || !r.Access[0].Allowed || r.Access[1].Allowed || r.Access[1].Resource != "nodes/proxy" {
		t.Errorf("access %+v", r.Access)
	}
	if !strings.Contains(summary(r.Grants), "User alice nodes/proxy ClusterRole/ckpt-checkpointer ClusterRoleBinding/ckpt-checkpointer exec-risk") {
		t.Errorf("grants:\n%s", summary(r.Grants))
	}
	if len(r.KubeletClient) == 0 {
		t.Errorf("kubelet client grants missing")
	}
	c.API.Set(func(a *kubetest.APIConfig) { a.Tokens = map[string]kubetest.User{} })
	_, err = cl.Doctor(context.Background(), "/var/lib/kubelet/checkpoints")
	if !errors.Is(err, Unauthorized) {
		t.Errorf("unknown token: %v", err)
	}
}

// TestRBACManifests decodes deploy/rbac strictly into the k8s.io/api types
// (unknown fields fail) and checks they grant what the docs say and no more.
func TestRBACManifests(t *testing.T) {
	files, _ := filepath.Glob("../deploy/rbac/*.yaml")
	if len(files) != 3 {
		t.Fatalf("deploy/rbac has %d manifests, want 3", len(files))
	}
	var p Policy
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := rd.Read()
			if err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatal(err)
			}
			if tm.APIVersion != "rbac.authorization.k8s.io/v1" {
				t.Fatalf("%s: apiVersion %q", f, tm.APIVersion)
			}
			switch tm.Kind {
			case "ClusterRole":
				var v rbacv1.ClusterRole
				strict(t, f, doc, &v)
				p.ClusterRoles = append(p.ClusterRoles, v)
			case "ClusterRoleBinding":
				var v rbacv1.ClusterRoleBinding
				strict(t, f, doc, &v)
				p.ClusterRoleBindings = append(p.ClusterRoleBindings, v)
			default:
				t.Fatalf("%s: unexpected kind %q", f, tm.Kind)
			}
		}
	}
	for _, b := range p.ClusterRoleBindings {
		found := false
		for _, r := range p.ClusterRoles {
			found = found || r.Name == b.RoleRef.Name
		}
		if !found || b.RoleRef.APIGroup != rbacv1.GroupName {
			t.Errorf("binding %s refers to %+v, not a role in deploy/rbac", b.Name, b.RoleRef)
		}
	}
	want := `User forensics@example.com nodes/proxy ClusterRole/ckpt-checkpointer ClusterRoleBinding/ckpt-checkpointer exec-risk
User kube-apiserver-kubelet-client nodes/checkpoint ClusterRole/ckpt-apiserver-kubelet-checkpoint ClusterRoleBinding/ckpt-apiserver-kubelet-checkpoint
`
	if got := summary(p.Grants()); got != want {
		t.Errorf("deploy/rbac grants:\n%s\nwant:\n%s", got, want)
	}
	for _, r := range p.ClusterRoles {
		for _, rule := range r.Rules {
			for _, s := range append(append(rule.Verbs, rule.Resources...), rule.APIGroups...) {
				if strings.Contains(s, "*") {
					t.Errorf("%s: wildcard %q in a least-privilege role", r.Name, s)
				}
			}
			if r.Name == "ckpt-doctor" && !strings.Contains(strings.Join(rule.Verbs, ","), "list") {
				t.Errorf("ckpt-doctor rule %+v", rule)
			}
			for _, v := range rule.Verbs {
				if r.Name == "ckpt-doctor" && v != "get" && v != "list" {
					t.Errorf("ckpt-doctor may %s: it must be read-only", v)
				}
			}
		}
	}
}

func strict(t *testing.T, file string, doc []byte, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
