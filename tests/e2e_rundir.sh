#!/usr/bin/env bash
# The run directory never lies (issue 9): a full disk, a failed write, a second writer, a
# retrain over an analysed run, `mli run` over an existing run, stale temporary files, config
# files with long lines, NUL bytes or repeated keys, and allocation failures.
# Disk-full cases need root (a small tmpfs); elsewhere they are skipped with a message.
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp rundir)
MLI=${MLI:-./build/mli}
skip() { echo "ok - $1 # SKIP $2"; }
status_is() { grep -q "\"status\":[[:space:]]*\"$2\"" "$1/config.json"; }

# small, fast runs: a Gaussian mixture
G=(--quiet dset_name=gaussmix datasize=600 synth_test=200 hsizes=16,10 batchsize=50)

# ---- 1. a failed write is not divergence -------------------------------------------------
args=("${G[@]}" epochs=3 save_freq=1 seed=3)
run "clean reference run" 0 "$MLI" train --out "$T/clean" "${args[@]}"
mkdir -p "$T/wfail" && touch "$T/wfail/traj"     # traj/ cannot be created: a write fails
run "a failed write exits 1" 1 "$MLI" train --out "$T/wfail" "${args[@]}"
check "  the run stays resumable (status running)" status_is "$T/wfail" running
check "  the message names the file" grep -q "traj/epoch_1.safetensors" "$T/last.err"
check "  the message gives the system error" grep -q "Not a directory" "$T/last.err"
check "  the message does not call it divergence" sh -c "! grep -qi diverg '$T/last.err'"
check "  no temporary file left" test -z "$(find "$T/wfail" -name '*.tmp.*')"
rm "$T/wfail/traj"
run "  once fixed, the same command resumes and finishes" 0 "$MLI" train --out "$T/wfail" "${args[@]}"
check "  same final.safetensors as an uninterrupted run" cmp -s "$T/clean/final.safetensors" "$T/wfail/final.safetensors"
check "  same snapshots as an uninterrupted run" cmp -s "$T/clean/traj/epoch_3.safetensors" "$T/wfail/traj/epoch_3.safetensors"

# the issue's reproduction: FashionMNIST 784-32-10 on a 300 kB file system
fargs=(--quiet hsizes=32,10 datasize=2000 epochs=2)
if [ "$(id -u)" -eq 0 ] && mkdir -p "$T/full" && mount -t tmpfs -o size=300k tmpfs "$T/full" 2>/dev/null; then
  run "disk full: exit 1" 1 "$MLI" train --out "$T/full/r" "${fargs[@]}"
  check "  disk full: status running, not diverged" status_is "$T/full/r" running
  check "  disk full: the message gives the system error" grep -q "No space left on device" "$T/last.err"
  check "  disk full: the message names a file of the run" grep -q "$T/full/r/[a-z]" "$T/last.err"
  check "  disk full: no claim of a kept checkpoint" sh -c "! grep -q 'kept' '$T/last.err'"
  check "  disk full: no temporary file left" test -z "$(find "$T/full" -name '*.tmp.*')"
  mount -o remount,size=4m "$T/full"
  run "  space freed: the same command resumes and finishes" 0 "$MLI" train --out "$T/full/r" "${fargs[@]}"
  check "  space freed: status done" status_is "$T/full/r" done
  run "  clean run for comparison" 0 "$MLI" train --out "$T/fclean" "${fargs[@]}"
  check "  space freed: same final.safetensors as a clean run" cmp -s "$T/fclean/final.safetensors" "$T/full/r/final.safetensors"
  umount "$T/full"
  mkdir -p "$T/full/r"; mount -t tmpfs -o size=1m tmpfs "$T/full"; mkdir "$T/full/r"; mount -o remount,ro "$T/full"
  run "a read-only directory: exit 1" 1 "$MLI" train --out "$T/full/r" "${G[@]}" epochs=1
  check "  names the file and the system error" grep -q "$T/full/r/init.safetensors: .*Read-only file system" "$T/last.err"
  umount "$T/full"
else
  skip "disk full on a small tmpfs" "needs root to mount a tmpfs"
fi

# in a sweep: a failed write is a failure the next sweep retries, not a diverged result
printf 'dset_name = gaussmix\ndatasize = 600\nsynth_test = 200\nbatchsize = 50\nepochs = 2\nsave_freq = 1\nhsizes = 16,10\nanalyze.examples = 20\nanalyze.verify_steps = 20\n' > "$T/grid"
MLI_FAULT_KILL=1:1 "$MLI" sweep "$T/grid" --out "$T/sw" --quiet >/dev/null 2>&1   # only to create the run
id=$(cut -f2 "$T/sw/jobs.txt")
touch "$T/sw/runs/$id/traj"
run "sweep: a run whose write fails" 1 "$MLI" sweep "$T/grid" --out "$T/sw" --quiet
check "  is counted as failed, not diverged" grep -q "1 run: 0 done, 1 failed, 0 diverged" "$T/last.out" "$T/last.err"
check "  and stays resumable" status_is "$T/sw/runs/$id" running
run "  mli table does not count it as excluded" 0 "$MLI" table "$T/sw" --quiet
check "  (its row says running)" grep -qP "^$id\trunning\t" "$T/sw/summary.tsv"
rm "$T/sw/runs/$id/traj"
run "  the same sweep command retries it" 0 "$MLI" sweep "$T/grid" --out "$T/sw" --quiet
check "  and finishes it" grep -q "1 run: 1 done, 0 failed, 0 diverged" "$T/last.out" "$T/last.err"

# ---- 2. --force leaves nothing of the model it replaces ----------------------------------
run "a finished run" 0 "$MLI" train --out "$T/f" "${G[@]}" epochs=2 save_freq=1
old=(interp.tsv examples.tsv geometry.json geometry_quantiles.tsv random_inits.tsv permute.tsv plane.tsv
     plane_points.tsv logits.tsv report/index.html report/loss_alpha.gp report/loss_alpha.tsv
     report/loss_alpha.png report/loss_alpha.svg report/plane_points.tsv report/certificates_c0.tsv
     init.onnx final.onnx)
mkdir -p "$T/f/report"
for f in "${old[@]}"; do echo old > "$T/f/$f"; done
echo mine > "$T/f/notes.txt"; echo mine > "$T/f/report/mine.txt"; echo mine > "$T/f/traj/mine.txt"
run "--force retrains it" 0 "$MLI" train --force --out "$T/f" "${G[@]}" epochs=1 lr=0.05
for f in "${old[@]}"; do check "  the old $f is gone" test ! -e "$T/f/$f"; done
check "  the old traj/epoch_2.safetensors is gone" test ! -e "$T/f/traj/epoch_2.safetensors"
check "  the user's own files stay" test -e "$T/f/notes.txt" -a -e "$T/f/report/mine.txt" -a -e "$T/f/traj/mine.txt"
check "  the new run is recorded" grep -q '"lr":[[:space:]]*0.05' "$T/f/config.json"
run "--force again with nothing to keep" 0 "$MLI" train --force --out "$T/f" "${G[@]}" epochs=1
check "  an emptied traj/ and report/ are removed" sh -c "rm '$T/f/traj/mine.txt' '$T/f/report/mine.txt'; $MLI train --quiet --force --out '$T/f' ${G[*]} epochs=1 && test ! -e '$T/f/traj' -a ! -e '$T/f/report'"

# ---- 5. a second writer ------------------------------------------------------------------
MLI_FAULT_STOP=2:1 "$MLI" train --out "$T/busy" "${G[@]}" epochs=3 2>/dev/null &
pid=$!
for _ in $(seq 100); do [ "$(ps -o stat= -p $pid 2>/dev/null | cut -c1)" = T ] && break; sleep 0.1; done
run "a second mli train on the same directory fails" 1 "$MLI" train --out "$T/busy" "${G[@]}" epochs=3
check "  the message names the directory and the other process" grep -q "$T/busy: another mli process" "$T/last.err"
run "  so does mli run" 1 "$MLI" run --out "$T/busy" "${G[@]}" epochs=3
kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null
run "  the lock goes with its process: the same command resumes" 0 "$MLI" train --out "$T/busy" "${G[@]}" epochs=3
check "  and finishes" status_is "$T/busy" done

# ---- 6. mli run follows mli train's rules ------------------------------------------------
R=("${G[@]}" epochs=2)
run "mli run" 0 "$MLI" run --out "$T/r" "${R[@]}"
run "  other keys over a finished run are refused" 2 "$MLI" run --out "$T/r" "${R[@]}" lr=0.05
check "  the refusal says --force" grep -q -- "--force" "$T/last.err"
check "  the finished run is untouched" grep -q '"lr":[[:space:]]*0.10*,' "$T/r/config.json"
run "  --force trains the other keys" 0 "$MLI" run --force --out "$T/r" "${R[@]}" lr=0.05
check "  the new configuration is recorded" grep -q '"lr":[[:space:]]*0.05' "$T/r/config.json"
MLI_FAULT_KILL=2:0 "$MLI" run --out "$T/rk" "${R[@]}" >/dev/null 2>&1
check "mli run killed after epoch 1 leaves a running run" status_is "$T/rk" running
ino=$(stat -c %i "$T/rk/init.safetensors")
# a restart from epoch 1 would be killed again by this fault point; a resume never gets there
run "  the same command resumes it (not from epoch 1)" 0 env MLI_FAULT_KILL=1:1 "$MLI" run --out "$T/rk" "${R[@]}"
check "  init.safetensors was not rewritten" test "$(stat -c %i "$T/rk/init.safetensors")" = "$ino"
run "  clean mli train for comparison" 0 "$MLI" train --out "$T/rc" "${R[@]}"
check "  same final.safetensors as an uninterrupted run" cmp -s "$T/rc/final.safetensors" "$T/rk/final.safetensors"

# ---- 7. config files ---------------------------------------------------------------------
{ printf '#'; head -c 4094 /dev/zero | tr '\0' x; printf 'seed=5\nepochs=0\n'; } > "$T/long.cfg"
run "a comment longer than 4095 bytes" 0 "$MLI" train --out "$T/long" --config "$T/long.cfg" "${G[@]}"
check "  nothing past byte 4095 of the comment is applied" grep -q '"seed":[[:space:]]*0,' "$T/long/config.json"
{ printf 'lr=0.1 # '; head -c 6000 /dev/zero | tr '\0' y; printf '\nepochs=0\nfoo=1\n'; } > "$T/line.cfg"
run "an error after a long line" 3 "$MLI" train --out "$T/x1" --config "$T/line.cfg" "${G[@]}"
check "  names the right line" grep -q "line.cfg:3: unknown key 'foo'" "$T/last.err"
printf 'epochs=0\nseed=5\0seed=6\n' > "$T/nul.cfg"
run "a NUL byte in a config file" 3 "$MLI" train --out "$T/x2" --config "$T/nul.cfg" "${G[@]}"
check "  names the file, line and the NUL byte" grep -q "nul.cfg:2: .*NUL" "$T/last.err"
run "a directory as --config" 3 "$MLI" train --out "$T/x3" --config "$T" "${G[@]}" epochs=0
check "  names it" grep -q "$T: .*directory" "$T/last.err"
check "  and trains nothing" test ! -e "$T/x3/config.json"

# ---- 9. stale temporary files of a killed writer -----------------------------------------
MLI_FAULT_KILL=2:0 "$MLI" train --out "$T/st" "${G[@]}" epochs=2 save_freq=1 2>/dev/null
stale=(checkpoint.safetensors.tmp.Ab12Cd config.json.tmp.zzzzzz traj/epoch_1.safetensors.tmp.q1W2e3)
mine=(notes.tmp.txt checkpoint.safetensors.tmp.toolong1 mydata.tsv.tmp.Ab12Cd)
for f in "${stale[@]}" "${mine[@]}"; do head -c 1000 /dev/zero > "$T/st/$f"; done
run "resuming a killed run" 0 "$MLI" train --out "$T/st" "${G[@]}" epochs=2 save_freq=1
for f in "${stale[@]}"; do check "  removes the stale $f" test ! -e "$T/st/$f"; done
for f in "${mine[@]}"; do check "  keeps $f (not a temporary file of mli)" test -e "$T/st/$f"; done

# ---- 10. repeated keys, epochs=0, alpha_steps, allocation failures -----------------------
run "a key twice on the command line" 2 "$MLI" train --out "$T/x4" "${G[@]}" seed=1 epochs=0 seed=2
check "  names the key and both places" grep -q "seed.*seed=1.*seed=2" "$T/last.err"
printf 'seed=1\nepochs=0\nseed=2\n' > "$T/twice.cfg"
run "a key twice in a config file (an invalid file: 3)" 3 "$MLI" train --out "$T/x5" --config "$T/twice.cfg" "${G[@]}"
check "  names the key and both lines" grep -q "seed.*twice.cfg:1.*twice.cfg:3" "$T/last.err"
run "--config twice" 2 "$MLI" train --out "$T/x6" --config "$T/twice.cfg" --config "$T/long.cfg" "${G[@]}"
run "a command-line key still overrides the config file's" 0 "$MLI" train --out "$T/ov" --config "$T/long.cfg" "${G[@]}" seed=9
check "  the command line wins" grep -q '"seed":[[:space:]]*9,' "$T/ov/config.json"
run "a key twice on mli run's command line" 2 "$MLI" run --out "$T/x7" "${G[@]}" seed=1 seed=2
run "epochs=0" 0 "$MLI" train --out "$T/e0" "${G[@]}" epochs=0
check "  writes train.tsv with its header" test "$(cat "$T/e0/train.tsv")" = "$(printf 'epoch\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc\twdist\tnorm_wdist\tseconds')"
run "alpha_steps beyond what analyze accepts is refused by train" 2 "$MLI" train --out "$T/x8" "${G[@]}" epochs=0 alpha_steps=1000000
check "  the message gives the range" grep -q "alpha_steps: '1000000' is not in \[2, 100000\]" "$T/last.err"
run "alpha_steps at analyze's limit trains" 0 "$MLI" train --out "$T/as" "${G[@]}" epochs=0 alpha_steps=100000
if [ "$(cat /proc/sys/vm/overcommit_memory 2>/dev/null)" != 1 ]; then
  run "an allocation that cannot succeed" 1 "$MLI" train --out "$T/oom" "${G[@]/hsizes=16,10/hsizes=1000000,1000000,10}" epochs=1
  check "  names the size and the key" grep -q "cannot allocate [0-9]* bytes for .*(hsizes=1000000,1000000,10)" "$T/last.err"
  check "  wrote nothing" test ! -e "$T/oom/config.json"
  run "a synthetic set too large for memory" 1 "$MLI" train --out "$T/oom2" --quiet dset_name=gaussmix datasize=1000000000 synth_dim=100000 epochs=0
  check "  names the size and the keys" grep -q "cannot allocate [0-9]* bytes for the training set of gaussmix (datasize=1000000000, synth_dim=100000)" "$T/last.err"
  run "minibatch activations too large for memory" 1 "$MLI" train --out "$T/oom3" --quiet dset_name=gaussmix datasize=1000000 batchsize=1000000 hsizes=1000000,10 synth_dim=2 epochs=1
  check "  names the size and the keys" grep -q "cannot allocate [0-9]* bytes for .*(batchsize=1000000, hsizes=1000000,10)" "$T/last.err"
else
  skip "an allocation that cannot succeed" "vm.overcommit_memory=1 would let it succeed"
fi
finish
