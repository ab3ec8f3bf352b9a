#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine for arbor's integration
# tests: munged, slurmctld and slurmd, everything under one run directory.
# The machines have no init system, so the daemons are started by hand.
#
#   testdata/slurm/start.sh [RUN_DIR]     (default /tmp/arbor-slurm)
#
# On success it prints the slurm.conf path; client commands need
# SLURM_CONF=<that path> in their environment. stop.sh undoes it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-${ARBOR_SLURM_DIR:-/tmp/arbor-slurm}}"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

pkgs="munge slurmctld slurmd slurm-client"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "start.sh: installing$missing" >&2
  # Package post-install scripts try to start the daemons; a policy-rc.d
  # that exits 101 stops them (these machines ship one; make sure).
  if [ ! -x /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
  fi
  if [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v -e '^lock$' -e '^partial$' -e '^auxfiles$')" ]; then
    $SUDO apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2 ||
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2; }
fi

# munge: a generated key, and munged running as the munge user.
if [ ! -s /etc/munge/munge.key ]; then
  $SUDO mkdir -p /etc/munge
  $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  $SUDO chown munge:munge /etc/munge/munge.key
  $SUDO chmod 400 /etc/munge/munge.key
fi
$SUDO mkdir -p /run/munge /var/log/munge /var/lib/munge
$SUDO chown munge:munge /run/munge /var/log/munge /var/lib/munge
$SUDO chmod 755 /run/munge
mkdir -p "$dir/state" "$dir/spool" "$dir/log"
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  $SUDO runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
  # Remember that we started it, so stop.sh stops only what we started.
  cp /run/munge/munged.pid "$dir/munged.pid" 2>/dev/null || sleep 0.2
  [ -s "$dir/munged.pid" ] || cp /run/munge/munged.pid "$dir/munged.pid"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n | unmunge >/dev/null || { echo "start.sh: munge does not work" >&2; exit 1; }

node="$(hostname -s)"
# The node line as slurmd measures this machine; first line only (UpTime follows).
nodeline="$(slurmd -C | head -n 1)"
nodeline="${nodeline/NodeName=* CPUs=/NodeName=$node NodeAddr=127.0.0.1 CPUs=}"
conf="$dir/slurm.conf"
sed -e "s|@NODE@|$node|g" -e "s|@DIR@|$dir|g" -e "s|@NODELINE@|$nodeline|" \
  "$here/slurm.conf.in" > "$conf"

if [ -s "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
  echo "start.sh: slurmctld already running (pid $(cat "$dir/slurmctld.pid"))" >&2
else
  # -i ignores state from an earlier run of this directory.
  slurmctld -f "$conf" -i
fi
if [ -s "$dir/slurmd.pid" ] && kill -0 "$(cat "$dir/slurmd.pid")" 2>/dev/null; then
  echo "start.sh: slurmd already running (pid $(cat "$dir/slurmd.pid"))" >&2
else
  slurmd -f "$conf" -N "$node"
fi

export SLURM_CONF="$conf"
for i in $(seq 100); do
  if sinfo -h -o '%t' 2>/dev/null | grep -qx idle; then break; fi
  if [ "$i" = 100 ]; then
    echo "start.sh: node $node never became idle; logs in $dir/log" >&2
    sinfo >&2 || true; tail -n 20 "$dir/log/"*.log >&2 || true
    exit 1
  fi
  sleep 0.1
done
echo "$conf"
