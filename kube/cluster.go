package kube

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Access is one SelfSubjectAccessReview answer for the caller.
type Access struct {
	Verb     string `json:"verb"`
	Resource string `json:"resource"`
	Allowed  bool   `json:"allowed"`
	Reason   string `json:"reason"`
}

// HostPathMount is a pod that mounts the checkpoint directory or a parent
// of it from its node, and so reads every archive there.
type HostPathMount struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Node      string `json:"node"`
	Volume    string `json:"volume"`
	Path      string `json:"path"`
}

// ClusterReport is what ckpt doctor --cluster found.
type ClusterReport struct {
	Checks []Check `json:"checks"`
	// Grants is every subject that can create nodes/checkpoint or
	// nodes/proxy.
	Grants []Grant `json:"grants"`
	// KubeletClient are the grants that let the API server's kubelet
	// client (KubeletClientUser) create nodes/checkpoint.
	KubeletClient []Grant         `json:"kubelet_client"`
	Access        []Access        `json:"access"`
	HostPathPods  []HostPathMount `json:"host_path_pods"`
}

// reviews are the caller's permissions doctor asks about.
var reviews = []struct{ verb, resource, sub string }{
	{"get", "pods", ""},
	{"create", "nodes", "proxy"},
	{"create", "nodes", "checkpoint"},
}

// Doctor reads the cluster's RBAC and pods and asks the API server what the
// caller may do. dir is the nodes' checkpoint directory.
func (c *Cluster) Doctor(ctx context.Context, dir string) (*ClusterReport, error) {
	var p Policy
	lists := []struct {
		what, path string
		into       runtime.Object
	}{
		{"clusterroles", rbacPath, &rbacv1.ClusterRoleList{}},
		{"clusterrolebindings", rbacPath, &rbacv1.ClusterRoleBindingList{}},
		{"roles", rbacPath, &rbacv1.RoleList{}},
		{"rolebindings", rbacPath, &rbacv1.RoleBindingList{}},
		{"pods", "", &corev1.PodList{}},
	}
	for _, l := range lists {
		r := c.client.Get()
		if l.path != "" {
			r = r.AbsPath(l.path)
		}
		if err := r.Resource(l.what).Do(ctx).Into(l.into); err != nil {
			return nil, c.listError(err, l.what)
		}
	}
	p.ClusterRoles = lists[0].into.(*rbacv1.ClusterRoleList).Items
	p.ClusterRoleBindings = lists[1].into.(*rbacv1.ClusterRoleBindingList).Items
	p.Roles = lists[2].into.(*rbacv1.RoleList).Items
	p.RoleBindings = lists[3].into.(*rbacv1.RoleBindingList).Items
	pods := lists[4].into.(*corev1.PodList)
	var access []Access
	for _, r := range reviews {
		rev := &authorizationv1.SelfSubjectAccessReview{}
		err := c.client.Post().AbsPath(authorizationPath).Resource("selfsubjectaccessreviews").
			Body(&authorizationv1.SelfSubjectAccessReview{
				Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
					Verb: r.verb, Resource: r.resource, Subresource: r.sub}},
			}).Do(ctx).Into(rev)
		res := r.resource
		if r.sub != "" {
			res += "/" + r.sub
		}
		a := Access{Verb: r.verb, Resource: res}
		if err != nil {
			a.Reason = "review failed: " + err.Error()
		} else {
			a.Allowed, a.Reason = rev.Status.Allowed, rev.Status.Reason
		}
		access = append(access, a)
	}
	return AnalyzeCluster(p, pods.Items, access, dir), nil
}

func (c *Cluster) listError(err error, what string) error {
	e := c.apiError(err, Request{})
	if KindOf(e) == Forbidden {
		if ke, ok := e.(*Error); ok {
			ke.Detail = "cannot list " + what
			ke.Fix = "bind the read-only ClusterRole ckpt-doctor (deploy/rbac/doctor.yaml) to the user"
		}
	}
	return e
}

// AnalyzeCluster judges a policy, the cluster's pods and the caller's
// access reviews.
func AnalyzeCluster(p Policy, pods []corev1.Pod, access []Access, dir string) *ClusterReport {
	r := &ClusterReport{Grants: p.Grants(), KubeletClient: p.GrantsFor(KubeletClientUser, nil, NodesCheckpoint), Access: access}
	if r.Access == nil {
		r.Access = []Access{}
	}
	r.HostPathPods = hostPathPods(pods, dir)

	var ckpt, proxy, broad, ineffective []string
	for _, g := range r.Grants {
		who := g.Subject.String() + " via " + g.Binding
		switch {
		case !g.Effective:
			ineffective = append(ineffective, who)
			continue
		case g.Broad:
			broad = append(broad, who+" ("+g.Resource+")")
		}
		if g.Resource == NodesCheckpoint {
			ckpt = append(ckpt, who)
		} else {
			proxy = append(proxy, who)
		}
	}
	c := Check{Name: "rbac-checkpoint", Status: Pass, Detail: fmt.Sprintf("%d grants of create on nodes/checkpoint: %s", len(ckpt), clip(ckpt, 8))}
	if len(ckpt) == 0 {
		c.Detail = "nobody is granted create on nodes/checkpoint"
	}
	r.Checks = append(r.Checks, c)
	c = Check{Name: "rbac-nodes-proxy", Status: Pass, Detail: "nobody is granted create on nodes/proxy"}
	if len(proxy) > 0 {
		c.Status = Warn
		c.Detail = fmt.Sprintf("%d grants of create on nodes/proxy, which reaches the checkpoint API and allows exec into every pod: %s", len(proxy), clip(proxy, 8))
		c.Fix = "keep nodes/proxy to the few who must checkpoint through the API server (deploy/rbac/checkpointer.yaml)"
	}
	r.Checks = append(r.Checks, c)
	if len(broad) > 0 {
		r.Checks = append(r.Checks, Check{Name: "rbac-broad-groups", Status: Fail,
			Detail: "groups that hold nearly every identity can trigger checkpoints: " + clip(broad, 8),
			Fix:    "remove these subjects from the bindings"})
	}
	if len(ineffective) > 0 {
		r.Checks = append(r.Checks, Check{Name: "rbac-namespaced", Status: Warn,
			Detail: "namespaced bindings name nodes rules, which grant nothing (nodes are cluster-scoped): " + clip(ineffective, 8),
			Fix:    "use a ClusterRoleBinding where the grant is meant, or remove the rule"})
	}
	c = Check{Name: "apiserver-kubelet-client"}
	if len(r.KubeletClient) > 0 {
		c.Status, c.Detail = Pass, KubeletClientUser+" can create nodes/checkpoint via "+r.KubeletClient[0].Binding
	} else {
		c.Status = Warn
		c.Detail = "no RBAC grant lets " + KubeletClientUser + " create nodes/checkpoint: checkpoints through the API server get a 403 from the kubelet unless its certificate's group grants it (system:masters does)"
		c.Fix = "kubectl apply -f deploy/rbac/apiserver-kubelet-client.yaml (system:kubelet-api-admin lacks nodes/checkpoint)"
	}
	r.Checks = append(r.Checks, c)
	var allowed, denied []string
	for _, a := range r.Access {
		if a.Allowed {
			allowed = append(allowed, a.Verb+" "+a.Resource)
		} else {
			denied = append(denied, a.Verb+" "+a.Resource)
		}
	}
	c = Check{Name: "caller-access", Status: Pass}
	c.Detail = "you may " + orNone(allowed) + "; you may not " + orNone(denied)
	r.Checks = append(r.Checks, c)
	c = Check{Name: "host-path-pods", Status: Pass, Detail: "no pod mounts " + dir + " or a parent of it from its node"}
	if len(r.HostPathPods) > 0 {
		var names []string
		for _, m := range r.HostPathPods {
			names = append(names, fmt.Sprintf("%s/%s (%s on %s)", m.Namespace, m.Pod, m.Path, orNone([]string{m.Node})))
		}
		c.Status = Fail
		c.Detail = fmt.Sprintf("%d pods mount %s or a parent of it and read every archive on their node: %s", len(names), dir, clip(names, 8))
		c.Fix = "remove these hostPath volumes, or restrict them with a Pod Security admission level of baseline or restricted"
	}
	r.Checks = append(r.Checks, c)
	return r
}

func orNone(s []string) string {
	if len(s) == 0 || (len(s) == 1 && s[0] == "") {
		return "nothing"
	}
	return strings.Join(s, ", ")
}

// hostPathPods finds pods with a hostPath volume at dir, above it or
// inside it.
func hostPathPods(pods []corev1.Pod, dir string) []HostPathMount {
	dir = path.Clean(dir)
	out := []HostPathMount{}
	for _, p := range pods {
		for _, v := range p.Spec.Volumes {
			if v.HostPath == nil {
				continue
			}
			hp := path.Clean(v.HostPath.Path)
			if hp == "/" || hp == dir || strings.HasPrefix(dir, hp+"/") || strings.HasPrefix(hp, dir+"/") {
				out = append(out, HostPathMount{Namespace: p.Namespace, Pod: p.Name, Node: p.Spec.NodeName, Volume: v.Name, Path: v.HostPath.Path})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		if out[i].Pod != out[j].Pod {
			return out[i].Pod < out[j].Pod
		}
		return out[i].Volume < out[j].Volume
	})
	return out
}
