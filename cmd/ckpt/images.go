package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/criu"
	"github.com/ckpt-dev/ckpt/internal/render"
)

// imageRow is one CRIU image in `ckpt images`.
type imageRow struct {
	Name         string `json:"name"`
	Type         string `json:"type"` // the magic name, or "raw" for pages and blobs
	Entries      int    `json:"entries"`
	Size         int64  `json:"size"`
	PayloadBytes int64  `json:"payload_bytes"`
	Error        string `json:"error"`
}

// imagesReport is the images of one archive (one container).
type imagesReport struct {
	Archive   string     `json:"archive"`
	Container string     `json:"container_path,omitempty"`
	Images    []imageRow `json:"images"`
}

func newImagesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images ARCHIVE...",
		Short: "List the CRIU images in a checkpoint with their type, entry count and size",
		Args:  cobra.MinimumNArgs(1),
	}
	out := addOutputFlags(cmd, false)
	src := addSourceFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var reports []imagesReport
		broken := 0
		for _, name := range args {
			ar, err := src.open(a, name)
			if err != nil {
				return err
			}
			// One decoded image at a time: only its row is kept.
			rows := map[*archive.Checkpoint][]imageRow{}
			contents, err := archive.Load(ar, archive.LoadOptions{Limits: src.limits, Image: func(c *archive.Checkpoint, img *criu.Image) error {
				rows[c] = append(rows[c], imageRow{Name: img.Name, Type: img.Magic.String(), Entries: img.Count(), Size: img.Size, PayloadBytes: img.PayloadBytes})
				return nil
			}})
			ar.Close()
			if err != nil {
				return err
			}
			for _, c := range contents.Checkpoints {
				r := imagesOf(name, c, rows[c])
				for _, row := range r.Images {
					if row.Error != "" && !strings.HasSuffix(row.Name, "stats-dump") { // statistics only: a warning
						broken++
					}
				}
				reports = append(reports, r)
			}
		}
		if err := out.emit(a.stdout, reports, func(w io.Writer) error { return renderImages(w, reports) }); err != nil {
			return err
		}
		if broken > 0 {
			return fmt.Errorf("%d images could not be decoded (see the error column)", broken)
		}
		return nil
	}
	return cmd
}

func imagesOf(name string, c *archive.Checkpoint, decoded []imageRow) imagesReport {
	r := imagesReport{Archive: name, Container: c.Prefix, Images: append([]imageRow{}, decoded...)}
	for _, ie := range c.ImageErrors {
		r.Images = append(r.Images, imageRow{Name: ie.Name, Type: "unreadable", Error: ie.Err.Error()})
	}
	for _, e := range c.Entries {
		base, kind := archive.ImageOf(e)
		if rel := strings.TrimPrefix(e.Name, c.Prefix); kind == archive.ImageEntries && base == "stats-dump" {
			// CRIU's statistics image, at the top or where CRIU wrote it;
			// Load reads it for the checkpoint's Stats, not as an image.
			row := imageRow{Name: rel, Type: "STATS", Entries: 1, Size: e.Size}
			for _, u := range c.Unreadable {
				if u.Name == rel {
					row.Type, row.Entries, row.Error = "unreadable", 0, u.Err.Error()
				}
			}
			r.Images = append(r.Images, row)
			continue
		}
		if kind == archive.ImageRaw {
			row := imageRow{Name: base, Type: "raw", Size: e.Size}
			if strings.HasPrefix(base, "pages-") {
				row.Type, row.Entries = "pages", int(e.Size/4096)
			}
			r.Images = append(r.Images, row)
		}
	}
	slices.SortFunc(r.Images, func(a, b imageRow) int { return strings.Compare(a.Name, b.Name) })
	return r
}

func renderImages(w io.Writer, reports []imagesReport) error {
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if len(reports) > 1 {
			render.Printf(w, "%s%s\n", r.Archive, prefixed(": ", strings.TrimSuffix(r.Container, "/")))
		}
		var rows [][]string
		for _, img := range r.Images {
			entries := fmt.Sprint(img.Entries)
			if img.Type == "pages" {
				entries += " pages"
			}
			rows = append(rows, []string{img.Name, img.Type, entries, fmt.Sprint(img.Size), fmt.Sprint(img.PayloadBytes), img.Error})
		}
		if err := render.Table(w, []string{"image", "type", "entries", "size", "payload", "error"}, rows); err != nil {
			return err
		}
	}
	return nil
}
