// Package scan finds secrets in container checkpoints: private keys,
// certificates, service-account tokens and other JWTs, cloud credentials,
// HTTP authorization headers and secret-named environment variables.
//
// A checkpoint holds every memory page of the container, its rootfs
// changes, socket and pipe queues and logs, so whoever copies it off the
// node copies whatever the container knew. Scan reports what that is,
// before the copy, without writing anything to disk.
//
// The [Matcher] is the engine: it takes a stream of bytes in blocks of any
// size, finds candidate anchors ("-----BEGIN ", "eyJ", "AKIA", ...) in one
// pass, keeps an overlap window so that a value split across blocks is
// still seen whole, and validates each candidate where it stands (a JWT
// must have a JSON header naming "alg", a PEM block its END line, ...), so
// that random memory does not produce findings. A [Scanner] drives
// Matchers over an archive in one reading and collects deduplicated,
// redacted findings into a [Report]. Each [Location] of a finding is where
// its value starts, past any label (NAME=, AccountKey=), so that reading
// [Finding].Length bytes there gives the value back.
package scan
