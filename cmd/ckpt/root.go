package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/internal/render"
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
	if a.program == "kubectl-ckpt" {
		// Installed as a kubectl plugin: usage and help say "kubectl ckpt".
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl ckpt"}
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
	// Added now rather than when cobra executes, so that its argument
	// checks are marked below like every other command's.
	root.InitDefaultCompletionCmd()
	markUsageErrors(root)
	if a.program == "kubectl-ckpt" {
		pluginExamples(root)
	}
	return root
}

// markUsageErrors makes the argument checks of c and its subcommands
// return usage errors (exit 2), as the flag error function does for flags.
// Their messages cannot say it: "invalid argument" is also how EINVAL
// prints.
func markUsageErrors(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			return withCode(exitUsage, check(cmd, args))
		}
	}
	for _, sub := range c.Commands() {
		markUsageErrors(sub)
	}
}

// pluginExamples rewrites the examples' "ckpt …" command lines to
// "kubectl ckpt …", for the plugin's help.
func pluginExamples(c *cobra.Command) {
	lines := strings.Split(c.Example, "\n")
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(l, "  ckpt "); ok {
			lines[i] = "  kubectl ckpt " + rest
		}
	}
	c.Example = strings.Join(lines, "\n")
	for _, sub := range c.Commands() {
		pluginExamples(sub)
	}
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
	newGenerateCmd,
	newAuditCmd,
	newCheckpointCmd,
	newDoctorCmd,
	newAgentCmd,
	newPushCmd,
	newPullCmd,
	newBuildCmd,
}

func run(args []string, a *app) int {
	return execute(newRootCmd(a), args, a)
}

// execute runs root with args and turns its error into an exit code and
// one line on stderr.
func execute(root *cobra.Command, args []string, a *app) int {
	ctx, stop := notifyContext(a)
	defer stop()
	root.SetArgs(args)
	err := unknownSubcommand(root, args)
	if err == nil {
		err = root.ExecuteContext(ctx)
	}
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	if _, _, findErr := root.Find(args); code == exitFailure && findErr != nil {
		// Arguments that name no command fail in cobra's Find, before
		// any command or hook runs; asking Find again tells that case.
		code = exitUsage
	}
	if ctx.Err() != nil && code == exitFailure {
		code = exitInterrupted
		var sig signalCause
		if errors.As(context.Cause(ctx), &sig) && sig.sig == syscall.SIGHUP {
			code = exitHangup
		}
	}
	fmt.Fprintf(a.stderr, "ckpt: %s\n", render.Escape(oneLine(err)))
	return code
}

// unknownSubcommand refuses an argument that names no subcommand of a
// command that only groups others ("ckpt mem nosuch"): cobra checks that
// at the root only, and below it prints the group's help and succeeds.
// Group commands have no flags of their own, so any argument that is not
// a flag is a command name.
func unknownSubcommand(root *cobra.Command, args []string) error {
	c, rest, err := root.Find(args)
	if err != nil || c == root || c.Runnable() || !c.HasSubCommands() {
		return nil
	}
	for _, arg := range rest {
		if !strings.HasPrefix(arg, "-") {
			return usageErrorf("unknown command %q for %q", arg, c.CommandPath())
		}
	}
	return nil
}

// stopGrace is how long a command may take to stop after a signal.
const stopGrace = 3 * time.Second

// signalCause is why the context of a run was cancelled.
type signalCause struct{ sig os.Signal }

func (s signalCause) Error() string { return "interrupted by " + s.sig.String() }

// notifyContext returns a context cancelled by the first SIGINT, SIGTERM or
// SIGHUP (a closed terminal or ssh session), so that every command stops,
// discards its partial output and exits with the signal's code. A second
// signal is not caught: it ends the process at once (an unnamed output file
// goes with it).
func notifyContext(a *app) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			signal.Stop(sigs)
			cancel(signalCause{s})
			if a.exit == nil {
				return
			}
			select {
			case <-done:
			case <-time.After(stopGrace):
				// Output files are unnamed (O_TMPFILE) or carry our pid
				// for the next run to remove: leaving now loses nothing.
				code := exitInterrupted
				if s == syscall.SIGHUP {
					code = exitHangup
				}
				fmt.Fprintf(a.stderr, "ckpt: %v: did not stop within %v, exiting\n", s, stopGrace)
				a.exit(code)
			}
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		signal.Stop(sigs)
		cancel(nil)
	}
}

// oneLine keeps an error to one line, so every failure is one grep-able line.
func oneLine(err error) string {
	var ce *codedError
	if errors.As(err, &ce) && ce.err != nil {
		err = ce.err
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error()+flagHint(err), "\n", "; ")), " ")
}
