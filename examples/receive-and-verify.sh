#!/bin/sh
# Verify after transfer: check every sealed checkpoint in a directory
# against its checksum line and signed manifest, then (optionally) open it.
#
#   receive-and-verify.sh DIR
#
#   ALLOWED_SIGNERS   OpenSSH allowed signers file listing the nodes' signing
#                     keys (required): "node1 namespaces=\"ckpt-manifest@ckpt.dev\" ssh-ed25519 AAAA..."
#   CKPT_SIGNER       principal the signer must be, e.g. node1 (optional)
#   CKPT_IDENTITY     age identity to open the archives with (optional;
#                     without it nothing is decrypted)
#   VERIFY_WITH=stock check with sha256sum, ssh-keygen and age only, as a
#                     receiver without ckpt would
#
# Exit status: 0 when every file verified (and opened); otherwise that of
# the first failure (ckpt: 3 checksum, 4 signature, 5 key, 6 corrupt,
# 7 manifest; stock tools: 1).
set -eu
# Plaintext checkpoints are root-only: whatever this script creates is 0600.
umask 077

if [ $# -ne 1 ] || [ -z "${ALLOWED_SIGNERS:-}" ]; then
	echo "usage: ALLOWED_SIGNERS=FILE $0 DIR" >&2
	exit 2
fi
allowed=$(cd -- "$(dirname -- "$ALLOWED_SIGNERS")" && pwd)/$(basename -- "$ALLOWED_SIGNERS")
identity=
if [ -n "${CKPT_IDENTITY:-}" ]; then
	identity=$(cd -- "$(dirname -- "$CKPT_IDENTITY")" && pwd)/$(basename -- "$CKPT_IDENTITY")
fi
cd -- "$1"

status=0
for sealed in ./*.age; do
	[ -e "$sealed" ] || { echo "no sealed files in $1" >&2; exit 1; }
	name=$(basename -- "$sealed")
	if [ "${VERIFY_WITH:-ckpt}" = stock ]; then
		# The same checks with stock tools. sha256sum -c resolves the name
		# in the line against the current directory, hence the cd above.
		signer=${CKPT_SIGNER:-$(ssh-keygen -Y find-principals -f "$allowed" -s "$sealed.json.sig" | head -n 1)}
		if ssh-keygen -Y verify -f "$allowed" -I "$signer" -n ckpt-manifest@ckpt.dev \
			-s "$sealed.json.sig" <"$sealed.json" >/dev/null &&
			sha256sum --quiet -c "$sealed.sha256"; then
			echo "$name: verified (signed by $signer)"
			if [ -n "$identity" ]; then
				age -d -i "$identity" -o "${sealed%.age}" "$sealed"
				echo "$name: opened"
			fi
		else
			echo "$name: FAILED" >&2
			[ $status -ne 0 ] || status=1
		fi
		continue
	fi
	set -- --allowed-signers "$allowed"
	if [ -n "${CKPT_SIGNER:-}" ]; then
		set -- "$@" -I "$CKPT_SIGNER"
	fi
	if [ -n "$identity" ]; then
		ckpt open "$sealed" -i "$identity" "$@" || { rc=$?; [ $status -ne 0 ] || status=$rc; }
	else
		ckpt verify "$sealed" "$@" || { rc=$?; [ $status -ne 0 ] || status=$rc; }
	fi
done
exit $status
