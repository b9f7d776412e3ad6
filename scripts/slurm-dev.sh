#!/usr/bin/env bash
# A real single-node Slurm cluster for tether's tests and for developers:
#
#   scripts/slurm-dev.sh install   # Debian's slurmctld, slurmd, slurm-client, munge
#   scripts/slurm-dev.sh start     # munged, slurmctld, slurmd on this host
#   scripts/slurm-dev.sh env       # prints `export SLURM_CONF=...`
#   scripts/slurm-dev.sh status    # sinfo
#   scripts/slurm-dev.sh stop      # stops the daemons by pid
#
# Everything lives under $TETHER_SLURM_DIR (default /tmp/tether-slurm): the
# slurm.conf, the controller's state, the node's spool, pid and log files.
# Clients find the cluster through SLURM_CONF (start prints it). The cluster
# has one node (this host) and two partitions over it, `h100` (default) and
# `l40s`, standing for two hardware targets. No accounting database, no
# cgroups (ProctrackType=proctrack/linuxproc, TaskPlugin=task/none); memory
# limits are enforced by jobacct_gather's OverMemoryKill, so a job past its
# --mem ends OUT_OF_MEMORY. Runs as root without systemd, as CI does.
set -euo pipefail

dir="${TETHER_SLURM_DIR:-/tmp/tether-slurm}"
conf="$dir/slurm.conf"
host="$(hostname -s)"

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_packages() {
  local missing=()
  command -v slurmctld >/dev/null 2>&1 || missing+=(slurmctld)
  command -v slurmd >/dev/null 2>&1 || missing+=(slurmd)
  command -v sbatch >/dev/null 2>&1 || missing+=(slurm-client)
  command -v munged >/dev/null 2>&1 || missing+=(munge)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "slurm-dev: installing ${missing[*]}" >&2
    sudo_ apt-get update -qq
    sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
}

write_conf() {
  local cpus mem
  cpus="$(nproc)"
  # leave the host some memory; slurmd refuses a node that claims more than it has
  mem="$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)"
  mkdir -p "$dir/state" "$dir/spool"
  cat > "$conf" <<EOF
# written by scripts/slurm-dev.sh
ClusterName=tether-dev
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
MinJobAge=600
KillWait=5
SlurmctldPort=${TETHER_SLURMCTLD_PORT:-6817}
SlurmdPort=${TETHER_SLURMD_PORT:-6818}
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=h100 Nodes=$host Default=YES MaxTime=INFINITE State=UP
PartitionName=l40s Nodes=$host MaxTime=INFINITE State=UP
EOF
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  install_packages
  write_conf
  if ! sudo_ munge -n >/dev/null 2>&1 </dev/null; then
    sudo_ mkdir -p /run/munge
    sudo_ chown munge:munge /run/munge 2>/dev/null || true
    if [ ! -s /etc/munge/munge.key ]; then
      sudo_ mungekey --create --keyfile /etc/munge/munge.key 2>/dev/null ||
        sudo_ sh -c 'dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null'
      sudo_ chown munge:munge /etc/munge/munge.key
      sudo_ chmod 400 /etc/munge/munge.key
    fi
    sudo_ /usr/sbin/munged --force 2>/dev/null
  fi
  alive "$dir/slurmctld.pid" || sudo_ /usr/sbin/slurmctld -f "$conf"
  alive "$dir/slurmd.pid" || sudo_ /usr/sbin/slurmd -f "$conf"
  export SLURM_CONF="$conf"
  local i
  for i in $(seq 1 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      echo "slurm-dev: up ($(sinfo -h -o '%P %T' | tr '\n' ' '))" >&2
      echo "export SLURM_CONF=$conf"
      return 0
    fi
    # a node left down by an earlier run comes back with an update
    scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
    sleep 1
  done
  echo "slurm-dev: the node did not come up within 60 s; logs under $dir" >&2
  tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  return 1
}

stop() {
  local pid_file pid
  for pid_file in "$dir/slurmd.pid" "$dir/slurmctld.pid"; do
    if alive "$pid_file"; then
      pid="$(cat "$pid_file")"
      sudo_ kill "$pid"
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
  done
  echo "slurm-dev: stopped (munged left running; state kept under $dir)" >&2
}

case "${1:-}" in
  install) install_packages ;;
  start) start ;;
  stop) stop ;;
  env) echo "export SLURM_CONF=$conf" ;;
  status) SLURM_CONF="$conf" sinfo ;;
  *) echo "usage: $0 install|start|stop|env|status" >&2; exit 2 ;;
esac
