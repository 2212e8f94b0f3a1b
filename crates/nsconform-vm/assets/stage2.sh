# nsconform-vm stage 2: PID 1 in the host root (run by the busybox copied to /run).
# $1 = control dir in the rw share (same path as on the host).
BB=/run/nsconform-vm/busybox
C="$1"

fail() {
    echo "nsconform-vm: init failed: $*"
    $BB sync
    $BB poweroff -f
    $BB sleep 5
    exit 1
}

$BB mkdir -p /dev/pts /dev/shm /dev/mqueue
$BB mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts 2>/dev/null
$BB mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
$BB mount -t mqueue mqueue /dev/mqueue 2>/dev/null
$BB mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
$BB hostname nsconform-vm
$BB ip link set lo up 2>/dev/null || $BB ifconfig lo 127.0.0.1 up 2>/dev/null

[ -f "$C/command" ] || fail "command file $C/command missing"
echo "nsconform-vm: running command"
( . "$C/command" ) </dev/null
rc=$?
echo "$rc" >"$C/exit_code.tmp" && $BB mv "$C/exit_code.tmp" "$C/exit_code" ||
    echo "nsconform-vm: init failed: cannot write $C/exit_code"
$BB sync
echo "nsconform-vm: command exited with status $rc"
$BB poweroff -f
$BB sleep 5
