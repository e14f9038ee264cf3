package main

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/inspect"
	"github.com/ckpt-dev/ckpt/internal/render"
)

func renderInspect(w io.Writer, reports []*inspect.Report, s inspect.Sections) error {
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := renderReport(w, r, s); err != nil {
			return err
		}
	}
	return nil
}

func renderReport(w io.Writer, r *inspect.Report, s inspect.Sections) error {
	id := r.Identity
	kv := func(k, v string) {
		if v != "" {
			render.Printf(w, "%-14s %s\n", k, v)
		}
	}
	kv("Archive", fmt.Sprintf("%s (%s, %s)", r.Archive.Name, layers(r.Archive.Layers), sizeOrStream(r.Archive.Size)))
	kv("Container path", strings.TrimSuffix(r.Container, "/"))
	kv("Namespace", hinted(id.Namespace, "namespace", id.FromFileName))
	kv("Pod", hinted(id.Pod, "pod", id.FromFileName))
	kv("Container", hinted(id.Container, "container", id.FromFileName)+shortID(id.ContainerID))
	kv("Image", id.Image)
	kv("Engine", strings.Join(nonEmpty(id.Engine, prefixed("runtime ", id.Runtime), prefixed("CRIU ", id.CRIUVersion)), ", "))
	kv("Host", id.Host)
	if len(id.Networks) <= 1 {
		kv("IP", id.IP)
	}
	if len(id.Networks) > 1 || len(id.Networks) == 1 && id.Networks[0].Name != "" {
		for _, n := range id.Networks {
			kv("Network", strings.Join(nonEmpty(n.Name, n.Interface, strings.Join(n.IPs, " "), prefixed("mac ", n.MAC), prefixed("gateway ", strings.Join(n.Gateways, " "))), ", "))
		}
	}
	kv("Created", when(id.Created))
	kv("Checkpointed", hinted(when(id.Checkpointed), "checkpointed", id.FromFileName))
	sz := r.Sizes
	kv("Sizes", fmt.Sprintf("%s in all: memory pages %s, CRIU images %s, rootfs diff %s, /dev/shm %s, other %s",
		render.Bytes(sz.Total), render.Bytes(sz.Pages), render.Bytes(sz.Images), render.Bytes(sz.RootFS), render.Bytes(sz.DevShm), render.Bytes(sz.Other)))
	for _, n := range id.Notes {
		kv("Note", n)
	}
	if p := r.Archive.Pod; p != nil {
		kv("Pod archive", "containers: "+strings.Join(p.Containers, ", "))
	}

	fmt.Fprintln(w, "\nProcesses")
	if len(r.Processes) == 0 {
		fmt.Fprintln(w, "(none: no process dump in the archive)")
	} else if err := render.Tree(w, processTree(r, s)); err != nil {
		return err
	}
	if r.Mounts != nil {
		renderMounts(w, r.Mounts)
	}
	if r.Dump != nil {
		renderDump(w, r.Dump)
	}
	if r.RootFS != nil {
		renderRootFS(w, r.RootFS)
	}
	for _, warn := range r.Warnings {
		render.Printf(w, "\nWarning: %s\n", warn)
	}
	return nil
}

// processTree nests processes under their parents, with the requested
// details as leaves.
func processTree(r *inspect.Report, s inspect.Sections) []*render.Node {
	nodes := map[uint32]*render.Node{}
	for i := range r.Processes {
		p := &r.Processes[i]
		nodes[p.PID] = processNode(p, s)
	}
	var roots []*render.Node
	for i := range r.Processes {
		p := &r.Processes[i]
		if parent, ok := nodes[p.PPID]; ok && p.PPID != p.PID {
			parent.Children = append(parent.Children, nodes[p.PID])
		} else {
			roots = append(roots, nodes[p.PID])
		}
	}
	return roots
}

func processNode(p *inspect.Process, s inspect.Sections) *render.Node {
	cmd := strings.Join(p.Cmdline, " ")
	if cmd == "" {
		cmd = "[" + p.Comm + "]"
	} else if !p.CmdlineComplete {
		cmd += " (incomplete: part of it is not in the dump)"
	}
	n := &render.Node{Text: fmt.Sprintf("%d %s (%s) %s", p.PID, p.Comm, p.State, cmd)}
	add := func(text string, children ...*render.Node) {
		n.Children = append(n.Children, &render.Node{Text: text, Children: children})
	}
	var threads []string
	for _, t := range p.Threads {
		threads = append(threads, fmt.Sprintf("%d %s", t.TID, t.Comm))
	}
	if len(threads) == 0 {
		threads = []string{"none"} // a zombie as CRIU records it
	}
	add(fmt.Sprintf("threads: %s", strings.Join(threads, ", ")))
	add(fmt.Sprintf("ppid %d, pgid %d, sid %d", p.PPID, p.PGID, p.SID))
	if c := p.Creds; c != nil {
		add(fmt.Sprintf("uid %d/%d/%d/%d, gid %d/%d/%d/%d (real/effective/saved/fs), capabilities: %s", c.UID, c.EUID, c.SUID, c.FSUID, c.GID, c.EGID, c.SGID, c.FSGID, p.Capabilities))
	}
	missing := func(prefix string) string {
		for _, m := range p.MissingImages {
			if strings.HasPrefix(m, prefix) {
				return m
			}
		}
		return ""
	}
	if m := missing("fs-"); m != "" {
		add(fmt.Sprintf("cwd, root: unknown (%s is missing)", m))
	} else if p.Cwd != "" || p.Root != "" {
		add(fmt.Sprintf("cwd %s, root %s", p.Cwd, p.Root))
	}
	if mm := missing("mm-"); mm != "" {
		add(fmt.Sprintf("memory: unknown (%s is missing)", mm))
	} else if p.State != "zombie" {
		m := p.Memory
		add(fmt.Sprintf("memory: %d mappings, %s virtual, %s in the dump, %s shared", m.Mappings, render.Bytes(m.Virtual), render.Bytes(m.Resident), render.Bytes(m.Shared)))
		if pg := missing("pages-"); pg != "" {
			add(fmt.Sprintf("memory contents: unknown (%s is missing)", pg))
		}
	}
	if m := cmp.Or(missing("mm-"), missing("pagemap-"), missing("pages-")); s.Env && m != "" && p.State != "zombie" {
		add("environment", &render.Node{Text: "(unknown: " + m + " is missing)"})
	} else if s.Env {
		add("environment", leaves(p.Env)...)
	}
	if s.Files || s.Sockets {
		var fds []string
		for _, fd := range p.FDs {
			fds = append(fds, fmt.Sprintf("%d %s", fd.FD, fd.File.Description))
		}
		label := "files"
		if !s.Files {
			label = "sockets"
		}
		if p.FDs == nil && p.State != "zombie" {
			add(label, &render.Node{Text: "(unknown: " + unknownFiles(p.MissingImages) + ")"})
		} else {
			add(label, leaves(fds)...)
		}
	}
	if s.Files && len(p.Locks) > 0 {
		var locks []string
		for _, l := range p.Locks {
			locks = append(locks, fmt.Sprintf("%s %s lock on fd %d %s", l.Kind, l.Type, l.FD, l.Path))
		}
		add("locks", leaves(locks)...)
	}
	if s.Maps && missing("mm-") != "" {
		add("maps", &render.Node{Text: "(unknown: " + missing("mm-") + " is missing)"})
	} else if s.Maps {
		var maps []string
		for _, m := range p.Maps {
			maps = append(maps, fmt.Sprintf("%012x-%012x %s %08x %-9s %s (%s in dump)", m.Start, m.End, m.Perms, m.Offset, m.Kind, m.File, render.Bytes(m.Present)))
		}
		add("maps", leaves(maps)...)
	}
	return n
}

// unknownFiles says which missing images leave the open files unknown.
func unknownFiles(missing []string) string {
	var names []string
	for _, m := range missing {
		if strings.HasPrefix(m, "ids-") || strings.HasPrefix(m, "fdinfo-") || m == "files.img" {
			names = append(names, m)
		}
	}
	return strings.Join(names, ", ") + " missing"
}

func leaves(lines []string) []*render.Node {
	if len(lines) == 0 {
		return []*render.Node{{Text: "(none)"}}
	}
	out := make([]*render.Node, len(lines))
	for i, l := range lines {
		out[i] = &render.Node{Text: l}
	}
	return out
}

func renderMounts(w io.Writer, m *inspect.Mounts) {
	fmt.Fprintln(w, "\nMounts (CRIU)")
	if len(m.CRIU) == 0 {
		fmt.Fprintln(w, "(none: dumped without a mount namespace)")
	} else {
		var rows [][]string
		for _, mt := range m.CRIU {
			ro := "rw"
			if mt.ReadOnly {
				ro = "ro"
			}
			rows = append(rows, []string{mt.Mountpoint, mt.FSType, mt.Source, ro, mt.External})
		}
		render.Table(w, []string{"mountpoint", "type", "source", "mode", "external"}, rows)
	}
	fmt.Fprintln(w, "\nMounts (spec.dump)")
	var rows [][]string
	for _, mt := range m.Spec {
		rows = append(rows, []string{mt.Destination, mt.Type, mt.Source, strings.Join(mt.Options, ",")})
	}
	render.Table(w, []string{"destination", "type", "source", "options"}, rows)
}

func renderDump(w io.Writer, d *inspect.Dump) {
	fmt.Fprintln(w, "\nCRIU dump")
	if st := d.Stats; st != nil {
		render.Printf(w, "  freezing %s, frozen %s, memory dump %s, memory write %s\n", us(st.FreezingTime), us(st.FrozenTime), us(st.MemdumpTime), us(st.MemwriteTime))
		render.Printf(w, "  pages scanned %d, written %d, skipped (in parent) %d, lazy %d\n", st.PagesScanned, st.PagesWritten, st.PagesSkippedParent, st.PagesLazy)
	} else if d.StatsError != "" {
		render.Printf(w, "  stats-dump unreadable: %s\n", d.StatsError)
	} else {
		fmt.Fprintln(w, "  no stats-dump in the archive")
	}
	if l := d.Log; l != nil {
		render.Printf(w, "  dump.log: CRIU %s on %s (%s %s), %d errors, %d warnings, last line: %s\n", l.CRIUVersion, l.Host, l.Kernel, l.Arch, l.Errors, l.Warnings, l.LastLine)
		if l.FirstError != "" {
			render.Printf(w, "  first error: %s\n", l.FirstError)
		}
	} else {
		fmt.Fprintln(w, "  no dump.log in the archive")
	}
}

func renderRootFS(w io.Writer, r *inspect.RootFS) {
	fmt.Fprintln(w, "\nRoot filesystem changes")
	if r.Diff == nil {
		fmt.Fprintln(w, "(no rootfs-diff.tar)")
	} else {
		var rows [][]string
		for _, f := range r.Diff.Files {
			name := f.Path
			if f.LinkName != "" {
				name += " -> " + f.LinkName
			}
			rows = append(rows, []string{f.Type, fmt.Sprintf("%04o", f.Mode), fmt.Sprintf("%d:%d", f.UID, f.GID), fmt.Sprint(f.Size), when(f.ModTime), name})
		}
		render.Table(w, []string{"type", "mode", "owner", "size", "modified", "path"}, rows)
		if r.Diff.Truncated {
			fmt.Fprintln(w, "(listing truncated at the limit)")
		}
	}
	render.Printf(w, "Deleted: %s\n", strings.Join(orNone(r.Deleted), ", "))
}

func layers(fs []archive.Format) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.String())
	}
	return strings.Join(s, "+")
}

func sizeOrStream(n int64) string {
	if n < 0 {
		return "stream"
	}
	return render.Bytes(n)
}

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func hinted(v, field string, fromName []string) string {
	for _, f := range fromName {
		if f == field && v != "" {
			return v + " (from the file name)"
		}
	}
	return v
}

func shortID(id string) string {
	if len(id) > 12 {
		return " (" + id[:12] + ")"
	}
	return ""
}

func prefixed(p, v string) string {
	if v == "" {
		return ""
	}
	return p + v
}

func nonEmpty(vals ...string) []string {
	var out []string
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func orNone(v []string) []string {
	if len(v) == 0 {
		return []string{"(none)"}
	}
	return v
}

func us(v uint32) string { return (time.Duration(v) * time.Microsecond).String() }
