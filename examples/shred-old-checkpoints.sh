#!/bin/sh
# Shred old checkpoints: overwrite and remove checkpoint archives older than
# DAYS days in DIR, and say how well the overwrite worked on this storage.
# Sealed copies (.age and their sidecars) are shredded too unless
# KEEP_SEALED=1.
#
#   shred-old-checkpoints.sh DIR DAYS
#
#   REQUIRE_OVERWRITTEN=1  exit 9 when the storage only allows best-effort
#                          (copy-on-write filesystems, SSDs, virtual disks)
#
# Exit status: that of ckpt shred (0 all done, 1 something refused or
# failed, 9 best-effort only under REQUIRE_OVERWRITTEN=1).
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 DIR DAYS" >&2
	exit 2
fi
dir=$1
days=$2

set -- ckpt shred
if [ "${REQUIRE_OVERWRITTEN:-}" = 1 ]; then
	set -- "$@" --require overwritten
fi

# find prints ./-free absolute or DIR-relative paths; -- keeps a name that
# starts with '-' from being read as an option, and ckpt needs no special
# care for the ':' in kubelet names.
pattern='checkpoint-*.tar*'
old=$(find "$dir" -maxdepth 1 -type f -name "$pattern" -mtime +"$days" | sort)
if [ "${KEEP_SEALED:-}" = 1 ]; then
	old=$(printf '%s\n' "$old" | grep -v '\.age' || true)
fi
if [ -z "$old" ]; then
	echo "nothing older than $days days in $dir"
	exit 0
fi
# One path per line; kubelet names have no spaces or newlines.
# shellcheck disable=SC2086
IFS='
'
exec "$@" -- $old
