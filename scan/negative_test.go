package scan_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/scan"
	"github.com/ckpt-dev/ckpt/scan/scantest"
)

// TestNotSecrets lists near misses every detector must reject.
func TestNotSecrets(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	ec := scantest.ECPEM()
	ecBody := ec[strings.Index(ec, "\n")+1 : strings.Index(ec, "-----END")]
	for name, text := range map[string]string{
		"jwt header not JSON":    enc([]byte("not json at all")) + "." + enc([]byte(`{"a":1}`)) + ".c2ln",
		"jwt header without alg": enc([]byte(`{"typ":"JWT","x":1}`)) + "." + enc([]byte(`{"a":1}`)) + ".c2ln",
		"jwt claims not JSON":    enc([]byte(`{"alg":"HS256"}`)) + "." + enc([]byte("nope")) + ".c2ln",
		"jwt two parts":          enc([]byte(`{"alg":"HS256"}`)) + "." + enc([]byte(`{"a":1}`)),
		"jwt no signature":       enc([]byte(`{"alg":"HS256"}`)) + "." + enc([]byte(`{"a":1}`)) + ".",
		"jwt inside base64":      "QUFB" + scantest.JWT(`{"alg":"HS256"}`, `{"a":1}`),
		"jwe five parts":         scantest.JWT(`{"alg":"RSA-OAEP","enc":"A256GCM"}`, `{"a":1}`) + ".YWJj.ZGVm",
		"pem without end":        "-----BEGIN EC PRIVATE KEY-----\n" + ecBody,
		"pem other end label":    "-----BEGIN EC PRIVATE KEY-----\n" + ecBody + "-----END RSA PRIVATE KEY-----",
		"pem public key":         "-----BEGIN PUBLIC KEY-----\n" + ecBody + "-----END PUBLIC KEY-----",
		"pem body not base64":    "-----BEGIN EC PRIVATE KEY-----\nthis is not base64 at all!\n-----END EC PRIVATE KEY-----",
		"pem body not DER":       "-----BEGIN EC PRIVATE KEY-----\n" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("FAKE", 20))) + "\n-----END EC PRIVATE KEY-----",
		"pem template":           `"-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----"`,
		"aws id lowercase":       "AKIAfakefakefakefake",
		"aws id too long":        "AKIAFAKEFAKEFAKEFAKEF",
		"aws id in a word":       "XAKIAFAKEFAKEFAKEFAKE",
		"aws id with 0 and 1":    "AKIAFAKEFAKEFAKE0101",
		"aws secret too short":   "aws_secret_access_key=" + strings.Repeat("fakeFAKE", 4) + "fake/K3",
		"aws secret one case":    "aws_secret_access_key=" + strings.Repeat("fake", 10),
		"aws secret no label":    "foo=" + strings.Repeat("fakeFAKE", 4) + "fake/K3y",
		"azure key too short":    "AccountKey=" + base64.StdEncoding.EncodeToString([]byte("FAKEFAKEFAKEFAKE")),
		"azure key unpadded":     "AccountKey=" + base64.RawStdEncoding.EncodeToString([]byte(strings.Repeat("FAKE", 16)+"xx")),
		"bearer too short":       "Authorization: Bearer fake12345",
		"bearer placeholder":     "Authorization: Bearer <token>",
		"bearer format string":   "Authorization: Bearer %s",
		"bearer words":           "authorization: bearer undefinedundefinedundefined",
		"basic without colon":    "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("fakeuserfakepassword")),
		"basic binary":           "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("fake\x00user:pw")),
		"authorization digest":   "Authorization: Digest username=\"fake\", response=\"0000\"",
		"env password file":      "DB_PASSWORD_FILE=/run/secrets/db",
		"env token ttl":          "TOKEN_TTL=3600",
		"env pwd":                "\x00PWD=/home/fake\x00OLDPWD=/",
		"env tokenizers":         "TOKENIZERS_PARALLELISM=false",
		"env public key":         "SSH_PUBLIC_KEY=ssh-ed25519-fake",
		"env sort key":           "SORT_KEY=name",
		"env variable reference": "API_TOKEN=${TOKEN}",
		"env format string":      "SECRET_KEY=%s",
		"env masked":             "PASSWORD=********",
		"env empty":              "PASSWORD=\x00",
		"env in identifier":      "mySECRET=fake-value",
		"env lower case":         "db_password=fake-value",
		"env no equals":          "PASSWORD fake-value",
		"env keyboard":           "KEYBOARD=us",
		"env template":           "GITHUB_TOKEN={{ .Token }}",
	} {
		if got := scan.Find([]byte(" " + text + " ")); len(got) != 0 {
			t.Errorf("%s: %d matches: %s %q", name, len(got), got[0].Kind, got[0].Value)
		}
	}
}

// TestRandomMemory scans pseudo-random memory: nothing may be found.
func TestRandomMemory(t *testing.T) {
	for seed := range 4 {
		if got := scan.Find(noise(uint64(seed+100), 4<<20)); len(got) != 0 {
			t.Errorf("seed %d: %d matches, first %s %q", seed, len(got), got[0].Kind, got[0].Value)
		}
	}
}

// TestMostSpecificWins checks what is reported where matches cover the
// same bytes.
func TestMostSpecificWins(t *testing.T) {
	f := fakesByKind()
	k8s, jwt := f[scan.KubernetesToken].Value, f[scan.JWT].Value
	for name, tc := range map[string]struct {
		text string
		want []scan.Kind
	}{
		"jwt in env":          {"GITHUB_TOKEN=" + jwt, []scan.Kind{scan.JWT}},
		"k8s token in header": {"Authorization: Bearer " + k8s + "\r\n", []scan.Kind{scan.KubernetesToken}},
		"aws secret in env":   {"AWS_SECRET_ACCESS_KEY=" + f[scan.AWSSecretAccessKey].Value, []scan.Kind{scan.AWSSecretAccessKey}},
		"azure in env":        {"AZURE_STORAGE_CONNECTION_STRING=" + f[scan.AzureStorageKey].Text, []scan.Kind{scan.AzureStorageKey}},
		"gcp json":            {f[scan.GCPServiceAccountKey].Text, []scan.Kind{scan.GCPServiceAccountKey}},
		"gcp json, sorted keys": {`{"client_email": "fake@fake.iam.gserviceaccount.com", "private_key": "` + strings.ReplaceAll(scantest.ECPEM(), "\n", `\n`) +
			`", "private_key_id": "fake", "project_id": "fake", "type":` + "\n  " + `"service_account"}`, []scan.Kind{scan.GCPServiceAccountKey}},
		"not a service account": {`{"type": "authorized_user", "private_key": "` + strings.ReplaceAll(scantest.ECPEM(), "\n", `\n`) + `"}`,
			[]scan.Kind{scan.PrivateKey}},
		"two env names": {"APP_SECRET_TOKEN=fake-1 AUTH_KEY=fake-2", []scan.Kind{scan.EnvSecret, scan.EnvSecret}},
		"key id and secret": {"AWS_ACCESS_KEY_ID=" + f[scan.AWSAccessKeyID].Value + "\nAWS_SECRET_ACCESS_KEY=" + f[scan.AWSSecretAccessKey].Value,
			[]scan.Kind{scan.AWSAccessKeyID, scan.AWSSecretAccessKey}},
	} {
		var got []scan.Kind
		for _, m := range scan.Find([]byte(tc.text)) {
			got = append(got, m.Kind)
		}
		if strings.Join(kindStrings(got), ",") != strings.Join(kindStrings(tc.want), ",") {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

func fakesByKind() map[scan.Kind]scantest.Fake {
	m := map[scan.Kind]scantest.Fake{}
	for _, f := range scantest.Fakes() {
		m[f.Kind] = f
	}
	return m
}

func kindStrings(ks []scan.Kind) []string {
	var out []string
	for _, k := range ks {
		out = append(out, string(k))
	}
	return out
}

func TestSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"SECRET_TOKEN": true, "DB_PASSWORD": true, "PGPASSWORD": true, "MYSQL_ROOT_PASSWORD": true,
		"API_KEY": true, "APIKEY": true, "AWS_SECRET_ACCESS_KEY": true, "GITHUB_TOKEN": true,
		"CLIENT_SECRET": true, "GOOGLE_APPLICATION_CREDENTIALS": true, "REDIS_PASS": true,
		"DB_PWD": true, "BASIC_AUTH": true, "db_password": true, "Secret": true, "VAULT_TOKEN": true,
		"PASSWORD_FILE": false, "TOKEN_URL": false, "KEY_ID": false, "AWS_ACCESS_KEY_ID": false,
		"PWD": false, "OLDPWD": false, "PATH": false, "FOO": false, "KEYBOARD": false, "MONKEY": false,
		"SSH_PUBLIC_KEY": false, "SORT_KEY": false, "TOKENIZERS_PARALLELISM": false, "SECRET_NAME": false,
		"PASSENGER_APP_ENV": false, "BYPASS_CACHE": false, "": false,
	} {
		if got := scan.SecretName(name); got != want {
			t.Errorf("SecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestPreview(t *testing.T) {
	for v, want := range map[string]string{
		"hunter2-do-not-leak": "hunt...ak",
		"hunter2":             "h...",
		"abc":                 "...",
		"0123456789ab":        "012...b",
		"-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----": "-----BEGIN EC PRIVATE KEY-----...",
		"\x00\x01\x02\x03pass\xff\xfe":                                       "??...?",
	} {
		if got := scan.Preview([]byte(v)); got != want {
			t.Errorf("Preview(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestParseKinds(t *testing.T) {
	if k, err := scan.ParseKinds("any"); err != nil || len(k) != len(scan.Kinds()) {
		t.Errorf("any: %v %v", k, err)
	}
	if k, err := scan.ParseKinds("jwt, private-key,jwt"); err != nil || len(k) != 2 || k[0] != scan.JWT || k[1] != scan.PrivateKey {
		t.Errorf("list: %v %v", k, err)
	}
	for _, bad := range []string{"", ",", "jwt,bogus", "JWT"} {
		if _, err := scan.ParseKinds(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
