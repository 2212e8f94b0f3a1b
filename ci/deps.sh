#!/usr/bin/env bash
# Install the Debian packages of ci/apt-packages.txt that are missing (needs root when
# anything is missing). Idempotent and quick when everything is there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t wanted < <(grep -vE '^\s*(#|$)' "$here/apt-packages.txt")
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ci/deps.sh: missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "ci/deps.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi
# The VM mode (nsconform vm, crates/nsconform-vm): QEMU from bookworm-backports etc.
# Vagrant and vagrant-libvirt for the Vagrantfile's validation.
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v busybox >/dev/null ||
  ! command -v vagrant >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ci/deps.sh: QEMU/busybox/vagrant missing; run ci/vm/install-deps.sh --with-vagrant as root" >&2
    exit 1
  fi
  "$here/vm/install-deps.sh" --with-vagrant
fi
command -v cargo >/dev/null || { echo "ci/deps.sh: cargo not found; install the Rust toolchain (rustup) first" >&2; exit 1; }
