// Package seal encrypts checkpoint archives with age, describes them in a
// manifest, and verifies and decrypts them after transfer.
//
// A sealed archive is four files side by side (see [Sidecars]):
//
//	NAME.tar.age            the age ciphertext; `age -d` opens it
//	NAME.tar.age.sha256     its checksum line; `sha256sum -c` checks it
//	NAME.tar.age.json       the manifest: sizes and SHA-256 of plaintext and
//	                        ciphertext, what the archive is, for whom it is sealed
//	NAME.tar.age.json.sig   an SSH signature of the manifest (optional);
//	                        `ssh-keygen -Y verify -n ckpt-manifest@ckpt.dev` checks it
//
// [File] seals an archive file into such a set, [Reader] an archive read
// from a pipe, and [Stream] writes the ciphertext to a stream with the
// sidecars beside a path; [Seal] is the bare encryption under them. Each
// takes the destination first, then the source, as io.Copy does, and
// [Options]. [Verify] checks a set, [Open] checks it and decrypts it,
// [OpenReader] decrypts an age stream without sidecars; [VerifyDigest]
// checks a set hashed while it was transferred.
//
// Sealing is one pass over the archive: the plaintext is read once, and
// hashing it, encrypting it, hashing the ciphertext and writing it run
// concurrently on fixed buffers, so memory stays bounded whatever the size.
//
// Verification checks the signature first (it is small), then the checksum
// of the whole file, and only then trusts the manifest. Every failure wraps
// one of [ErrChecksum], [ErrSignature], [ErrNoIdentity], [ErrCorrupt] and
// [ErrManifest], so that callers can tell them apart.
package seal
