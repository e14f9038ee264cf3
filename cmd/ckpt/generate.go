package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newGenerateCmd writes the per-command reference from the commands
// themselves, so the help text is the one source: Markdown for docs/cli
// (checked in, and a test fails when it is stale) and man pages for
// `make install`. Hidden: it serves packagers and `make docs`, not operators.
// Shell completions come from cobra's own `ckpt completion`.
func newGenerateCmd(*app) *cobra.Command {
	var markdownDir, manDir string
	cmd := &cobra.Command{
		Use:    "generate --markdown DIR | --man DIR",
		Short:  "Write the command reference as Markdown or man pages",
		Hidden: true,
		Args:   cobra.NoArgs,
	}
	cmd.Flags().StringVar(&markdownDir, "markdown", "", "write one Markdown `DIR`/ckpt*.md per command, removing stale ones")
	cmd.Flags().StringVar(&manDir, "man", "", "write one man page `DIR`/ckpt*.1 per command, removing stale ones")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if markdownDir == "" && manDir == "" {
			return usageErrorf("give --markdown DIR or --man DIR")
		}
		root := cmd.Root()
		if markdownDir != "" {
			if err := writeDocs(markdownDir, ".md", markdownPages(root)); err != nil {
				return err
			}
		}
		if manDir != "" {
			pages, err := manPages(root)
			if err != nil {
				return err
			}
			if err := writeDocs(manDir, ".1", pages); err != nil {
				return err
			}
		}
		return nil
	}
	return cmd
}

// docCommands lists root and every command a user can run, in the order
// cobra's help shows them; hidden ones and `help` are left out.
func docCommands(root *cobra.Command) []*cobra.Command {
	var walk func(*cobra.Command) []*cobra.Command
	walk = func(c *cobra.Command) []*cobra.Command {
		list := []*cobra.Command{c}
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
				list = append(list, walk(sub)...)
			}
		}
		return list
	}
	return walk(root)
}

// docName is the base name of a command's Markdown page, the one cobra's
// links between pages expect.
func docName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "_")
}

// markdownPages renders one Markdown page per command. The generator's
// date footer is turned off so that the pages only change when the
// commands do.
func markdownPages(root *cobra.Command) map[string][]byte {
	root.DisableAutoGenTag = true
	pages := map[string][]byte{}
	for _, c := range docCommands(root) {
		var b bytes.Buffer
		// GenMarkdownCustom fails only when its writer does.
		_ = doc.GenMarkdownCustom(c, &b, func(name string) string { return name })
		pages[docName(c)+".md"] = b.Bytes()
	}
	return pages
}

// manPages renders one section-1 man page per command, named as git's are
// (ckpt-mem-search.1, so `man ckpt-mem-search` finds it). The footer date
// is the build's (or SOURCE_DATE_EPOCH's, for reproducible packages).
func manPages(root *cobra.Command) (map[string][]byte, error) {
	root.DisableAutoGenTag = true
	header := &doc.GenManHeader{Title: "CKPT", Section: "1", Source: "ckpt " + version, Manual: "ckpt manual"}
	pages := map[string][]byte{}
	for _, c := range docCommands(root) {
		var b bytes.Buffer
		h := *header
		name := strings.ReplaceAll(c.CommandPath(), " ", "-")
		h.Title = strings.ToUpper(name)
		if err := doc.GenMan(c, &h, &b); err != nil {
			return nil, fmt.Errorf("man page of %s: %w", c.CommandPath(), err)
		}
		pages[name+".1"] = b.Bytes()
	}
	return pages, nil
}

// writeDocs writes pages into dir and removes the ckpt*ext files no command
// makes any more, so a renamed command leaves no stale page behind. Pages
// are documentation, meant to be read by everyone: mode 0644.
func writeDocs(dir, ext string, pages map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "ckpt*"+ext))
	if err != nil {
		return err
	}
	for _, p := range old {
		if _, ok := pages[filepath.Base(p)]; !ok {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	for name, data := range pages {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
