package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/internal/render"
	"github.com/ckpt-dev/ckpt/kube"
)

type doctorFlags struct {
	dir             string
	maxPlaintextAge time.Duration
	kubeletConfig   string
	cluster         bool
	kubeconfig      string
	context         string
}

func newDoctorCmd(a *app) *cobra.Command {
	f := &doctorFlags{}
	cmd := &cobra.Command{
		Use:   "doctor [--dir DIR] [--cluster]",
		Short: "Check a node's checkpoint directory and settings, or a cluster's checkpoint RBAC",
		Long: `doctor checks what protects checkpoint archives and prints one line per
check: pass, warn or fail, the reason and the fix. It exits 1 when a check
fails.

On a node (run it as root): the checkpoint directory's owner and mode
(root, 0700) and every file's (0600); plaintext archives older than
--max-plaintext-age and not sealed; the filesystem and devices under the
directory (copy-on-write, SSD or virtual disks make shredding best effort)
and whether they are encrypted at rest (dm-crypt/LUKS, fscrypt); the
kubelet's configuration (ContainerCheckpoint gate, anonymous authentication,
Webhook authorization); the runtime's CRIU setting; whether the ckpt agent
runs. The directory is ROOT/checkpoints, with ROOT the running kubelet's
--root-dir (default /var/lib/kubelet).

With --cluster (a kubeconfig, read-only: deploy/rbac/doctor.yaml): every
user, group and service account that can create nodes/checkpoint or
nodes/proxy, with the role and binding; whether the API server's kubelet
client can checkpoint; what you may do yourself; and every pod that mounts
the checkpoint directory or a parent of it through hostPath.`,
		Example: `  sudo ckpt doctor
  ckpt doctor --dir /srv/kubelet/checkpoints --max-plaintext-age 5m -o json
  ckpt doctor --cluster --context prod`,
		Args: cobra.NoArgs,
	}
	o := addOutputFlags(cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&f.dir, "dir", "", "the checkpoint `DIR` (default ROOT/checkpoints from the running kubelet)")
	fl.DurationVar(&f.maxPlaintextAge, "max-plaintext-age", 15*time.Minute, "fail on unsealed archives older than `AGE`")
	fl.StringVar(&f.kubeletConfig, "kubelet-config", "", "the kubelet's configuration `FILE` (default from the running kubelet, else /var/lib/kubelet/config.yaml)")
	fl.BoolVar(&f.cluster, "cluster", false, "check the cluster's RBAC and pods instead of this node")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "with --cluster, the kubeconfig `FILE`")
	fl.StringVar(&f.context, "context", "", "with --cluster, the kubeconfig `CONTEXT`")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if f.cluster {
			return runClusterDoctor(cmd.Context(), a, f, o)
		}
		for _, name := range []string{"kubeconfig", "context"} {
			if cmd.Flags().Changed(name) {
				return usageErrorf("--%s is for --cluster", name)
			}
		}
		if f.maxPlaintextAge <= 0 {
			return usageErrorf("--max-plaintext-age must be positive")
		}
		checks := kube.Node(kube.NodeOptions{Dir: f.dir, MaxPlaintextAge: f.maxPlaintextAge, KubeletConfig: f.kubeletConfig})
		return emitChecks(a, o, nodeReport{Checks: checks})
	}
	return cmd
}

// nodeReport is the output of ckpt doctor.
type nodeReport struct {
	Checks []kube.Check `json:"checks"`
}

func emitChecks(a *app, o *outputFlag, r nodeReport) error {
	if err := o.emit(a.stdout, r, func(w io.Writer) error { return checksTable(w, r.Checks) }); err != nil {
		return err
	}
	return checksFailed(r.Checks)
}

func checksFailed(cs []kube.Check) error {
	if !kube.Failed(cs) {
		return nil
	}
	n := 0
	for _, c := range cs {
		if c.Status == kube.Fail {
			n++
		}
	}
	return fmt.Errorf("doctor: %d checks failed", n)
}

func checksTable(w io.Writer, cs []kube.Check) error {
	var rows [][]string
	for _, c := range cs {
		rows = append(rows, []string{string(c.Status), c.Name, c.Detail, c.Fix})
	}
	return render.Table(w, []string{"status", "check", "detail", "fix"}, rows)
}

func runClusterDoctor(ctx context.Context, a *app, f *doctorFlags, o *outputFlag) error {
	c, err := kube.Connect(kube.ClusterConfig{Kubeconfig: f.kubeconfig, Context: f.context})
	if errors.Is(err, kube.ErrNoKubeconfig) {
		return usageErrorf("--cluster: %v: give --kubeconfig", err)
	} else if err != nil {
		return err
	}
	dir := f.dir
	if dir == "" {
		dir = filepath.Join("/var/lib/kubelet", "checkpoints")
	}
	r, err := c.Doctor(ctx, dir)
	if err != nil {
		return err
	}
	err = o.emit(a.stdout, r, func(w io.Writer) error {
		if err := checksTable(w, r.Checks); err != nil {
			return err
		}
		if len(r.Grants) == 0 {
			return nil
		}
		fmt.Fprintln(w)
		var rows [][]string
		for _, g := range r.Grants {
			scope := "cluster"
			if g.Namespace != "" {
				scope = g.Namespace + " (no effect on nodes)"
			}
			role := g.Role
			if g.AggregatedFrom != "" {
				role += " ← " + g.AggregatedFrom
			}
			var notes []string
			if g.Wildcard {
				notes = append(notes, "wildcard")
			}
			if g.Broad {
				notes = append(notes, "broad group")
			}
			if len(g.Nodes) > 0 {
				notes = append(notes, fmt.Sprintf("nodes %v", g.Nodes))
			}
			if g.Risk != "" {
				notes = append(notes, "exec into every pod")
			}
			rows = append(rows, []string{g.Subject.String(), g.Resource, role, g.Binding, scope, joinOr(notes, "-")})
		}
		return render.Table(w, []string{"subject", "can create", "role", "binding", "scope", "notes"}, rows)
	})
	if err != nil {
		return err
	}
	return checksFailed(r.Checks)
}

func joinOr(s []string, empty string) string {
	if len(s) == 0 {
		return empty
	}
	out := s[0]
	for _, x := range s[1:] {
		out += ", " + x
	}
	return out
}
