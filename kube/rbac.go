package kube

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Policy is a cluster's RBAC objects.
type Policy struct {
	ClusterRoles        []rbacv1.ClusterRole
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	Roles               []rbacv1.Role
	RoleBindings        []rbacv1.RoleBinding
}

// The two subresources that reach a kubelet's checkpoint API.
const (
	// NodesCheckpoint is what the kubelet authorizes /checkpoint as.
	NodesCheckpoint = "nodes/checkpoint"
	// NodesProxy is what the API server authorizes its node proxy as; it
	// also reaches the kubelet's exec, attach and run endpoints.
	NodesProxy = "nodes/proxy"
)

// proxyRisk is written next to every nodes/proxy grant.
const proxyRisk = "nodes/proxy also allows exec, attach and run in every pod on the node through the kubelet"

// Subject is who a binding names.
type Subject struct {
	// Kind is User, Group or ServiceAccount.
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

func (s Subject) String() string {
	if s.Kind == rbacv1.ServiceAccountKind {
		return fmt.Sprintf("ServiceAccount %s/%s", s.Namespace, s.Name)
	}
	return s.Kind + " " + s.Name
}

// Grant is one subject's permission to create one of the two subresources,
// and what grants it.
type Grant struct {
	Subject Subject `json:"subject"`
	// Resource is NodesCheckpoint or NodesProxy.
	Resource string `json:"resource"`
	// Role is "ClusterRole/NAME" or "Role/NAMESPACE/NAME"; AggregatedFrom
	// names the ClusterRole whose rule an aggregated role took in.
	Role           string `json:"role"`
	AggregatedFrom string `json:"aggregated_from,omitempty"`
	// Binding is "ClusterRoleBinding/NAME" or "RoleBinding/NAMESPACE/NAME".
	Binding string `json:"binding"`
	// Namespace is "" for a cluster-wide grant, else the RoleBinding's
	// namespace.
	Namespace string `json:"namespace"`
	// Effective is false for a grant through a RoleBinding: nodes are
	// cluster-scoped, so a namespaced binding grants nothing on them.
	Effective bool `json:"effective"`
	// Wildcard says the rule matched through "*" (verbs, groups or
	// resources), so it grants this by accident more often than not.
	Wildcard bool `json:"wildcard"`
	// Nodes limits the grant to named nodes (resourceNames); empty means all.
	Nodes []string `json:"nodes"`
	// Broad says the subject is a group most identities belong to
	// (system:authenticated, system:serviceaccounts, …).
	Broad bool   `json:"broad"`
	Risk  string `json:"risk,omitempty"`
}

// match says whether rule allows create on resource (group "") and
// whether a wildcard made it so.
func match(rule rbacv1.PolicyRule, resource string) (ok, wildcard bool) {
	verb := slices.Contains(rule.Verbs, "create")
	if !verb && slices.Contains(rule.Verbs, rbacv1.VerbAll) {
		verb, wildcard = true, true
	}
	group := slices.Contains(rule.APIGroups, "")
	if !group && slices.Contains(rule.APIGroups, rbacv1.APIGroupAll) {
		group, wildcard = true, true
	}
	base, sub, _ := strings.Cut(resource, "/")
	exact, wild := false, false
	for _, r := range rule.Resources {
		switch r {
		case resource:
			exact = true
		case rbacv1.ResourceAll, base + "/*", "*/" + sub:
			wild = true
		}
	}
	return verb && group && (exact || wild), wildcard || (wild && !exact)
}

// clusterRoleRules returns a ClusterRole's rules with, for an aggregated
// role, the rules of the roles its selectors pick and where each came from.
func (p Policy) clusterRoleRules(cr rbacv1.ClusterRole) (rules []rbacv1.PolicyRule, from []string) {
	for _, r := range cr.Rules {
		rules, from = append(rules, r), append(from, "")
	}
	if cr.AggregationRule == nil {
		return
	}
	for _, sel := range cr.AggregationRule.ClusterRoleSelectors {
		s, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			continue
		}
		for _, other := range p.ClusterRoles {
			if other.Name == cr.Name || !s.Matches(labels.Set(other.Labels)) {
				continue
			}
			for _, r := range other.Rules {
				rules, from = append(rules, r), append(from, "ClusterRole/"+other.Name)
			}
		}
	}
	return
}

// roleGrant is one matching rule of a role.
type roleGrant struct {
	resource, from string
	wildcard       bool
	nodes          []string
}

func grantsOf(rules []rbacv1.PolicyRule, from []string) []roleGrant {
	var out []roleGrant
	for _, res := range []string{NodesCheckpoint, NodesProxy} {
		seen := map[string]bool{}
		for i, r := range rules {
			ok, wild := match(r, res)
			if !ok {
				continue
			}
			key := fmt.Sprint(from[i], wild, r.ResourceNames)
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, roleGrant{resource: res, from: from[i], wildcard: wild, nodes: slices.Clone(r.ResourceNames)})
		}
	}
	return out
}

// broadGroups are groups nearly every identity of their kind is in.
func broadGroup(s rbacv1.Subject) bool {
	if s.Kind != rbacv1.GroupKind {
		return false
	}
	switch s.Name {
	case "system:authenticated", "system:unauthenticated", "system:serviceaccounts":
		return true
	}
	return strings.HasPrefix(s.Name, "system:serviceaccounts:")
}

// Grants returns every subject that can create nodes/checkpoint or
// nodes/proxy, with the role and binding behind it, sorted.
func (p Policy) Grants() []Grant {
	clusterRoles := map[string]rbacv1.ClusterRole{}
	for _, cr := range p.ClusterRoles {
		clusterRoles[cr.Name] = cr
	}
	roles := map[string]rbacv1.Role{}
	for _, r := range p.Roles {
		roles[r.Namespace+"/"+r.Name] = r
	}
	roleGrants := func(ref rbacv1.RoleRef, ns string) (string, []roleGrant) {
		switch ref.Kind {
		case "ClusterRole":
			cr, ok := clusterRoles[ref.Name]
			if !ok {
				return "", nil
			}
			return "ClusterRole/" + ref.Name, grantsOf(p.clusterRoleRules(cr))
		case "Role":
			r, ok := roles[ns+"/"+ref.Name]
			if !ok {
				return "", nil
			}
			return "Role/" + ns + "/" + ref.Name, grantsOf(r.Rules, make([]string, len(r.Rules)))
		}
		return "", nil
	}
	var out []Grant
	add := func(subjects []rbacv1.Subject, role, binding, ns string, gs []roleGrant) {
		for _, s := range subjects {
			sub := Subject{Kind: s.Kind, Name: s.Name}
			if s.Kind == rbacv1.ServiceAccountKind {
				sub.Namespace = s.Namespace
				if sub.Namespace == "" {
					sub.Namespace = ns
				}
			}
			for _, g := range gs {
				gr := Grant{Subject: sub, Resource: g.resource, Role: role, AggregatedFrom: g.from, Binding: binding,
					Namespace: ns, Effective: ns == "", Wildcard: g.wildcard, Nodes: g.nodes, Broad: broadGroup(s)}
				if gr.Nodes == nil {
					gr.Nodes = []string{}
				}
				if g.resource == NodesProxy {
					gr.Risk = proxyRisk
				}
				out = append(out, gr)
			}
		}
	}
	for _, b := range p.ClusterRoleBindings {
		if role, gs := roleGrants(b.RoleRef, ""); len(gs) > 0 {
			add(b.Subjects, role, "ClusterRoleBinding/"+b.Name, "", gs)
		}
	}
	for _, b := range p.RoleBindings {
		if role, gs := roleGrants(b.RoleRef, b.Namespace); len(gs) > 0 {
			add(b.Subjects, role, "RoleBinding/"+b.Namespace+"/"+b.Name, b.Namespace, gs)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Subject.String() != b.Subject.String() {
			return a.Subject.String() < b.Subject.String()
		}
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		if a.Binding != b.Binding {
			return a.Binding < b.Binding
		}
		return a.AggregatedFrom < b.AggregatedFrom
	})
	return out
}

// GrantsFor returns the effective grants that apply to a user in groups
// (system:authenticated is implied), for resource. A service account user
// is named system:serviceaccount:NS:NAME.
func (p Policy) GrantsFor(user string, groups []string, resource string) []Grant {
	groups = append(slices.Clone(groups), "system:authenticated")
	var out []Grant
	for _, g := range p.Grants() {
		if !g.Effective || g.Resource != resource {
			continue
		}
		s := g.Subject
		switch {
		case s.Kind == rbacv1.UserKind && s.Name == user,
			s.Kind == rbacv1.GroupKind && slices.Contains(groups, s.Name),
			s.Kind == rbacv1.ServiceAccountKind && user == "system:serviceaccount:"+s.Namespace+":"+s.Name:
			out = append(out, g)
		}
	}
	return out
}
