package scantest

import "github.com/ckpt-dev/ckpt/internal/testgen"

// EnvPassword is the secret-named variable in the environment of every
// process of Planted's archive, and of its spec.dump; it is the
// env-secret fake.
const EnvPassword = "DB_PASSWORD=fake-db-password-42"

// Planted returns the spec of an archive with every fake in every place a
// secret can be: in the heap of its two processes (each fake between
// NULs, as C strings are), again far into anonymous memory across a page
// boundary (the kubernetes token) and across two pagemap entries (the
// certificate), in the environment, in a rootfs-diff file
// (/app/secrets.env), in a unix socket queue, a pipe, a TCP stream and
// the container log. The last four hold Blob(Fakes()). Logs need engine
// Podman (ctr.log) or containerd (container.log).
func Planted(engine string) testgen.Spec {
	fakes := Fakes()
	blob, _ := Blob(fakes)
	spec := testgen.Spec{
		Engine:    engine,
		Processes: 2,
		PageBytes: 8 << 20,
		Env:       []string{"PATH=/usr/bin:/bin", "FOO=bar", EnvPassword, "HOME=/root"},
		RootFS:    []testgen.File{{Path: "/app/secrets.env", Content: blob}},
		UnixPairs: []testgen.UnixPair{{ToA: blob}},
		Pipes:     []testgen.Pipe{{Data: blob}},
		TCP:       []testgen.TCPConn{{ToServer: blob}},
		Logs:      blob,
	}
	for i, f := range fakes {
		spec.Markers = append(spec.Markers, testgen.Marker{Data: []byte("\x00" + f.Text + "\x00"), Process: i % 2})
	}
	spec.Markers = append(spec.Markers,
		testgen.Marker{Data: []byte("\x00" + fakes[2].Text + "\x00"), Process: 1, Region: testgen.RegionAnon, Straddle: testgen.StraddlePage},
		testgen.Marker{Data: []byte("\x00" + fakes[11].Text + "\x00"), Process: 0, Region: testgen.RegionAnon, Straddle: testgen.StraddleEntry})
	return spec
}
