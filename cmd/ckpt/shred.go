package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/internal/progress"
	"github.com/ckpt-dev/ckpt/internal/render"
	"github.com/ckpt-dev/ckpt/shred"
)

// shredReport is the output of ckpt shred.
type shredReport struct {
	DryRun  bool           `json:"dry_run"`
	Plan    []string       `json:"plan"`
	Files   []shred.Result `json:"files"`
	Summary shredSummary   `json:"summary"`
}

// shredSummary counts the files by status, and those that reached their
// level by assurance.
type shredSummary struct {
	Files       int   `json:"files"`
	Removed     int   `json:"removed"`
	Kept        int   `json:"kept"`
	Planned     int   `json:"planned"`
	Partial     int   `json:"partial"`
	Refused     int   `json:"refused"`
	Failed      int   `json:"failed"`
	Overwritten int   `json:"overwritten"`
	BestEffort  int   `json:"best_effort"`
	Bytes       int64 `json:"bytes"`
}

// progressMin is the smallest overwrite that gets a progress bar.
const progressMin = 16 << 20

func newShredCmd(a *app) *cobra.Command {
	var (
		opt       shred.Options
		recursive bool
		require   string
		o         *outputFlag
		af        *auditFlags
	)
	cmd := &cobra.Command{
		Use:   "shred [flags] PATH...",
		Short: "Overwrite and remove checkpoints, and say whether it worked",
		Long: `Shred overwrites each file with a fast random keystream (AES-256-CTR), syncs,
renames it to a random name, truncates and removes it, and reports for each
file how far the overwrite can be trusted:

  overwritten  the filesystem and device overwrite in place
  best-effort  overwritten, but copies may survive (copy-on-write, snapshots,
               journals, SSD wear levelling, virtual disks...; reasons given)
  refused      nothing written (not a regular file, still being written,
               locked, overlay mount without --force...; reasons given)

Files still being written are refused: open for writing or mapped writable
by any process, or modified in the last --settle and changing while watched.
Links are never followed; directories need -r. Ctrl-C stops between writes
and leaves the file at its size, partly overwritten: run the same command
again to finish.

On copy-on-write filesystems and SSDs no overwrite is reliable: seal
checkpoints where they are written (ckpt seal --shred-source), so plaintext
never rests on disk.

Exit status: 0 when every file reached its level (removed, kept with --keep,
or planned with --dry-run), 1 when any was refused or failed, 2 for usage
mistakes, 9 with --require overwritten when every file was shredded but some
only best-effort, 130 when interrupted.`,
		Example: `  ckpt shred /var/lib/kubelet/checkpoints/checkpoint-web-*.tar
  ckpt shred --dry-run -o json old/*.tar
  ckpt shred -r ./extracted-images
  ckpt shred -n 3 --zero --verify secret.tar`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if require != "" && require != string(shred.Overwritten) && require != string(shred.BestEffort) {
				return usageErrorf("--require: want overwritten or best-effort, not %q", require)
			}
			if opt.Passes < 1 || opt.Passes > shred.MaxPasses {
				return usageErrorf("--passes: want 1 to %d, not %d", shred.MaxPasses, opt.Passes)
			}
			if err := opt.Validate(); err != nil {
				return usageErrorf("%v", err)
			}
			return af.run(cmd.Context(), a, func(ctx context.Context) error {
				return runShred(ctx, a, args, opt, recursive, shred.Assurance(require), o)
			})
		},
	}
	f := cmd.Flags()
	f.IntVarP(&opt.Passes, "passes", "n", 1, "random passes (1 is enough for modern drives)")
	f.BoolVarP(&opt.Zero, "zero", "z", false, "add a final pass of zeros, after the random passes")
	f.BoolVar(&opt.Verify, "verify", false, "read the last pass back from the device and compare")
	f.BoolVar(&opt.Keep, "keep", false, "overwrite but do not remove")
	f.BoolVar(&opt.Force, "force", false, "shred through an overlay mount even though lower layers keep the original")
	f.BoolVar(&opt.Discard, "discard", false, "trim the freed blocks afterwards (FITRIM; needs root)")
	f.BoolVar(&opt.DryRun, "dry-run", false, "print the plan and assurance levels without touching anything")
	f.BoolVarP(&recursive, "recursive", "r", false, "shred the files in directories, then remove the emptied directories")
	f.StringVar(&require, "require", "", "exit 9 unless every file reaches this assurance (overwritten)")
	f.DurationVar(&opt.Settle, "settle", shred.DefaultSettle, "watch files modified more recently than this for that long before shredding (0 disables)")
	o = addOutputFlags(cmd, false)
	af = addAuditFlags(cmd)
	return cmd
}

func runShred(ctx context.Context, a *app, paths []string, opt shred.Options, recursive bool, require shred.Assurance, o *outputFlag) error {
	if opt.Settle == 0 {
		opt.Settle = -1 // --settle 0 means no watch; the library's 0 means the default
	}
	bars := &shredBars{w: a.stderr}
	opt.Begin, opt.Progress = bars.begin, bars.add
	rep := shredReport{DryRun: opt.DryRun, Plan: opt.Plan(), Files: []shred.Result{}}
	for _, p := range paths {
		if ctx.Err() != nil {
			break
		}
		if recursive {
			rs, _ := shred.Dir(ctx, p, opt)
			auditFrom(ctx).shred(ctx, rs)
			rep.Files = append(rep.Files, rs...)
		} else {
			r, _ := shred.File(ctx, p, opt)
			auditFrom(ctx).shred(ctx, []shred.Result{r})
			rep.Files = append(rep.Files, r)
		}
		bars.end(ctx.Err() == nil)
	}
	sort.SliceStable(rep.Files, func(i, j int) bool { return rep.Files[i].Path < rep.Files[j].Path })
	rep.Summary = summarizeShred(rep.Files)
	if err := o.emit(a.stdout, rep, func(w io.Writer) error { return renderShred(w, rep, recursive) }); err != nil {
		return err
	}
	return shredExit(ctx, rep, require)
}

// shredExit turns the report into the documented exit status.
func shredExit(ctx context.Context, rep shredReport, require shred.Assurance) error {
	s := rep.Summary
	if ctx.Err() != nil {
		msg := "interrupted"
		for _, r := range rep.Files {
			if r.Status == shred.StatusPartial {
				msg += fmt.Sprintf("; %s is partly overwritten (%d of %d bytes)", r.Path, r.BytesWritten, r.BytesPlanned)
			}
		}
		return withCode(exitInterrupted, fmt.Errorf("%s; run the same command again to finish: %w", msg, ctx.Err()))
	}
	if bad := s.Refused + s.Failed + s.Partial; bad > 0 {
		for _, r := range rep.Files {
			if !r.Done() {
				return fmt.Errorf("%d of %d not shredded; first: %s: %s", bad, s.Files, r.Path, resultProblem(r))
			}
		}
	}
	if require == shred.Overwritten && s.BestEffort > 0 {
		return withCode(exitAssurance, fmt.Errorf("%d of %d files only reached best-effort; --require overwritten", s.BestEffort, s.Files))
	}
	return nil
}

// resultProblem is the one-line reason a file did not reach its level.
func resultProblem(r shred.Result) string {
	if r.Error != "" {
		return r.Error
	}
	return string(r.Status) + ": " + strings.Join(r.Reasons, "; ")
}

func summarizeShred(rs []shred.Result) shredSummary {
	var s shredSummary
	for _, r := range rs {
		s.Files++
		s.Bytes += r.Size
		switch r.Status {
		case shred.StatusRemoved:
			s.Removed++
		case shred.StatusKept:
			s.Kept++
		case shred.StatusPlanned:
			s.Planned++
		case shred.StatusPartial:
			s.Partial++
		case shred.StatusRefused:
			s.Refused++
		default:
			s.Failed++
		}
		if r.Done() {
			switch r.Assurance {
			case shred.Overwritten:
				s.Overwritten++
			case shred.BestEffort:
				s.BestEffort++
			}
		}
	}
	return s
}

// renderShred prints the table, then what each file's level rests on
// when it is not a clean overwrite, then a summary line.
func renderShred(w io.Writer, rep shredReport, recursive bool) error {
	if rep.DryRun {
		fmt.Fprintln(w, "Dry run: nothing was changed. Each file would get:")
		for i, s := range rep.Plan {
			render.Printf(w, "  %d. %s\n", i+1, s)
		}
		fmt.Fprintln(w)
	}
	rows := make([][]string, 0, len(rep.Files))
	for _, r := range rep.Files {
		size := "-"
		if r.Type == "file" {
			size = render.Bytes(r.Size)
		}
		fs := r.Filesystem
		if r.Device != "" {
			fs += " on " + r.Device
		}
		rows = append(rows, []string{r.Path, size, string(r.Status), string(r.Assurance), fs})
	}
	if err := render.Table(w, []string{"path", "size", "status", "assurance", "filesystem"}, rows); err != nil {
		return err
	}
	var notes []*render.Node
	for _, r := range rep.Files {
		var lines []*render.Node
		if r.Assurance != shred.Overwritten {
			for _, why := range r.Reasons {
				lines = append(lines, &render.Node{Text: string(r.Assurance) + ": " + why})
			}
		}
		if r.Error != "" {
			lines = append(lines, &render.Node{Text: "error: " + r.Error})
		}
		if r.Type == "directory" && !recursive && r.Status == shred.StatusRefused {
			lines = append(lines, &render.Node{Text: "hint: use -r to shred the files in a directory"})
		}
		for _, warn := range r.Warnings {
			lines = append(lines, &render.Node{Text: "warning: " + warn})
		}
		if len(lines) > 0 {
			notes = append(notes, &render.Node{Text: r.Path, Children: lines})
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		if err := render.Tree(w, notes); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	_, err := render.Println(w, summaryLine(rep.Summary))
	return err
}

func summaryLine(s shredSummary) string {
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{s.Removed, "removed"}, {s.Kept, "kept"}, {s.Planned, "planned"}, {s.Partial, "partly overwritten"}, {s.Refused, "refused"}, {s.Failed, "failed"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	noun := "files"
	if s.Files == 1 {
		noun = "file"
	}
	line := fmt.Sprintf("%s %s: %s", strconv.Itoa(s.Files), noun, strings.Join(parts, ", "))
	if s.Overwritten+s.BestEffort > 0 {
		line += fmt.Sprintf(" (assurance: %d overwritten, %d best-effort)", s.Overwritten, s.BestEffort)
	}
	return line
}

// shredBars draws one progress bar per large file on a terminal.
type shredBars struct {
	w    io.Writer
	bar  *progress.Bar
	last int64
}

func (b *shredBars) begin(path string, total int64) {
	b.end(true)
	if total >= progressMin {
		b.bar, b.last = progress.New(b.w, "shred "+filepath.Base(path), total), 0
	}
}

func (b *shredBars) add(n int64) {
	if b.bar != nil {
		b.bar.Add(n - b.last)
		b.last = n
	}
}

func (b *shredBars) end(ok bool) {
	if b.bar == nil {
		return
	}
	if ok {
		b.bar.Finish()
	} else {
		b.bar.Clear()
	}
	b.bar = nil
}
