package scan

import (
	"bytes"
	"strings"
)

// maxEnvName and maxEnvValue cap the parts of a NAME=value match.
const (
	maxEnvName  = 128
	maxEnvValue = 4096
)

// detectEnvSecret matches NAME=value where NAME is an environment variable
// name in upper case ([A-Z_][A-Z0-9_]*, standing alone) that means a
// secret (see SecretName), and value is printable text up to a blank,
// quote, NUL or line end (or quoted, up to the closing quote). Empty
// values and placeholders ("$VAR", "%s", "<token>", "{{ x }}", "****",
// "true", "null", ...) are not secrets.
func detectEnvSecret(w *window) verdict {
	b, at := w.b, w.at
	if abs := w.base + int64(at); w.decidedName[0] <= abs && abs < w.decidedName[1] {
		return reject // another keyword of a name already decided
	}
	lim := w.fwd()
	s := at
	for s > w.back() && s > at-maxEnvName-1 && is(b[s-1], cEnvName) {
		s--
	}
	e := run(b, at, min(lim, at+maxEnvName+1), cEnvName)
	c, ok := w.byteAt(e)
	if !ok && e < at+maxEnvName+1 {
		return w.outOfBytes()
	}
	// Decided from here on, whatever the anchor inside [s, e).
	w.decidedName = [2]int64{w.base + int64(s), w.base + int64(e)}
	if s > 0 && (s == w.back() || isNameChar(b[s-1])) || e-s > maxEnvName {
		return reject // part of a longer identifier, or too long to be a name
	}
	if is(b[s], cDigit) || c != '=' || !SecretName(string(b[s:e])) {
		return reject
	}
	vs, ve, end, v := envValue(w, e+1)
	if v == more {
		w.decidedName = [2]int64{}
		return more
	}
	if v != accept || IsPlaceholder(b[vs:ve]) {
		return reject
	}
	return w.found(EnvSecret, s, end, vs, ve, string(b[s:e]))
}

// envValue reads the value starting at i, quoted or not.
func envValue(w *window, i int) (vs, ve, end int, v verdict) {
	b := w.b
	lim := min(w.fwd(), i+maxEnvValue+2)
	c, ok := w.byteAt(i)
	if !ok {
		return 0, 0, 0, w.outOfBytes()
	}
	j := i
	if c == '"' || c == '\'' {
		for j = i + 1; j < lim && b[j] != byte(c); j++ {
			if !is(b[j], cPrint) && b[j] != ' ' {
				return 0, 0, 0, reject
			}
		}
		if j < lim {
			vs, ve, end = i+1, j, j+1
		}
	} else {
		for j < lim && is(b[j], cPrint) && b[j] != '"' && b[j] != '\'' {
			j++
		}
		if j < lim || w.final && j == len(b) {
			vs, ve, end = i, j, j
		}
	}
	switch {
	case end == 0 && lim == i+maxEnvValue+2, ve-vs > maxEnvValue:
		return 0, 0, 0, reject // too long to be a value
	case end == 0:
		return 0, 0, 0, w.outOfBytes()
	}
	return vs, ve, end, accept
}

// SecretName reports whether an environment variable name means a secret:
// split at _, - and ., one of its words is a secret word (PASSWORD,
// PASSWD, PASSPHRASE, PASS, PWD, TOKEN, SECRET, KEY, APIKEY, ACCESSKEY and
// the like, CREDENTIAL(S), CREDS, AUTH, AUTHORIZATION, or a word ending in
// PASSWORD, TOKEN or SECRET), no word says it is public (PUBLIC, PUB), and
// the last word does not say it is about a secret rather than one
// (FILE, PATH, URL, NAME, ID, TYPE, TTL, LENGTH, ENABLED, ... as in
// PASSWORD_FILE or TOKEN_TTL). KEY alone after a word that makes it a
// database or cache key (SORT_KEY, PRIMARY_KEY, CACHE_KEY) does not count.
// PWD and OLDPWD are the working directory. Case does not matter.
func SecretName(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	up := strings.ToUpper(name)
	if up == "PWD" || up == "OLDPWD" {
		return false
	}
	words := strings.FieldsFunc(up, func(r rune) bool { return r == '_' || r == '-' || r == '.' })
	if len(words) == 0 || notSecretLast[words[len(words)-1]] {
		return false
	}
	secret := false
	for i, wd := range words {
		if wd == "PUBLIC" || wd == "PUB" {
			return false
		}
		if !secretWord(wd) {
			continue
		}
		if wd == "KEY" && i > 0 && dataKeyWord[words[i-1]] {
			continue
		}
		secret = true
	}
	return secret
}

func secretWord(w string) bool {
	switch w {
	case "PASS", "PWD", "PASSWD", "PASSPHRASE", "KEY", "KEYS", "CREDENTIAL", "CREDENTIALS", "CREDS",
		"AUTH", "AUTHORIZATION", "TOKENS", "SECRETS", "PASSWORDS":
		return true
	}
	for _, suffix := range []string{"PASSWORD", "TOKEN", "SECRET"} {
		if strings.HasSuffix(w, suffix) {
			return true
		}
	}
	if p, ok := strings.CutSuffix(w, "KEY"); ok {
		switch p {
		case "API", "ACCESS", "SECRET", "PRIVATE", "AUTH", "MASTER", "ENCRYPTION", "SIGNING", "LICENSE",
			"SESSION", "CLIENT", "APP", "ADMIN", "ROOT", "SHARED", "ACCOUNT", "SERVICE", "CRYPT", "HMAC", "JWT":
			return true
		}
	}
	return false
}

// notSecretLast are last words that make a secret-sounding name a setting
// about the secret.
var notSecretLast = setOf("FILE", "FILES", "PATH", "DIR", "URL", "URI", "ENDPOINT", "HOST", "PORT", "NAME",
	"ID", "IDS", "TYPE", "LEN", "LENGTH", "SIZE", "BITS", "TTL", "EXPIRY", "EXPIRES", "EXPIRATION", "LIFETIME",
	"TIMEOUT", "INTERVAL", "ALGORITHM", "ALG", "FORMAT", "MODE", "ENABLED", "ENABLE", "DISABLED", "DISABLE",
	"REQUIRED", "VERSION", "COUNT", "HEADER", "PREFIX", "SUFFIX", "REGION", "ISSUER", "AUDIENCE", "SCOPE",
	"SCOPES", "LOCATION", "REF", "KIND", "METHOD", "FIELD", "PROVIDER", "USER", "USERNAME", "LOGIN", "EMAIL",
	"ROTATION", "POLICY", "CACHE", "STORE", "SOURCE", "MOUNT", "COMMAND", "CMD", "SCRIPT", "HELPER", "LIMIT")

// dataKeyWord are words before KEY that make it a data key, not a secret.
var dataKeyWord = setOf("SORT", "PRIMARY", "FOREIGN", "PARTITION", "CACHE", "ROUTING", "HOT", "MAP", "LOOKUP",
	"GROUP", "IDEMPOTENCY", "HASH", "INDEX", "SHARD", "RANGE", "COMPOSITE", "UNIQUE")

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// IsPlaceholder reports whether a value stands for a secret rather than
// being one: a variable reference ($VAR, ${VAR}, $(cmd)), a format verb
// (%s), a template ({{ x }}, <token>), one character repeated (****,
// xxxx), or a word such as true, false, null, none or undefined.
func IsPlaceholder(v []byte) bool {
	if len(v) == 0 {
		return true
	}
	switch {
	case v[0] == '$', v[0] == '%', bytes.HasPrefix(v, []byte("{{")):
		return true
	case v[0] == '<' && v[len(v)-1] == '>':
		return true
	}
	if len(v) >= 3 && bytes.Count(v, v[:1]) == len(v) {
		return true
	}
	switch strings.ToLower(string(v)) {
	case "true", "false", "null", "nil", "none", "undefined", "empty", "yes", "no", "on", "off":
		return true
	}
	return false
}
