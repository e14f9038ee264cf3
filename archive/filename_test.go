package archive

import (
	"testing"
	"time"
)

func TestParseFileName(t *testing.T) {
	fn, ok := ParseFileName("/var/lib/kubelet/checkpoints/checkpoint-rich-5d4f8b9c7-k8m2n_ckpt-test-rich-2026-11-28T22:28:10Z.tar")
	if !ok {
		t.Fatal("not parsed")
	}
	if fn.Pod != "rich-5d4f8b9c7-k8m2n" || fn.NamespaceContainer != "ckpt-test-rich" {
		t.Fatalf("got %+v", fn)
	}
	want := []NameSplit{{"ckpt", "test-rich"}, {"ckpt-test", "rich"}}
	if len(fn.Splits) != 2 || fn.Splits[0] != want[0] || fn.Splits[1] != want[1] {
		t.Fatalf("splits %+v", fn.Splits)
	}
	if !fn.Time.Equal(time.Date(2026, 11, 28, 22, 28, 10, 0, time.UTC)) {
		t.Fatalf("time %v", fn.Time)
	}

	// Local time with an offset, sealed and compressed extensions.
	fn, ok = ParseFileName("checkpoint-web-0_default-nginx-2026-11-28T23:28:10+01:00.tar.gz.age")
	if !ok || fn.Pod != "web-0" || len(fn.Splits) != 1 || fn.Splits[0] != (NameSplit{"default", "nginx"}) {
		t.Fatalf("got %+v %v", fn, ok)
	}
	if !fn.Time.Equal(time.Date(2026, 11, 28, 22, 28, 10, 0, time.UTC)) || fn.Time.Location() != time.UTC {
		t.Fatalf("time %v", fn.Time)
	}

	for _, bad := range []string{"podman-rich.tar", "checkpoint-x_y-2026-11-28T22:28:10Z.tar", "checkpoint-a_b-c-notatime.tar", "checkpoint-A_b-c-2026-11-28T22:28:10Z.tar"} {
		if fn, ok := ParseFileName(bad); ok {
			t.Errorf("%s parsed as %+v", bad, fn)
		}
	}
}
