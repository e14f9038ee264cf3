package agent

import (
	"strings"
	"testing"
	"time"
)

const fullConfig = `dir: /var/lib/kubelet/checkpoints
node: ""
seal:
  recipients_file: /etc/ckpt/recipients
  sign_key: /etc/ckpt/node-key
  output_dir: ""
  keep_plaintext: 0s
retention:
  global:     {max_checkpoints: 10, max_checkpoint_size: "", max_total_size: "", max_age: ""}
  namespaces: [{namespace: team-a, max_checkpoints: 3}]
  pods:       [{namespace: team-a, pod: web-0, max_age: 24h}]
  containers: [{namespace: team-a, pod: web-0, container: app, max_total_size: 5Gi}]
metrics_addr: ""
audit_log: ""
`

// The issue's example config decodes as written, every key in place.
func TestConfigIssueExample(t *testing.T) {
	c, err := ParseConfig([]byte(fullConfig))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Retention
	if r.Global.MaxCheckpoints != 10 || r.Namespaces[0].MaxCheckpoints != 3 ||
		time.Duration(r.Pods[0].MaxAge) != 24*time.Hour || r.Containers[0].MaxTotalSize != 5<<30 ||
		r.Containers[0].Container != "app" || c.Seal.SignKey != "/etc/ckpt/node-key" {
		t.Fatalf("decoded %+v", c)
	}
	if c.Workers != 2 || time.Duration(c.Settle) != 2*time.Second || c.StateDir != DefaultStateDir {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestConfigErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key", "dir: /x\nseal:\n  recipients_file: /r\n  recipient_file: /r\n", "line 4: field recipient_file not found"},
		{"wrong type", "dir: /x\nworkers: many\nseal: {recipients_file: /r}\n", "line 2: cannot unmarshal"},
		{"bad duration", "seal:\n  recipients_file: /r\n  keep_plaintext: soon\n", "line 3: duration \"soon\""},
		{"bad size", "seal: {recipients_file: /r}\nretention:\n  global:\n    max_total_size: 5 parsecs\n", "line 4: size \"5 parsecs\""},
		{"unknown in list", "seal: {recipients_file: /r}\nretention:\n  pods: [{namespace: a, pod: b, max_checkpoint: 3}]\n", "line 3: field max_checkpoint not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"dir: /x\n", "seal.recipients_file: required"},
		{"dir: relative\nseal: {recipients_file: /r}\n", `dir: "relative" is not an absolute path`},
		{"seal: {recipients_file: /r}\nworkers: 100\n", "workers: want 1 to 64"},
		{"seal: {recipients_file: /r}\nio_priority: high\n", "io_priority"},
		{"seal: {recipients_file: /r}\nretention: {pods: [{pod: x}]}\n", "retention.pods[0]: namespace and pod are required"},
		{"seal: {recipients_file: /r}\n---\ndir: /y\n", "more than one YAML document"},
	} {
		if _, err := ParseConfig([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// The upload section is decoded strictly.
func TestConfigUpload(t *testing.T) {
	c, err := ParseConfig([]byte("seal: {recipients_file: /r}\nupload:\n  destination: s3://b/p/\n  keep_local: false\n  retries: 2\n  endpoint: http://127.0.0.1:9000\n  region: us-east-1\n"))
	if err != nil {
		t.Fatal(err)
	}
	u := c.Upload
	if u == nil || u.Destination != "s3://b/p/" || u.KeepLocal == nil || *u.KeepLocal || *u.Retries != 2 || u.Endpoint != "http://127.0.0.1:9000" || u.Region != "us-east-1" {
		t.Fatalf("upload = %+v", u)
	}
	for _, bad := range []string{
		"upload:\n  s3: {bucket: b}\n",                       // unknown key
		"upload:\n  destination: /tmp/x\n",                   // not a store
		"upload:\n  destination: s3://b/\n  keep_local: 3\n", // wrong type
		"upload:\n  destination: s3://b/\n  retries: -1\n",
	} {
		if _, err := ParseConfig([]byte("seal: {recipients_file: /r}\n" + bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestParseSizeAndDuration(t *testing.T) {
	for s, want := range map[string]int64{"": 0, "1024": 1024, "500Mi": 500 << 20, "5Gi": 5 << 30, "2G": 2e9, "1.5Ki": 1536} {
		if got, err := parseSize(s); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, bad := range []string{"-1", "5GB", "Gi", "1e3"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
	for s, want := range map[string]time.Duration{"": 0, "0": 0, "90s": 90 * time.Second, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour} {
		if got, err := parseDuration(s); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := parseDuration("-1h"); err == nil {
		t.Error("negative duration accepted")
	}
}
