package sign

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ckpt-dev/ckpt/internal/lines"
)

// maxAllowedSigners caps an allowed signers file.
const maxAllowedSigners = 16 << 20

// AllowedSigners is a parsed OpenSSH allowed signers file (ssh-keygen(1),
// ALLOWED SIGNERS): one key per line, preceded by the principals it may sign
// as and optional cert-authority, namespaces="...", valid-after="..." and
// valid-before="..." options.
type AllowedSigners struct {
	name    string
	entries []allowedSigner
}

type allowedSigner struct {
	line          int
	principals    string // pattern list
	key           ssh.PublicKey
	certAuthority bool
	namespaces    *string // pattern list; nil when the option is absent
	validAfter    time.Time
	validBefore   time.Time
}

// ParseAllowedSigners parses the allowed signers file called name. Any
// malformed line is an error naming it: a trust file that is half read is
// not one to rely on. Times without a Z are local time, as OpenSSH reads them.
func ParseAllowedSigners(name string, data []byte) (*AllowedSigners, error) {
	if len(data) > maxAllowedSigners {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxAllowedSigners)
	}
	a := &AllowedSigners{name: name}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxAllowedSigners)
	for n, line := range lines.New(sc).All() {
		e, err := parseAllowedLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", name, n, err)
		}
		e.line = n
		a.entries = append(a.entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(a.entries) == 0 {
		return nil, fmt.Errorf("%s: no signers in file", name)
	}
	return a, nil
}

func parseAllowedLine(line string) (allowedSigner, error) {
	var e allowedSigner
	principals, rest, err := firstField(line)
	if err != nil {
		return e, err
	}
	if principals == "" || strings.TrimSpace(rest) == "" {
		return e, errors.New("want principals, options and a key")
	}
	e.principals = principals
	// ssh.ParseAuthorizedKey reads the "[options] keytype base64 [comment]"
	// that follows the principals, options and quoting included.
	key, _, options, _, err := ssh.ParseAuthorizedKey([]byte(rest))
	if err != nil {
		return e, fmt.Errorf("no valid public key: %v", err)
	}
	e.key = key
	for _, o := range options {
		name, value, hasValue := strings.Cut(o, "=")
		switch strings.ToLower(name) {
		case "cert-authority":
			if hasValue {
				return e, fmt.Errorf("option %q takes no value", name)
			}
			e.certAuthority = true
		case "namespaces":
			if e.namespaces != nil {
				return e, errors.New(`more than one "namespaces" option`)
			}
			v, err := unquote(value)
			if err != nil {
				return e, fmt.Errorf("namespaces: %w", err)
			}
			e.namespaces = &v
		case "valid-after", "valid-before":
			v, err := unquote(value)
			if err != nil {
				return e, fmt.Errorf("%s: %w", name, err)
			}
			t, err := parseTime(v)
			if err != nil {
				return e, fmt.Errorf("%s: %w", name, err)
			}
			target := &e.validAfter
			if strings.ToLower(name) == "valid-before" {
				target = &e.validBefore
			}
			if !target.IsZero() {
				return e, fmt.Errorf("more than one %q option", name)
			}
			*target = t
		default:
			return e, fmt.Errorf("unknown option %q", name)
		}
	}
	if !e.validAfter.IsZero() && !e.validBefore.IsZero() && !e.validBefore.After(e.validAfter) {
		return e, errors.New(`"valid-before" is not after "valid-after"`)
	}
	return e, nil
}

// firstField splits off the principals field, which may be double-quoted.
func firstField(line string) (field, rest string, err error) {
	if strings.HasPrefix(line, `"`) {
		end := strings.IndexByte(line[1:], '"')
		if end < 0 {
			return "", "", errors.New("unterminated quote in principals")
		}
		return line[1 : end+1], line[end+2:], nil
	}
	i := strings.IndexAny(line, " \t")
	if i < 0 {
		return line, "", nil
	}
	return line[:i], line[i+1:], nil
}

func unquote(v string) (string, error) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1], nil
	}
	if strings.Contains(v, `"`) {
		return "", errors.New("bad quoting")
	}
	return v, nil
}

// parseTime reads OpenSSH's YYYYMMDD[Z] and YYYYMMDDHHMM[SS][Z] forms.
func parseTime(s string) (time.Time, error) {
	loc := time.Local
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") {
		s, loc = s[:len(s)-1], time.UTC
	}
	var layout string
	switch len(s) {
	case 8:
		layout = "20060102"
	case 12:
		layout = "200601021504"
	case 14:
		layout = "20060102150405"
	default:
		return time.Time{}, fmt.Errorf("time %q is not YYYYMMDD[HHMM[SS]][Z]", s)
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %v", s, err)
	}
	return t, nil
}

// accept returns the principals of the lines that accept key for namespace at
// now (and for principal, when given), or ErrNotAllowed saying why none does.
func (a *AllowedSigners) accept(key ssh.PublicKey, principal, namespace string, now time.Time) ([]string, error) {
	var found []string
	var reasons []string
	for _, e := range a.entries {
		if principal != "" && matchPatternList(principal, e.principals) != 1 {
			continue
		}
		names, err := e.matchKey(key, principal, now)
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("line %d: %v", e.line, err))
			continue
		}
		if names == nil {
			continue
		}
		if e.namespaces != nil && matchPatternList(namespace, *e.namespaces) != 1 {
			reasons = append(reasons, fmt.Sprintf("line %d: key not allowed for namespace %q", e.line, namespace))
			continue
		}
		if !e.validAfter.IsZero() && now.Before(e.validAfter) {
			reasons = append(reasons, fmt.Sprintf("line %d: key not valid before %s", e.line, e.validAfter.UTC().Format(time.RFC3339)))
			continue
		}
		if !e.validBefore.IsZero() && now.After(e.validBefore) {
			reasons = append(reasons, fmt.Sprintf("line %d: key expired at %s", e.line, e.validBefore.UTC().Format(time.RFC3339)))
			continue
		}
		found = append(found, names...)
	}
	if len(found) == 0 {
		who := ""
		if principal != "" {
			who = fmt.Sprintf(" as %q", principal)
		}
		msg := fmt.Sprintf("%s does not allow key %s to sign%s", a.name, fingerprint(key), who)
		if len(reasons) > 0 {
			msg += " (" + strings.Join(reasons, "; ") + ")"
		}
		return nil, fmt.Errorf("%w: %s", ErrNotAllowed, msg)
	}
	slices.Sort(found)
	return slices.Compact(found), nil
}

// matchKey reports the principals this line grants key: the line's
// principals for the very key, or the certificate's principals (those the
// line's patterns allow) for a certificate signed by a cert-authority line.
// It returns nil, nil when the line is about another key.
func (e *allowedSigner) matchKey(key ssh.PublicKey, principal string, now time.Time) ([]string, error) {
	cert, isCert := key.(*ssh.Certificate)
	if !e.certAuthority {
		if isCert || !bytes.Equal(key.Marshal(), e.key.Marshal()) {
			return nil, nil
		}
		if principal != "" {
			return []string{principal}, nil
		}
		return splitPatterns(e.principals), nil
	}
	if !isCert || !bytes.Equal(cert.SignatureKey.Marshal(), e.key.Marshal()) {
		return nil, nil
	}
	// ssh.CertChecker.CheckCert does not look at the type: a host
	// certificate from the same CA would pass. OpenSSH refuses it for
	// signatures ("not a user certificate"), and so do we.
	if cert.CertType != ssh.UserCert {
		return nil, errors.New("not a user certificate (a host certificate cannot sign)")
	}
	checker := &ssh.CertChecker{
		IsUserAuthority: func(auth ssh.PublicKey) bool { return bytes.Equal(auth.Marshal(), e.key.Marshal()) },
		Clock:           func() time.Time { return now },
	}
	var names []string
	for _, p := range cert.ValidPrincipals {
		if principal != "" && p != principal {
			continue
		}
		if matchPatternList(p, e.principals) != 1 {
			continue
		}
		if err := checker.CheckCert(p, cert); err != nil {
			return nil, fmt.Errorf("certificate not valid: %v", err)
		}
		names = append(names, p)
	}
	if len(names) == 0 {
		return nil, errors.New("certificate has no principal this line allows")
	}
	return names, nil
}

func splitPatterns(list string) []string {
	var out []string
	for _, p := range strings.Split(list, ",") {
		if p != "" && !strings.HasPrefix(p, "!") {
			out = append(out, p)
		}
	}
	return out
}

// matchPatternList matches s against a comma-separated OpenSSH pattern list
// (ssh_config(5), PATTERNS): 1 when a pattern matches, -1 when a negated
// (!pattern) one does, which wins over any other, and 0 otherwise.
func matchPatternList(s, list string) int {
	got := 0
	for _, p := range strings.Split(list, ",") {
		negated := strings.HasPrefix(p, "!")
		if negated {
			p = p[1:]
		}
		if !matchPattern(s, p) {
			continue
		}
		if negated {
			return -1
		}
		got = 1
	}
	return got
}

// matchPattern matches s against a pattern of literal bytes, '*' (any run)
// and '?' (any one byte), case-sensitively.
func matchPattern(s, p string) bool {
	// Iterative wildcard matching with one backtrack point: linear in
	// practice, never exponential on hostile patterns.
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			si++
			pi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
