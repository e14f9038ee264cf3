package agent

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func cps(ns, pod, ctr string, n int, size int64) []Checkpoint {
	var out []Checkpoint
	for i := range n {
		out = append(out, Checkpoint{
			Name:      fmt.Sprintf("checkpoint-%s_%s-%s-%02d.tar", pod, ns, ctr, i),
			Namespace: ns, Pod: pod, Container: ctr,
			Time: t0.Add(time.Duration(i) * time.Hour), Size: size,
		})
	}
	return out
}

func names(ps []Prune) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// 12 checkpoints of one container under max_checkpoints 10 lose the two
// oldest; with the oldest pinned, the two oldest unpinned go instead.
func TestPlanKeepsNewestTen(t *testing.T) {
	p := Policy{Global: Limits{MaxCheckpoints: 10}}
	all := cps("team-a", "web-0", "app", 12, 100)
	got := names(p.Plan(all, t0.Add(24*time.Hour)))
	if want := []string{all[0].Name, all[1].Name}; !slices.Equal(got, want) {
		t.Fatalf("pruned %v, want %v", got, want)
	}
	all[0].Pinned = true
	got = names(p.Plan(all, t0.Add(24*time.Hour)))
	if want := []string{all[1].Name, all[2].Name}; !slices.Equal(got, want) {
		t.Fatalf("with a pin: pruned %v, want %v", got, want)
	}
	// Only pins over the limit: nothing can go.
	for i := range all {
		all[i].Pinned = i < 11
	}
	got = names(p.Plan(all, t0.Add(24*time.Hour)))
	if want := []string{all[11].Name}; !slices.Equal(got, want) {
		t.Fatalf("all but one pinned: pruned %v, want %v", got, want)
	}
}

// Container > pod > namespace > global, as the operator has it.
func TestPlanPrecedence(t *testing.T) {
	p := Policy{
		Global:     Limits{MaxCheckpoints: 5},
		Namespaces: []NamespaceLimits{{Namespace: "team-a", Limits: Limits{MaxCheckpoints: 4}}},
		Pods:       []PodLimits{{Namespace: "team-a", Pod: "web-0", Limits: Limits{MaxCheckpoints: 3}}},
		Containers: []ContainerLimits{{Namespace: "team-a", Pod: "web-0", Container: "app", Limits: Limits{MaxCheckpoints: 1}}},
	}
	var all []Checkpoint
	all = append(all, cps("team-a", "web-0", "app", 6, 1)...)     // container policy: keep 1
	all = append(all, cps("team-a", "web-0", "sidecar", 6, 1)...) // pod policy: keep 3
	all = append(all, cps("team-a", "db-0", "pg", 3, 1)...)       // namespace: keep 4 across the namespace...
	all = append(all, cps("team-a", "db-0", "exp", 3, 1)...)      // ...of these 6
	all = append(all, cps("other", "x", "y", 7, 1)...)            // global per container: keep 5
	kept := map[string]int{}
	pruned := map[string]bool{}
	for _, n := range names(p.Plan(all, t0)) {
		pruned[n] = true
	}
	for _, c := range all {
		if !pruned[c.Name] {
			kept[c.Namespace+"/"+c.Pod+"/"+c.Container]++
		}
	}
	want := map[string]int{"team-a/web-0/app": 1, "team-a/web-0/sidecar": 3, "other/x/y": 5}
	for k, v := range want {
		if kept[k] != v {
			t.Errorf("%s: kept %d, want %d (all kept: %v)", k, kept[k], v, kept)
		}
	}
	if n := kept["team-a/db-0/pg"] + kept["team-a/db-0/exp"]; n != 4 {
		t.Errorf("namespace team-a outside web-0: kept %d, want 4", n)
	}
}

func TestPlanAgeAndSizes(t *testing.T) {
	all := cps("ns", "p", "c", 5, 100) // hours 0..4
	all[4].Size = 1000
	p := Policy{Global: Limits{MaxAge: Duration(150 * time.Minute), MaxCheckpointSize: 500}}
	// At hour 4: hours 0 and 1 are older than 2.5h; hour 4 is too big.
	got := names(p.Plan(all, t0.Add(4*time.Hour)))
	if want := []string{all[0].Name, all[1].Name, all[4].Name}; !slices.Equal(got, want) {
		t.Fatalf("pruned %v, want %v", got, want)
	}
	p = Policy{Global: Limits{MaxTotalSize: 250}}
	all[4].Size = 100
	got = names(p.Plan(all, t0))
	if want := []string{all[0].Name, all[1].Name, all[2].Name}; !slices.Equal(got, want) {
		t.Fatalf("total size: pruned %v, want %v", got, want)
	}
	if (Policy{}).Plan(all, t0) != nil && len((Policy{}).Plan(all, t0)) != 0 {
		t.Fatal("an empty policy pruned")
	}
}

func TestOperatorPolicy(t *testing.T) {
	p, err := ParseOperatorPolicy([]byte(`apiVersion: criu.org/v1
kind: CheckpointRestoreOperator
metadata:
  name: checkpointrestoreoperator-sample
spec:
  checkpointDirectory: /var/lib/kubelet/checkpoints
  applyPoliciesImmediately: false
  globalPolicy:
    retainOrphan: true
    maxCheckpointsPerNamespace: 50
    maxCheckpointsPerPod: 30
    maxCheckpointsPerContainer: 10
    maxCheckpointSize: 10
    maxTotalSizePerContainer: 20
  containerPolicies:
    - namespace: team-a
      pod: web-0
      container: app
      retainOrphan: false
      maxCheckpoints: 5
      maxTotalSize: 20
  podPolicies:
    - {namespace: team-a, pod: web-0, maxCheckpoints: 10, maxCheckpointSize: 8}
  namespacePolicies:
    - {namespace: team-a, maxCheckpoints: 15}
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Global.MaxCheckpoints != 10 || p.Global.MaxCheckpointSize != 10<<20 || p.Global.MaxTotalSize != 20<<20 ||
		p.GlobalPod.MaxCheckpoints != 30 || p.GlobalNamespace.MaxCheckpoints != 50 ||
		p.Containers[0].MaxCheckpoints != 5 || p.Containers[0].Container != "app" ||
		p.Pods[0].MaxCheckpointSize != 8<<20 || p.Namespaces[0].MaxCheckpoints != 15 {
		t.Fatalf("policy %+v", p)
	}
	// The operator's global per-pod limit applies across a pod's containers.
	var all []Checkpoint
	for _, c := range []string{"a", "b", "c", "d"} {
		all = append(all, cps("ns", "p", c, 10, 1)...)
	}
	if got := len(p.Plan(all, t0)); got != 10 {
		t.Fatalf("per-pod 30 over 4 containers of 10: pruned %d, want 10", got)
	}
	if _, err := ParseOperatorPolicy([]byte("kind: Pod\n")); err == nil {
		t.Fatal("a Pod was read as an operator policy")
	}
}
