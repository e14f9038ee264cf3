package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// DefaultDir is where the kubelet writes checkpoints with its default
// --root-dir (/var/lib/kubelet).
const DefaultDir = "/var/lib/kubelet/checkpoints"

// DefaultStateDir holds the node key the agent creates when the config
// names none.
const DefaultStateDir = "/var/lib/ckpt-agent"

// Config is the agent's configuration file. Field names are the YAML keys.
type Config struct {
	// Dir is the watched directory.
	Dir string `yaml:"dir"`
	// Node is the name written into manifests; the host name when empty.
	Node string `yaml:"node"`
	// StateDir persists the node key; DefaultStateDir when empty.
	StateDir  string          `yaml:"state_dir"`
	Seal      SealConfig      `yaml:"seal"`
	Retention RetentionConfig `yaml:"retention"`
	// MetricsAddr, when set, serves /metrics, /healthz, /readyz, /pubkey.
	MetricsAddr string `yaml:"metrics_addr"`
	// AuditLog, when set, is the audit log every action is appended to;
	// the agent also runs the access monitor on the directory then.
	AuditLog string `yaml:"audit_log"`
	// AuditKey is the key (from ckpt audit keygen) that signs the audit
	// log's checkpoints; without it the log has no signed checkpoints.
	AuditKey string `yaml:"audit_key"`
	// Upload, when set, sends every sealed set to a store.
	Upload *UploadConfig `yaml:"upload"`
	// Workers bounds concurrent seals (default 2).
	Workers int `yaml:"workers"`
	// Settle is how long an archive's size must stay the same before it
	// counts as complete (default 2s).
	Settle Duration `yaml:"settle"`
	// Rescan is the period of the full rescan (default 1m).
	Rescan Duration `yaml:"rescan"`
	// StuckAfter is how long an archive may stay incomplete before it is
	// reported as never completing (default 1h).
	StuckAfter Duration `yaml:"stuck_after"`
	// IOPriority is "idle", "best-effort" (lowest best-effort level, the
	// default) or "normal".
	IOPriority string `yaml:"io_priority"`
}

// SealConfig says how archives are sealed.
type SealConfig struct {
	RecipientsFile string   `yaml:"recipients_file"`
	SignKey        string   `yaml:"sign_key"`
	OutputDir      string   `yaml:"output_dir"`
	KeepPlaintext  Duration `yaml:"keep_plaintext"`
}

// UploadConfig says where sealed sets go after they are sealed and
// verified.
type UploadConfig struct {
	// Destination is s3://BUCKET/PREFIX/ or oci://REGISTRY/REPO.
	Destination string `yaml:"destination"`
	// KeepLocal keeps the local sealed set after a verified upload
	// (default true). With false the set is deleted once the store holds
	// it whole and its plaintext is gone.
	KeepLocal *bool `yaml:"keep_local"`
	// Retries is how many times one upload retries a failed request
	// (default 3); whole uploads that fail are retried with backoff.
	Retries *int `yaml:"retries"`
	// Endpoint and Region are the S3 endpoint URL and region; without
	// them the AWS environment and shared config decide.
	Endpoint string `yaml:"endpoint"`
	Region   string `yaml:"region"`
}

// RetentionConfig is the checkpoint-restore-operator's policy model plus
// max_age. Global limits apply to each container's checkpoints.
type RetentionConfig struct {
	Global     Limits            `yaml:"global"`
	Namespaces []NamespaceLimits `yaml:"namespaces"`
	Pods       []PodLimits       `yaml:"pods"`
	Containers []ContainerLimits `yaml:"containers"`
}

// Limits bound a group of checkpoints. Zero values mean no limit.
type Limits struct {
	MaxCheckpoints    int      `yaml:"max_checkpoints"`
	MaxCheckpointSize Size     `yaml:"max_checkpoint_size"`
	MaxTotalSize      Size     `yaml:"max_total_size"`
	MaxAge            Duration `yaml:"max_age"`
}

func (l Limits) isZero() bool { return l == Limits{} }

type NamespaceLimits struct {
	Namespace string `yaml:"namespace"`
	Limits    `yaml:",inline"`
}

type PodLimits struct {
	Namespace string `yaml:"namespace"`
	Pod       string `yaml:"pod"`
	Limits    `yaml:",inline"`
}

type ContainerLimits struct {
	Namespace string `yaml:"namespace"`
	Pod       string `yaml:"pod"`
	Container string `yaml:"container"`
	Limits    `yaml:",inline"`
}

// Duration is a time.Duration written as "90s", "24h" or "7d"; "" is zero.
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := scalar(n, "a duration such as 30s, 24h or 7d", parseDuration)
	*d = Duration(v)
	return err
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("duration %q: want a number of days such as 7d", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("duration %q: want a duration such as 30s, 24h or 7d", s)
	}
	return v, nil
}

// Size is a byte count written as 1024, "500Mi", "5Gi" or "2G" (as
// Kubernetes quantities); "" is zero.
type Size int64

func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := scalar(n, "a size such as 500Mi or 5Gi", parseSize)
	*s = Size(v)
	return err
}

// scalar parses a YAML scalar with parse; errors name the line and, for a
// node that is not a scalar, what was wanted.
func scalar[T any](n *yaml.Node, want string, parse func(string) (T, error)) (T, error) {
	var v T
	if n.Kind != yaml.ScalarNode {
		return v, fmt.Errorf("line %d: want %s", n.Line, want)
	}
	v, err := parse(n.Value)
	if err != nil {
		return v, fmt.Errorf("line %d: %v", n.Line, err)
	}
	return v, nil
}

func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, nil
	}
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, err := strconv.ParseFloat(t[:i], 64)
	units := map[string]float64{
		"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
		"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
	}
	u, ok := units[t[i:]]
	if err != nil || !ok || num < 0 || num*u > 1<<62 {
		return 0, fmt.Errorf("size %q: want a number with an optional unit (Ki, Mi, Gi, Ti, k, M, G, T)", s)
	}
	return int64(num * u), nil
}

// LoadConfig reads and checks the config file at path. Unknown keys and
// wrong types are errors that name the line.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes a config strictly, fills in defaults and checks it.
func ParseConfig(data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, cleanYAMLError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document; the config is one")
	}
	c.defaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// cleanYAMLError drops the decoder's "yaml: unmarshal errors:" preamble,
// keeping the "line N: ..." lines.
func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

func (c *Config) defaults() {
	if c.Dir == "" {
		c.Dir = DefaultDir
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.Settle == 0 {
		c.Settle = Duration(2 * time.Second)
	}
	if c.Rescan == 0 {
		c.Rescan = Duration(time.Minute)
	}
	if c.StuckAfter == 0 {
		c.StuckAfter = Duration(time.Hour)
	}
	if c.IOPriority == "" {
		c.IOPriority = "best-effort"
	}
}

// Validate checks what decoding cannot.
func (c *Config) Validate() error {
	var errs []error
	for _, p := range []struct{ key, val string }{
		{"dir", c.Dir}, {"state_dir", c.StateDir}, {"seal.output_dir", c.Seal.OutputDir},
	} {
		if p.val != "" && !filepath.IsAbs(p.val) {
			errs = append(errs, fmt.Errorf("%s: %q is not an absolute path", p.key, p.val))
		}
	}
	if c.Seal.RecipientsFile == "" {
		errs = append(errs, errors.New("seal.recipients_file: required: the agent seals every archive to these recipients"))
	}
	if u := c.Upload; u != nil {
		if !strings.HasPrefix(u.Destination, "s3://") && !strings.HasPrefix(u.Destination, "oci://") {
			errs = append(errs, fmt.Errorf("upload.destination: want s3://BUCKET/PREFIX/ or oci://REGISTRY/REPO, not %q", u.Destination))
		}
		if u.Retries != nil && (*u.Retries < 0 || *u.Retries > 100) {
			errs = append(errs, fmt.Errorf("upload.retries: want 0 to 100, not %d", *u.Retries))
		}
	}
	if c.Workers < 1 || c.Workers > 64 {
		errs = append(errs, fmt.Errorf("workers: want 1 to 64, not %d", c.Workers))
	}
	switch c.IOPriority {
	case "idle", "best-effort", "normal":
	default:
		errs = append(errs, fmt.Errorf("io_priority: want idle, best-effort or normal, not %q", c.IOPriority))
	}
	r := c.Retention
	for i, n := range r.Namespaces {
		if n.Namespace == "" {
			errs = append(errs, fmt.Errorf("retention.namespaces[%d]: namespace is required", i))
		}
		errs = append(errs, n.Limits.validate(fmt.Sprintf("retention.namespaces[%d]", i)))
	}
	for i, p := range r.Pods {
		if p.Namespace == "" || p.Pod == "" {
			errs = append(errs, fmt.Errorf("retention.pods[%d]: namespace and pod are required", i))
		}
		errs = append(errs, p.Limits.validate(fmt.Sprintf("retention.pods[%d]", i)))
	}
	for i, ct := range r.Containers {
		if ct.Namespace == "" || ct.Pod == "" || ct.Container == "" {
			errs = append(errs, fmt.Errorf("retention.containers[%d]: namespace, pod and container are required", i))
		}
		errs = append(errs, ct.Limits.validate(fmt.Sprintf("retention.containers[%d]", i)))
	}
	errs = append(errs, r.Global.validate("retention.global"))
	return errors.Join(errs...)
}

func (l Limits) validate(where string) error {
	if l.MaxCheckpoints < 0 {
		return fmt.Errorf("%s.max_checkpoints: want 0 (no limit) or more, not %d", where, l.MaxCheckpoints)
	}
	return nil
}
