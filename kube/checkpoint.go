package kube

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Request names the container to checkpoint.
type Request struct {
	Namespace string
	Pod       string
	// Container may be empty through the API server, which then takes
	// the pod's only container.
	Container string
	// Timeout is sent as the kubelet's timeout parameter (whole seconds,
	// rounded up) and bounds the whole request; 0 leaves both to the
	// kubelet's and runtime's defaults.
	Timeout time.Duration
}

// Result is a checkpoint the kubelet wrote.
type Result struct {
	Node      string
	Namespace string
	Pod       string
	Container string
	// Archive is the archive's path on the node; Archives is every path
	// the kubelet listed (one, today).
	Archive  string
	Archives []string
	// Via is "kubelet" or "api-server".
	Via      string
	Duration time.Duration
}

// ParseTarget reads NAMESPACE/POD[/CONTAINER], or POD alone when
// defaultNS is given.
func ParseTarget(s, defaultNS string) (Request, error) {
	parts := strings.Split(s, "/")
	var r Request
	switch len(parts) {
	case 1:
		r = Request{Namespace: defaultNS, Pod: parts[0]}
	case 2:
		r = Request{Namespace: parts[0], Pod: parts[1]}
	case 3:
		r = Request{Namespace: parts[0], Pod: parts[1], Container: parts[2]}
	default:
		return r, fmt.Errorf("%q: want NAMESPACE/POD[/CONTAINER]", s)
	}
	for _, p := range []string{r.Namespace, r.Pod} {
		if p == "" {
			return r, fmt.Errorf("%q: want NAMESPACE/POD[/CONTAINER] with non-empty names", s)
		}
	}
	if len(parts) == 3 && r.Container == "" {
		return r, fmt.Errorf("%q: empty container name", s)
	}
	return r, nil
}

// path is the kubelet's checkpoint path with the timeout parameter.
func (r Request) path() string {
	p := "checkpoint/" + url.PathEscape(r.Namespace) + "/" + url.PathEscape(r.Pod) + "/" + url.PathEscape(r.Container)
	if s := r.timeoutSeconds(); s > 0 {
		p += "?timeout=" + strconv.FormatInt(s, 10)
	}
	return p
}

func (r Request) timeoutSeconds() int64 {
	if r.Timeout <= 0 {
		return 0
	}
	return int64((r.Timeout + time.Second - 1) / time.Second)
}

// parseItems reads the kubelet's {"items": [PATH]} answer.
func parseItems(body []byte) ([]string, error) {
	var v struct {
		Items []string `json:"items"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("the kubelet's answer is not the checkpoint API's {\"items\": [...]}: %w", err)
	}
	if len(v.Items) == 0 || v.Items[0] == "" {
		return nil, fmt.Errorf("the kubelet answered success but named no archive: %s", strings.TrimSpace(string(body)))
	}
	return v.Items, nil
}
