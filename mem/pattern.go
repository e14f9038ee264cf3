package mem

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf16"
)

// DefaultMaxMatch is the longest regex match [Search] promises to find
// whole when the caller does not say.
const DefaultMaxMatch = 4096

// Literal matches a byte string exactly.
type Literal []byte

// Find implements [Pattern] with bytes.Index, which is vectorised.
func (l Literal) Find(b []byte, from int) (int, int) {
	i := bytes.Index(b[from:], l)
	if i < 0 {
		return -1, -1
	}
	return from + i, from + i + len(l)
}

// MaxLen implements [Pattern]: a literal match is never longer than itself.
func (l Literal) MaxLen() int { return len(l) }

// ParseHex reads bytes written in hex, with or without spaces, colons or a
// 0x prefix: "de ad be ef", "deadbeef", "0xdeadbeef", "de:ad".
func ParseHex(s string) (Literal, error) {
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == ':' || r == '\t' {
			return -1
		}
		return r
	}, strings.TrimPrefix(strings.TrimSpace(s), "0x"))
	b, err := hex.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("hex pattern %q: %w", s, err)
	}
	if len(b) == 0 {
		return nil, errors.New("empty hex pattern")
	}
	return b, nil
}

// UTF16 returns the UTF-16LE encoding of s, how Windows, Java and
// JavaScript programs keep strings in memory on little-endian machines.
func UTF16(s string) Literal {
	units := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(units))
	for _, u := range units {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// Regex matches a Go regular expression (RE2 syntax) over raw memory.
type Regex struct {
	re     *regexp.Regexp
	maxLen int
	pre    *prefilter // nil when the engine is fast alone
}

// NewRegex compiles expr. maxLen is the longest match it promises to find
// whole ([DefaultMaxMatch] when 0): [Search] looks at memory through
// windows, and a longer match may be cut short where one window ends. Patterns that
// anchor to the beginning or end of the text are refused, because memory
// has no such place; patterns that can match the empty string are refused
// because every byte would match.
func NewRegex(expr string, maxLen int) (*Regex, error) {
	if maxLen == 0 {
		maxLen = DefaultMaxMatch
	}
	if maxLen < 1 || maxLen > BlockSize {
		return nil, fmt.Errorf("maximum match length %d: want 1 to %d", maxLen, BlockSize)
	}
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("regex: %w", err)
	}
	if anchored(tree) {
		return nil, fmt.Errorf("regex %q: ^, $, \\A and \\z anchor to the start or end of the text, which memory does not have (use (?m) for lines)", expr)
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("regex: %w", err)
	}
	if re.Match(nil) {
		return nil, fmt.Errorf("regex %q matches the empty string", expr)
	}
	return &Regex{re: re, maxLen: maxLen, pre: newPrefilter(expr, re)}, nil
}

func anchored(re *syntax.Regexp) bool {
	if re.Op == syntax.OpBeginText || re.Op == syntax.OpEndText {
		return true
	}
	for _, s := range re.Sub {
		if anchored(s) {
			return true
		}
	}
	return false
}

// Find implements [Pattern]. It gives the regex one byte before from, so
// that \b and (?m)^ see what precedes the window.
func (r *Regex) Find(b []byte, from int) (int, int) {
	if r.pre != nil {
		return r.pre.find(b, from, r.maxLen)
	}
	lo := max(from-1, 0)
	loc := r.re.FindIndex(b[lo:])
	if loc != nil && lo < from && loc[0] == 0 {
		// The match begins in the look-behind byte, inside what was
		// already decided: look again without it.
		lo = from
		loc = r.re.FindIndex(b[lo:])
	}
	if loc == nil {
		return -1, -1
	}
	return lo + loc[0], lo + loc[1]
}

// MaxLen implements [Pattern].
func (r *Regex) MaxLen() int { return r.maxLen }

// String returns the expression.
func (r *Regex) String() string { return r.re.String() }
