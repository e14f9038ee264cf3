package audit_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"

	"github.com/ckpt-dev/ckpt/audit"
)

// A writer appends records and signs checkpoints; Verify checks the log
// against the public key.
func Example() {
	dir, _ := os.MkdirTemp("", "audit")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.log")

	skey, vkey, err := audit.GenerateKey("node1/ckpt-audit")
	if err != nil {
		log.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	var signed [][]byte
	l, err := audit.Open(path, audit.Options{Signer: signer, Node: "node1",
		// The agent prints each checkpoint, so that a copy leaves the node.
		Checkpointed: func(note []byte) { signed = append(signed, note) }})
	if err != nil {
		log.Fatal(err)
	}
	for _, action := range []string{audit.ActionSeal, audit.ActionShred} {
		err := l.Append(context.Background(), audit.Record{
			Action: action, Result: audit.ResultOK,
			Archive: &audit.Archive{Name: "checkpoint-web_default-app-2025-01-02T03:04:05Z.tar", Namespace: "default", Pod: "web", Container: "app"},
			Actor:   audit.Self(),
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	if err := l.Close(); err != nil { // signs a checkpoint of both records
		log.Fatal(err)
	}

	verifier, _ := note.NewVerifier(vkey)
	rep, err := audit.Verify(path, audit.VerifyOptions{Verifier: verifier})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Records, "records; latest checkpoint covers", rep.Latest.Size)
	fmt.Printf("%d checkpoint signed:\n%s", len(signed), signed[0][:len("node1/ckpt-audit\n2\n")])
	// Output:
	// 2 records; latest checkpoint covers 2
	// 1 checkpoint signed:
	// node1/ckpt-audit
	// 2
}
