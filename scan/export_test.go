package scan

// NewMatcherBlock lets the external tests choose the block size, to put
// block boundaries everywhere.
func NewMatcherBlock(emit func(Match), block int) *Matcher {
	return newMatcher(emit, block, maxFwd, maxBack)
}

// NewMatcherSized lets the fuzz tests shrink the window too.
var NewMatcherSized = newMatcher

// MaxFwd is how far a value may run from its anchor.
const MaxFwd = maxFwd
