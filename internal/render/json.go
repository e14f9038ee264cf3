package render

import (
	"encoding/json"
	"io"
)

// JSON writes v as indented JSON followed by a newline. Field order is the
// struct's declaration order, so output is stable as long as values hold
// slices rather than maps.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
