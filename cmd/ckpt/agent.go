package main

import (
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/agent"
)

type agentFlags struct {
	config, operatorPolicy    string
	once, dryRun, checkConfig bool
}

func newAgentCmd(a *app) *cobra.Command {
	f := &agentFlags{}
	cmd := &cobra.Command{
		Use:   "agent --config FILE [--once] [--dry-run] [--check-config]",
		Short: "Seal every checkpoint as it is written, shred the plaintext, apply retention",
		Long: `agent is the node process that protects checkpoints where the kubelet writes
them. It watches the directory (inotify, a full scan at start, a periodic
rescan) and, once an archive is complete (its size stable for the settle
time, no process holding it open for writing, its tar end-of-archive marker
present), it:

  1. seals it to the recipients with a manifest signed by the node key,
     writing the sidecars as ckpt seal does, all synced to disk;
  2. reads the sealed file back and checks its hash;
  3. shreds the plaintext, unless it is pinned (ARCHIVE.keep) or within
     seal.keep_plaintext;
  4. applies the retention policy (container > pod > namespace > global,
     oldest first, plus max_age) to sealed sets and plaintext alike.

At every instant each archive exists as plaintext or as a complete,
verified sealed set. After kill -9 a restart finishes the work.

Without seal.sign_key, the agent creates an ed25519 SSH key in state_dir on
first start, logs its public key and serves it at /pubkey.

Logs are JSON lines on standard error. With metrics_addr, /metrics,
/healthz, /readyz and /pubkey are served.

--dry-run looks once, logs what it would do, and changes nothing.

Exit status: 0 after a clean stop (SIGTERM) or a --once run with no
failures; 50 config invalid; 51 cannot start; 52 --once left archives it
could not seal, shred or upload (their plaintext, or their local sealed
set, is kept for the next run).

With audit_log (or CKPT_AUDIT_LOG) every seal, shred, prune, upload and
failure is appended to the audit log, signed with audit_key (or
CKPT_AUDIT_KEY); each new signed checkpoint is printed to the log, and,
with CAP_SYS_ADMIN, every open of a checkpoint file in the directory by
another process is recorded. With an upload section every sealed set is
sent to the store once sealed and verified.`,
		Example: `  ckpt agent --config /etc/ckpt/agent.yaml
  ckpt agent --check-config --config /etc/ckpt/agent.yaml
  ckpt agent --once --config agent.yaml --operator-policy cro.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAgent(cmd, a, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "/etc/ckpt/agent.yaml", "the agent's YAML config `FILE`")
	fl.StringVar(&f.operatorPolicy, "operator-policy", "", "read the retention policy from a checkpoint-restore-operator CheckpointRestoreOperator YAML `FILE` instead of the config's retention section")
	fl.BoolVar(&f.once, "once", false, "process what is there now (seal, shred, retention), then exit")
	fl.BoolVar(&f.dryRun, "dry-run", false, "look once and log what would be done; change nothing")
	fl.BoolVar(&f.checkConfig, "check-config", false, "validate the config, recipients and signing key, then exit")
	return cmd
}

// agentMemoryLimit is the agent's soft memory limit (runtime/debug), unless
// GOMEMLIMIT says otherwise.
const agentMemoryLimit = 24 << 20

func runAgent(cmd *cobra.Command, a *app, f *agentFlags) error {
	cfg, err := agent.LoadConfig(f.config)
	if err != nil {
		return withCode(exitAgentConfig, err)
	}
	if a.getenv("GOMEMLIMIT") == "" {
		// The agent runs for months beside the workloads: a soft limit
		// makes the collector work harder as the heap nears it instead of
		// letting it double. Idle over 10,000 sealed sets this keeps the
		// peak RSS at about 41 MiB rather than 59 MiB, for the same CPU.
		// GOMEMLIMIT in the environment (the unit or the DaemonSet) wins.
		debug.SetMemoryLimit(agentMemoryLimit)
	}
	opt := agent.Options{
		DryRun: f.dryRun,
		Logger: slog.New(slog.NewJSONHandler(a.stderr, nil)),
		Tool:   "ckpt " + version,
	}
	if f.operatorPolicy != "" {
		p, err := agent.LoadOperatorPolicy(f.operatorPolicy)
		if err != nil {
			return withCode(exitAgentConfig, fmt.Errorf("--operator-policy: %w", err))
		}
		opt.Policy = &p
	}
	if cfg.AuditLog == "" {
		cfg.AuditLog = a.getenv(envAuditLog)
	}
	if cfg.AuditKey == "" {
		cfg.AuditKey = a.getenv(envAuditKey)
	}
	if f.checkConfig {
		opt.DryRun = true
	}
	ag, err := agent.New(cfg, opt)
	if err != nil {
		return withCode(exitAgentStart, err)
	}
	defer func() {
		if err := ag.Close(); err != nil {
			opt.Logger.Error("audit log", "error", err.Error())
		}
	}()
	if f.checkConfig {
		if err := ag.CheckSetup(); err != nil {
			return withCode(exitAgentConfig, err)
		}
		fmt.Fprintf(a.stdout, "%s: ok\n", f.config)
		return nil
	}
	ctx := cmd.Context()
	if f.once || f.dryRun {
		sum, err := ag.Once(ctx)
		if err != nil {
			return err
		}
		opt.Logger.Info("done", "archives", sum.Archives, "done", sum.Done, "incomplete", sum.Incomplete,
			"in_grace", sum.InGrace, "failed", sum.Failed, "pruned", sum.Pruned,
			"uploaded", sum.Uploaded, "upload_failed", sum.UploadFailed)
		if sum.Failed > 0 {
			return withCode(exitAgentFailed, fmt.Errorf("%d of %d archives could not be sealed or shredded; their plaintext is kept (see the log)", sum.Failed, sum.Archives))
		}
		if sum.UploadFailed > 0 {
			return withCode(exitAgentFailed, fmt.Errorf("%d sealed sets could not be uploaded; they stay local and are uploaded by a later run (see the log)", sum.UploadFailed))
		}
		return nil
	}
	if err := ag.Run(ctx); err != nil {
		return withCode(exitAgentStart, err)
	}
	return nil // stopped by SIGTERM or SIGINT: a clean stop
}
