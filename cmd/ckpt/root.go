package main

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "ckpt",
		Short: "Inspect, seal, verify and shred Kubernetes container checkpoints",
		Long: `ckpt handles the archives the kubelet checkpoint API writes to
/var/lib/kubelet/checkpoints. They hold every memory page of the container:
inspect them in place, seal them before they leave the node, verify them
after transfer, and shred them when they are no longer needed.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return withCode(exitUsage, err)
	})
	for _, add := range commands {
		root.AddCommand(add(a))
	}
	return root
}

// commands lists the constructors of the subcommands, in help order.
var commands = []func(*app) *cobra.Command{
	newLsCmd,
	newInspectCmd,
	newMemCmd,
	newScanCmd,
	newImagesCmd,
	newDecodeCmd,
	newSealCmd,
	newVerifyCmd,
	newOpenCmd,
	newKeygenCmd,
	newShredCmd,
	newDiffCmd,
	newPushCmd, newPullCmd, newBuildCmd, // transfer (issue 15)
}

func run(args []string, a *app) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	if code == exitFailure && isCobraUsage(err) {
		code = exitUsage
	}
	if ctx.Err() != nil && code == exitFailure {
		code = exitInterrupted
	}
	fmt.Fprintf(a.stderr, "ckpt: %s\n", oneLine(err))
	return code
}

// isCobraUsage recognises cobra's own argument and command errors, which it
// does not let us wrap.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "unknown flag", "unknown shorthand flag", "invalid argument"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// oneLine keeps an error to one line, so every failure is one grep-able line.
func oneLine(err error) string {
	var ce *codedError
	if errors.As(err, &ce) && ce.err != nil {
		err = ce.err
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
