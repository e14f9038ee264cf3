package remote_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckpt-dev/ckpt/crypto/seal"
	"github.com/ckpt-dev/ckpt/internal/storetest"
	"github.com/ckpt-dev/ckpt/remote"
)

// TestOCIRoundTrip pushes a signed set to a real registry, with and
// without basic auth, checks it with skopeo as a stranger to ckpt would,
// lists it and pulls it back verified.
func TestOCIRoundTrip(t *testing.T) {
	for _, auth := range []bool{false, true} {
		t.Run(map[bool]string{false: "anonymous", true: "htpasswd"}[auth], func(t *testing.T) {
			reg := storetest.StartRegistry(t, auth)
			t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t, reg.User, reg.Password))
			ctx := context.Background()
			path, allowed := sealedSet(t, t.TempDir(), kubeletName, 300<<10)
			loc := "oci://" + reg.Addr + "/checkpoints/web"
			e, err := remote.Upload(ctx, loc, path, remote.Options{})
			if err != nil {
				t.Fatal(err)
			}
			tag := remote.TagFor(filepath.Base(path))
			if strings.Contains(tag, ":") || e.Location != loc+":"+tag {
				t.Fatalf("location %q, tag %q", e.Location, tag)
			}
			if e.Manifest == nil || e.Manifest.Identity.Pod != testIdentity.Pod || !e.Signed {
				t.Fatalf("entry %+v", e)
			}

			raw := skopeoInspect(t, reg, "checkpoints/web:"+tag)
			var m struct {
				ArtifactType string            `json:"artifactType"`
				Annotations  map[string]string `json:"annotations"`
				Layers       []struct {
					MediaType   string            `json:"mediaType"`
					Annotations map[string]string `json:"annotations"`
				} `json:"layers"`
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("skopeo inspect --raw: %v\n%s", err, raw)
			}
			if m.ArtifactType != remote.ArtifactType || m.Annotations["org.opencontainers.image.title"] != filepath.Base(path) ||
				m.Annotations["dev.ckpt.namespace"] != "prod" || m.Annotations["dev.ckpt.checkpointed_at"] != "2026-12-06T21:40:00Z" {
				t.Errorf("manifest as skopeo sees it: %s", raw)
			}
			var types []string
			for _, l := range m.Layers {
				types = append(types, l.MediaType)
			}
			want := []string{remote.MediaTypeSealed, remote.MediaTypeChecksum, remote.MediaTypeSignature, remote.MediaTypeManifest}
			if strings.Join(types, " ") != strings.Join(want, " ") {
				t.Errorf("layers %v, want %v", types, want)
			}

			store, err := remote.Open(ctx, loc, remote.Options{})
			if err != nil {
				t.Fatal(err)
			}
			list, err := store.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].Name != filepath.Base(path) || list[0].Manifest.Identity.Container != "app" {
				t.Fatalf("list: %+v", list)
			}

			dir := t.TempDir()
			rep, err := remote.Pull(ctx, store, tag, dir, remote.PullOptions{Policy: seal.Policy{AllowedSigners: allowed, RequireSignature: true}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Signature == nil || !rep.Signature.Trusted {
				t.Errorf("signature not trusted: %+v", rep.Signature)
			}
			sameFiles(t, path, dir)

			// Another signer's list: the signature check fails, nothing stays.
			dir2 := t.TempDir()
			_, err = remote.Pull(ctx, store, tag, dir2, remote.PullOptions{Policy: seal.Policy{AllowedSigners: otherSigners(t), RequireSignature: true}})
			if !errors.Is(err, seal.ErrSignature) {
				t.Fatalf("pull with other signers: %v, want a signature failure", err)
			}
			emptyBut(t, dir2)
		})
	}
}

func skopeoInspect(t *testing.T, reg *storetest.Registry, ref string) []byte {
	t.Helper()
	args := []string{"inspect", "--raw", "--tls-verify=false"}
	if reg.User != "" {
		args = append(args, "--creds", reg.User+":"+reg.Password)
	}
	return storetest.Skopeo(t, append(args, "docker://"+reg.Addr+"/"+ref)...)
}

func TestOCIWrongCredentials(t *testing.T) {
	reg := storetest.StartRegistry(t, true)
	t.Setenv("DOCKER_CONFIG", reg.DockerConfig(t, reg.User, "wrong"))
	path, _ := sealedSet(t, t.TempDir(), kubeletName, 1<<10)
	_, err := remote.Upload(context.Background(), "oci://"+reg.Addr+"/checkpoints/web", path, remote.Options{Retries: 1})
	if !errors.Is(err, remote.ErrAuth) {
		t.Fatalf("push with a wrong password: %v, want ErrAuth", err)
	}
	// No credentials at all.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	_, err = remote.Upload(context.Background(), "oci://"+reg.Addr+"/checkpoints/web", path, remote.Options{Retries: 1})
	if !errors.Is(err, remote.ErrAuth) {
		t.Fatalf("push without credentials: %v, want ErrAuth", err)
	}
}

func TestOCIMissingRepository(t *testing.T) {
	reg := storetest.StartRegistry(t, false)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx := context.Background()
	store, err := remote.Open(ctx, "oci://"+reg.Addr+"/nothing/here", remote.Options{Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := remote.Pull(ctx, store, "x", dir, remote.PullOptions{}); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("pull from a missing repository: %v, want ErrNotFound", err)
	}
	if _, err := store.List(ctx); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("list of a missing repository: %v, want ErrNotFound", err)
	}
	emptyBut(t, dir)
}

// TestOCIAlteredBlob changes the ciphertext inside the registry's storage:
// pull fails and leaves nothing.
func TestOCIAlteredBlob(t *testing.T) {
	reg := storetest.StartRegistry(t, false)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx := context.Background()
	path, _ := sealedSet(t, t.TempDir(), kubeletName, 64<<10)
	loc := "oci://" + reg.Addr + "/checkpoints/web:altered"
	if _, err := remote.Upload(ctx, loc, path, remote.Options{}); err != nil {
		t.Fatal(err)
	}
	set, err := remote.LoadLocal(path, false)
	if err != nil {
		t.Fatal(err)
	}
	hex := set.Manifest.Sealed.SHA256
	blob := filepath.Join(reg.Dir, "docker/registry/v2/blobs/sha256", hex[:2], hex, "data")
	data, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(blob, data, 0o644); err != nil {
		t.Fatal(err)
	}
	store, _ := remote.Open(ctx, loc, remote.Options{Retries: 1})
	dir := t.TempDir()
	if _, err := remote.Pull(ctx, store, "altered", dir, remote.PullOptions{}); err == nil {
		t.Fatal("pull of an altered blob succeeded")
	} else if !errors.Is(err, seal.ErrChecksum) {
		t.Fatalf("pull of an altered blob: %v, want a checksum failure", err)
	}
	emptyBut(t, dir)
}
