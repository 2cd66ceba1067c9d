#!/usr/bin/env bash
# Build (once) and print the path of a minimal Debian root that boots systemd under
# systemd-nspawn, for tests/test_install.py. Needs root.
#
#   scripts/nspawn_root.sh [SUITE]       SUITE: bookworm (default) or trixie
#
# PostgreSQL and Redis are included (for install.sh --with-postgres --with-redis), listening on
# ports 55432 and 56379: the container shares the host's network, where 5432 and 6379 are
# usually taken already.
#
# The root is cached in /var/cache/studymate-test/SUITE (STUDYMATE_NSPAWN_CACHE overrides
# the folder) and reused by later runs; tests boot it with --volatile=overlay, so they never
# change it. Delete the folder to rebuild. Installs systemd-container and debootstrap with
# apt-get when they are missing. The last line of output is the root's path.
set -euo pipefail

suite=${1:-bookworm}
cache=${STUDYMATE_NSPAWN_CACHE:-/var/cache/studymate-test}
root="$cache/$suite"
# What install.sh needs so it installs without network in the test: python3 + venv for the
# virtual environment, ca-certificates for Telegram, systemd as PID 1 and dbus for systemctl;
# the two servers that --with-postgres and --with-redis would otherwise download.
packages=systemd,systemd-sysv,dbus,python3,python3-venv,ca-certificates,postgresql,redis-server
stamp="$root/.studymate-root-ok"

if [ "$(id -u)" != 0 ]; then
  echo "nspawn_root.sh: must run as root (debootstrap, systemd-nspawn)" >&2
  exit 2
fi

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$packages" ]; then
  echo "$root"
  exit 0
fi

missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

mirror=${STUDYMATE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$cache"
tmp="$cache/.$(basename "$root").building.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
echo "debootstrap $suite ($packages) into $root (about a minute; cached afterwards)" >&2
started=$(date +%s)
debootstrap --variant=minbase --include="$packages" "$suite" "$tmp" "$mirror" >&2
# A booted container should not start getty on consoles it does not have, nor wait for
# a network it shares with the host.
ln -sf /dev/null "$tmp/etc/systemd/system/console-getty.service"
ln -sf /dev/null "$tmp/etc/systemd/system/systemd-networkd-wait-online.service"
echo "studymate-test" > "$tmp/etc/hostname"
sed -i 's/^port = [0-9]*/port = 55432/' "$tmp"/etc/postgresql/*/main/postgresql.conf
sed -i 's/^port [0-9]*/port 56379/' "$tmp/etc/redis/redis.conf"
: > "$tmp/etc/machine-id"
apt-get -o RootDir="$tmp" clean 2>/dev/null || rm -rf "$tmp"/var/cache/apt/archives/*.deb
echo "$packages" > "$tmp/.studymate-root-ok"
rm -rf "$root"
mv "$tmp" "$root"
trap - EXIT
echo "built $root in $(( $(date +%s) - started )) s" >&2
echo "$root"
