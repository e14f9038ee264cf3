package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/ckpt-dev/ckpt/crypto/keys"
	"github.com/ckpt-dev/ckpt/crypto/sign"
)

// signAgent is the --sign value that means "the only key in ssh-agent".
const signAgent = "agent"

// loadSigner resolves --sign: "agent" (the ssh-agent's only key), a public
// key file (that key, from ssh-agent), or a private key file (asking for its
// passphrase if it is encrypted). The returned close releases the agent
// connection after signing.
func loadSigner(a *app, spec string, s *secrets) (ssh.Signer, func(), error) {
	if spec == signAgent {
		return agentSigner(a, nil)
	}
	f, err := os.Open(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("--sign: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	f.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("--sign: %s: %w", spec, err)
	}
	if pub, _, _, _, err := ssh.ParseAuthorizedKey(data); err == nil {
		return agentSigner(a, pub)
	}
	signer, err := sign.LoadSigner(spec, data, s.prompt)
	if err != nil {
		return nil, nil, fmt.Errorf("--sign: %w", err)
	}
	return signer, func() {}, nil
}

func agentSigner(a *app, pub ssh.PublicKey) (ssh.Signer, func(), error) {
	sock := a.getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, nil, errors.New("--sign: SSH_AUTH_SOCK is not set: no ssh-agent to sign with (give a private key file instead)")
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, nil, fmt.Errorf("--sign: ssh-agent: %w", err)
	}
	signer, err := sign.AgentSigner(agent.NewClient(conn), pub)
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("--sign: %w", err)
	}
	return signer, func() { conn.Close() }, nil
}

// loadSealKeys loads what sealing needs before any work starts: the
// recipients and, when sign names a key, the signer. done releases the
// signer (an agent connection); it is never nil.
func loadSealKeys(a *app, r *recipientFlags, sign string, s *secrets) ([]keys.Recipient, ssh.Signer, func(), error) {
	recipients, err := r.load(a, s)
	if err != nil {
		return nil, nil, func() {}, err
	}
	if sign == "" {
		return recipients, nil, func() {}, nil
	}
	signer, done, err := loadSigner(a, sign, s)
	if err != nil {
		return nil, nil, func() {}, err
	}
	return recipients, signer, done, nil
}
