package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ErrNoKubeconfig says no kubeconfig was found and ckpt does not run in a
// pod.
var ErrNoKubeconfig = errors.New("no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a pod")

// ClusterConfig says which kubeconfig and context to use, as kubectl's
// --kubeconfig, --context and --namespace do.
type ClusterConfig struct {
	Kubeconfig string
	Context    string
	Namespace  string
}

// Cluster is a connection to an API server.
type Cluster struct {
	// client speaks core/v1 at /api/v1; rbac and authorization requests
	// set their own path. A REST client with only the three groups kube
	// uses, rather than client-go's clientset, keeps every API group's
	// typed client (tens of MB of code, paged in at start by every ckpt
	// command) out of the binary.
	client *rest.RESTClient
	// Namespace is the namespace of the context (or the override).
	Namespace string
	// Host is the API server's URL.
	Host  string
	ca    string
	creds string
}

// Connect loads the kubeconfig (or the in-cluster configuration when there
// is none).
func Connect(cfg ClusterConfig) (*Cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = cfg.Kubeconfig
	over := &clientcmd.ConfigOverrides{CurrentContext: cfg.Context}
	if cfg.Namespace != "" {
		over.Context.Namespace = cfg.Namespace
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, over)
	rc, err := cc.ClientConfig()
	c := &Cluster{}
	switch {
	case err == nil:
		c.Namespace, _, _ = cc.Namespace()
		c.creds = describeUser(cc, cfg.Context)
	case clientcmd.IsEmptyConfig(err) && cfg.Kubeconfig == "":
		rc, err = rest.InClusterConfig()
		if err != nil {
			return nil, ErrNoKubeconfig
		}
		c.Namespace = cfg.Namespace
		c.creds = "the pod's service account token"
	default:
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	if c.Namespace == "" {
		c.Namespace = "default"
	}
	// JSON both ways, so an API server's Status can be told apart from
	// a kubelet's text passed through the proxy.
	rc.ContentType = "application/json"
	rc.AcceptContentTypes = "application/json"
	rc.UserAgent = "ckpt"
	c.Host = rc.Host
	c.ca = rc.TLSClientConfig.CAFile
	if c.ca == "" && len(rc.TLSClientConfig.CAData) > 0 {
		c.ca = "the kubeconfig's certificate-authority-data"
	}
	c.client, err = newRESTClient(rc)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// API paths of the groups other than core.
const (
	rbacPath          = "/apis/rbac.authorization.k8s.io/v1"
	authorizationPath = "/apis/authorization.k8s.io/v1"
)

// newRESTClient returns a core/v1 client whose codecs know core/v1,
// rbac/v1 and authorization/v1: the request bodies kube sends need their
// kind and version, and errors decode as metav1.Status.
func newRESTClient(rc *rest.Config) (*rest.RESTClient, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, rbacv1.AddToScheme, authorizationv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	cfg := *rc
	cfg.GroupVersion = &corev1.SchemeGroupVersion
	cfg.APIPath = "/api"
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	return rest.RESTClientFor(&cfg)
}

// describeUser names the kubeconfig user a context uses and how it
// authenticates, for 401 messages.
func describeUser(cc clientcmd.ClientConfig, ctxName string) string {
	raw, err := cc.RawConfig()
	if err != nil {
		return "the kubeconfig's credentials"
	}
	if ctxName == "" {
		ctxName = raw.CurrentContext
	}
	kctx, ok := raw.Contexts[ctxName]
	if !ok {
		return "the kubeconfig's credentials"
	}
	how := "no credentials"
	if ai, ok := raw.AuthInfos[kctx.AuthInfo]; ok {
		switch {
		case ai.Token != "" || ai.TokenFile != "":
			how = "a bearer token"
		case ai.ClientCertificate != "" || len(ai.ClientCertificateData) > 0:
			how = "a client certificate"
		case ai.Exec != nil:
			how = "the exec plugin " + ai.Exec.Command
		case ai.AuthProvider != nil:
			how = "the auth provider " + ai.AuthProvider.Name
		case ai.Username != "":
			how = "basic authentication"
		}
	}
	return fmt.Sprintf("user %q of context %q, %s", kctx.AuthInfo, ctxName, how)
}

func (c *Cluster) hostname() string {
	if u, err := url.Parse(c.Host); err == nil {
		return u.Hostname()
	}
	return c.Host
}

// apiError classifies an error from a typed client-go call.
func (c *Cluster) apiError(err error, req Request) error {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		return classify(answer{status: int(st.Code), endpoint: c.Host, credentials: c.creds, req: req, proxied: true,
			apiStatus: &apiStatus{Kind: "Status", Message: st.Message, Reason: string(st.Reason), Code: int(st.Code)}})
	}
	return transportError(err, c.Host, c.hostname(), c.ca)
}

// Checkpoint looks the pod up, takes its node (and its only container when
// none is named) and asks the node's kubelet through the API server's node
// proxy.
func (c *Cluster) Checkpoint(ctx context.Context, req Request) (*Result, error) {
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout+requestGrace)
		defer cancel()
	}
	start := time.Now()
	pod := &corev1.Pod{}
	err := c.client.Get().Namespace(req.Namespace).Resource("pods").Name(req.Pod).Do(ctx).Into(pod)
	if err != nil {
		e := c.apiError(err, req)
		var ke *Error
		if errors.As(e, &ke) && ke.Kind == Forbidden {
			ke.Fix = fmt.Sprintf("bind the ClusterRole %s (deploy/rbac/checkpointer.yaml), which grants get on pods", checkpointerRole)
		}
		return nil, e
	}
	node := pod.Spec.NodeName
	if node == "" {
		return nil, &Error{Kind: NotFound, Endpoint: c.Host, Detail: fmt.Sprintf("pod %s/%s is not scheduled on a node yet", req.Namespace, req.Pod)}
	}
	if req.Container == "" {
		var names []string
		for _, ct := range pod.Spec.Containers {
			names = append(names, ct.Name)
		}
		if len(names) != 1 {
			return nil, &Error{Kind: Ambiguous, Endpoint: c.Host,
				Detail: fmt.Sprintf("pod %s/%s has %d containers (%s): name one as %s/%s/CONTAINER", req.Namespace, req.Pod, len(names), strings.Join(names, ", "), req.Namespace, req.Pod)}
		}
		req.Container = names[0]
	}
	r := c.client.Post().
		Resource("nodes").Name(node).SubResource("proxy").
		Suffix("checkpoint", req.Namespace, req.Pod, req.Container)
	if s := req.timeoutSeconds(); s > 0 {
		r = r.Param("timeout", strconv.FormatInt(s, 10))
	}
	res := r.Do(ctx)
	var code int
	res.StatusCode(&code)
	body, err := res.Raw()
	endpoint := c.Host + " (node " + node + ")"
	if code == 0 && err != nil {
		// A text/plain answer (the kubelet's errors, passed through) has
		// no decoder, and client-go keeps only the status and the text,
		// as an "unexpected server response" cause.
		var se apierrors.APIStatus
		if !errors.As(err, &se) {
			return nil, transportError(err, c.Host, c.hostname(), c.ca)
		}
		st := se.Status()
		code = int(st.Code)
		if st.Details != nil {
			for _, cause := range st.Details.Causes {
				if cause.Type == metav1.CauseTypeUnexpectedServerResponse {
					body = []byte(cause.Message)
				}
			}
		}
	}
	if code != http.StatusOK {
		a := answer{status: code, body: body, proxied: true, endpoint: endpoint, credentials: c.creds, req: req, apiStatus: parseAPIStatus(body)}
		if a.apiStatus == nil {
			a.endpoint = "the kubelet on " + node + " through " + c.Host
		}
		return nil, classify(a)
	}
	items, err := parseItems(body)
	if err != nil {
		return nil, err
	}
	return &Result{Node: node, Namespace: req.Namespace, Pod: req.Pod, Container: req.Container,
		Archive: items[0], Archives: items, Via: "api-server", Duration: time.Since(start)}, nil
}
