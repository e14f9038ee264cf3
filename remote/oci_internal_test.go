package remote

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/ckpt-dev/ckpt/internal/storetest"
)

// TestOCIRegistryRefusesMediaType sends the set under a manifest media type
// the distribution registry does not accept (the withdrawn OCI artifact
// manifest of the 1.1 release candidates, which some registries took and
// others refuse), so that a real registry refuses it, and checks the error
// says what was refused and why.
func TestOCIRegistryRefusesMediaType(t *testing.T) {
	reg := storetest.StartRegistry(t, false)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx := context.Background()
	s, err := Open(ctx, "oci://"+reg.Addr+"/checkpoints/web:refused", Options{Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.(*ociStore).manifestType = types.MediaType("application/vnd.oci.artifact.manifest.v1+json")
	set := &Local{Name: "x.tar.age", Checksum: []byte("0000000000000000000000000000000000000000000000000000000000000000  x.tar.age\n"), ManifestData: []byte("{}"), Plaintext: false}
	set.Files.Sealed = "" // no ciphertext file: only the sidecars go up
	err = s.Put(ctx, set)
	if !errors.Is(err, ErrRejected) {
		t.Fatalf("put under a refused media type: %v, want ErrRejected", err)
	}
	for _, want := range []string{"refused the artifact", "application/vnd.oci.artifact.manifest.v1+json", "OCI 1.1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
