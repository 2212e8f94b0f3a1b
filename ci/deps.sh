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
# The report consumers tests/tests/formats.rs feeds the CLI's reports to: python3
# xmlschema, junitparser and jsonschema in a venv, and npm tap-parser (16.x: it runs on
# Debian 12's nodejs 18 and on newer ones), under $NSCONFORM_CONSUMERS.
consumers=${NSCONFORM_CONSUMERS:-/opt/nsconform-consumers}
if [ ! -x "$consumers/venv/bin/python3" ] || ! "$consumers/venv/bin/python3" -c 'import xmlschema, junitparser, jsonschema' 2>/dev/null ||
  [ ! -d "$consumers/node_modules/tap-parser" ]; then
  if [ "$(id -u)" -ne 0 ] && [ ! -w "$(dirname "$consumers")" ]; then
    echo "ci/deps.sh: the report consumers are missing; run ci/deps.sh as root (or set NSCONFORM_CONSUMERS to a writable folder)" >&2
    exit 1
  fi
  if [ "$(id -u)" -eq 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q "install ok installed" ||
      { apt-get update -qq; apt-get install -y -qq python3-venv; }
    command -v npm >/dev/null || apt-get install -y -qq nodejs npm
  fi
  python3 -m venv "$consumers/venv"
  "$consumers/venv/bin/pip" install --quiet xmlschema==4.3.2 junitparser==5.0.3 jsonschema==4.26.0
  npm install --prefix "$consumers" --no-audit --no-fund --silent tap-parser@16.0.1
fi
# KTAP's consumer: the kernel's own KUnit parser (tools/testing/kunit/kunit_parser.py, GPL-2.0,
# used as a tool, not copied into this repository), taken from Debian's linux-source-6.1
# package: downloaded, not installed, and only that folder kept under $consumers/kunit.
if [ ! -f "$consumers/kunit/kunit_parser.py" ]; then
  if [ "$(id -u)" -ne 0 ] && [ ! -w "$(dirname "$consumers")" ]; then
    echo "ci/deps.sh: the KTAP consumer (kunit_parser.py) is missing; run ci/deps.sh as root (or set NSCONFORM_CONSUMERS to a writable folder)" >&2
    exit 1
  fi
  work=$(mktemp -d)
  (
    cd "$work"
    apt-get download -qq linux-source-6.1 2>/dev/null || { apt-get update -qq && apt-get download -qq linux-source-6.1; }
    dpkg-deb --fsys-tarfile linux-source-6.1_*.deb | tar -xf - ./usr/src/linux-source-6.1.tar.xz
    tar -xJf usr/src/linux-source-6.1.tar.xz linux-source-6.1/tools/testing/kunit
    mkdir -p "$consumers"
    rm -rf "$consumers/kunit"
    mv linux-source-6.1/tools/testing/kunit "$consumers/kunit"
  )
  rm -rf "$work"
fi
command -v cargo >/dev/null || { echo "ci/deps.sh: cargo not found; install the Rust toolchain (rustup) first" >&2; exit 1; }
