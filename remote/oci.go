package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/ckpt-dev/ckpt/crypto/seal"
)

// Media types of a set's files, as S3 content types and OCI layer types,
// and the artifact type of a set's OCI manifest.
const (
	ArtifactType       = "application/vnd.ckpt.sealed-set.v1"
	MediaTypeSealed    = "application/vnd.ckpt.checkpoint.tar.age"
	MediaTypeChecksum  = "application/vnd.ckpt.checksum.sha256"
	MediaTypeManifest  = "application/vnd.ckpt.manifest.v1+json"
	MediaTypeSignature = "application/vnd.ckpt.manifest.sig"
	MediaTypePlaintext = "application/vnd.ckpt.checkpoint.tar"
)

// Annotation keys on a set's OCI manifest. The title is the file name,
// as ORAS and others use it.
const (
	annotationTitle  = "org.opencontainers.image.title"
	annotationPrefix = "dev.ckpt."
)

// errNotSet: a tag holds something other than a sealed set.
var errNotSet = errors.New("not a ckpt sealed set")

// ociStore keeps each set as one artifact manifest, tagged.
type ociStore struct {
	loc  Location
	repo name.Repository
	opts Options
	// manifestType is the manifest's media type: always the OCI image
	// manifest, but for a test that makes a real registry refuse one.
	manifestType types.MediaType
}

func openOCI(loc Location, opts Options) (*ociStore, error) {
	var nopts []name.Option
	if opts.Insecure || isLoopback(loc.Repository) {
		nopts = append(nopts, name.Insecure)
	}
	repo, err := name.NewRepository(loc.Repository, nopts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", loc, err)
	}
	return &ociStore{loc: loc, repo: repo, opts: opts, manifestType: types.OCIManifestSchema1}, nil
}

// isLoopback says the registry is on this machine, where plain HTTP is
// what a test or a local mirror uses.
func isLoopback(repository string) bool {
	host, _, _ := strings.Cut(repository, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *ociStore) String() string { return s.loc.Store() }

func (s *ociStore) remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		// As crane and docker: config.json, credential helpers.
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithRetryBackoff(remote.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: s.opts.retries() + 1, Cap: 5 * time.Second}),
		remote.WithUserAgent("ckpt"),
	}
}

// TagFor turns a set's name into a tag: kubelet names carry colons and may
// exceed 128 characters, which tags may not. The name itself travels in
// the manifest's title annotation.
func TagFor(setName string) string {
	b := []byte(setName)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') || i == 0 && (c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 128 {
		h := sha256.Sum256([]byte(setName))
		b = append(b[:128-17], "-"+hex.EncodeToString(h[:8])...)
	}
	return string(b)
}

func (s *ociStore) tag(id string) name.Tag { return s.repo.Tag(id) }

// tagFor is the tag a set is pushed under: the location's, or one made
// from the set's name.
func (s *ociStore) tagFor(set *Local) string {
	if s.loc.Tag != "" {
		return s.loc.Tag
	}
	return TagFor(set.Name)
}

// Put uploads the files as blobs (the ciphertext under the digest its
// checksum line gives, so it is read once), then the manifest.
func (s *ociStore) Put(ctx context.Context, set *Local) error {
	tag := s.tagFor(set)
	ro := s.remoteOptions(ctx)
	config := static.NewLayer([]byte("{}"), types.OCIEmptyJSON)
	if err := remote.WriteLayer(s.repo, config, ro...); err != nil {
		return errorf(s, "put %s: %w", set.Name, ociError(err))
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     s.manifestType,
		ArtifactType:  ArtifactType,
		Config:        v1.Descriptor{MediaType: types.OCIEmptyJSON, Size: 2, Digest: mustDigest(config)},
		Annotations:   ociAnnotations(set),
	}
	for _, f := range set.files() {
		var l v1.Layer
		if f.path != "" {
			l = &fileLayer{path: f.path, size: f.size, digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(set.SHA256[:])}, mt: types.MediaType(f.kind.mediaType()), progress: s.opts.Progress}
		} else {
			l = static.NewLayer(f.data, types.MediaType(f.kind.mediaType()))
		}
		if err := remote.WriteLayer(s.repo, l, ro...); err != nil {
			return errorf(s, "put %s: %w", f.name, ociError(err))
		}
		d, _ := l.Digest()
		size, _ := l.Size()
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.MediaType(f.kind.mediaType()), Size: size, Digest: d, Annotations: map[string]string{annotationTitle: f.name}})
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := remote.Put(s.tag(tag), rawManifest{raw, s.manifestType}, ro...); err != nil {
		err = ociError(err)
		if errors.Is(err, ErrRejected) {
			return errorf(s, "put %s as %s: the registry refused the artifact (manifest %s, artifact type %s, layers %s…): it needs to accept OCI 1.1 artifacts: %w",
				set.Name, tag, s.manifestType, ArtifactType, MediaTypeSealed, err)
		}
		return errorf(s, "put %s as %s: %w", set.Name, tag, err)
	}
	return nil
}

func mustDigest(l v1.Layer) v1.Hash {
	d, err := l.Digest()
	if err != nil {
		panic(err) // static layers hash bytes in memory
	}
	return d
}

// rawManifest is a manifest already serialised, for remote.Put.
type rawManifest struct {
	data []byte
	mt   types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.data, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

func ociAnnotations(set *Local) map[string]string {
	a := map[string]string{annotationTitle: set.Name, annotationPrefix + "sha256": hex.EncodeToString(set.SHA256[:])}
	if set.Plaintext {
		a[annotationPrefix+"plaintext"] = "true"
	}
	if mf := set.Manifest; mf != nil {
		id := mf.Identity
		for k, v := range map[string]string{
			"namespace": id.Namespace, "pod": id.Pod, "container": id.Container, "image": id.Image,
			"engine": id.Engine, "runtime": id.Runtime, "node": mf.Node, "sealed_at": mf.SealedAt,
		} {
			if v != "" {
				a[annotationPrefix+k] = v
			}
		}
		if !id.Checkpointed.IsZero() {
			a[annotationPrefix+"checkpointed_at"] = id.Checkpointed.UTC().Format(time.RFC3339)
		}
		a["org.opencontainers.image.created"] = mf.SealedAt
	}
	return a
}

// fileLayer is the ciphertext as a blob: its digest is the sealed SHA-256,
// so go-containerregistry does not hash the file before sending it; the
// registry checks it as it receives.
type fileLayer struct {
	path     string
	size     int64
	digest   v1.Hash
	mt       types.MediaType
	progress func(int64)
}

func (l *fileLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error) { return l.digest, nil }
func (l *fileLayer) Size() (int64, error)     { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) {
	return l.mt, nil
}
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) { return l.Compressed() }
func (l *fileLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	if l.progress == nil {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{&progressReader{f, l.progress}, f}, nil
}

// manifest fetches and checks a set's OCI manifest.
func (s *ociStore) manifest(ctx context.Context, tag string) (*v1.Manifest, *remote.Descriptor, error) {
	desc, err := remote.Get(s.tag(tag), s.remoteOptions(ctx)...)
	if err != nil {
		return nil, nil, errorf(s, "get %s: %w", tag, ociError(err))
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, nil, errorf(s, "get %s: %w: manifest: %v", tag, ErrRejected, err)
	}
	if m.ArtifactType != ArtifactType {
		return nil, nil, errorf(s, "%s: %w (artifact type %q)", tag, errNotSet, m.ArtifactType)
	}
	return m, desc, nil
}

// layer returns the descriptor of the layer of media type mt.
func layer(m *v1.Manifest, mt string) (v1.Descriptor, bool) {
	for _, l := range m.Layers {
		if string(l.MediaType) == mt {
			return l, true
		}
	}
	return v1.Descriptor{}, false
}

func (s *ociStore) blob(ctx context.Context, d v1.Descriptor, w io.Writer, limit int64) error {
	if d.Size > limit {
		return fmt.Errorf("%w: blob %s of %d bytes exceeds %d", ErrRejected, d.Digest, d.Size, limit)
	}
	l, err := remote.Layer(s.repo.Digest(d.Digest.String()), s.remoteOptions(ctx)...)
	if err != nil {
		return ociError(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return ociError(err)
	}
	defer rc.Close()
	// Exactly Size bytes, and no read to EOF: go-containerregistry checks
	// the digest at EOF, but the caller hashes what it receives and puts a
	// mismatch in the terms of the sealed set (checksum, manifest).
	n, err := io.CopyN(w, rc, d.Size)
	if err == io.EOF {
		return fmt.Errorf("%w: blob %s is %d bytes, the manifest says %d", ErrRejected, d.Digest, n, d.Size)
	}
	if err != nil {
		return ociError(err)
	}
	return nil
}

func (s *ociStore) smallBlob(ctx context.Context, d v1.Descriptor, limit int64) ([]byte, error) {
	var b bytes.Buffer
	err := s.blob(ctx, d, &b, limit)
	return b.Bytes(), err
}

// Get fetches the set tagged id.
func (s *ociStore) Get(ctx context.Context, id string, create func(string) (io.Writer, error)) (*seal.SetData, error) {
	m, _, err := s.manifest(ctx, id)
	if err != nil {
		return nil, err
	}
	setName := m.Annotations[annotationTitle]
	if setName == "" || strings.ContainsAny(setName, "/\x00") || setName == "." || setName == ".." {
		return nil, errorf(s, "%s: %w: no usable set name in the manifest (%q)", id, ErrRejected, setName)
	}
	d := &seal.SetData{Files: seal.SidecarsFor(setName)}
	parts := []struct {
		mt       string
		dst      *[]byte
		optional bool
		limit    int64
	}{
		{MediaTypeChecksum, &d.Checksum, false, 1 << 20},
		{MediaTypeManifest, &d.Manifest, false, 1 << 20},
		{MediaTypeSignature, &d.Signature, true, 64 << 10},
	}
	for _, p := range parts {
		l, ok := layer(m, p.mt)
		if !ok {
			if p.optional {
				continue
			}
			return nil, errorf(s, "%s: %w: no %s layer", id, ErrRejected, p.mt)
		}
		if *p.dst, err = s.smallBlob(ctx, l, p.limit); err != nil {
			return nil, errorf(s, "get %s: %w", id, err)
		}
	}
	l, ok := layer(m, MediaTypeSealed)
	if !ok {
		return nil, errorf(s, "%s: %w: no ciphertext layer", id, ErrRejected)
	}
	w, err := create(setName)
	if err != nil {
		return nil, err
	}
	if s.opts.Progress != nil {
		w = io.MultiWriter(w, progressWriter(s.opts.Progress))
	}
	if err := s.blob(ctx, l, w, 1<<62); err != nil {
		return nil, errorf(s, "get %s: %w", id, err)
	}
	return d, nil
}

type progressWriter func(int64)

func (p progressWriter) Write(b []byte) (int, error) { p(int64(len(b))); return len(b), nil }

// List reads every tag's manifest and each set's manifest layer.
func (s *ociStore) List(ctx context.Context) ([]Entry, error) {
	tags, err := remote.List(s.repo, s.remoteOptions(ctx)...)
	if err != nil {
		return nil, errorf(s, "list: %w", ociError(err))
	}
	entries := []Entry{}
	for _, t := range tags {
		e, err := s.Stat(ctx, t)
		if errors.Is(err, errNotSet) {
			continue // another artifact or image in the same repository
		} else if err != nil {
			return nil, err
		}
		entries = append(entries, *e)
	}
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return entries, nil
}

// Stat describes the set tagged id from its manifests.
func (s *ociStore) Stat(ctx context.Context, id string) (*Entry, error) {
	m, _, err := s.manifest(ctx, id)
	if err != nil {
		return nil, err
	}
	e := &Entry{Name: m.Annotations[annotationTitle], Location: s.loc.Store() + ":" + id, SHA256: m.Annotations[annotationPrefix+"sha256"]}
	if t, err := time.Parse(time.RFC3339, m.Annotations["org.opencontainers.image.created"]); err == nil {
		e.Modified = t.UTC()
	}
	if l, ok := layer(m, MediaTypePlaintext); ok {
		e.Plaintext, e.Size = true, l.Size
		return e, nil
	}
	if l, ok := layer(m, MediaTypeSealed); ok {
		e.Size = l.Size
	}
	_, e.Signed = layer(m, MediaTypeSignature)
	if l, ok := layer(m, MediaTypeManifest); ok {
		fillManifest(e, func() ([]byte, error) { return s.smallBlob(ctx, l, 1<<20) })
	} else {
		e.Error = "no manifest layer"
	}
	return e, nil
}

// ociError classifies a registry error by its HTTP status and error codes.
func ociError(err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return err
	}
	switch te.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%w: %v", ErrAuth, err)
	case http.StatusNotFound:
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	case http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge:
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	for _, d := range te.Errors {
		switch d.Code {
		case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
			return fmt.Errorf("%w: %v", ErrAuth, err)
		case transport.NameUnknownErrorCode, transport.ManifestUnknownErrorCode, transport.BlobUnknownErrorCode:
			return fmt.Errorf("%w: %v", ErrNotFound, err)
		case transport.ManifestInvalidErrorCode, transport.DigestInvalidErrorCode, transport.SizeInvalidErrorCode, transport.UnsupportedErrorCode:
			return fmt.Errorf("%w: %v", ErrRejected, err)
		}
	}
	return err
}
