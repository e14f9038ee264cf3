package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/internal/render"
	"github.com/ckpt-dev/ckpt/kube"
)

type checkpointFlags struct {
	kubeconfig, context, namespace string
	kubelet                        kube.KubeletConfig
	timeout                        time.Duration
	seal                           bool
	recipients                     *recipientFlags
	passphraseFile                 string
	sign                           string
}

func newCheckpointCmd(a *app) *cobra.Command {
	f := &checkpointFlags{}
	cmd := &cobra.Command{
		Use:   "checkpoint NAMESPACE/POD[/CONTAINER]",
		Short: "Checkpoint a container through the API server or straight through a kubelet",
		Long: `checkpoint asks a kubelet to checkpoint one container and prints where the
archive was written on the node.

By default it goes through the API server (the kubeconfig from --kubeconfig,
$KUBECONFIG or ~/.kube/config, else the pod's service account): it looks
the pod up, takes its node (and its only container when none is named) and
posts to /api/v1/nodes/NODE/proxy/checkpoint/NS/POD/CONTAINER. That needs
get on pods and create on nodes/proxy for you, and create on
nodes/checkpoint for the API server's kubelet client (deploy/rbac/).

With --kubelet https://HOST:10250 it posts to the kubelet itself, with a
client certificate (--client-cert/--client-key) or a token (--token-file)
the kubelet accepts: on a kubeadm control-plane node,
/etc/kubernetes/pki/apiserver-kubelet-client.{crt,key} is signed by the
cluster CA the kubelets trust (their --client-ca-file).

--timeout becomes the kubelet's timeout parameter in seconds and bounds the
request. Each failure has its own exit code (30–39, docs/kubernetes.md).

On the node, --seal seals the archive as soon as the kubelet answers (with
-r/-R/-p and --sign as for ckpt seal), reads the sealed copy back, then
shreds the plaintext.`,
		Example: `  ckpt checkpoint default/web-6b8c9d7f4-x2x7q
  ckpt checkpoint prod/api-0/app --timeout 2m -o json
  ckpt checkpoint default/web/app --kubelet https://10.0.0.5:10250 \
      --client-cert /etc/kubernetes/pki/apiserver-kubelet-client.crt \
      --client-key /etc/kubernetes/pki/apiserver-kubelet-client.key --ca-cert /etc/kubernetes/pki/ca.crt
  ckpt checkpoint default/web/app --kubelet https://127.0.0.1:10250 ... --seal -R team.pub --sign /etc/ckpt/node_key`,
		Args: cobra.ExactArgs(1),
	}
	o := addOutputFlags(cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "the kubeconfig `FILE` (default $KUBECONFIG or ~/.kube/config)")
	fl.StringVar(&f.context, "context", "", "the kubeconfig `CONTEXT` to use")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "the `NAMESPACE` of a POD given without one (default the context's)")
	fl.StringVar(&f.kubelet.URL, "kubelet", "", "post straight to the kubelet at `URL` (https://HOST:10250)")
	fl.StringVar(&f.kubelet.CertFile, "client-cert", "", "with --kubelet, the client certificate `FILE`")
	fl.StringVar(&f.kubelet.KeyFile, "client-key", "", "with --kubelet, the client key `FILE`")
	fl.StringVar(&f.kubelet.TokenFile, "token-file", "", "with --kubelet, a `FILE` holding a bearer token")
	fl.StringVar(&f.kubelet.CAFile, "ca-cert", "", "with --kubelet, the CA `FILE` that signed the kubelet's serving certificate")
	fl.DurationVar(&f.timeout, "timeout", 0, "the kubelet's checkpoint `TIMEOUT` (whole seconds), which also bounds the request")
	fl.BoolVar(&f.seal, "seal", false, "seal the archive on this node as soon as it is written, then shred the plaintext")
	f.recipients = addRecipientFlags(cmd)
	fl.StringVar(&f.passphraseFile, "passphrase-file", "", "read the passphrase (for -p, or of an encrypted --sign key) from `FILE`")
	fl.StringVar(&f.sign, "sign", "", "with --seal, sign the manifest with the SSH `KEY` (as ckpt seal --sign)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return runCheckpoint(cmd.Context(), a, cmd, f, o, args[0])
	}
	return cmd
}

// checkpointReport is the output of ckpt checkpoint.
type checkpointReport struct {
	Node      string `json:"node"`
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Container string `json:"container"`
	// Archive is the archive's path on the node.
	Archive  string   `json:"archive"`
	Archives []string `json:"archives"`
	// Via is "api-server" or "kubelet".
	Via             string  `json:"via"`
	DurationSeconds float64 `json:"duration_seconds"`
	// Sealed is what --seal made, else null.
	Sealed *sealedArchive `json:"sealed"`
}

func runCheckpoint(ctx context.Context, a *app, cmd *cobra.Command, f *checkpointFlags, o *outputFlag, target string) error {
	direct := f.kubelet.URL != ""
	if !direct {
		for _, name := range []string{"client-cert", "client-key", "token-file", "ca-cert"} {
			if cmd.Flags().Changed(name) {
				return usageErrorf("--%s is for --kubelet; through the API server the kubeconfig's credentials are used", name)
			}
		}
	} else if cmd.Flags().Changed("kubeconfig") || cmd.Flags().Changed("context") {
		return usageErrorf("--kubelet posts to the kubelet itself: --kubeconfig and --context are not used")
	}
	if f.timeout < 0 {
		return usageErrorf("--timeout %s: must not be negative", f.timeout)
	}
	if !f.seal {
		for _, name := range []string{"recipient", "recipients-file", "passphrase", "sign"} {
			if cmd.Flags().Changed(name) {
				return usageErrorf("--%s is for --seal", name)
			}
		}
	}
	// Load the sealing keys before the checkpoint, so a typo in them
	// does not leave a plaintext archive behind.
	var job *sealJob
	if f.seal {
		recipients, signer, done, err := loadSealKeys(a, f.recipients, f.sign, &secrets{a: a, file: f.passphraseFile})
		if err != nil {
			return err
		}
		defer done()
		job = &sealJob{a: a, f: &sealFlags{recipients: f.recipients, sign: f.sign, shredSource: true}, recipients: recipients, signer: signer}
	}

	var res *kube.Result
	if direct {
		req, err := kube.ParseTarget(target, f.namespace)
		if err != nil {
			return usageErrorf("%v", err)
		}
		req.Timeout = f.timeout
		k, err := kube.NewKubelet(f.kubelet)
		if err != nil {
			return usageErrorf("%v", err)
		}
		if res, err = k.Checkpoint(ctx, req); err != nil {
			return err
		}
	} else {
		c, err := kube.Connect(kube.ClusterConfig{Kubeconfig: f.kubeconfig, Context: f.context, Namespace: f.namespace})
		if errors.Is(err, kube.ErrNoKubeconfig) {
			return usageErrorf("%v: give --kubeconfig, or --kubelet URL to post to a kubelet directly", err)
		} else if err != nil {
			return err
		}
		req, err := kube.ParseTarget(target, c.Namespace)
		if err != nil {
			return usageErrorf("%v", err)
		}
		req.Timeout = f.timeout
		if res, err = c.Checkpoint(ctx, req); err != nil {
			return err
		}
	}
	rep := checkpointReport{Node: res.Node, Namespace: res.Namespace, Pod: res.Pod, Container: res.Container,
		Archive: res.Archive, Archives: res.Archives, Via: res.Via, DurationSeconds: res.Duration.Seconds()}
	var sealErr error
	if job != nil {
		job.node = res.Node
		rep.Sealed, sealErr = sealCheckpoint(ctx, job, res.Archive)
	}
	if err := o.emit(a.stdout, rep, func(w io.Writer) error { return rep.table(w) }); err != nil {
		return err
	}
	return sealErr
}

// sealCheckpoint seals the archive the kubelet just wrote beside it and
// shreds the plaintext once the sealed copy is read back.
func sealCheckpoint(ctx context.Context, job *sealJob, archive string) (*sealedArchive, error) {
	if _, err := os.Stat(archive); err != nil {
		return nil, withCode(exitKubeSealFailed, fmt.Errorf("the checkpoint %s was taken but cannot be sealed here (%v): --seal works on the node that holds it; seal it there with ckpt seal --shred-source", archive, err))
	}
	out, err := job.toFile(ctx, archive, archive+seal.SealedSuffix)
	if err != nil {
		return out, withCode(exitKubeSealFailed, fmt.Errorf("the checkpoint %s was taken, but: %w", archive, err))
	}
	return out, nil
}

func (r checkpointReport) table(w io.Writer) error {
	rows := [][]string{
		{"node", r.Node},
		{"pod", r.Namespace + "/" + r.Pod},
		{"container", r.Container},
		{"archive", r.Archive},
		{"via", r.Via},
		{"took", r.Duration().Round(time.Millisecond).String()},
	}
	if r.Sealed != nil {
		rows = append(rows, []string{"sealed", r.Sealed.Sealed})
		if r.Sealed.Shred != nil {
			rows = append(rows, []string{"plaintext", r.Sealed.Shred.Status + " (" + r.Sealed.Shred.Assurance + ")"})
		}
	}
	return render.Table(w, []string{"field", "value"}, rows)
}

func (r checkpointReport) Duration() time.Duration {
	return time.Duration(r.DurationSeconds * float64(time.Second))
}
