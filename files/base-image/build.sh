#!/usr/bin/env bash
# Builds the local stack's base image: a Debian root filesystem that every
# systemd-nspawn machine boots from (each through its own overlay).
#
#   build.sh ROOTFS SUITE MIRROR PACKAGES_FILE
#
# Run by the `cluster:nspawn:BaseImage` resource, as root, into a temporary
# directory that it renames when this script succeeds. The image key hashes this
# script with the package list, so editing either builds a new image.
set -euo pipefail

rootfs=$1 suite=$2 mirror=$3 packages=$4
log() { printf 'base-image: %s\n' "$*"; }

# 1. A small base first: debootstrap's resolver ignores virtual packages, so the
# full list goes through apt inside the chroot.
log "debootstrap $suite from $mirror"
debootstrap --variant=minbase --include=apt-utils,gnupg "$suite" "$rootfs" "$mirror"

# No daemon may start inside the chroot while packages install.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 755 "$rootfs/usr/sbin/policy-rc.d"

mounts=()
cleanup() {
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
for fs in proc sys dev; do
  mount --rbind "/$fs" "$rootfs/$fs"
  mount --make-rslave "$rootfs/$fs"
  mounts+=("$rootfs/$fs")
done

# 2. Every package from the one list (comments and blanks dropped).
mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$packages" | awk '{print $1}')
log "installing ${#pkgs[@]} packages"
chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get update -q
chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q -o Dpkg::Options::=--force-confold "${pkgs[@]}"
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/*
cleanup
mounts=()
rm -f "$rootfs/usr/sbin/policy-rc.d"

# 3. Units. Every machine runs networkd and sshd; a service runs only where a
# role's component enables it, so the daemons the packages enabled are disabled
# (ifupdown's networking.service too: networkd configures the NICs).
systemctl --root="$rootfs" enable systemd-networkd.service ssh.service
for unit in keepalived haproxy dnsmasq ypbind ypserv yppasswdd ypxfrd nis \
  glusterd glustereventsd nfs-ganesha nfs-ganesha-lock condor rpcbind rpcbind.socket \
  slurmctld slurmd slurmdbd munge mariadb prometheus prometheus-node-exporter \
  nftables ipvsadm networking nfs-blkmap nscd e2scrub_reap e2scrub_all.timer \
  xfs_scrub_all.timer apt-daily.timer apt-daily-upgrade.timer man-db.timer fstrim.timer \
  dpkg-db-backup.timer; do
  systemctl --root="$rootfs" disable "$unit" >/dev/null 2>&1 || true
done
# No kernel NFS in a container: the rpc_pipefs mount can only fail.
systemctl --root="$rootfs" mask run-rpc_pipefs.mount >/dev/null

# 4. Identity is per machine: host keys and machine id are made for each one.
# munge's postinst makes a key; a cluster's key is its own secret, installed by
# the stack, never one shared by every machine built from this image.
rm -f "$rootfs"/etc/ssh/ssh_host_* "$rootfs/etc/munge/munge.key"
: >"$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"

# 5. Keys only: no password logins, root only with a key.
mkdir -p "$rootfs/etc/ssh/sshd_config.d"
cat >"$rootfs/etc/ssh/sshd_config.d/10-thesis-cluster.conf" <<'EOF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
EOF
log "done: $(du -sh "$rootfs" | cut -f1)"
