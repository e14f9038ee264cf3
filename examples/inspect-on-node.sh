#!/bin/sh
# Inspect on a node: list the checkpoints and how they are protected, show
# the newest in detail, and report the secrets it carries before anyone
# copies it off the node. Nothing is extracted to disk.
#
#   inspect-on-node.sh [DIR]      (default /var/lib/kubelet/checkpoints)
#
# Exit status: that of ckpt scan with --fail-on any: 8 when the newest
# checkpoint holds secrets, 0 when it holds none, 1 on errors.
set -eu

dir=${1:-/var/lib/kubelet/checkpoints}

# Every archive, with a status column: root-only? sealed? broken? ls exits 1
# when one cannot be read, which should not stop the rest of this script.
ckpt ls -- "$dir" || echo "(some archives could not be read: see their status above)" >&2

# The newest plain or compressed archive. Kubelet names contain ':', which
# is fine here: ckpt takes paths, and -- ends the options.
newest=$(ls -t -- "$dir"/checkpoint-*.tar* 2>/dev/null | grep -v '\.age' | head -n 1 || true)
if [ -z "$newest" ]; then
	echo "no checkpoint archives in $dir" >&2
	exit 0
fi

echo
ckpt inspect --files --sockets -- "$newest"
echo
ckpt scan --fail-on any -- "$newest"
