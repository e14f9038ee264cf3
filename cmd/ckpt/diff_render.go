package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ckpt-dev/ckpt/diff"
	"github.com/ckpt-dev/ckpt/internal/render"
)

// renderDiff prints a diff report as trees: one line per change, marked
// "+" (added), "-" (removed) or "~" (changed), with details below.
func renderDiff(w io.Writer, r *diff.Report) error {
	render.Printf(w, "A  %s (%s)\n", r.A.Archive, layers(r.A.Layers))
	render.Printf(w, "B  %s (%s)\n", r.B.Archive, layers(r.B.Layers))
	for _, c := range r.Containers {
		fmt.Fprintln(w)
		if err := renderContainerDiff(w, r, &c); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	render.Println(w, diffSummary(r))
	for _, warn := range r.Warnings {
		render.Printf(w, "Warning: %s\n", warn)
	}
	return nil
}

func renderContainerDiff(w io.Writer, r *diff.Report, c *diff.Container) error {
	id := c.B
	if id == nil {
		id = c.A
	}
	name := strings.TrimSpace(id.Container + shortID(id.ContainerID))
	if c.Path != "" {
		name = strings.TrimSpace(strings.TrimSuffix(c.Path, "/") + ": " + name)
	}
	label := "Container"
	if name != "" {
		label += " " + name // the engine may not name it (Podman exports)
	}
	switch c.Change {
	case diff.Added:
		render.Printf(w, "%s: only in B\n", label)
	case diff.Removed:
		render.Printf(w, "%s: only in A\n", label)
	default:
		render.Printf(w, "%s: checkpointed %s and %s%s\n", label, when(c.A.Checkpointed), when(c.B.Checkpointed), diffInterval(c.A.Checkpointed, c.B.Checkpointed))
	}
	var roots []*render.Node
	var unchanged []string
	for i := range c.Processes {
		p := &c.Processes[i]
		if p.Change == diff.Unchanged {
			unchanged = append(unchanged, fmt.Sprint(p.PID))
			continue
		}
		roots = append(roots, processDiffNode(r, p))
	}
	if len(unchanged) > 0 {
		roots = append(roots, &render.Node{Text: fmt.Sprintf("  unchanged: %d %s (pid %s)", len(unchanged), diffPlural(len(unchanged), "process", "processes"), strings.Join(unchanged, ", "))})
	}
	var ids []*render.Node
	for _, f := range c.IdentityChanges {
		if f.Field != "checkpointed" {
			ids = append(ids, &render.Node{Text: "~ " + diffFieldText(f)})
		}
	}
	if len(ids) > 0 {
		roots = append([]*render.Node{{Text: "Identity", Children: ids}}, roots...)
	}
	for _, s := range c.SharedMemory {
		if s.Change == diff.Unchanged {
			continue
		}
		roots = append(roots, &render.Node{Text: fmt.Sprintf("%s shared memory %d (%s)", diffMark(s.Change), s.ID, s.Change), Children: diffPageNodes(s.Pages)})
	}
	if len(c.RootFS) > 0 {
		n := &render.Node{Text: "Root filesystem (rootfs diff)"}
		for _, f := range c.RootFS {
			text := fmt.Sprintf("%s %s (%s, %04o)", diffMark(f.Change), f.Path, f.Type, f.Mode)
			if f.Type == "file" {
				text = fmt.Sprintf("%s %s (%s, %04o, %s)", diffMark(f.Change), f.Path, f.Type, f.Mode, render.Bytes(f.Size))
			}
			if len(f.Fields) > 0 {
				text = fmt.Sprintf("%s %s: %s", diffMark(f.Change), f.Path, diffFieldsText(f.Fields))
			}
			n.Children = append(n.Children, &render.Node{Text: text})
		}
		roots = append(roots, n)
	}
	if len(c.Deleted) > 0 {
		n := &render.Node{Text: "Deleted files (deleted.files)"}
		for _, d := range c.Deleted {
			n.Children = append(n.Children, &render.Node{Text: fmt.Sprintf("%s %s", diffMark(d.Change), d.Path)})
		}
		roots = append(roots, n)
	}
	if len(roots) == 0 {
		fmt.Fprintln(w, "No differences.")
		return nil
	}
	return render.Tree(w, roots)
}

func processDiffNode(r *diff.Report, p *diff.Process) *render.Node {
	cmd := strings.Join(p.Cmdline, " ")
	if cmd == "" {
		cmd = "[" + p.Comm + "]"
	}
	n := &render.Node{Text: fmt.Sprintf("%s %d %s (%s", diffMark(p.Change), p.PID, p.Comm, p.Change)}
	if p.Reason != "" {
		n.Text += ": " + diffReason(p.Reason)
	}
	n.Text += ") " + cmd
	add := func(text string, children ...*render.Node) {
		n.Children = append(n.Children, &render.Node{Text: text, Children: children})
	}
	// list adds a section of items, when there are any.
	list := func(title string, kids []*render.Node) {
		if len(kids) > 0 {
			add(title, kids...)
		}
	}
	if i := p.Info; i != nil {
		// The whole process came or went: its counts, and its sockets,
		// whose addresses say what it talked to (JSON has every fact).
		add(fmt.Sprintf("%s, %d %s, %d fds, %d sockets, %d mappings, %s in the dump", i.State, i.Threads, diffPlural(i.Threads, "thread", "threads"), i.FDs, i.Sockets, i.Mappings, render.Bytes(i.PresentBytes)))
		list("sockets", diffItems(p.Sockets, func(s diff.SocketChange) (string, string, []diff.FieldChange) {
			return fmt.Sprintf("%s fd %d %s", diffMark(s.Change), s.FD, diffSocketText(s)), "", nil
		}))
		return n
	}
	for _, f := range p.Fields {
		add("~ " + diffFieldText(f))
	}
	if c := p.CmdlineChange; c != nil {
		add(fmt.Sprintf("~ cmdline: %q → %q", strings.Join(c.Old, " "), strings.Join(c.New, " ")))
	}
	list("environment", diffItems(p.Env, func(e diff.EnvChange) (string, string, []diff.FieldChange) {
		return diffEnvText(r, e), "", nil
	}))
	list("threads", diffItems(p.Threads, func(t diff.ThreadChange) (string, string, []diff.FieldChange) {
		return fmt.Sprintf("%s %d %s", diffMark(t.Change), t.TID, t.Comm), ": ", t.Fields
	}))
	list("files", diffItems(p.Files, func(f diff.FileChange) (string, string, []diff.FieldChange) {
		return fmt.Sprintf("%s fd %d %s", diffMark(f.Change), f.FD, f.Target), ": ", f.Fields
	}))
	list("sockets", diffItems(p.Sockets, func(s diff.SocketChange) (string, string, []diff.FieldChange) {
		return fmt.Sprintf("%s fd %d %s", diffMark(s.Change), s.FD, diffSocketText(s)), ": ", s.Fields
	}))
	list("maps", diffItems(p.Maps, func(m diff.MapChange) (string, string, []diff.FieldChange) {
		return fmt.Sprintf("%s %012x-%012x %s %s", diffMark(m.Change), m.Start, m.End, m.Perms, diffMapName(m.Kind, m.File)), " " + m.Change + ": ", m.Fields
	}))
	if p.Pages != nil && len(p.Pages.Runs) > 0 {
		pg := diffPageNodes(p.Pages)
		n.Children = append(n.Children, pg...)
	}
	return n
}

// diffItems renders one line per item: its text and, when it has changed
// fields, sep and the fields.
func diffItems[T any](items []T, line func(T) (text, sep string, fields []diff.FieldChange)) []*render.Node {
	var out []*render.Node
	for _, it := range items {
		text, sep, fields := line(it)
		if len(fields) > 0 {
			text += sep + diffFieldsText(fields)
		}
		out = append(out, &render.Node{Text: text})
	}
	return out
}

// pageNodes sums up a page comparison and lists its runs.
func diffPageNodes(d *diff.PageDiff) []*render.Node {
	if d == nil {
		return nil
	}
	head := &render.Node{Text: fmt.Sprintf("memory pages: %d changed, %d added, %d removed, %d unchanged", d.Changed, d.Added, d.Removed, d.Unchanged)}
	if d.NotComparable > 0 {
		head.Text += fmt.Sprintf(", %d not comparable (in a parent image or lazy)", d.NotComparable)
	}
	for _, run := range d.Runs {
		text := fmt.Sprintf("%s %012x-%012x %d %s", diffMark(run.Change), run.Start, run.End, run.Pages, diffPlural(int(min(run.Pages, 2)), "page", "pages"))
		if run.Mapping != "" {
			text += " " + run.Mapping
		}
		head.Children = append(head.Children, &render.Node{Text: text})
	}
	return []*render.Node{head}
}

func diffMark(change string) string {
	switch change {
	case diff.Added:
		return "+"
	case diff.Removed:
		return "-"
	case diff.Unchanged:
		return " "
	}
	return "~"
}

func diffReason(reason string) string {
	switch reason {
	case diff.ReasonReused:
		return "pid reused by another process"
	case diff.ReasonExec:
		return "execve of a new program"
	}
	return reason
}

func diffEnvText(r *diff.Report, e diff.EnvChange) string {
	name := e.Name
	if e.Occurrence > 1 {
		name += fmt.Sprintf(" (set again, occurrence %d)", e.Occurrence)
	}
	if !r.EnvValuesShown {
		return fmt.Sprintf("%s %s (%s; --reveal shows values)", diffMark(e.Change), name, e.Change)
	}
	switch e.Change {
	case diff.Added:
		return fmt.Sprintf("+ %s=%s", name, e.New)
	case diff.Removed:
		return fmt.Sprintf("- %s=%s", name, e.Old)
	}
	return fmt.Sprintf("~ %s: %q → %q", name, e.Old, e.New)
}

func diffSocketText(s diff.SocketChange) string {
	switch s.Family {
	case "inet", "inet6":
		if s.State == "LISTEN" {
			return fmt.Sprintf("%s %s LISTEN", s.Proto, s.Local)
		}
		return fmt.Sprintf("%s %s -> %s %s", s.Proto, s.Local, s.Remote, s.State)
	case "unix":
		return fmt.Sprintf("unix %s %s [%d] %s", s.Type, s.Local, s.Inode, s.State)
	}
	return strings.TrimSpace(fmt.Sprintf("%s %s %s", s.Family, s.Type, s.Proto))
}

func diffMapName(kind, file string) string {
	if file != "" {
		return file
	}
	return "[" + kind + "]"
}

func diffFieldsText(fs []diff.FieldChange) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = diffFieldText(f)
	}
	return strings.Join(parts, ", ")
}

// fieldText shows one field change as "name old → new".
func diffFieldText(f diff.FieldChange) string {
	if f.Field == "content" {
		return "content differs"
	}
	return fmt.Sprintf("%s %s → %s", f.Field, diffValue(f.Field, f.Old), diffValue(f.Field, f.New))
}

func diffValue(field string, v any) string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return `""`
		}
		return x
	case uint64:
		switch field {
		case "start", "end", "offset":
			return fmt.Sprintf("%#x", x)
		case "cap_effective", "cap_permitted", "cap_inheritable", "cap_bounding", "cap_ambient":
			return fmt.Sprintf("%#x", x)
		}
	case uint32:
		if field == "mode" || field == "umask" {
			return fmt.Sprintf("%04o", x)
		}
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case []uint32:
		parts := make([]string, len(x))
		for i, g := range x {
			parts[i] = fmt.Sprint(g)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprint(v)
}

// interval says how far apart the two checkpoints are.
func diffInterval(a, b time.Time) string {
	if a.IsZero() || b.IsZero() {
		return ""
	}
	d := b.Sub(a)
	if d >= 0 {
		return fmt.Sprintf(" (%s apart)", d.Round(time.Second))
	}
	return fmt.Sprintf(" (B is %s older than A)", (-d).Round(time.Second))
}

func diffSummary(r *diff.Report) string {
	if !r.Different {
		return "No differences."
	}
	s := r.Summary
	var parts []string
	counts := func(name string, c diff.Counts) {
		var p []string
		for _, x := range []struct {
			n    int
			what string
		}{{c.Added, "added"}, {c.Removed, "removed"}, {c.Changed, "changed"}, {c.Replaced, "replaced"}} {
			if x.n > 0 {
				p = append(p, fmt.Sprintf("%d %s", x.n, x.what))
			}
		}
		if len(p) > 0 {
			parts = append(parts, name+" "+strings.Join(p, ", "))
		}
	}
	counts("containers", diff.Counts{Added: s.Containers.Added, Removed: s.Containers.Removed})
	counts("processes", s.Processes)
	counts("threads", s.Threads)
	counts("files", s.Files)
	counts("sockets", s.Sockets)
	counts("mappings", s.Maps)
	if s.Cmdlines > 0 {
		parts = append(parts, fmt.Sprintf("command lines %d changed", s.Cmdlines))
	}
	counts("environment variables", s.Env)
	var pages []string
	for _, x := range []struct {
		n    uint64
		what string
	}{{s.Pages.Changed, "changed"}, {s.Pages.Added, "added"}, {s.Pages.Removed, "removed"}} {
		if x.n > 0 {
			pages = append(pages, fmt.Sprintf("%d %s (%s)", x.n, x.what, render.Bytes(int64(x.n)*4096)))
		}
	}
	if len(pages) > 0 {
		parts = append(parts, "memory pages "+strings.Join(pages, ", "))
	}
	counts("rootfs files", s.RootFS)
	counts("deleted files", s.Deleted)
	return "Differences: " + strings.Join(parts, "; ") + "."
}

func diffPlural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
