// Package deps pins the chosen modules while the packages that use them are written. Removed once every one is imported.
package deps

import (
	_ "filippo.io/age"
	_ "github.com/checkpoint-restore/checkpointctl/lib"
	_ "github.com/checkpoint-restore/go-criu/v8/crit/images/pagemap"
	_ "github.com/hiddeco/sshsig"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/olekukonko/tablewriter"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/spf13/cobra"
	_ "github.com/ulikunitz/xz"
	_ "golang.org/x/crypto/chacha20"
	_ "golang.org/x/sys/unix"
	_ "golang.org/x/term"
	_ "google.golang.org/protobuf/proto"
)
