package mem

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"
)

// TestPrefilterAgreesWithRegexp: with and without the prefilter, a regex
// finds the same matches as regexp over the whole text.
func TestPrefilterAgreesWithRegexp(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	text := make([]byte, 200000)
	const alphabet = "0123456789abcdefABCDEF passwordPASSWORD:=é\x00\xff\n_-"
	for i := range text {
		text[i] = alphabet[rng.IntN(len(alphabet))]
	}
	for _, expr := range []string{
		`[0-9a-f]{8}`, `(?i)password\s*[:=]`, `[A-F]+[0-9]`, `(x|[0-9]{3}[a-f])`, `é+`, `[^\x00\n]{5}:`, `\xff\x00`, `.{3}=`, `(?:ab|cd)*e`,
	} {
		re, err := NewRegex(expr, 64)
		if err != nil {
			t.Fatal(err)
		}
		if re.pre == nil && !slices.Contains([]string{`\xff\x00`, `é+`, `[^\x00\n]{5}:`, `.{3}=`}, expr) {
			t.Errorf("%s: no prefilter", expr)
		}
		var want []int
		for _, loc := range regexp.MustCompile(expr).FindAllIndex(text, -1) {
			want = append(want, loc[0], loc[1])
		}
		var got []int
		for from := 0; ; {
			s, e := re.Find(text, from)
			if s < 0 {
				break
			}
			got = append(got, s, e)
			from = e
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d matches, regexp finds %d", expr, len(got)/2, len(want)/2)
		}
	}
	for _, expr := range []string{`AKIA[0-9]+`, `\bkey`, `(?m)^x`} {
		if re, _ := NewRegex(expr, 0); re.pre != nil {
			t.Errorf("%s: prefiltered", expr)
		}
	}
}
