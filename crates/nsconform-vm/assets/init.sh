#!/bin/busybox sh
# nsconform-vm stage 1: PID 1 inside the initramfs built by nsconform_vm::build_initramfs.
#
# 1. mount /proc /sys /dev, load the 9p/virtio modules listed in /modules/order
# 2. mount the host's rw share (9p tag "nsshare") and read the run's control dir,
#    named by "nsconform.ctl=<id>" on the kernel command line
# 3. mount the host root read-only (9p tag "hostroot") at /newroot, add tmpfs /tmp
#    and /run (and bind back over them the host paths the run needs there), move the
#    share to the same path as on the host, move /proc /sys /dev
#    and bind this kernel's modules (MODULES_DIR) at /lib/modules/<version>
# 4. switch_root into the host root with stage 2 (busybox sh) as PID 1
#
# Every line starting with "nsconform-vm:" is read by the host (markers, failures).
/bin/busybox mkdir -p /bin /proc /sys /dev /newroot /share
/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/null >/dev/console 2>&1

echo "nsconform-vm: init started"

fail() {
    echo "nsconform-vm: init failed: $*"
    sync
    poweroff -f
    sleep 5
    exit 1
}

if [ -f /modules/order ]; then
    while read -r m; do
        [ -n "$m" ] || continue
        insmod "/modules/$m" || fail "insmod /modules/$m (kernel $(uname -r)) failed; the initramfs must be built from this kernel's own modules"
    done </modules/order
fi

ctl=
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        nsconform.ctl=*) ctl="${arg#nsconform.ctl=}" ;;
    esac
done
[ -n "$ctl" ] || fail "no nsconform.ctl=<id> on the kernel command line"

P9="trans=virtio,version=9p2000.L,msize=262144"
# virtio devices may still be probing right after insmod: retry for ~2 s.
n=0
until mount -t 9p -o "$P9,cache=none" nsshare /share; do
    n=$((n + 1))
    [ "$n" -lt 20 ] || break
    sleep 0.1
done
grep -q " /share 9p " /proc/mounts ||
    fail "mounting the rw share (9p tag nsshare) failed; is 9p/9pnet_virtio available (built-in or in /modules)?"
C="/share/.nsconform-vm/$ctl"
[ -f "$C/vars" ] || fail "control file $C/vars missing in the rw share"
. "$C/vars"
[ -n "$SHARE_PATH" ] || fail "SHARE_PATH not set by $C/vars"

mount -t 9p -o "$P9,ro,cache=loose" hostroot /newroot ||
    fail "mounting the host root (9p tag hostroot) read-only failed"
for d in proc sys dev tmp run; do
    [ -d "/newroot/$d" ] || fail "/$d does not exist in the host root"
done
# The host's /tmp and /run stay reachable under /host for the paths the run shares.
mkdir -p /host/tmp /host/run
mount --bind /newroot/tmp /host/tmp || fail "binding the host's /tmp"
mount --bind /newroot/run /host/run || fail "binding the host's /run"
mount -t tmpfs -o mode=1777,nodev tmpfs /newroot/tmp || fail "tmpfs on /tmp"
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /newroot/run || fail "tmpfs on /run"
# Host paths under /tmp or /run the run needs (its binaries, modules, working directory,
# the files its arguments name: "$C/expose", PATH<TAB>CANONICAL): bound from the host
# (read-only, as the whole host root) at the same path, symlinks made again.
if [ -f "$C/expose" ]; then
    tab=$(printf '\t')
    while IFS="$tab" read -r p c; do
        [ -n "$c" ] || continue
        case "$c" in
            /tmp/* | /tmp | /run/* | /run)
                src="/host$c"
                if [ -d "$src" ]; then
                    mkdir -p "/newroot$c"
                else
                    mkdir -p "/newroot${c%/*}" && [ -e "/newroot$c" ] || : >"/newroot$c"
                fi
                mount --bind "$src" "/newroot$c" || fail "sharing $c with the guest (bind from the host root)"
                ;;
        esac
        if [ "$p" != "$c" ]; then
            case "$p" in
                /tmp/* | /run/*)
                    mkdir -p "/newroot${p%/*}"
                    [ -e "/newroot$p" ] || [ -L "/newroot$p" ] || ln -s "$c" "/newroot$p" ||
                        fail "making the symlink $p -> $c in the guest"
                    ;;
            esac
        fi
    done <"$C/expose"
fi
mkdir -p "/newroot$SHARE_PATH" 2>/dev/null
[ -d "/newroot$SHARE_PATH" ] ||
    fail "mount point $SHARE_PATH for the rw share does not exist in the (read-only) guest root"
mount --move /share "/newroot$SHARE_PATH" || fail "moving the rw share to $SHARE_PATH"

# The host's /lib/modules is for the host kernel. Make this kernel's own modules
# (MODULES_DIR: host path of its /lib/modules/<version>, visible through the
# read-only host root) usable in the guest, so that veth & co. load:
#  - kernel.modprobe and a modprobe first in PATH run the host's kmod with
#    -d <root of MODULES_DIR>;
#  - when the host has a /lib/modules, a tmpfs over it gets MODULES_DIR bound at
#    /lib/modules/<version> (for lsmod/modinfo & co.).
mkdir -p /newroot/run/nsconform-vm/bin
if [ -n "$MODULES_DIR" ]; then
    kver=$(uname -r)
    mroot="${MODULES_DIR%/lib/modules/*}"
    if [ ! -d "/newroot$MODULES_DIR" ]; then
        echo "nsconform-vm: warning: $MODULES_DIR is not visible in the guest; modprobe will not find this kernel's modules"
    elif [ "$mroot/lib/modules/$kver" != "$MODULES_DIR" ]; then
        echo "nsconform-vm: warning: $MODULES_DIR is not <root>/lib/modules/$kver; modprobe will not find this kernel's modules"
    else
        # (usually symlinks to /bin/kmod: test the link, it resolves after switch_root)
        for kmod in /sbin/modprobe /usr/sbin/modprobe; do
            if [ -L "/newroot$kmod" ] || [ -x "/newroot$kmod" ]; then
                printf '#!/run/nsconform-vm/busybox sh\nexec %s -d %s "$@"\n' "$kmod" "'$mroot'" \
                    >/newroot/run/nsconform-vm/bin/modprobe
                chmod 755 /newroot/run/nsconform-vm/bin/modprobe
                echo /run/nsconform-vm/bin/modprobe >/proc/sys/kernel/modprobe
                break
            fi
        done
        [ -x /newroot/run/nsconform-vm/bin/modprobe ] ||
            echo "nsconform-vm: warning: no kmod modprobe in the host root; modules will not autoload"
        if [ -d /newroot/lib/modules ]; then
            mount -t tmpfs -o mode=755 tmpfs /newroot/lib/modules &&
                mkdir -p "/newroot/lib/modules/$kver" &&
                mount --bind "/newroot$MODULES_DIR" "/newroot/lib/modules/$kver" ||
                fail "binding $MODULES_DIR to /lib/modules/$kver"
        fi
    fi
fi

cp /bin/busybox /newroot/run/nsconform-vm/busybox || fail "copying busybox to /run"
cp /stage2 /newroot/run/nsconform-vm/stage2 || fail "copying stage2 to /run"

mount --move /dev /newroot/dev || fail "moving /dev"
mount --move /proc /newroot/proc || fail "moving /proc"
mount --move /sys /newroot/sys || fail "moving /sys"

echo "nsconform-vm: switching root"
exec switch_root /newroot /run/nsconform-vm/busybox sh /run/nsconform-vm/stage2 "$SHARE_PATH/.nsconform-vm/$ctl"
fail "switch_root failed"
