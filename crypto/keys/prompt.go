package keys

import (
	"errors"
)

// Prompt asks the user for a secret. what says which one, e.g.
// `passphrase for "key.txt"`. It is only called when the secret is needed.
type Prompt func(what string) ([]byte, error)

// ErrWrongPassphrase is returned, wrapped, when a passphrase does not open a
// file, an encrypted identity file or an encrypted SSH key.
var ErrWrongPassphrase = errors.New("wrong passphrase")

// errNoPrompt is the PromptError cause when a secret is needed and prompt is
// nil.
var errNoPrompt = errors.New("no way to ask for it")

// PromptError is returned when a secret was needed and could not be read
// (no terminal, end of input). It says nothing about the file being opened.
type PromptError struct {
	What string // what was asked for
	Err  error
}

func (e *PromptError) Error() string { return e.What + ": " + e.Err.Error() }
func (e *PromptError) Unwrap() error { return e.Err }

// ask calls prompt, turning its failure, or its absence, into a PromptError.
func ask(prompt Prompt, what string) ([]byte, error) {
	if prompt == nil {
		return nil, &PromptError{what, errNoPrompt}
	}
	p, err := prompt(what)
	if err != nil {
		return nil, &PromptError{what, err}
	}
	return p, nil
}
