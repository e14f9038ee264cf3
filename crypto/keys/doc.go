// Package keys parses the age recipients and identities ckpt accepts and
// makes new age identities.
//
// Recipients are age X25519 keys (age1...), post-quantum hybrid keys
// (age1pq1...), SSH ssh-ed25519 and ssh-rsa public keys, files holding any
// of them one per line (with # comments and authorized_keys-style options),
// and passphrases. Identities are age identity files (X25519 and
// post-quantum, plain or passphrase-encrypted), SSH private keys (prompting
// for the passphrase of an encrypted one only when the file needs it), and
// passphrases.
//
// Plugin recipients and identities (age1plugin1..., AGE-PLUGIN-...) are not
// accepted: they run external programs, which a tool handling memory dumps
// as root should not do behind the operator's back.
package keys
