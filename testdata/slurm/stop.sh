#!/usr/bin/env bash
# Stops the cluster that start.sh started: cancels its jobs first (stopping
# slurmd does not stop running jobs), then stops only the daemons named by
# the PID files in the run directory.
#
#   testdata/slurm/stop.sh [RUN_DIR]     (default /tmp/arbor-slurm)
set -uo pipefail
dir="${1:-${ARBOR_SLURM_DIR:-/tmp/arbor-slurm}}"
conf="$dir/slurm.conf"
if [ -s "$conf" ] && [ -s "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
  SLURM_CONF="$conf" scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
  for _ in $(seq 100); do
    [ -z "$(SLURM_CONF="$conf" squeue -h -o %i 2>/dev/null)" ] && break
    sleep 0.1
  done
fi
stop_pid() { # stop_pid NAME PIDFILE
  local f="$2" pid
  [ -s "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    echo "stop.sh: stopped $1 ($pid)" >&2
  fi
  rm -f "$f"
}
stop_pid slurmd "$dir/slurmd.pid"
stop_pid slurmctld "$dir/slurmctld.pid"
stop_pid munged "$dir/munged.pid"
exit 0
