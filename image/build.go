package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	metadata "github.com/checkpoint-restore/checkpointctl/lib"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/stream"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
)

// AnnotationCRIOCheckpointName marks an image as a checkpoint for CRI-O,
// which restores from an image carrying it; its value is the container's
// name.
const AnnotationCRIOCheckpointName = "io.kubernetes.cri-o.annotations.checkpoint.name"

// Annotations are the image annotations for an archive's identity: CRI-O's
// and checkpointctl's (org.criu.checkpoint.*), empty values left out.
func Annotations(id archive.Identity) map[string]string {
	a := map[string]string{}
	for k, v := range map[string]string{
		AnnotationCRIOCheckpointName:                 id.Container,
		metadata.CheckpointAnnotationName:            id.Container,
		metadata.CheckpointAnnotationPod:             id.Pod,
		metadata.CheckpointAnnotationNamespace:       id.Namespace,
		metadata.CheckpointAnnotationPodUID:          id.PodUID,
		metadata.CheckpointAnnotationEngine:          id.Engine,
		metadata.CheckpointAnnotationRuntimeName:     id.Runtime,
		metadata.CheckpointAnnotationCriuVersion:     id.CRIUVersion,
		metadata.CheckpointAnnotationRootfsImageName: id.Image,
	} {
		if v != "" {
			a[k] = v
		}
	}
	if !id.Checkpointed.IsZero() {
		a["org.opencontainers.image.created"] = id.Checkpointed.UTC().Format(time.RFC3339)
	}
	return a
}

// Target kinds, as IMAGE is written.
const (
	prefixLayout = "oci-layout:"
	prefixDocker = "docker-archive:"
)

// Options configure Build.
type Options struct {
	// Insecure allows a registry over plain HTTP (always allowed on
	// loopback).
	Insecure bool
	// Overwrite replaces an existing docker-archive file.
	Overwrite bool
	// Encrypt, when set, encrypts the layer in ocicrypt's format (oci-layout
	// targets only).
	Encrypt *Encryption
}

// Result describes a built image.
type Result struct {
	Target string `json:"target"`
	// Digest is the manifest's; empty for a docker-archive, whose loader
	// writes its own manifest.
	Digest string `json:"digest"`
	// ImageID is the config's digest, what `docker images` shows.
	ImageID     string            `json:"image_id"`
	LayerDigest string            `json:"layer_digest"`
	LayerSize   int64             `json:"layer_size"`
	Annotations map[string]string `json:"annotations"`
	Identity    archive.Identity  `json:"identity"`
}

// Build writes the restore image of archive a to target:
// oci-layout:DIR[:TAG] (created or added to), docker-archive:FILE[:REF], or
// a registry reference to push to. The archive is read once.
func Build(ctx context.Context, a *archive.Archive, target string, opts Options) (*Result, error) {
	switch {
	case strings.HasPrefix(target, prefixLayout):
		dir, tag := splitTag(strings.TrimPrefix(target, prefixLayout))
		return buildLayout(a, dir, tag, opts.Encrypt)
	case opts.Encrypt != nil:
		return nil, fmt.Errorf("%s: layer encryption writes an oci-layout: target; copy it on with skopeo copy oci:DIR docker://…, which keeps the layer encrypted", target)
	case strings.HasPrefix(target, prefixDocker):
		// As skopeo: the reference follows the first colon.
		file, ref, _ := strings.Cut(strings.TrimPrefix(target, prefixDocker), ":")
		return buildDocker(a, file, ref, opts)
	case strings.Contains(target, "://"):
		return nil, fmt.Errorf("%s: want oci-layout:DIR[:TAG], docker-archive:FILE[:REF] or a registry reference", target)
	}
	return buildRegistry(ctx, a, target, opts)
}

// splitTag splits PATH[:TAG] at the last colon after the last slash.
func splitTag(s string) (string, string) {
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// imageConfig is the OCI image config of a restore image.
func imageConfig(l *Layer, ann map[string]string) ([]byte, error) {
	created := l.Identity.Checkpointed
	cfg := v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{sha(l.SHA256)}},
		Config:       v1.Config{Labels: ann},
	}
	if !created.IsZero() {
		cfg.Created = v1.Time{Time: created.UTC()}
	}
	return json.Marshal(cfg)
}

func sha(sum [sha256.Size]byte) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

func blobHash(data []byte) v1.Hash { return sha(sha256.Sum256(data)) }

// manifest is the image manifest for a layer and a config.
func manifest(layer v1.Descriptor, config []byte, ann map[string]string) ([]byte, error) {
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(config)), Digest: blobHash(config)},
		Layers:        []v1.Descriptor{layer},
		Annotations:   ann,
	}
	return json.Marshal(m)
}

func result(target string, l *Layer, layerDigest v1.Hash, layerSize int64, ann map[string]string, config, mf []byte) *Result {
	return &Result{Target: target, Digest: blobHash(mf).String(), ImageID: blobHash(config).String(), LayerDigest: layerDigest.String(), LayerSize: layerSize, Annotations: ann, Identity: l.Identity}
}

// buildLayout writes the layer straight into the layout's blob directory
// (a temporary name, renamed to its digest once known).
func buildLayout(a *archive.Archive, dir, tag string, enc *Encryption) (*Result, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return nil, err
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, err
		}
	}
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o700); err != nil {
		return nil, err
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(blobs, ".layer-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	var (
		l         *Layer
		blobSum   [sha256.Size]byte
		blobSize  int64
		mediaType = types.OCIUncompressedLayer
		layerAnn  map[string]string
	)
	if enc != nil {
		var el *encryptedLayer
		if el, err = writeEncrypted(a, f, enc); err == nil {
			l, blobSum, blobSize, mediaType, layerAnn = el.plain, el.sha256, el.size, MediaTypeEncryptedLayer, el.annotations
		}
	} else if l, err = WriteLayer(a, f); err == nil {
		blobSum, blobSize = l.SHA256, l.Size
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	ld := sha(blobSum)
	if err := os.Rename(tmp, filepath.Join(blobs, ld.Hex)); err != nil {
		return nil, err
	}
	ann := Annotations(l.Identity)
	config, err := imageConfig(l, ann)
	if err != nil {
		return nil, err
	}
	layerDesc := v1.Descriptor{MediaType: mediaType, Size: blobSize, Digest: ld, Annotations: layerAnn}
	mf, err := manifest(layerDesc, config, ann)
	if err != nil {
		return nil, err
	}
	for _, b := range [][]byte{config, mf} {
		if err := p.WriteBlob(blobHash(b), io.NopCloser(bytes.NewReader(b))); err != nil {
			return nil, err
		}
	}
	desc := v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: int64(len(mf)), Digest: blobHash(mf), Annotations: map[string]string{}}
	for k, v := range ann {
		desc.Annotations[k] = v
	}
	if tag != "" {
		desc.Annotations["org.opencontainers.image.ref.name"] = tag
	}
	if err := p.AppendDescriptor(desc); err != nil {
		return nil, err
	}
	// go-containerregistry writes its files world-readable; the layout
	// describes a checkpoint, so it is kept to its owner like the layer.
	for _, f := range []string{"index.json", "oci-layout", filepath.Join("blobs", "sha256", blobHash(config).Hex), filepath.Join("blobs", "sha256", blobHash(mf).Hex)} {
		if err := os.Chmod(filepath.Join(dir, f), 0o600); err != nil {
			return nil, err
		}
	}
	target := prefixLayout + dir
	if tag != "" {
		target += ":" + tag
	}
	return result(target, l, ld, blobSize, ann, config, mf), nil
}

// buildDocker writes a `docker save` tarball: the layer as its first member
// (written in place, its header filled in once the size is known), then the
// config and manifest.json.
func buildDocker(a *archive.Archive, file, ref string, opts Options) (*Result, error) {
	var tags []string
	if ref != "" {
		t, err := name.NewTag(ref)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", ref, err)
		}
		tags = []string{t.String()}
	}
	f, err := atomicfile.Create(file, opts.Overwrite)
	if err != nil {
		return nil, err
	}
	defer f.Abort()
	const layerName = "layer.tar"
	if _, err := f.Seek(512, io.SeekStart); err != nil {
		return nil, err
	}
	l, err := WriteLayer(a, f)
	if err != nil {
		return nil, err
	}
	if pad := (512 - l.Size%512) % 512; pad > 0 {
		if _, err := f.Write(make([]byte, pad)); err != nil {
			return nil, err
		}
	}
	ann := Annotations(l.Identity)
	config, err := imageConfig(l, ann)
	if err != nil {
		return nil, err
	}
	configName := blobHash(config).Hex + ".json"
	dm, err := json.Marshal([]struct {
		Config   string
		RepoTags []string
		Layers   []string
	}{{configName, tags, []string{layerName}}})
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(f)
	for _, m := range []struct {
		name string
		data []byte
	}{{configName, config}, {"manifest.json", dm}} {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Size: int64(len(m.data)), Mode: 0o644, Typeflag: tar.TypeReg, ModTime: l.Identity.Checkpointed, Format: tar.FormatGNU}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(m.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	// The layer's header, in GNU format: one block whatever the size.
	var hb bytes.Buffer
	htw := tar.NewWriter(&hb)
	if err := htw.WriteHeader(&tar.Header{Name: layerName, Size: l.Size, Mode: 0o644, Typeflag: tar.TypeReg, ModTime: l.Identity.Checkpointed, Format: tar.FormatGNU}); err != nil {
		return nil, err
	}
	if hb.Len() != 512 {
		return nil, fmt.Errorf("layer header of %d bytes", hb.Len())
	}
	if _, err := f.WriteAt(hb.Bytes(), 0); err != nil {
		return nil, err
	}
	if err := f.Commit(); err != nil {
		return nil, err
	}
	ld := sha(l.SHA256)
	target := prefixDocker + file
	if ref != "" {
		target += ":" + ref
	}
	r := result(target, l, ld, l.Size, ann, config, nil)
	r.Digest = ""
	return r, nil
}

// buildRegistry streams the layer (gzip, fastest level) up while the
// archive is read, then puts the config and the manifest.
func buildRegistry(ctx context.Context, a *archive.Archive, target string, opts Options) (*Result, error) {
	var nopts []name.Option
	if opts.Insecure || loopback(target) {
		nopts = append(nopts, name.Insecure)
	}
	ref, err := name.ParseReference(target, nopts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", target, err)
	}
	ro := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithUserAgent("ckpt")}
	pr, pw := io.Pipe()
	type walked struct {
		l   *Layer
		err error
	}
	done := make(chan walked, 1)
	go func() {
		l, err := WriteLayer(a, pw)
		pw.CloseWithError(err)
		done <- walked{l, err}
	}()
	sl := stream.NewLayer(pr, stream.WithCompressionLevel(gzip.BestSpeed))
	uerr := remote.WriteLayer(ref.Context(), sl, ro...)
	pr.CloseWithError(errors.New("upload ended"))
	w := <-done
	if w.err != nil {
		return nil, w.err
	}
	if uerr != nil {
		return nil, fmt.Errorf("%s: %w", target, uerr)
	}
	l := w.l
	ld, err := sl.Digest()
	if err != nil {
		return nil, err
	}
	size, err := sl.Size()
	if err != nil {
		return nil, err
	}
	ann := Annotations(l.Identity)
	config, err := imageConfig(l, ann)
	if err != nil {
		return nil, err
	}
	if err := remote.WriteLayer(ref.Context(), static.NewLayer(config, types.OCIConfigJSON), ro...); err != nil {
		return nil, fmt.Errorf("%s: %w", target, err)
	}
	mf, err := manifest(v1.Descriptor{MediaType: types.OCILayer, Size: size, Digest: ld}, config, ann)
	if err != nil {
		return nil, err
	}
	if err := remote.Put(ref, rawManifest(mf), ro...); err != nil {
		return nil, fmt.Errorf("%s: %w", target, err)
	}
	return result(ref.String(), l, ld, size, ann, config, mf), nil
}

type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

func loopback(ref string) bool {
	host := strings.SplitN(ref, "/", 2)[0]
	return strings.HasPrefix(host, "127.") || strings.HasPrefix(host, "localhost") || strings.HasPrefix(host, "[::1]")
}
