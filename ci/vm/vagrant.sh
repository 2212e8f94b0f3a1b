#!/usr/bin/env bash
# Run nsconform's tests and suite inside a Vagrant VM (see Vagrantfile, docs/vm.md).
#
# Usage: ci/vm/vagrant.sh [--provider libvirt|virtualbox] [--keep] [STEP...]
#   STEP: up       create/boot and provision the VM (always done first)
#         test     ./ci/test inside the VM (as root)
#         suite    ./ci/run-suite inside the VM (as root); extra args after `--`
#         all      test + suite (default)
#         destroy  remove the VM
#   --provider P  default: $VAGRANT_DEFAULT_PROVIDER, else libvirt
#   --keep        keep the VM running afterwards (default: halt it)
#   -- ARGS       passed to ./ci/run-suite
#
# Every step re-syncs the work tree (vagrant rsync) first. Exit status: that of
# the first failing step.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
provider=${VAGRANT_DEFAULT_PROVIDER:-libvirt}
keep=0
steps=()
suite_args=()

while [ $# -gt 0 ]; do
    case "$1" in
        --provider) provider=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        up|test|suite|all|destroy) steps+=("$1"); shift ;;
        --) shift; suite_args=("$@"); break ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "vagrant.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ ${#steps[@]} -gt 0 ] || steps=(all)

if ! command -v vagrant >/dev/null 2>&1; then
    echo "vagrant.sh: vagrant not found; on Debian: ci/vm/install-deps.sh --with-vagrant" >&2
    exit 1
fi
case "$provider" in
    libvirt|virtualbox) ;;
    *) echo "vagrant.sh: provider must be libvirt or virtualbox, not '$provider'" >&2; exit 2 ;;
esac

cd "$root"
vagrant validate

quote_args() {
    local out="" a
    for a in "$@"; do out+=" $(printf '%q' "$a")"; done
    printf '%s' "$out"
}

in_vm() { # command string run as root in /nsconform
    vagrant ssh -c "sudo -H env PATH=/root/.cargo/bin:/usr/sbin:/usr/bin:/sbin:/bin CI=true bash -c $(printf '%q' "cd /nsconform && $1")"
}

if [ "${steps[*]}" = "destroy" ]; then
    exec vagrant destroy -f
fi

vagrant up --provider="$provider"
status=0
for step in "${steps[@]}"; do
    case "$step" in
        up) ;;
        destroy) vagrant destroy -f; exit "$status" ;;
        test|suite|all)
            vagrant rsync
            if [ "$step" = test ] || [ "$step" = all ]; then
                in_vm "./ci/test" || { status=$?; break; }
            fi
            if [ "$step" = suite ] || [ "$step" = all ]; then
                in_vm "./ci/run-suite$(quote_args "${suite_args[@]}")" || { status=$?; break; }
            fi
            ;;
    esac
done

if [ "$keep" -eq 0 ]; then
    vagrant halt || true
fi
exit "$status"
