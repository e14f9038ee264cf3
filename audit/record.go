package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Actions a record can name. Other values are allowed (a later version may
// add some); these are the ones ckpt writes.
const (
	ActionSeal   = "seal"
	ActionOpen   = "open"
	ActionVerify = "verify"
	ActionShred  = "shred"
	ActionPrune  = "prune"
	ActionAccess = "access" // a process opened a checkpoint file (Monitor)
	ActionRepair = "repair" // the writer repaired a torn last line
)

// Results a record can give.
const (
	ResultOK     = "ok"
	ResultFailed = "failed"
)

// MaxRecord caps one record's line. Bigger records are refused, so that a
// reader looking for the last line never reads more than this.
const MaxRecord = 64 << 10

// Record is one line of the log. Seq and Time are set by Log.Append; the
// caller fills in the rest. Field order is the line's order; seq comes
// first so that readers find it without parsing the whole line.
type Record struct {
	// Seq is the record's index in the log, from 0.
	Seq int64 `json:"seq"`
	// Time is when the action ended (for an access, the first open).
	Time time.Time `json:"time"`
	// Node is the host the action happened on.
	Node string `json:"node"`
	// Action is what was done: ActionSeal, ActionOpen, ...
	Action string `json:"action"`
	// Result is ResultOK, ResultFailed, or an action's own outcome such as
	// a shred's status.
	Result string `json:"result"`
	// Error is why the action failed, in one line.
	Error string `json:"error,omitempty"`
	// File is the path acted on; Output the path written, if any.
	File   string `json:"file,omitempty"`
	Output string `json:"output,omitempty"`
	// Archive is what the checkpoint is, when known.
	Archive *Archive `json:"archive,omitempty"`
	// Digests are the files' sizes and SHA-256, e.g. the plaintext archive
	// and its sealed copy.
	Digests []Digest `json:"digests,omitempty"`
	// Recipients are the fingerprints of who can open a sealed file.
	Recipients []string `json:"recipients,omitempty"`
	// Signer is the fingerprint of the key that signed the manifest.
	Signer string `json:"signer,omitempty"`
	// Assurance is a shred's level (overwritten, best-effort, refused).
	Assurance string `json:"assurance,omitempty"`
	// Count is how many opens an access record stands for.
	Count int `json:"count,omitempty"`
	// Detail says more, e.g. what a repair removed.
	Detail string `json:"detail,omitempty"`
	// Actor is the process that acted (for an access, the opener).
	Actor Actor `json:"actor"`
}

// Archive identifies a checkpoint: its file name and the container it was
// taken from.
type Archive struct {
	Name           string `json:"name"`
	Namespace      string `json:"namespace,omitempty"`
	Pod            string `json:"pod,omitempty"`
	Container      string `json:"container,omitempty"`
	CheckpointedAt string `json:"checkpointed_at,omitempty"`
}

// Digest is one file's size and SHA-256 (lower-case hex).
type Digest struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
}

// Actor is a process: who ran it and what it is. Container and Pod come
// from its cgroup path and are empty outside Kubernetes.
type Actor struct {
	PID         int      `json:"pid"`
	UID         int      `json:"uid"`
	GID         int      `json:"gid"`
	Exe         string   `json:"exe"`
	Cmdline     []string `json:"cmdline,omitempty"`
	ContainerID string   `json:"container_id,omitempty"`
	PodUID      string   `json:"pod_uid,omitempty"`
}

// Self describes the calling process as an Actor.
func Self() Actor {
	exe, _ := os.Executable()
	a := Actor{PID: os.Getpid(), UID: os.Getuid(), GID: os.Getgid(), Exe: exe, Cmdline: append([]string(nil), os.Args...)}
	a.ContainerID, a.PodUID = cgroupOf(os.Getpid())
	return a
}

// marshalLine encodes r as one line without its newline.
func marshalLine(r *Record) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	line := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	if len(line)+1 > MaxRecord {
		return nil, fmt.Errorf("record of %d bytes is larger than %d", len(line)+1, MaxRecord)
	}
	return line, nil
}

// ParseRecord decodes one line of the log.
func ParseRecord(line []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		return r, fmt.Errorf("not a record: %v", err)
	}
	return r, nil
}

var seqPrefix = []byte(`{"seq":`)

var errNoSeq = errors.New(`does not start with {"seq":N,`)

// lineSeq reads the seq of a line without parsing the rest, which keeps
// verifying a million records fast.
func lineSeq(line []byte) (int64, error) {
	if !bytes.HasPrefix(line, seqPrefix) {
		return 0, errNoSeq
	}
	rest := line[len(seqPrefix):]
	i := bytes.IndexByte(rest, ',')
	if i <= 0 || i > 20 {
		return 0, errNoSeq
	}
	n, err := strconv.ParseInt(string(rest[:i]), 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != string(rest[:i]) {
		return 0, errNoSeq
	}
	return n, nil
}

// cgroupOf reads the container ID and pod UID of a process from its cgroup
// path: kubelet puts pods under .../kubepods-...-pod<UID>.slice (systemd
// driver, dashes as underscores) or .../pod<UID>/ (cgroupfs driver), and
// runtimes name the container's scope cri-containerd-<ID>.scope,
// crio-<ID>.scope, docker-<ID>.scope, or the bare <ID>.
func cgroupOf(pid int) (container, pod string) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return "", ""
	}
	return parseCgroup(string(data))
}

func parseCgroup(data string) (container, pod string) {
	for _, line := range strings.Split(data, "\n") {
		_, path, ok := strings.Cut(line, "::")
		if !ok {
			// cgroup v1 lines are ID:controllers:path.
			parts := strings.SplitN(line, ":", 3)
			if len(parts) != 3 {
				continue
			}
			path = parts[2]
		}
		for _, seg := range strings.Split(path, "/") {
			seg = strings.TrimSuffix(seg, ".slice")
			seg = strings.TrimSuffix(seg, ".scope")
			if i := strings.LastIndex(seg, "pod"); i >= 0 && pod == "" {
				if u := strings.ReplaceAll(seg[i+3:], "_", "-"); isUID(u) {
					pod = u
				}
			}
			if i := strings.LastIndexAny(seg, "-:"); container == "" {
				if id := seg[i+1:]; isHex64(id) {
					container = id
				}
			}
		}
		if container != "" || pod != "" {
			return container, pod
		}
	}
	return "", ""
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// isUID accepts a Kubernetes UID: 8-4-4-4-12 hex digits.
func isUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}
