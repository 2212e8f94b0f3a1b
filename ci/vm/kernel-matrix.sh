#!/usr/bin/env bash
# Run one command on several kernels: Debian 6.1 and 6.12 (each in a QEMU VM booted
# by nsconform-vm, host root shared read-only) and the host kernel itself.
#
# Usage: ci/vm/kernel-matrix.sh [options] -- COMMAND [ARGS...]
#   --series "6.1 6.12"   Debian kernel series (or linux-image-* package names)
#                         to boot; default $NSCONFORM_VM_SERIES or "6.1 6.12"
#   --no-host             do not run COMMAND on the host kernel
#   --timeout SECS        per-VM watchdog (default 600)
#   --out DIR             per-target logs and VmRun JSON (default target/kernel-matrix)
#   --cache DIR           kernel cache (default .vm-cache in the workspace)
#   --accel auto|kvm|tcg  (default auto: KVM only if a test guest runs under it)
#
# COMMAND runs with the workspace root as working directory, as root in the VMs and
# as the calling user on the host. Its output streams live; the VM console is also
# kept in OUT/<target>.console.log. Example:
#   ci/vm/kernel-matrix.sh -- sh -c 'uname -r; unshare -Ur id'
#
# Exit status: 0 when COMMAND exited 0 on every target, 1 otherwise, 2 on bad usage.
# The last line is "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

series=${NSCONFORM_VM_SERIES:-"6.1 6.12"}
host=1
timeout=600
out="$root/target/kernel-matrix"
cache="$root/.vm-cache"
accel=auto

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --series) series=$2; shift 2 ;;
        --no-host) host=0; shift ;;
        --timeout) timeout=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --cache) cache=$2; shift 2 ;;
        --accel) accel=$2; shift 2 ;;
        --) shift; break ;;
        -h|--help) usage; exit 0 ;;
        *) echo "kernel-matrix.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
if [ $# -eq 0 ]; then
    echo "kernel-matrix.sh: no command given after --" >&2
    usage >&2
    exit 2
fi

for tool in qemu-system-x86_64 apt-get dpkg-deb depmod; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "kernel-matrix.sh: '$tool' not found; run ci/vm/install-deps.sh (as root)" >&2
        exit 1
    fi
done

# Build the runner once; honour CARGO_TARGET_DIR if the caller set one.
target_dir=${CARGO_TARGET_DIR:-$root/target}
(cd "$root" && cargo build --quiet -p nsconform-vm --bin nsconform-vm)
runner="$target_dir/debug/nsconform-vm"

mkdir -p "$out"
cd "$root"

passed=0
failed=0
summary=()

record() { # target status note
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
        summary+=("$(printf '%-28s ok      %s' "$1" "$3")")
    else
        failed=$((failed + 1))
        summary+=("$(printf '%-28s FAILED  %s' "$1" "$3")")
    fi
}

for s in $series; do
    echo "=== kernel-matrix: Debian $s (VM) ===" >&2
    name="debian-$s"
    set +e
    "$runner" run --debian "$s" --cache "$cache" --accel "$accel" \
        --timeout "$timeout" --share "$root" --cwd "$root" \
        --console-log "$out/$name.console.log" --json "$out/$name.json" \
        -- "$@"
    rc=$?
    set -e
    note="exit $rc"
    case $rc in
        5) note="kernel panic" ;;
        6) note="timeout" ;;
        7) note="VM never booted" ;;
        8) note="VM harness error" ;;
    esac
    if [ -f "$out/$name.json" ]; then
        kver=$(sed -n 's/.*"boot_ms": \([0-9]*\).*/boot \1 ms/p' "$out/$name.json" | head -n1)
        note="$note${kver:+, $kver}"
    fi
    record "$name" "$rc" "$note"
done

if [ "$host" -eq 1 ]; then
    echo "=== kernel-matrix: host $(uname -r) ===" >&2
    set +e
    "$@"
    rc=$?
    set -e
    record "host-$(uname -r)" "$rc" "exit $rc"
fi

echo "=== kernel-matrix summary ===" >&2
for line in "${summary[@]}"; do
    echo "$line"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
