package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"filippo.io/age"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ckpt-dev/ckpt/archive"
	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/crypto/seal"
)

// This file holds the flags and prompts every command that reads or writes
// sealed files shares: -i identities, --passphrase-file, and the terminal
// prompt. Commands that read archives (inspect, mem, ...) call
// addIdentityFlags and then decrypter to accept sealed input.

// secrets answers passphrase questions: from --passphrase-file when given,
// else on the terminal. Without either it refuses, so a script never hangs
// on a prompt nobody sees.
type secrets struct {
	a    *app
	file string // --passphrase-file
}

// maxPassphraseFile caps --passphrase-file: a passphrase is one line.
const maxPassphraseFile = 64 << 10

// fromFile reads the first line of the passphrase file.
func (s *secrets) fromFile() ([]byte, error) {
	f, err := os.Open(s.file)
	if err != nil {
		return nil, fmt.Errorf("--passphrase-file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPassphraseFile+1))
	if err != nil {
		return nil, fmt.Errorf("--passphrase-file: %s: %w", s.file, err)
	}
	if len(data) > maxPassphraseFile {
		return nil, fmt.Errorf("--passphrase-file: %s: larger than %d bytes", s.file, maxPassphraseFile)
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return nil, fmt.Errorf("--passphrase-file: %s: the first line is empty", s.file)
	}
	return line, nil
}

// canPrompt reports whether there is a person to ask: a terminal on stdin or
// stderr. The prompt itself goes through /dev/tty, so it works while stdin
// carries data.
func (s *secrets) canPrompt() bool {
	return isTerminal(s.a.stdin) || isTerminal(s.a.stderr)
}

// errNoTerminal explains how to give a passphrase without a terminal.
var errNoTerminal = errors.New("no terminal to ask on; give it with --passphrase-file FILE")

// ask returns the passphrase for what. With confirm, the terminal asks twice
// (for sealing, where a typo would lock the data away).
func (s *secrets) ask(what string, confirm bool) ([]byte, error) {
	if s.file != "" {
		return s.fromFile()
	}
	if !s.canPrompt() {
		return nil, errNoTerminal
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", errNoTerminal, err)
	}
	defer tty.Close()
	read := func(prompt string) ([]byte, error) {
		fmt.Fprintf(tty, "Enter %s: ", prompt)
		p, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		return p, err
	}
	p, err := read(what)
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, errors.New("empty passphrase")
	}
	if confirm {
		again, err := read(what + " again")
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(p, again) {
			return nil, errors.New("the passphrases differ")
		}
	}
	return p, nil
}

// prompt is ask as a keys.Prompt, for encrypted keys and identity files.
func (s *secrets) prompt(what string) ([]byte, error) { return s.ask(what, false) }

// identityFlags are -i and --passphrase-file on commands that decrypt.
type identityFlags struct {
	files          []string
	passphraseFile string
	loaded         []age.Identity // after the first identities call
}

// addIdentityFlags registers -i (repeatable) and --passphrase-file on cmd.
func addIdentityFlags(cmd *cobra.Command) *identityFlags {
	f := &identityFlags{}
	cmd.Flags().StringArrayVarP(&f.files, "identity", "i", nil,
		"identity `FILE`: age key (ckpt keygen, age-keygen) or SSH private key; repeatable")
	cmd.Flags().StringVar(&f.passphraseFile, "passphrase-file", "",
		"read passphrases (of the sealed file or of an encrypted key) from the first line of `FILE` instead of the terminal")
	return f
}

// given reports whether any way to decrypt was named.
func (f *identityFlags) given() bool { return len(f.files) > 0 || f.passphraseFile != "" }

// identities loads the -i files. A passphrase identity is always added last:
// it asks only when a file turns out to be sealed to a passphrase.
func (f *identityFlags) identities(a *app) ([]age.Identity, error) {
	if f.loaded != nil {
		// The same identities for every file of the command, so that an
		// encrypted key is unlocked once.
		return f.loaded, nil
	}
	s := &secrets{a: a, file: f.passphraseFile}
	var ids []age.Identity
	for _, name := range f.files {
		got, err := keys.ReadIdentityFile(name, s.prompt)
		if err != nil {
			return nil, fmt.Errorf("-i: %w", err)
		}
		ids = append(ids, got...)
	}
	ids = append(ids, keys.NewPassphraseIdentity(func() ([]byte, error) {
		return s.ask("passphrase", false)
	}))
	f.loaded = ids
	return ids, nil
}

// decrypter returns a seal.Decrypter over the -i identities, which the
// archive reader takes to read sealed archives in the stream.
func (f *identityFlags) decrypter(a *app) (*seal.Decrypter, error) {
	ids, err := f.identities(a)
	if err != nil {
		return nil, err
	}
	return seal.NewDecrypter(ids...), nil
}

// explainNoIdentity adds what the user can do to a "no identity matched"
// or "sealed" error: the library's errors name no flags.
func (f *identityFlags) explainNoIdentity(err error) error {
	if (errors.Is(err, seal.ErrNoIdentity) || errors.Is(err, archive.ErrSealed)) && len(f.files) == 0 && !errors.Is(err, keys.ErrWrongPassphrase) {
		return fmt.Errorf("%w; give the key with -i KEYFILE", err)
	}
	return err
}

// recipientFlags are -r, -R and -p on seal.
type recipientFlags struct {
	recipients []string
	files      []string
	passphrase bool
}

func addRecipientFlags(cmd *cobra.Command) *recipientFlags {
	f := &recipientFlags{}
	cmd.Flags().StringArrayVarP(&f.recipients, "recipient", "r", nil,
		"seal to `RECIPIENT`: age1..., age1pq1..., or an ssh-ed25519/ssh-rsa public key; repeatable")
	cmd.Flags().StringArrayVarP(&f.files, "recipients-file", "R", nil,
		"seal to every recipient in `FILE` (one per line, # comments; authorized_keys works); repeatable")
	cmd.Flags().BoolVarP(&f.passphrase, "passphrase", "p", false,
		"seal to a passphrase (asked on the terminal, or read with --passphrase-file)")
	return f
}

// load parses the recipients, enforcing age's mixing rules in terms of the
// flags the user typed.
func (f *recipientFlags) load(a *app, s *secrets) ([]keys.Recipient, error) {
	if f.passphrase && (len(f.recipients) > 0 || len(f.files) > 0) {
		return nil, usageErrorf("-p cannot be combined with -r or -R: a passphrase must be the only recipient of a file (anyone holding one of the keys could make a file that opens with the passphrase); seal twice instead")
	}
	if !f.passphrase && len(f.recipients) == 0 && len(f.files) == 0 {
		return nil, usageErrorf("no recipients: give -r RECIPIENT, -R FILE or -p")
	}
	if f.passphrase {
		if s.file == "" && !s.canPrompt() {
			return nil, usageErrorf("-p: %v", errNoTerminal)
		}
		p, err := s.ask("passphrase to seal with", true)
		if err != nil {
			return nil, fmt.Errorf("-p: %w", err)
		}
		r, err := keys.NewPassphrase(p)
		if err != nil {
			return nil, fmt.Errorf("-p: %w", err)
		}
		return []keys.Recipient{r}, nil
	}
	var rs []keys.Recipient
	for _, v := range f.recipients {
		r, err := keys.ParseRecipient(v)
		if err != nil {
			return nil, usageErrorf("-r: %v", err)
		}
		rs = append(rs, r)
	}
	for _, name := range f.files {
		file, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("-R: %w", err)
		}
		got, skipped, err := keys.ParseRecipientsFile(name, file)
		file.Close()
		for _, s := range skipped {
			a.warnf("-R: skipping %s", s)
		}
		if err != nil {
			return nil, fmt.Errorf("-R: %w", err)
		}
		rs = append(rs, got...)
	}
	rs = keys.Dedup(rs)
	if err := keys.CheckMix(rs); err != nil {
		if errors.Is(err, keys.ErrMixedPostQuantum) {
			return nil, usageErrorf("%v; seal to age1pq1 recipients only (ckpt keygen --pq), or to classic ones only", err)
		}
		return nil, usageErrorf("%v", err)
	}
	return rs, nil
}
