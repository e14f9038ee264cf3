package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/audit"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
	"github.com/ckpt-dev/ckpt/internal/render"
)

// Environment variables that name the audit log and its signing key, for
// every command that takes --audit-log and --audit-key.
const (
	envAuditLog = "CKPT_AUDIT_LOG"
	envAuditKey = "CKPT_AUDIT_KEY"
)

func newAuditCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read, verify and follow the tamper-evident audit log",
		Long: `seal, open, verify and shred append a record to an audit log when given
--audit-log PATH (or CKPT_AUDIT_LOG): what was done to which archive, by
whom, with what result. The log is JSON lines under a Merkle tree (the one
Go's checksum database uses), with checkpoints of the tree signed by the
node's key (--audit-key, CKPT_AUDIT_KEY; make one with ckpt audit keygen).

Copy the signed checkpoints off the node: with an older copy,
ckpt audit verify --checkpoint proves the log only grew since. See
docs/audit.md.`,
	}
	cmd.AddCommand(newAuditKeygenCmd(a), newAuditShowCmd(a), newAuditVerifyCmd(a), newAuditFollowCmd(a), newAuditCheckpointCmd(a), newAuditMonitorCmd(a))
	return cmd
}

// logPath is the log a command reads: its argument or CKPT_AUDIT_LOG.
func logPath(a *app, args []string) (string, error) {
	if len(args) > 0 {
		return args[0], nil
	}
	if p := a.getenv(envAuditLog); p != "" {
		return p, nil
	}
	return "", usageErrorf("no audit log: give PATH or set %s", envAuditLog)
}

func newAuditKeygenCmd(a *app) *cobra.Command {
	var name string
	var force bool
	cmd := &cobra.Command{
		Use:   "keygen -o FILE [--name NAME]",
		Short: "Make the key that signs the audit log's checkpoints",
		Long: `keygen makes an Ed25519 signed-note key (golang.org/x/mod/sumdb/note), writes
the private key to FILE (mode 0600) and the public key to FILE.pub, and
prints the public key. NAME is the log's origin, the first line of every
checkpoint: by default HOST/ckpt-audit.

Give FILE to the writers (--audit-key or CKPT_AUDIT_KEY) and FILE.pub to
whoever verifies (ckpt audit verify --key FILE.pub), off the node too.`,
		Example: `  ckpt audit keygen -o /etc/ckpt/audit.key
  ckpt seal x.tar -r age1... --audit-log /var/log/ckpt/audit.log --audit-key /etc/ckpt/audit.key`,
		Args: cobra.NoArgs,
	}
	o := addOutputFlags(cmd, true)
	cmd.Flags().StringVar(&name, "name", "", "the log's `NAME` (origin) in its checkpoints (default HOST/ckpt-audit)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite existing key files")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if o.file == "" || o.file == "-" {
			return usageErrorf("give -o FILE: the private key is written there with mode 0600, the public key to FILE.pub")
		}
		if name == "" {
			host, err := os.Hostname()
			if err != nil {
				return fmt.Errorf("host name: %w (give --name)", err)
			}
			name = host + "/ckpt-audit"
		}
		skey, vkey, err := audit.GenerateKey(name)
		if err != nil {
			return usageErrorf("--name %q: %v", name, err)
		}
		for _, f := range []struct{ path, data string }{{o.file, skey}, {o.file + ".pub", vkey}} {
			if err := atomicfile.WriteFile(f.path, []byte(f.data+"\n"), force); err != nil {
				return err
			}
		}
		out := auditKeygenOutput{KeyFile: o.file, PublicKeyFile: o.file + ".pub", Name: name, PublicKey: vkey}
		return o.emitLines(a.stdout, out, vkey)
	}
	return cmd
}

type auditKeygenOutput struct {
	KeyFile       string `json:"key_file"`
	PublicKeyFile string `json:"public_key_file"`
	Name          string `json:"name"`
	PublicKey     string `json:"public_key"`
}

// recordFilter is --since, --archive and --action.
type recordFilter struct {
	since   string
	archive string
	action  string
	after   time.Time
}

func addRecordFilter(cmd *cobra.Command) *recordFilter {
	f := &recordFilter{}
	cmd.Flags().StringVar(&f.since, "since", "", "only records at or after `T`: RFC 3339 time, or a duration ago (90m, 24h)")
	cmd.Flags().StringVar(&f.archive, "archive", "", "only records about archives whose file name, or namespace/pod/container, contains `NAME`")
	cmd.Flags().StringVar(&f.action, "action", "", "only records of `ACTION` (seal, open, verify, shred, access, repair, ...)")
	return f
}

func (f *recordFilter) parse(now time.Time) error {
	if f.since == "" {
		return nil
	}
	if t, err := time.Parse(time.RFC3339, f.since); err == nil {
		f.after = t
		return nil
	}
	d, err := time.ParseDuration(f.since)
	if err != nil || d < 0 {
		return usageErrorf("--since %q: want an RFC 3339 time or a duration such as 24h", f.since)
	}
	f.after = now.Add(-d)
	return nil
}

// logPath is [logPath] for the commands that filter records, which also
// read the filter's flags.
func (f *recordFilter) logPath(a *app, args []string) (string, error) {
	path, err := logPath(a, args)
	if err != nil {
		return "", err
	}
	return path, f.parse(time.Now())
}

func (f *recordFilter) match(r audit.Record) bool {
	if !f.after.IsZero() && r.Time.Before(f.after) {
		return false
	}
	if f.action != "" && r.Action != f.action {
		return false
	}
	if f.archive != "" {
		hay := []string{r.File, r.Output}
		if r.Archive != nil {
			hay = append(hay, r.Archive.Name, r.Archive.Namespace+"/"+r.Archive.Pod+"/"+r.Archive.Container)
		}
		for _, h := range hay {
			if strings.Contains(h, f.archive) {
				return true
			}
		}
		return false
	}
	return true
}

func newAuditShowCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show [PATH] [--since T] [--archive NAME] [--action A] [-o json]",
		Short: "Print the records of an audit log",
		Long: `show prints the records of the audit log at PATH (default CKPT_AUDIT_LOG),
oldest first. It does not verify the log: ckpt audit verify does. With
-o json the output is one JSON array of records, as the log holds them.`,
		Example: `  ckpt audit show /var/log/ckpt/audit.log --since 24h --action open
  ckpt audit show --archive default/web -o json | jq '.[].actor'`,
		Args: cobra.MaximumNArgs(1),
	}
	o := addOutputFlags(cmd, false)
	rf := addRecordFilter(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		path, err := rf.logPath(a, args)
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if o.format == formatJSON {
			return showJSON(a.stdout, f, rf)
		}
		var rows [][]string
		torn, err := audit.ReadRecords(f, func(r audit.Record) error {
			if rf.match(r) {
				rows = append(rows, recordRow(r))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if torn > 0 {
			a.warnf("%s: the last line is torn (%d bytes; a writer stopped mid-append): the next append repairs it", path, torn)
		}
		return render.Table(a.stdout, recordHeader, rows)
	}
	return cmd
}

// showJSON streams the matching records as one JSON array.
func showJSON(w io.Writer, r io.Reader, rf *recordFilter) error {
	if _, err := io.WriteString(w, "["); err != nil {
		return err
	}
	first := true
	_, err := audit.ReadRecords(r, func(rec audit.Record) error {
		if !rf.match(rec) {
			return nil
		}
		sep := ",\n"
		if first {
			sep, first = "\n", false
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		return writeRecordJSON(w, rec)
	})
	if err != nil {
		return err
	}
	end := "\n]\n"
	if first {
		end = "]\n"
	}
	_, err = io.WriteString(w, end)
	return err
}

func writeRecordJSON(w io.Writer, r audit.Record) error {
	var b strings.Builder
	if err := render.JSON(&b, r); err != nil {
		return err
	}
	_, err := io.WriteString(w, strings.TrimSuffix(b.String(), "\n"))
	return err
}

var recordHeader = []string{"seq", "time", "action", "result", "what", "actor"}

func recordRow(r audit.Record) []string {
	what := r.File
	if r.Archive != nil {
		if id := strings.Trim(r.Archive.Namespace+"/"+r.Archive.Pod+"/"+r.Archive.Container, "/"); id != "" && id != "//" {
			what = id
		} else if what == "" {
			what = r.Archive.Name
		}
	}
	if r.Count > 1 {
		what += fmt.Sprintf(" (%d opens)", r.Count)
	}
	if what == "" {
		what = r.Detail
	}
	result := r.Result
	if r.Error != "" {
		result += ": " + r.Error
	}
	actor := fmt.Sprintf("uid %d pid %d %s", r.Actor.UID, r.Actor.PID, filepath.Base(r.Actor.Exe))
	if r.Actor.PodUID != "" {
		actor += " pod " + r.Actor.PodUID
	}
	return []string{strconv.FormatInt(r.Seq, 10), r.Time.UTC().Format(time.RFC3339), r.Action, result, what, actor}
}

func newAuditVerifyCmd(a *app) *cobra.Command {
	var keyFile, oldFile string
	cmd := &cobra.Command{
		Use:   "verify [PATH] [--key PUB] [--checkpoint FILE]",
		Short: "Prove an audit log intact, and an extension of an older checkpoint",
		Long: `verify hashes every record of the log at PATH (default CKPT_AUDIT_LOG),
rebuilds the Merkle tree, and checks it against the hash file and every
signed checkpoint (their signatures with --key, the public key file
ckpt audit keygen wrote). With --checkpoint, a signed checkpoint kept off
the node, it proves the log is an append-only extension of it.

A torn last line (a writer killed mid-append) is reported, not an error:
the next append repairs it.

Exit codes: 20 a record changed, 21 records removed, 22 reordered,
23 inserted, 24 a checkpoint's signature or text altered, 25 a checkpoint
signed by another key, 26 the hash file altered, 27 the log truncated
inside a record, 28 not an extension of --checkpoint, 29 the records and
hash file agree but a signed checkpoint does not; 1 anything else.`,
		Example: `  ckpt audit verify /var/log/ckpt/audit.log --key audit.key.pub
  ckpt audit verify audit.log --key audit.key.pub --checkpoint saved/checkpoint-1200`,
		Args: cobra.MaximumNArgs(1),
	}
	o := addOutputFlags(cmd, false)
	cmd.Flags().StringVar(&keyFile, "key", "", "the public key `FILE` of the log's checkpoints (ckpt audit keygen wrote it as KEY.pub)")
	cmd.Flags().StringVar(&oldFile, "checkpoint", "", "an older signed checkpoint `FILE` the log must extend (needs --key)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		path, err := logPath(a, args)
		if err != nil {
			return err
		}
		var opts audit.VerifyOptions
		if keyFile != "" {
			if opts.Verifier, err = audit.LoadVerifier(keyFile); err != nil {
				return fmt.Errorf("--key: %w", err)
			}
		}
		if oldFile != "" {
			if keyFile == "" {
				return usageErrorf("--checkpoint needs --key: an unsigned checkpoint proves nothing")
			}
			if opts.Old, err = os.ReadFile(oldFile); err != nil {
				return fmt.Errorf("--checkpoint: %w", err)
			}
		}
		rep, err := audit.Verify(path, opts)
		out := auditVerifyOutput{Report: rep, OK: err == nil}
		if err != nil {
			out.Error, out.ExitCode = oneLine(err), exitCode(err)
			err = fmt.Errorf("%s: %w", path, err)
		}
		if rep.Unverified && rep.Checkpoints > 0 {
			a.warnf("%s: no --key: the signatures of %d checkpoints were not checked", path, rep.Checkpoints)
		}
		if eerr := o.emit(a.stdout, out, out.text); eerr != nil {
			return eerr
		}
		return err
	}
	return cmd
}

type auditVerifyOutput struct {
	*audit.Report
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	ExitCode int    `json:"exit_code"`
}

func (o auditVerifyOutput) text(w io.Writer) error {
	r := o.Report
	if !o.OK {
		_, err := fmt.Fprintf(w, "%s: FAILED after %d records: %s\n", r.Log, r.Records, o.Error)
		return err
	}
	fmt.Fprintf(w, "%s: ok, %d records\n", r.Log, r.Records)
	switch {
	case r.Latest == nil:
		fmt.Fprintln(w, "checkpoints: none (no signing key was given to the writers)")
	case r.Unverified:
		fmt.Fprintf(w, "checkpoints: %d, signatures NOT checked (no --key); latest at %d records\n", r.Checkpoints, r.Latest.Size)
	default:
		fmt.Fprintf(w, "checkpoints: %d, all signed by %s; latest at %d records, root %s\n", r.Checkpoints, r.Latest.Origin, r.Latest.Size, r.Latest.Hash)
	}
	if r.Uncovered > 0 {
		fmt.Fprintf(w, "not yet covered by a checkpoint: the last %d records\n", r.Uncovered)
	}
	if r.TornBytes > 0 {
		fmt.Fprintf(w, "torn last line: %d bytes (a writer stopped mid-append; the next append repairs it)\n", r.TornBytes)
	}
	if r.TornCheckpointBytes > 0 {
		fmt.Fprintf(w, "unfinished last checkpoint: %d bytes (a writer stopped mid-write; the next checkpoint removes it)\n", r.TornCheckpointBytes)
	}
	if r.HashesBehind > 0 {
		fmt.Fprintf(w, "hash file behind by %d records (a writer stopped before adding them; the next append does)\n", r.HashesBehind)
	}
	if c := r.Consistency; c != nil {
		fmt.Fprintf(w, "extends the checkpoint at %d records (root %s)", c.OldSize, c.OldHash)
		if c.Size > 0 {
			fmt.Fprintf(w, "; consistency proof to %d records: %d hashes", c.Size, len(c.Proof))
		}
		fmt.Fprintln(w)
	}
	return nil
}

func newAuditFollowCmd(a *app) *cobra.Command {
	var fromStart bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "follow [PATH] [--action A] [--archive NAME] [-o json]",
		Short: "Print audit records as they are appended",
		Long: `follow prints each record appended to the log at PATH (default
CKPT_AUDIT_LOG) from now on, until interrupted; --from-start prints the
existing ones first. With -o json each record is one line of JSON.`,
		Args: cobra.MaximumNArgs(1),
	}
	o := addOutputFlags(cmd, false)
	rf := addRecordFilter(cmd)
	cmd.Flags().BoolVar(&fromStart, "from-start", false, "print the records already in the log first")
	cmd.Flags().DurationVar(&interval, "interval", 250*time.Millisecond, "how often to look for new records")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		path, err := rf.logPath(a, args)
		if err != nil {
			return err
		}
		if interval <= 0 {
			return usageErrorf("--interval must be positive")
		}
		print := func(r audit.Record) error {
			if !rf.match(r) {
				return nil
			}
			if o.format == formatJSON {
				line, err := jsonLine(r)
				if err != nil {
					return err
				}
				_, err = a.stdout.Write(line)
				return err
			}
			_, err := fmt.Fprintln(a.stdout, strings.Join(recordRow(r), "  "))
			return err
		}
		err = audit.Follow(cmd.Context(), path, fromStart, interval, print)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	return cmd
}

// jsonLine is r as one line of compact JSON.
func jsonLine(r audit.Record) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(r)
	return b.Bytes(), err
}

func newAuditCheckpointCmd(a *app) *cobra.Command {
	var keyFile string
	cmd := &cobra.Command{
		Use:   "checkpoint [PATH] [--key PUB]",
		Short: "Print the latest signed checkpoint, to keep a copy off the node",
		Long: `checkpoint prints the last signed checkpoint of the log at PATH (default
CKPT_AUDIT_LOG): a C2SP tlog-checkpoint signed note. Keep copies away from
the node (a ticket, another host, object storage): ckpt audit verify
--checkpoint FILE later proves the log only grew since. With --key its
signature is checked first.`,
		Example: `  ckpt audit checkpoint /var/log/ckpt/audit.log | ssh vault 'cat > node1-$(date +%s).checkpoint'`,
		Args:    cobra.MaximumNArgs(1),
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "check the signature with the public key `FILE`")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		path, err := logPath(a, args)
		if err != nil {
			return err
		}
		msg, err := audit.LatestCheckpoint(path)
		if err != nil {
			return err
		}
		if keyFile != "" {
			v, err := audit.LoadVerifier(keyFile)
			if err != nil {
				return fmt.Errorf("--key: %w", err)
			}
			if _, err := audit.OpenCheckpoint(msg, v); err != nil {
				return fmt.Errorf("%s: latest checkpoint: %w", path, err)
			}
		}
		_, err = a.stdout.Write(msg)
		return err
	}
	return cmd
}

func newAuditMonitorCmd(a *app) *cobra.Command {
	var window time.Duration
	cmd := &cobra.Command{
		Use:   "monitor DIR --audit-log PATH",
		Short: "Record every process that opens a checkpoint in DIR (fanotify; root)",
		Long: `monitor watches DIR (not its subdirectories) with fanotify until interrupted
and appends an access record for every open of an archive or sealed file
by another process: pid, uid, gid, executable, command line, and container
and pod from its cgroup. Repeated opens by one process within --window are
one record with a count. It needs CAP_SYS_ADMIN; the agent does the same
when it runs as root.`,
		Example: `  ckpt audit monitor /var/lib/kubelet/checkpoints --audit-log /var/log/ckpt/audit.log --audit-key /etc/ckpt/audit.key`,
		Args:    cobra.ExactArgs(1),
	}
	af := addAuditFlags(cmd)
	cmd.Flags().DurationVar(&window, "window", 2*time.Second, "coalesce repeated opens by one process within `DURATION`")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if af.log == "" && a.getenv(envAuditLog) == "" {
			return usageErrorf("monitor writes to the audit log: give --audit-log PATH or set %s", envAuditLog)
		}
		if window <= 0 {
			return usageErrorf("--window must be positive")
		}
		m, err := audit.NewMonitor(args[0], audit.MonitorOptions{Window: window})
		if err != nil {
			return err
		}
		return af.run(cmd.Context(), a, func(ctx context.Context) error {
			sink := auditFrom(ctx)
			err := m.Run(ctx, func(r audit.Record) {
				if err := sink.log.Append(context.WithoutCancel(ctx), r); err != nil && sink.err == nil {
					sink.err = err
				}
			})
			if err == nil && ctx.Err() != nil {
				return nil
			}
			return err
		})
	}
	return cmd
}
