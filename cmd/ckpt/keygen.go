package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/internal/atomicfile"
)

func newKeygenCmd(a *app) *cobra.Command {
	var pq, force bool
	var show string
	cmd := &cobra.Command{
		Use:   "keygen -o FILE [--pq] | keygen -y FILE",
		Short: "Make an age identity to seal checkpoints to",
		Long: `keygen makes an age identity (secret key), writes it to FILE with mode 0600,
and prints its recipient (public key): give that to ckpt seal -r on the
nodes, keep FILE on the machine that opens the archives. The file is the
one age-keygen writes; stock age -d -i FILE opens what ckpt seals.

--pq makes a post-quantum hybrid identity (ML-KEM-768 + X25519, age1pq1...)
that protects sealed checkpoints against a future quantum computer. Files
sealed to it need age v1.3 or later to open, and post-quantum recipients
cannot share a file with classic ones.

-y prints the recipients of an existing identity file.

For signing manifests use an SSH key: ssh-keygen -t ed25519 -f node-signing-key`,
		Example: `  ckpt keygen -o ~/.config/ckpt/key.txt
  R=$(ckpt keygen --pq -o key-pq.txt)
  ckpt keygen -y key.txt`,
		Args: cobra.NoArgs,
	}
	o := addOutputFlags(cmd, true)
	cmd.Flags().BoolVar(&pq, "pq", false, "make a post-quantum hybrid identity (age1pq1...)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing FILE")
	cmd.Flags().StringVarP(&show, "show-recipient", "y", "", "print the recipients of the identity `FILE` instead of making one")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if show != "" {
			if pq || force || o.file != "" {
				return usageErrorf("-y only reads an identity file: drop --pq, --force and -o FILE")
			}
			return runShowRecipient(a, o, show)
		}
		switch {
		case o.file == "":
			return usageErrorf("give -o FILE: the secret key is written there with mode 0600 (a shell redirection would leave it readable by others)")
		case o.file == "-" && o.format == formatJSON:
			return usageErrorf("with -o - the identity itself is the output; JSON needs -o FILE")
		}
		key, err := keys.Generate(pq, time.Now())
		if err != nil {
			return err
		}
		if o.file == "-" {
			if isTerminal(a.stdout) {
				a.warnf("printing a secret key on the terminal")
			}
			fmt.Fprintf(a.stderr, "Public key: %s\n", key.Recipient)
			_, err := a.stdout.Write(key.File())
			return err
		}
		f, err := atomicfile.Create(o.file, force)
		if err != nil {
			return err
		}
		defer f.Abort()
		if _, err := f.Write(key.File()); err != nil {
			return err
		}
		if err := f.Commit(); err != nil {
			return err
		}
		out := keygenOutput{IdentityFile: o.file, Type: key.Type, Recipient: key.Recipient, Fingerprint: key.Fingerprint(), Created: key.Created.Format(time.RFC3339)}
		return o.emitLines(a.stdout, out, key.Recipient)
	}
	return cmd
}

type keygenOutput struct {
	IdentityFile string `json:"identity_file"`
	Type         string `json:"type"`
	Recipient    string `json:"recipient"`
	Fingerprint  string `json:"fingerprint"`
	Created      string `json:"created"`
}

type recipientsOutput struct {
	Recipients []recipientOutput `json:"recipients"`
}

type recipientOutput struct {
	Recipient   string `json:"recipient"`
	Fingerprint string `json:"fingerprint"`
}

func runShowRecipient(a *app, o *outputFlag, path string) error {
	ids, err := keys.ReadIdentityFile(path, nil)
	if err != nil {
		return err
	}
	rs, err := keys.RecipientsOf(ids)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	out := recipientsOutput{Recipients: []recipientOutput{}}
	for _, r := range rs {
		out.Recipients = append(out.Recipients, recipientOutput{r, keys.Fingerprint(r)})
	}
	return o.emitLines(a.stdout, out, rs...)
}
