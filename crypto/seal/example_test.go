package seal_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/crypto/seal"
)

// Seal a stream to an age recipient and read it back with the matching
// identity, as the archive reader does with sealed input.
func ExampleSeal() {
	key, err := keys.Generate(false, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	recipient, err := keys.ParseRecipient(key.Recipient)
	if err != nil {
		log.Fatal(err)
	}
	archive := strings.NewReader("checkpoint archive bytes")

	var sealed bytes.Buffer
	res, err := seal.Seal(context.Background(), &sealed, archive, seal.Options{Recipients: []keys.Recipient{recipient}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sealed %d bytes\n", res.Plaintext.Size)

	ids, err := keys.ParseIdentities("key.txt", key.File(), nil)
	if err != nil {
		log.Fatal(err)
	}
	plain, err := seal.NewDecrypter(ids...).Decrypt(&sealed)
	if err != nil {
		log.Fatal(err)
	}
	b, err := io.ReadAll(plain)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", b)
	// Output:
	// sealed 24 bytes
	// checkpoint archive bytes
}

// Seal an archive file with its sidecars, then verify it as a receiver
// would after the transfer.
func ExampleFile() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	archive := filepath.Join(dir, "checkpoint-web_default-app-2025-01-02T03:04:05Z.tar")
	if err := os.WriteFile(archive, []byte("checkpoint archive bytes"), 0o600); err != nil {
		log.Fatal(err)
	}
	key, _ := keys.Generate(false, time.Now())
	recipient, _ := keys.ParseRecipient(key.Recipient)

	res, err := seal.File(context.Background(), archive+".age", archive, seal.Options{
		Recipients: []keys.Recipient{recipient},
		Node:       "node1",
		Tool:       "example",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Base(res.Files.Checksum))
	fmt.Println(filepath.Base(res.Files.Manifest))

	rep, err := seal.Verify(context.Background(), archive+".age", seal.VerifyOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified", rep.Manifest.Archive.Name, rep.Manifest.Archive.Size, "bytes, sealed on", rep.Manifest.Node)
	// Output:
	// checkpoint-web_default-app-2025-01-02T03:04:05Z.tar.age.sha256
	// checkpoint-web_default-app-2025-01-02T03:04:05Z.tar.age.json
	// verified checkpoint-web_default-app-2025-01-02T03:04:05Z.tar 24 bytes, sealed on node1
}
