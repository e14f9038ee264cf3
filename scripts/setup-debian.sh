#!/bin/sh
# Installs what building and testing ckpt needs on Debian (12 or later): the
# tools the tests drive (the stock age CLI, ssh-keygen, gdb for core files,
# mkfs for the filesystems shred is tested on, hexdump and readelf that mem
# output is compared with), make and git, and the Go release go.mod names
# when the go on PATH is older (Debian's own is).
#
# Works as root (a fresh image has no sudo) and as a user with sudo.
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
	as_root=
elif command -v sudo >/dev/null 2>&1; then
	as_root=sudo
else
	echo "setup-debian: run as root, or install sudo" >&2
	exit 1
fi

# sudo resets the environment, so the frontend is passed through env.
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	ca-certificates curl unzip git make \
	age openssh-client gdb e2fsprogs xfsprogs btrfs-progs bsdextrautils binutils \
	time cryptsetup-bin docker-registry skopeo

install_go() {
want=$(sed -n 's/^go \([0-9]*\.[0-9]*\).*/\1/p' go.mod)
have=$(go env GOVERSION 2>/dev/null | sed -n 's/^go\([0-9]*\.[0-9]*\).*/\1/p' || true)
if [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" = "$want" ]; then
	echo "setup-debian: $(go version)"
	return 0
fi

# Go releases are also served by the module proxy, as the module
# golang.org/toolchain: the go command switches toolchains from there.
case $(dpkg --print-architecture) in
amd64) arch=amd64 ;;
arm64) arch=arm64 ;;
i386) arch=386 ;;
ppc64el) arch=ppc64le ;;
s390x) arch=s390x ;;
*) echo "setup-debian: install Go $want from https://go.dev/dl by hand" >&2; exit 1 ;;
esac
proxy=$(printf '%s' "${GOPROXY:-https://proxy.golang.org}" | cut -d, -f1 | cut -d'|' -f1)
case $proxy in http*) ;; *) proxy=https://proxy.golang.org ;; esac
base=$proxy/golang.org/toolchain/@v
list=$(curl -fsSL "$base/list")
version=$(printf '%s\n' "$list" | grep -E "^v0\.0\.1-go$want(\.[0-9]+)?\.linux-$arch\$" | sort -V | tail -n1)
if [ -z "$version" ]; then
	echo "setup-debian: no Go $want for linux-$arch at $base" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL -o "$tmp/go.zip" "$base/$version.zip"
unzip -q "$tmp/go.zip" -d "$tmp"
goroot="$tmp/golang.org/toolchain@$version"
# Module zips keep no file modes.
chmod -R a+rX "$goroot"
chmod a+x "$goroot"/bin/* "$goroot"/pkg/tool/*/*
$as_root rm -rf /usr/local/go
$as_root mv "$goroot" /usr/local/go
$as_root chown -R root:root /usr/local/go
$as_root ln -sf /usr/local/go/bin/go /usr/local/go/bin/gofmt /usr/local/bin/
echo "setup-debian: $(/usr/local/go/bin/go version) in /usr/local/go, linked from /usr/local/bin"
}
install_go

# MinIO, the real S3 server the transfer tests start: built once from the
# module proxy into /var/cache/ckpt/bin (as .ci/run does), a few minutes.
if [ ! -x /var/cache/ckpt/bin/minio ]; then
	gobin=$(command -v go || echo /usr/local/go/bin/go)
	$as_root mkdir -p /var/cache/ckpt/bin
	(cd / && $as_root env GOBIN=/var/cache/ckpt/bin "$gobin" install github.com/minio/minio@latest)
	echo "setup-debian: MinIO in /var/cache/ckpt/bin"
fi
