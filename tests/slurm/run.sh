#!/usr/bin/env bash
# make check-slurm: `mli sweep --slurm --submit` against a real SLURM cluster of one node that
# this script starts itself (munged, slurmctld, slurmd at 127.0.0.1, every file under a
# temporary folder) and stops afterwards by their pid files, also on failure. Needs root: it
# installs slurm-wlm and munge with apt-get when they are missing and runs the daemons.
# Not part of `make check`.
cd "$(dirname "$0")/../.." || exit 1
source tests/lib.sh
MLI=$PWD/build/mli
WAIT_JOBS=${WAIT_JOBS:-600} # seconds the sweep may take on the cluster

if [ "$(id -u)" -ne 0 ]; then
  echo "not ok - check-slurm needs root (it installs packages and starts the SLURM daemons)"
  exit 1
fi
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  echo "# installing slurm-wlm and munge"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null 2>&1; }
fi
check "slurm-wlm and munge installed" command -v slurmctld slurmd munged sbatch squeue sinfo
command -v slurmctld >/dev/null || { finish; exit 1; }

T=$(tu_tmp slurm)
chmod 755 "$T"
mkdir -p "$T/state" "$T/spool" "$T/munge"
chmod 700 "$T/munge"

# Stop every daemon we started, by its pid file, and wait for it to go.
stop_daemons() {
  local f pid i
  for f in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munge/munged.pid"; do
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || continue
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
}
trap stop_daemons EXIT

# ---- munge: our own key and socket ------------------------------------------------------------
mungekey --create --keyfile="$T/munge/munge.key" --force >/dev/null 2>&1 ||
  dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$T/munge/munge.key"
munged --force --key-file="$T/munge/munge.key" --socket="$T/munge/munge.sock" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/munge/munged.log" --seed-file="$T/munge/munged.seed"
check "munged started" test -S "$T/munge/munge.sock"

# ---- slurm.conf: one node, this machine's CPUs and memory -------------------------------------
node=$(slurmd -C | head -1 | sed 's/^NodeName=[^ ]*//')
cat >"$T/slurm.conf" <<EOF
ClusterName=mlitest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.sock
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=localhost NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N localhost
node_idle() {
  local i
  for ((i = 0; i < 300; i++)); do
    [ "$(sinfo -h -n localhost -o %t 2>/dev/null)" = idle ] && return 0
    sleep 0.2
  done
  return 1
}
check "slurmctld and slurmd up, the node idle" node_idle
if ! node_idle; then
  tail -5 "$T/slurmctld.log" "$T/slurmd.log" | sed 's/^/#   /'
  finish
  exit 1
fi

# ---- a 4-run sweep submitted as a job array ----------------------------------------------------
cat >"$T/grid" <<'EOF'
datasize = 500
epochs = 1
hsizes = 16,10
lr = 0.1 | 0.01
use_batchnorm = false | true
analyze.examples = 20
analyze.verify_steps = 20
EOF
run "mli sweep --slurm --submit" 0 "$MLI" sweep "$T/grid" --out "$T/s" --slurm --submit \
  --partition debug --time 00:10:00 --mem 500M --cpus 1 --max-parallel 2
cat "$T/last.out" | sed 's/^/# /'
job=$(sed -n 's/^submitted job array \([0-9]*\) .*/\1/p' "$T/last.out")
check "sbatch gave a job id" test -n "$job"
check "the script is a 4-task array, 2 at a time" grep -q '^#SBATCH --array=0-3%2$' "$T/s/slurm.sbatch"

jobs_gone() {
  local i
  for ((i = 0; i < WAIT_JOBS * 2; i++)); do
    [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && return 0
    sleep 0.5
  done
  return 1
}
check "the job array finished within ${WAIT_JOBS} s" jobs_gone
complete() {
  local id
  for id in $(cut -f2 "$T/s/jobs.txt"); do
    grep -q '"status":[[:space:]]*"done"' "$T/s/runs/$id/config.json" || return 1
    for f in final.safetensors interp.tsv geometry.json; do test -s "$T/s/runs/$id/$f" || return 1; done
  done
}
check "every run finished (config.json done, final, interp, geometry)" complete
check "one output file per array task" test "$(ls "$T/s"/slurm-"${job}"_*.out 2>/dev/null | wc -l)" -eq 4
check "each task ran its one run" bash -c "[ \$(cat '$T/s'/slurm-${job}_*.out | grep -c '1 run: 1 done, 0 failed') -eq 4 ]"
check "one run directory per job" diff <(cut -f2 "$T/s/jobs.txt" | sort) <(ls "$T/s/runs" | sort)
# the cluster path is the local path: a local sweep over the same folder has nothing to do
run "the local sweep finds every run finished" 0 "$MLI" sweep "$T/s/grid.txt" --out "$T/s"
check "  (4 skipped)" grep -q "4 runs: 0 done, 0 failed, 0 diverged, 4 skipped" "$T/last.out"
if [ "$N_FAIL" -ne 0 ]; then
  for f in "$T/slurmctld.log" "$T/slurmd.log" "$T"/s/slurm-*.out; do [ -f "$f" ] && tail -5 "$f" | sed "s|^|# $(basename "$f"): |"; done
fi
finish
