#!/usr/bin/env bash
# Build a Debian 12 Vagrant box without Vagrant Cloud and bring the project's
# Vagrantfile up with vagrant-libvirt on a host without systemd, without working KVM
# and without touching the host's network: libvirtd runs inside its own network
# namespace, QEMU runs as root under TCG, the box boots its kernel directly.
# See docs/vm.md ("Offline box") for what this does and does not achieve.
#
# Usage (as root): ci/vm/offline-box.sh STEP...
#   build     debootstrap bookworm -> ext4 (mkfs.ext4 -d) -> qcow2 -> .box; add it
#             to vagrant as nsconform/bookworm-offline; kernel+initrd beside it
#   libvirt   start virtlogd + libvirtd inside netns "nsconform-vagrant" (QEMU as
#             root, no security driver), define+start the "default" storage pool
#   up        vagrant up --provider=libvirt --no-provision (TCG, direct kernel boot)
#   ssh CMD   vagrant ssh -c CMD (in the netns)
#   down      vagrant destroy -f, stop libvirtd/virtlogd (by their pids), delete netns
# Work dir: $NSCONFORM_BOX_DIR (default /var/tmp/nsconform-box). Needs the packages
# of `ci/vm/install-deps.sh --with-vagrant` and access to the Debian mirror.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${NSCONFORM_BOX_DIR:-/var/tmp/nsconform-box}
netns=nsconform-vagrant
box_name=nsconform/bookworm-offline
mirror=${NSCONFORM_DEBIAN_MIRROR:-http://deb.debian.org/debian}

die() { echo "offline-box.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, libvirtd, netns)"
[ $# -gt 0 ] || { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

in_ns() { ip netns exec "$netns" "$@"; }

vagrant_env() {
    export VAGRANT_DOTFILE_PATH="$dir/.vagrant"
    export NSCONFORM_VAGRANT_BOX=$box_name
    export NSCONFORM_VAGRANT_DRIVER=qemu
    export NSCONFORM_VAGRANT_KERNEL="$dir/vmlinuz"
    export NSCONFORM_VAGRANT_INITRD="$dir/initrd.img"
    export NSCONFORM_VAGRANT_CMDLINE="root=/dev/vda rw console=ttyS0 net.ifnames=0"
    export NSCONFORM_VAGRANT_CONSOLE_LOG="$dir/console.log"
    export LIBVIRT_DEFAULT_URI=qemu:///system
}

step_build() {
    command -v debootstrap >/dev/null || die "debootstrap missing: ci/vm/install-deps.sh --with-vagrant"
    local pub
    pub=$(find /usr/share /usr/lib -path '*vagrant*/keys/vagrant.pub' 2>/dev/null | head -n1)
    [ -n "$pub" ] || die "Vagrant's insecure public key (keys/vagrant.pub) not found; is vagrant installed?"
    mkdir -p "$dir"
    local r="$dir/rootfs"
    if [ ! -x "$r/usr/sbin/sshd" ]; then
        rm -rf "$r"
        debootstrap --variant=minbase \
            --include=systemd-sysv,udev,openssh-server,sudo,rsync,ifupdown,isc-dhcp-client,iproute2,linux-image-amd64,initramfs-tools,kmod,ca-certificates \
            bookworm "$r" "$mirror"
    fi
    echo nsconform-box >"$r/etc/hostname"
    printf '/dev/vda / ext4 defaults,errors=remount-ro 0 1\n' >"$r/etc/fstab"
    printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n' >"$r/etc/network/interfaces"
    chroot "$r" id vagrant >/dev/null 2>&1 || chroot "$r" useradd -m -s /bin/bash -G sudo vagrant
    echo 'vagrant:vagrant' | chroot "$r" chpasswd
    echo 'vagrant ALL=(ALL) NOPASSWD: ALL' >"$r/etc/sudoers.d/vagrant"
    chmod 440 "$r/etc/sudoers.d/vagrant"
    install -d -m 700 "$r/home/vagrant/.ssh"
    install -m 600 "$pub" "$r/home/vagrant/.ssh/authorized_keys"
    chroot "$r" chown -R vagrant:vagrant /home/vagrant/.ssh
    echo 'UseDNS no' >"$r/etc/ssh/sshd_config.d/vagrant.conf"
    cp "$r"/boot/vmlinuz-* "$dir/vmlinuz"
    cp "$r"/boot/initrd.img-* "$dir/initrd.img"
    rm -f "$dir/disk.raw"
    mkfs.ext4 -q -F -L root -d "$r" "$dir/disk.raw" 8G
    qemu-img convert -O qcow2 "$dir/disk.raw" "$dir/box.img"
    rm -f "$dir/disk.raw"
    printf '{"provider":"libvirt","format":"qcow2","virtual_size":8}\n' >"$dir/metadata.json"
    printf 'Vagrant.configure("2") do |c|\n  c.vm.provider :libvirt do |lv|\n    lv.driver = "qemu"\n  end\nend\n' >"$dir/Vagrantfile"
    (cd "$dir" && tar cf nsconform-bookworm.box metadata.json Vagrantfile box.img)
    vagrant box add --force --name "$box_name" "$dir/nsconform-bookworm.box"
}

step_libvirt() {
    ip netns list | grep -qw "$netns" || ip netns add "$netns"
    in_ns ip link set lo up
    local conf=/etc/libvirt/qemu.conf
    if ! grep -q '^# nsconform offline-box' "$conf"; then
        cat >>"$conf" <<'EOF'
# nsconform offline-box: QEMU as root, no security driver (no systemd, no SELinux/AppArmor)
user = "root"
group = "root"
security_driver = "none"
dynamic_ownership = 0
remember_owner = 0
EOF
    fi
    mkdir -p "$dir"
    if ! [ -f "$dir/virtlogd.pid" ] || ! kill -0 "$(cat "$dir/virtlogd.pid")" 2>/dev/null; then
        in_ns virtlogd -d -p "$dir/virtlogd.pid"
    fi
    if ! [ -f "$dir/libvirtd.pid" ] || ! kill -0 "$(cat "$dir/libvirtd.pid")" 2>/dev/null; then
        in_ns libvirtd -d -p "$dir/libvirtd.pid"
    fi
    for _ in $(seq 50); do in_ns virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.2; done
    mkdir -p /var/lib/libvirt/images
    in_ns virsh -c qemu:///system pool-info default >/dev/null 2>&1 ||
        in_ns virsh -c qemu:///system pool-define-as default dir --target /var/lib/libvirt/images
    in_ns virsh -c qemu:///system pool-start default >/dev/null 2>&1 || true
}

step_up() {
    vagrant_env
    cd "$root"
    in_ns vagrant up --provider=libvirt --no-provision
}

step_ssh() {
    vagrant_env
    cd "$root"
    in_ns vagrant ssh -c "$1"
}

step_down() {
    vagrant_env
    cd "$root"
    if ip netns list | grep -qw "$netns"; then
        in_ns vagrant destroy -f || true
        in_ns virsh -c qemu:///system net-destroy vagrant-libvirt >/dev/null 2>&1 || true
    fi
    for d in libvirtd virtlogd; do
        if [ -f "$dir/$d.pid" ]; then
            kill "$(cat "$dir/$d.pid")" 2>/dev/null || true
            rm -f "$dir/$d.pid"
        fi
    done
    ip netns del "$netns" 2>/dev/null || true
}

while [ $# -gt 0 ]; do
    case "$1" in
        build) step_build; shift ;;
        libvirt) step_libvirt; shift ;;
        up) step_libvirt; step_up; shift ;;
        ssh) [ $# -ge 2 ] || die "ssh needs a command"; step_ssh "$2"; shift 2 ;;
        down) step_down; shift ;;
        *) die "unknown step '$1'" ;;
    esac
done
