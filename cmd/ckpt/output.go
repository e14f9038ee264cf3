package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/internal/render"
)

// Output formats.
const (
	formatTable = "table"
	formatJSON  = "json"
)

// outputFlag is -o. "json" and "table" choose the format on every command;
// on commands that write a file, any other value names that file ("-" is
// stdout, "./json" a file called json). --format sets the format alone, for
// when -o names a file.
type outputFlag struct {
	format    string
	file      string
	allowFile bool
}

func (o *outputFlag) String() string {
	if o.file != "" {
		return o.file
	}
	return o.format
}

func (o *outputFlag) Set(v string) error {
	switch v {
	case formatJSON, formatTable:
		o.format = v
		return nil
	}
	if !o.allowFile {
		return fmt.Errorf("unknown output format %q (want json or table)", v)
	}
	o.file = v
	return nil
}

func (o *outputFlag) Type() string {
	if o.allowFile {
		return "json|table|FILE"
	}
	return "json|table"
}

// formatFlag is --format, which only ever names a format.
type formatFlag struct{ o *outputFlag }

func (f formatFlag) String() string { return f.o.format }
func (f formatFlag) Type() string   { return "json|table" }
func (f formatFlag) Set(v string) error {
	if v != formatJSON && v != formatTable {
		return fmt.Errorf("unknown output format %q (want json or table)", v)
	}
	f.o.format = v
	return nil
}

// addOutputFlags registers -o and --format on cmd. allowFile says whether
// -o may also name an output file.
func addOutputFlags(cmd *cobra.Command, allowFile bool) *outputFlag {
	o := &outputFlag{format: formatTable, allowFile: allowFile}
	usage := "output format: table or json"
	if allowFile {
		usage = "output file (- for stdout), or the format json or table"
	}
	cmd.Flags().VarP(o, "output", "o", usage)
	cmd.Flags().Var(formatFlag{o}, "format", "output format: table or json")
	return o
}

// emit prints v as JSON, or through human for the default format.
func (o *outputFlag) emit(w io.Writer, v any, human func(io.Writer) error) error {
	if o.format == formatJSON {
		return render.JSON(w, v)
	}
	return human(w)
}

// emitLines prints v as JSON, or lines one per line for the default format
// (a key, a recipient: what a shell script reads).
func (o *outputFlag) emitLines(w io.Writer, v any, lines ...string) error {
	return o.emit(w, v, func(w io.Writer) error {
		for _, l := range lines {
			if _, err := fmt.Fprintln(w, l); err != nil {
				return err
			}
		}
		return nil
	})
}
