#!/usr/bin/env bash
# Install what nsconform's VM mode needs on a Debian 12 (bookworm) host.
#
# Idempotent: safe to run any number of times.
#   * adds the bookworm-backports suite (same mirror URI as the existing Debian
#     source) when it is missing;
#   * installs qemu-system-x86 from bookworm-backports (the host's qemu-utils may
#     already come from backports, and bookworm's own qemu-system-x86 conflicts
#     with it);
#   * installs busybox-static, cpio, kmod, zstd/xz (kernel module decompression),
#     binutils (extract-vmlinux helpers) and ca-certificates.
#
# Usage: sudo ci/vm/install-deps.sh [--with-vagrant]
#   --with-vagrant  also install vagrant + vagrant-libvirt + libvirt daemons
set -euo pipefail

with_vagrant=0
for arg in "$@"; do
    case "$arg" in
        --with-vagrant) with_vagrant=1 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "install-deps.sh: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: must run as root (apt-get install); try: sudo $0 $*" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ -z "$codename" ]; then
    echo "install-deps.sh: cannot read VERSION_CODENAME from /etc/os-release" >&2
    exit 1
fi
backports="${codename}-backports"

# Is the backports suite already configured (deb822 .sources or one-line .list)?
has_backports() {
    grep -rqsE "(^|[[:space:]])${backports}([[:space:]]|$)" \
        /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}

# Find the URI of the main Debian archive already in use, to reuse the same mirror.
debian_uri() {
    local uri=""
    if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
        uri=$(awk -v cn="$codename" '
            /^URIs:/   { u=$2 }
            /^Suites:/ { for (i=2;i<=NF;i++) if ($i==cn) { print u; exit } }
        ' /etc/apt/sources.list.d/*.sources)
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk -v cn="$codename" '$1=="deb" && $3==cn { print $2; exit }' /etc/apt/sources.list)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

if ! has_backports; then
    uri=$(debian_uri)
    echo "install-deps.sh: adding ${backports} from ${uri}" >&2
    cat >/etc/apt/sources.list.d/nsconform-backports.sources <<SRC
Types: deb
URIs: ${uri}
Suites: ${backports}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

apt-get update

need_qemu=1
if dpkg-query -W -f='${Status}\n' qemu-system-x86 2>/dev/null | grep -q '^install ok installed'; then
    need_qemu=0
fi
if [ "$need_qemu" -eq 1 ]; then
    apt-get install -y --no-install-recommends -t "$backports" qemu-system-x86
fi

apt-get install -y --no-install-recommends \
    busybox-static cpio kmod zstd xz-utils gzip binutils ca-certificates

if [ "$with_vagrant" -eq 1 ]; then
    # libvirt and qemu-utils from backports too: bookworm's qemu-* packages
    # conflict with the backports QEMU installed above.
    apt-get install -y --no-install-recommends -t "$backports" \
        vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients \
        libvirt-daemon-driver-qemu dnsmasq-base debootstrap e2fsprogs qemu-utils rsync
fi

echo "install-deps.sh: qemu: $(qemu-system-x86_64 --version | head -n1)" >&2
