#!/usr/bin/env bash
# `mli sweep`: a 4-run sweep end to end with -j 2; the same sweep killed midway (SIGKILL of the
# sweep alone: its children must die with it; then SIGTERM) and started again; --task; a
# diverging run; a failing run; bad grids.
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp sweep)
MLI=$PWD/build/mli
cat >"$T/grid" <<'EOF'
# the e2e sweep: 2 learning rates x batch norm on/off
datasize = 500
epochs = 1
hsizes = 16,10
lr = 0.1 | 0.01
use_batchnorm = false | true
analyze.examples = 20
analyze.verify_steps = 20
EOF

# every run directory complete: trained, analysed, nothing half-written
complete() {
  local s=$1 id
  for id in $(cut -f2 "$s/jobs.txt"); do
    grep -q '"status":[[:space:]]*"done"' "$s/runs/$id/config.json" || return 1
    for f in final.safetensors interp.tsv geometry.json; do test -s "$s/runs/$id/$f" || return 1; done
    [ "$(grep -c '^1	' "$s/runs/$id/train.tsv")" -eq 1 ] || return 1
  done
  [ -z "$(find "$s" -name '*.tmp.*')" ]
}
# the ids of jobs.txt are the run directories, each once
same_runs() {
  diff <(cut -f2 "$1/jobs.txt" | sort) <(ls "$1/runs" | sort) >/dev/null
}
# wait (at most 60 s) until a run has geometry.json
wait_first() {
  local i
  for ((i = 0; i < 1200; i++)); do
    compgen -G "$1/runs/*/geometry.json" >/dev/null && return 0
    sleep 0.05
  done
  return 1
}
# no live process of the process group pgid is left (they get a second to die; zombies are
# dead, only not yet reaped by an init that may not reap)
group_gone() {
  local i
  for ((i = 0; i < 20; i++)); do
    ps -o stat= -g "$1" | grep -qv '^Z' || return 0
    sleep 0.05
  done
  return 1
}

# ---- the sweep, end to end -----------------------------------------------------------------
run "4-run sweep with -j 2" 0 "$MLI" sweep "$T/grid" --out "$T/s" -j 2
check "summary line: 4 done" grep -q "4 runs: 4 done, 0 failed, 0 diverged, 0 skipped" "$T/last.out"
check "jobs.txt has 4 lines" test "$(wc -l <"$T/s/jobs.txt")" -eq 4
check "jobs.txt: index, id, varying keys first, then analyze.*" grep -qP \
  '^1\t[0-9a-f]{12}\tlr=0.1 use_batchnorm=true datasize=500 epochs=1 hsizes=16,10 analyze.examples=20 analyze.verify_steps=20$' "$T/s/jobs.txt"
check "grid.txt is a copy of the grid" cmp "$T/grid" "$T/s/grid.txt"
check "sweep.json lists the runs with their varying keys" python3 -c "
import json; s=json.load(open('$T/s/sweep.json')); r=s['runs']
assert s['n_runs']==4 and s['varying']==['lr','use_batchnorm'] and len(r)==4
assert r[3]['keys']=={'lr':0.01,'use_batchnorm':True} and r[3]['path']=='runs/'+r[3]['id'] and r[3]['index']==3"
check "every run directory complete" complete "$T/s"
check "one run directory per job" same_runs "$T/s"
check "runs got their keys" grep -q '"use_batchnorm":[[:space:]]*true' "$T/s/runs/$(sed -n 2p "$T/s/jobs.txt" | cut -f2)/config.json"
check "analysis options reached analyze (20 examples)" python3 -c "
import json; g=json.load(open('$T/s/runs/$(head -1 "$T/s/jobs.txt" | cut -f2)/geometry.json')); assert g['gauss_length']['n_examples']==20"
stamp=$(stat -c %.9Y "$T"/s/runs/*/geometry.json | md5sum)
run "the same sweep again skips every run" 0 "$MLI" sweep "$T/grid" --out "$T/s" -j 2
check "summary line: 4 skipped" grep -q "4 runs: 0 done, 0 failed, 0 diverged, 4 skipped" "$T/last.out"
check "nothing rewritten" test "$(stat -c %.9Y "$T"/s/runs/*/geometry.json | md5sum)" = "$stamp"
# the grid with its lines in another order: the same ids, so the same run directories
tac "$T/grid" >"$T/grid-rev"
run "the grid in another order finds the same runs" 0 "$MLI" sweep "$T/grid-rev" --out "$T/s"
check "  (4 skipped)" grep -q "4 skipped" "$T/last.out"

# ---- killed midway: SIGKILL of the sweep process alone, then start it again ---------------
setsid "$MLI" sweep "$T/grid" --out "$T/k" -j 2 >"$T/k.out" 2>&1 &
pid=$!
check "first run finished while the sweep runs" wait_first "$T/k"
kill -9 "$pid"
wait "$pid" 2>/dev/null
check "SIGKILL of the sweep kills its children (PR_SET_PDEATHSIG)" group_gone "$pid"
kill -9 -- -"$pid" 2>/dev/null # whatever is left, if the check failed
before=()
for g in "$T"/k/runs/*/geometry.json; do before+=("$(dirname "$g")"); done
stamps=$(for d in "${before[@]}"; do stat -c '%.9Y %n' "$d"/{config.json,final.safetensors,geometry.json,sweep.log}; done)
echo "# killed with ${#before[@]} of 4 runs finished"
run "the killed sweep started again" 0 "$MLI" sweep "$T/grid" --out "$T/k" -j 2
check "  it skipped the finished runs" grep -q "skipped" "$T/last.out"
check "finished runs untouched (mtimes of config, final, geometry, log)" test "$stamps" = \
  "$(for d in "${before[@]}"; do stat -c '%.9Y %n' "$d"/{config.json,final.safetensors,geometry.json,sweep.log}; done)"
check "after the restart every run directory is complete" complete "$T/k"
check "  each run exactly once" same_runs "$T/k"
check "  no run analysed twice (at most one 'done' in its log)" bash -c "
for l in '$T'/k/runs/*/sweep.log; do [ \$(grep -c ' done\$' \"\$l\") -le 1 ] || exit 1; done"

# ---- SIGTERM: the sweep stops its children, exits 1, and resumes ---------------------------
setsid "$MLI" sweep "$T/grid" --out "$T/t" -j 2 >"$T/t.out" 2>"$T/t.err" &
pid=$!
wait_first "$T/t"
kill -TERM "$pid"
wait "$pid"
rc=$?
check "SIGTERM: exit status 1 (the sweep did not finish)" test "$rc" -eq 1
check "SIGTERM: the message says interrupted and how to resume" grep -q "interrupted by signal.*resumes" "$T/t.err"
check "SIGTERM: no child left" group_gone "$pid"
run "the interrupted sweep resumed" 0 "$MLI" sweep "$T/grid" --out "$T/t" -j 2
check "  every run directory complete" complete "$T/t"

# ---- two sweeps on one directory: a run the other is working on is busy, not failed ---------
# The second starts once the first holds run 0, so that it meets a busy run; both must end
# with every run finished (by one or the other), exit 0, and each run trained once.
wait_log() {
  local i
  for ((i = 0; i < 1200; i++)); do
    compgen -G "$1/runs/*/sweep.log" >/dev/null && return 0
    sleep 0.05
  done
  return 1
}
"$MLI" sweep "$T/grid" --out "$T/two" >"$T/two-a.out" 2>"$T/two-a.err" &
pa=$!
wait_log "$T/two"
"$MLI" sweep "$T/grid" --out "$T/two" >"$T/two-b.out" 2>"$T/two-b.err" &
pb=$!
wait "$pa"; ra=$?
wait "$pb"; rb=$?
check "two sweeps on one directory: the first exits 0" test "$ra" -eq 0
check "  the second exits 0" test "$rb" -eq 0
check "  no run reported failed" bash -c "! grep -q 'failed:' '$T/two-a.err' '$T/two-b.err' && grep -q ' 0 failed' '$T/two-a.out' && grep -q ' 0 failed' '$T/two-b.out'"
check "  the second says a run was busy" grep -q "run 0 (.*) is busy: another process is working on it" "$T/two-b.err"
check "  and counts it finished by another process" grep -qE "4 runs: .* 0 failed, 0 diverged, .*[1-9] finished by another process" "$T/two-b.out"
# every run counted once by each sweep: done + skipped + finished by another = 4
sum_ok() { awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(done|skipped|another)/) n += $(i - 1) + 0 } END { exit n != 4 }' \
  <(sed -E 's/ finished by another process/ another/; s/[:,()]//g' "$1"); }
check "  the first's summary accounts for every run" sum_ok "$T/two-a.out"
check "  the second's summary accounts for every run" sum_ok "$T/two-b.out"
check "  every run directory complete" complete "$T/two"
check "  each run trained and analysed once (one 'done' in its log)" bash -c "
for l in '$T'/two/runs/*/sweep.log; do [ \$(grep -c ' done\$' \"\$l\") -eq 1 ] || exit 1; done"
run "  the table lists the 4 runs, all done" 0 "$MLI" table "$T/two" --quiet
check "  summary.tsv: 4 runs with status done" test "$(awk -F'\t' 'NR==1{for(i=1;i<=NF;i++) if($i=="status") c=i} NR>1 && $c=="done"' "$T/two/summary.tsv" | wc -l)" -eq 4

# another process holds a run and lets it go unfinished: the sweep waits, then does the run
# itself (a run is never lost). flock(1) stands in for that process.
if command -v flock >/dev/null; then
  id0=$(head -1 "$T/two/jobs.txt" | cut -f2)
  mkdir -p "$T/held/runs/$id0"
  flock "$T/held/runs/$id0" sleep 1.5 &
  pf=$!
  sleep 0.3
  run "a run held by another process and let go unfinished: exit 0" 0 "$MLI" sweep "$T/grid" --out "$T/held" --task 0
  wait "$pf"
  check "  it was reported busy" grep -q "run 0 (.*) is busy" "$T/last.err"
  check "  then trained and analysed here" grep -q "1 run: 1 done, 0 failed" "$T/last.out"
  check "  and is complete" test -s "$T/held/runs/$id0/geometry.json"
else
  echo "# skipped: flock(1) is not installed"
fi

# ---- --task K: one run (a SLURM array task) ------------------------------------------------
run "--task 2 runs only run 2" 0 "$MLI" sweep "$T/grid" --out "$T/one" --task 2
id2=$(sed -n 3p "$T/one/jobs.txt" | cut -f2)
check "  only runs/<id of run 2> exists" test "$(ls "$T/one/runs")" = "$id2"
check "  and it is complete" test -s "$T/one/runs/$id2/geometry.json"
check "  its summary counts one run" grep -q "1 run: 1 done" "$T/last.out"
run "--task out of range" 2 "$MLI" sweep "$T/grid" --out "$T/one" --task 4
check "  the message gives the range" grep -q "the grid has 4 runs (0 to 3)" "$T/last.err"

# ---- a diverging run is a result; a failing run is reported and the sweep carries on -------
cat >"$T/grid-div" <<'EOF'
datasize = 500
epochs = 1
batchsize = 50
hsizes = 16,10
act_fn = identity
lr = 1e3 | 0.01     # the first diverges
analyze.examples = 10
analyze.verify_steps = 10
EOF
run "a diverging run: the sweep still succeeds" 0 "$MLI" sweep "$T/grid-div" --out "$T/d" -j 2
check "  summary: 1 done, 1 diverged" grep -q "2 runs: 1 done, 0 failed, 1 diverged" "$T/last.out"
div=$(head -1 "$T/d/jobs.txt" | cut -f2)
check "  the diverged run has status diverged" grep -q '"status":[[:space:]]*"diverged"' "$T/d/runs/$div/config.json"
check "  and was not analysed" test ! -e "$T/d/runs/$div/geometry.json"
check "  the other run is complete" test -s "$T/d/runs/$(sed -n 2p "$T/d/jobs.txt" | cut -f2)/geometry.json"
run "the diverged run is not trained again" 0 "$MLI" sweep "$T/grid-div" --out "$T/d"
check "  summary: 1 diverged, 1 skipped" grep -q "0 done, 0 failed, 1 diverged, 1 skipped" "$T/last.out"

cat >"$T/grid-fail" <<'EOF'
datasize = 500
epochs = 1
hsizes = 16,10
dset_name = nosuch | fashionmnist
analyze.examples = 10
analyze.verify_steps = 10
EOF
run "a failing run: exit 1" 1 "$MLI" sweep "$T/grid-fail" --out "$T/f" -j 1
check "  the failure names the run and its log" grep -q "run 0 (.*) failed: mli train exited with status 2; see .*sweep.log" "$T/last.err"
check "  and shows the child's message" grep -q "unknown data set 'nosuch'" "$T/last.err"
check "  the child's stderr is kept in sweep.log" grep -q "unknown data set 'nosuch'" "$T/f/runs/$(head -1 "$T/f/jobs.txt" | cut -f2)/sweep.log"
check "  the sweep carried on: 1 done, 1 failed" grep -q "2 runs: 1 done, 1 failed" "$T/last.out"

# ---- usage errors --------------------------------------------------------------------------
printf 'lr = 0.1\nepochs = 1 | | 2\n' >"$T/bad1"
run "bad grid (empty alternative): exit 2" 2 "$MLI" sweep "$T/bad1" --out "$T/b"
check "  the message names the line" grep -q "bad1:2: epochs: alternative 2 of 3 is empty" "$T/last.err"
check "  nothing written" test ! -e "$T/b"
printf 'lr = 0.1\nnosuch = 1\n' >"$T/bad2"
run "bad grid (unknown key): exit 2" 2 "$MLI" sweep "$T/bad2" --out "$T/b"
check "  the message names the line and key" grep -q "bad2:2: unknown key 'nosuch'" "$T/last.err"
printf 'lr = 0.1\nlr = 0.2\n' >"$T/bad3"
run "bad grid (repeated key): exit 2" 2 "$MLI" sweep "$T/bad3" --out "$T/b"
run "missing grid file: exit 2" 2 "$MLI" sweep "$T/nosuch" --out "$T/b"
run "no --out: exit 2" 2 "$MLI" sweep "$T/grid"
run "SLURM options without --slurm: exit 2" 2 "$MLI" sweep "$T/grid" --out "$T/b" --mem 4G
run "mli sweep --help" 0 "$MLI" sweep --help
check "  the help shows the grid syntax" grep -q "key = a | b | c" "$T/last.out"

# ---- --slurm writes the script (without submitting) ---------------------------------------
run "--slurm writes slurm.sbatch" 0 "$MLI" sweep "$T/grid" --out "$T/sl" --slurm --time 00:10:00 --mem 1G --cpus 2 --max-parallel 3
check "  a job array of 4 tasks, 3 at a time" grep -q '^#SBATCH --array=0-3%3$' "$T/sl/slurm.sbatch"
check "  the body runs this binary on the grid copy, one task" grep -qF \
  "exec $MLI sweep $T/sl/grid.txt --out $T/sl --task \"\$SLURM_ARRAY_TASK_ID\"" "$T/sl/slurm.sbatch"
check "  nothing trained" test -z "$(ls "$T/sl/runs")"
finish
