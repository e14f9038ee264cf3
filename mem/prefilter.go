package mem

import (
	"regexp"
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// A prefilter speeds up regexes that Go's engine cannot: one without a
// literal prefix (`[0-9a-f]{40}`, `(?i)password`) runs as an NFA over
// every byte, at a few MB/s. Most bytes of memory cannot start a match, so
// the prefilter scans for the bytes that can and tries the regex, anchored,
// only there.
type prefilter struct {
	first [256]bool
	// next are the bytes every match has at offsets 1, 2, ..., when its
	// start is made of single bytes: a cheap second look before the regex.
	next     [][256]bool
	anchored *regexp.Regexp
}

// maxNext is how many bytes after the first the prefilter checks.
const maxNext = 3

// newPrefilter returns nil when the regex gains nothing from one: it has a
// literal prefix (Go finds those fast), it looks at what surrounds a match
// (\b, (?m)^), or too many bytes can start a match.
func newPrefilter(expr string, re *regexp.Regexp) *prefilter {
	if prefix, _ := re.LiteralPrefix(); prefix != "" {
		return nil
	}
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	var p prefilter
	nullable, ok := firstBytes(tree.Simplify(), &p.first)
	if !ok || nullable {
		return nil
	}
	n := 0
	for _, b := range p.first {
		if b {
			n++
		}
	}
	if n > 128 {
		return nil
	}
	if seq, _ := prefixSets(tree.Simplify(), maxNext+1); len(seq) > 1 {
		p.next = seq[1:]
	}
	p.anchored, err = regexp.Compile(`^(?:` + expr + `)`)
	if err != nil {
		return nil
	}
	return &p
}

// find returns the leftmost match in b[from:] no longer than maxLen.
func (p *prefilter) find(b []byte, from, maxLen int) (int, int) {
next:
	for i := from; i < len(b); i++ {
		if !p.first[b[i]] {
			continue
		}
		for k := range p.next {
			if i+1+k < len(b) && !p.next[k][b[i+1+k]] {
				continue next
			}
		}
		if loc := p.anchored.FindIndex(b[i:min(len(b), i+maxLen)]); loc != nil {
			return i, i + loc[1]
		}
	}
	return -1, -1
}

// firstBytes adds to set every byte a match of re can start with, and says
// whether re can match the empty string. ok is false when re has
// assertions, whose meaning an anchored match at an offset would change.
// The set may hold more bytes than needed, never fewer: a rune above 0x7f
// adds every byte from 0x80 up, because an invalid byte in memory reads as
// U+FFFD.
func firstBytes(re *syntax.Regexp, set *[256]bool) (nullable, ok bool) {
	switch re.Op {
	case syntax.OpNoMatch:
		return false, true
	case syntax.OpEmptyMatch:
		return true, true
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return true, true
		}
		r := re.Rune[0]
		addRune(set, r)
		if re.Flags&syntax.FoldCase != 0 {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				addRune(set, f)
			}
		}
		return false, true
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
				set[r] = true
			}
			if hi >= utf8.RuneSelf {
				addRune(set, utf8.RuneSelf)
			}
		}
		return false, true
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		for c := range set {
			set[c] = c != '\n' || re.Op == syntax.OpAnyChar
		}
		return false, true
	case syntax.OpCapture:
		return firstBytes(re.Sub[0], set)
	case syntax.OpStar, syntax.OpQuest:
		_, ok := firstBytes(re.Sub[0], set)
		return true, ok
	case syntax.OpPlus:
		return firstBytes(re.Sub[0], set)
	case syntax.OpRepeat:
		n, ok := firstBytes(re.Sub[0], set)
		return n || re.Min == 0, ok
	case syntax.OpConcat:
		for _, s := range re.Sub {
			n, ok := firstBytes(s, set)
			if !ok {
				return false, false
			}
			if !n {
				return false, true
			}
		}
		return true, true
	case syntax.OpAlternate:
		nullable := false
		for _, s := range re.Sub {
			n, ok := firstBytes(s, set)
			if !ok {
				return false, false
			}
			nullable = nullable || n
		}
		return nullable, true
	}
	return false, false // assertions: ^ $ \b \B and their kind
}

// addRune adds the bytes a rune can start with in memory.
func addRune(set *[256]bool, r rune) {
	if r < utf8.RuneSelf {
		set[r] = true
		return
	}
	for c := 0x80; c < 0x100; c++ {
		set[c] = true
	}
}

// prefixSets returns, for the first positions of every match of re (at
// most k), the bytes that can be there, as long as those positions are
// single bytes whatever path the match takes; complete says re always
// matches exactly that many bytes.
func prefixSets(re *syntax.Regexp, k int) (sets [][256]bool, complete bool) {
	if k <= 0 {
		return nil, false
	}
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if len(sets) == k {
				return sets, false
			}
			var s [256]bool
			for f := r; ; {
				if f >= utf8.RuneSelf {
					return sets, false // a multi-byte rune, or a fold into one
				}
				s[f] = true
				if re.Flags&syntax.FoldCase == 0 {
					break
				}
				if f = unicode.SimpleFold(f); f == r {
					break
				}
			}
			sets = append(sets, s)
		}
		return sets, true
	case syntax.OpCharClass:
		var s [256]bool
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i+1] >= utf8.RuneSelf {
				return nil, false
			}
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				s[r] = true
			}
		}
		return [][256]bool{s}, true
	case syntax.OpCapture:
		return prefixSets(re.Sub[0], k)
	case syntax.OpPlus:
		sets, _ = prefixSets(re.Sub[0], k)
		return sets, false
	case syntax.OpRepeat:
		if re.Min == 0 {
			return nil, false
		}
		for n := 0; n < re.Min && len(sets) < k; n++ {
			s, c := prefixSets(re.Sub[0], k-len(sets))
			sets = append(sets, s...)
			if !c {
				return sets, false
			}
		}
		return sets, re.Min == re.Max && len(sets) < k
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			s, c := prefixSets(sub, k-len(sets))
			sets = append(sets, s...)
			if !c || len(sets) >= k {
				return sets, c && len(sets) < k
			}
		}
		return sets, true
	case syntax.OpAlternate:
		for i, sub := range re.Sub {
			s, c := prefixSets(sub, k)
			if i == 0 {
				sets, complete = s, c
				continue
			}
			if len(s) < len(sets) {
				sets = sets[:len(s)]
			}
			for j := range sets {
				for b := range 256 {
					sets[j][b] = sets[j][b] || s[j][b]
				}
			}
			complete = complete && c && len(s) == len(sets)
		}
		return sets, complete
	}
	return nil, false
}
