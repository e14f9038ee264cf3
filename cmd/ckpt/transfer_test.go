package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ckpt-dev/ckpt/internal/storetest"
)

// TestTransferScript runs testdata/transfer/*.txtar, the push, pull, ls
// and build commands end to end against real stores started here: a MinIO
// server with a bucket called scripts (the AWS environment points at it)
// and two distribution registries, $REGISTRY (anonymous) and $AUTHREGISTRY
// (basic auth, user $REGUSER, password $REGPASS; $DOCKERAUTH is a docker
// config directory with those credentials). Without MinIO the scripts
// that need it skip ([minio]), unless CI=true.
func TestTransferScript(t *testing.T) {
	reg := storetest.StartRegistry(t, false)
	authReg := storetest.StartRegistry(t, true)
	dockerAuth := authReg.DockerConfig(t, authReg.User, authReg.Password)
	var env []string
	haveMinIO := false
	// The scripts run inside this subtest, while MinIO runs; when MinIO is
	// missing it skips, and the scripts run below without it.
	t.Run("minio", func(t *testing.T) {
		m := storetest.StartMinIO(t)
		m.MakeBucket("scripts")
		env = m.Env()
		haveMinIO = true
		runTransferScripts(t, reg, authReg, dockerAuth, env, true)
	})
	if !haveMinIO {
		runTransferScripts(t, reg, authReg, dockerAuth, nil, false)
	}
}

func runTransferScripts(t *testing.T, reg, authReg *storetest.Registry, dockerAuth string, awsEnv []string, minio bool) {
	testscript.Run(t, scriptParams(t, "testdata/transfer", nil, map[string]bool{"minio": minio}, func(e *testscript.Env) error {
		e.Setenv("REGISTRY", reg.Addr)
		e.Setenv("AUTHREGISTRY", authReg.Addr)
		e.Setenv("REGUSER", authReg.User)
		e.Setenv("REGPASS", authReg.Password)
		e.Setenv("DOCKERAUTH", dockerAuth)
		// An empty docker config unless a script says otherwise.
		e.Setenv("DOCKER_CONFIG", e.WorkDir)
		for _, kv := range awsEnv {
			if k, v, ok := strings.Cut(kv, "="); ok {
				e.Setenv(k, v)
			}
		}
		e.Setenv("HOME", e.WorkDir)
		return os.WriteFile(filepath.Join(e.WorkDir, "config.json"), []byte(`{"auths":{}}`), 0o600)
	}))
}
