package kube

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
)

// Kind names a class of checkpoint failure that calls for one kind of fix.
type Kind string

const (
	// Unauthorized: the server did not accept the credentials (401).
	Unauthorized Kind = "unauthorized"
	// Forbidden: authenticated, but not allowed (403).
	Forbidden Kind = "forbidden"
	// NotEnabled: the kubelet answered its bare 404 page: the
	// ContainerCheckpoint feature gate is off or the kubelet predates it.
	NotEnabled Kind = "not-enabled"
	// NotFound: no such pod, container or node.
	NotFound Kind = "not-found"
	// BadTimeout: the kubelet could not parse the timeout parameter.
	BadTimeout Kind = "bad-timeout"
	// RuntimeFailed: the container runtime failed to checkpoint (500).
	RuntimeFailed Kind = "runtime-failed"
	// TLSFailed: the TLS handshake failed (unknown CA, wrong name,
	// expired or unreadable certificate).
	TLSFailed Kind = "tls"
	// Unreachable: no connection, or the request timed out.
	Unreachable Kind = "unreachable"
	// Ambiguous: the pod has several containers and none was named.
	Ambiguous Kind = "ambiguous-container"
	// Unexpected: any other answer.
	Unexpected Kind = "unexpected"
)

// Error is a failed checkpoint request, classified.
type Error struct {
	Kind Kind
	// Status is the HTTP status, 0 when there was no answer.
	Status int
	// Endpoint is the server that answered (or failed to), and Via says
	// whether it was the kubelet itself or the API server.
	Endpoint string
	// Said is what the server said, trimmed to one line.
	Said string
	// Detail explains the cause; Fix says what to do.
	Detail string
	Fix    string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Detail)
	if e.Said != "" {
		fmt.Fprintf(&b, " (%s answered %q)", e.Endpoint, e.Said)
	}
	if e.Err != nil && e.Said == "" {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Fix != "" {
		b.WriteString("; fix: ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err's *Error, or "" when it has none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// answer is what a checkpoint request came back with.
type answer struct {
	status int
	body   []byte
	// proxied says the request went through the API server's node proxy;
	// apiStatus is set when the API server itself answered with a
	// metav1.Status (rather than passing the kubelet's answer through).
	proxied   bool
	apiStatus *apiStatus
	// endpoint is the URL asked; credentials describes what was sent.
	endpoint    string
	credentials string
	req         Request
}

// apiStatus is the part of metav1.Status an error needs.
type apiStatus struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Code    int    `json:"code"`
}

func parseAPIStatus(body []byte) *apiStatus {
	var s apiStatus
	if json.Unmarshal(body, &s) != nil || s.Kind != "Status" {
		return nil
	}
	return &s
}

// The kubelet's own texts (pkg/kubelet/server/server.go).
var (
	containerMissing = regexp.MustCompile(`^container (.*) does not exist$`)
	runtimeFailure   = regexp.MustCompile(`^checkpointing of ([^/]*)/([^/]*)/(.*?) failed \((.*)\)$`)
)

// RBAC names used in fixes; deploy/rbac defines them.
const (
	checkpointerRole  = "ckpt-checkpointer"
	kubeletClientRole = "ckpt-apiserver-kubelet-checkpoint"
	// KubeletClientUser is the user kubeadm's apiserver-kubelet-client
	// certificate names (CN).
	KubeletClientUser = "kube-apiserver-kubelet-client"
)

// classify turns a non-2xx answer into an *Error.
func classify(a answer) *Error {
	said := strings.Join(strings.Fields(string(a.body)), " ")
	if a.apiStatus != nil {
		said = a.apiStatus.Message
	}
	if len(said) > 512 {
		said = said[:512] + "…"
	}
	e := &Error{Status: a.status, Endpoint: a.endpoint, Said: said, Kind: Unexpected}
	who := "the kubelet"
	if a.apiStatus != nil {
		who = "the API server"
	}
	target := a.req.Namespace + "/" + a.req.Pod + "/" + a.req.Container
	switch a.status {
	case http.StatusUnauthorized:
		e.Kind = Unauthorized
		if a.proxied && a.apiStatus == nil {
			e.Detail = "the kubelet did not accept the API server's kubelet client credentials"
			e.Fix = "check kube-apiserver's --kubelet-client-certificate/--kubelet-client-key: the kubelet's --client-ca-file must have signed them"
		} else {
			e.Detail = who + " did not accept the credentials sent (" + a.credentials + ")"
			e.Fix = "give a client certificate signed by the CA in the kubelet's --client-ca-file (on a kubeadm control-plane node /etc/kubernetes/pki/apiserver-kubelet-client.{crt,key}), or a valid token"
			if a.proxied {
				e.Fix = "renew the credentials of the kubeconfig's user (kubectl auth whoami fails the same way)"
			}
		}
	case http.StatusForbidden:
		e.Kind = Forbidden
		switch {
		case a.apiStatus != nil:
			e.Detail = "the API server refused the request"
			e.Fix = fmt.Sprintf("bind the ClusterRole %s (deploy/rbac/checkpointer.yaml: get on pods, create on nodes/proxy, which also allows exec into every pod on the node) to the user", checkpointerRole)
		case a.proxied:
			e.Detail = "the kubelet refused the API server's kubelet client"
			e.Fix = fmt.Sprintf("bind a ClusterRole granting create on nodes/checkpoint to %s (deploy/rbac/apiserver-kubelet-client.yaml, ClusterRole %s); the default system:kubelet-api-admin role lacks nodes/checkpoint", KubeletClientUser, kubeletClientRole)
		default:
			e.Detail = "the kubelet refused the request"
			e.Fix = "bind a ClusterRole granting create on nodes/checkpoint to the certificate's or token's user (deploy/rbac/apiserver-kubelet-client.yaml shows the role; system:kubelet-api-admin lacks nodes/checkpoint)"
		}
	case http.StatusNotFound:
		e.Kind = NotFound
		switch {
		case a.apiStatus != nil:
			e.Detail = "the API server has no such object"
		case said == "404: Page Not Found" || said == "404 page not found":
			e.Kind = NotEnabled
			e.Detail = "the kubelet has no checkpoint API: the ContainerCheckpoint feature gate is off or the kubelet is older than 1.25"
			e.Fix = "enable the gate (featureGates: {ContainerCheckpoint: true} in the kubelet's config, on by default since 1.30) and restart the kubelet"
		case said == "pod does not exist":
			e.Detail = fmt.Sprintf("the kubelet runs no pod %s/%s", a.req.Namespace, a.req.Pod)
			e.Fix = "check the namespace and pod name, and that the pod is on this node"
		case containerMissing.MatchString(said):
			e.Detail = fmt.Sprintf("pod %s/%s has no container %q", a.req.Namespace, a.req.Pod, a.req.Container)
			e.Fix = "name one of the pod's containers (kubectl get pod -o jsonpath='{.spec.containers[*].name}')"
		case said == "cannot parse value of timeout parameter":
			e.Kind = BadTimeout
			e.Detail = "the kubelet could not parse the timeout parameter"
			e.Fix = "send the timeout as a whole number of seconds (a proxy in between may have rewritten it)"
		default:
			e.Detail = "not found"
		}
	case http.StatusInternalServerError:
		if m := runtimeFailure.FindStringSubmatch(said); m != nil {
			e.Kind = RuntimeFailed
			e.Detail = "the container runtime failed to checkpoint " + target + ": " + m[4]
			e.Fix = "enable CRIU support in the runtime (CRI-O: enable_criu_support = true in [crio.runtime], /etc/crio/crio.conf.d; containerd: criu installed in its PATH) and read CRIU's log: the dump.log the runtime names in its error, or the runtime's journal (journalctl -u crio / -u containerd)"
		} else {
			e.Detail = who + " failed"
		}
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		e.Kind = Unreachable
		e.Detail = "the API server could not reach the node's kubelet"
		e.Fix = "check that the node is Ready and that the API server can reach port 10250 on it"
	default:
		e.Detail = fmt.Sprintf("%s answered %d", who, a.status)
	}
	return e
}

// transportError classifies a request that got no HTTP answer. ca names
// the CA file trusted, "" for the system roots.
func transportError(err error, endpoint, host, ca string) *Error {
	e := &Error{Kind: Unreachable, Endpoint: endpoint, Err: err}
	trusted := "the system's CA certificates"
	if ca != "" {
		trusted = "the CA in " + ca
	}
	var unknown x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknown):
		e.Kind = TLSFailed
		e.Detail = fmt.Sprintf("TLS: %s's certificate is not signed by %s", host, trusted)
		e.Fix = "give the CA that signed the server's certificate (for a kubelet: its serving CA, often the cluster CA /etc/kubernetes/pki/ca.crt when serverTLSBootstrap is on, else /var/lib/kubelet/pki/kubelet.crt itself)"
	case errors.As(err, &hostErr):
		e.Kind = TLSFailed
		e.Detail = fmt.Sprintf("TLS: the certificate is not valid for the name %q (it names %s)", host, certNames(hostErr.Certificate))
		e.Fix = "connect by a name or address the certificate lists"
	case errors.As(err, &invalid):
		e.Kind = TLSFailed
		e.Detail = fmt.Sprintf("TLS: %s's certificate, checked against %s, is invalid: %v", host, trusted, invalid.Error())
		e.Fix = "renew the server's certificate or fix the clock"
	case errors.As(err, &verify):
		e.Kind = TLSFailed
		e.Detail = fmt.Sprintf("TLS: %s's certificate could not be verified against %s", host, trusted)
	case strings.Contains(err.Error(), "tls: "):
		e.Kind = TLSFailed
		e.Detail = fmt.Sprintf("TLS handshake with %s failed", host)
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			e.Detail = "no answer from " + host + " in time"
			e.Fix = "a checkpoint of a big container takes long: raise the timeout, or check the network path"
		} else {
			e.Detail = "could not connect to " + host
			e.Fix = "check the address and that the port is reachable from here"
		}
	}
	return e
}

func certNames(c *x509.Certificate) string {
	if c == nil {
		return "nothing"
	}
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "no names"
	}
	return strings.Join(names, ", ")
}

// Error makes a Kind usable with errors.Is: errors.Is(err, kube.Forbidden)
// holds for any *Error of that kind.
func (k Kind) Error() string { return string(k) }

// Is matches a Kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}
