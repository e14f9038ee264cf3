#!/bin/sh
# Encrypt before scp: seal checkpoint archives on the node, sign their
# manifests, and copy each sealed set to another machine.
#
#   seal-and-send.sh DEST ARCHIVE...
#
#   DEST                 where the sealed sets go: host:/dir for scp, or a
#                        local directory (as CI uses it)
#   CKPT_RECIPIENTS      recipients file: age1..., age1pq1..., ssh-ed25519
#                        or ssh-rsa keys, one per line (required)
#   CKPT_SIGN_KEY        SSH key to sign the manifests with (optional)
#   CKPT_SHRED_SOURCE=1  shred each archive once its sealed copy is written
#                        and read back (optional)
#
# Example, on a node:
#   CKPT_RECIPIENTS=/etc/ckpt/recipients CKPT_SIGN_KEY=/etc/ckpt/node-key \
#     seal-and-send.sh forensics@vault:/srv/incoming /var/lib/kubelet/checkpoints/*.tar
set -eu

if [ $# -lt 2 ] || [ -z "${CKPT_RECIPIENTS:-}" ]; then
	echo "usage: CKPT_RECIPIENTS=FILE $0 DEST ARCHIVE..." >&2
	exit 2
fi
dest=$1
shift

for archive in "$@"; do
	set -- ckpt seal -R "$CKPT_RECIPIENTS"
	if [ -n "${CKPT_SIGN_KEY:-}" ]; then
		set -- "$@" --sign "$CKPT_SIGN_KEY"
	fi
	if [ "${CKPT_SHRED_SOURCE:-}" = 1 ]; then
		set -- "$@" --shred-source
	fi
	"$@" -- "$archive"

	# The kubelet names archives checkpoint-<pod>_<ns>-<ctr>-<time>.tar,
	# and the time has colons: scp would read "checkpoint-...T03:04:05Z.tar"
	# as host "checkpoint-...T03" and path "04:05Z.tar". A name with a slash
	# before its first colon is always a local path, so spell each file as
	# ./NAME (or /abs/NAME), and put -- before the files.
	dir=$(dirname -- "$archive")
	base=$(basename -- "$archive")
	sealed="$dir/$base.age"
	set -- "$sealed" "$sealed.sha256" "$sealed.json"
	if [ -e "$sealed.json.sig" ]; then
		set -- "$@" "$sealed.json.sig"
	fi
	scp -q -p -- "$@" "$dest/"
	echo "sent $base.age to $dest"
done
