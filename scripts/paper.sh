#!/bin/bash
# make paper: one sweep per part of the study (paper/<part>.grid into runs/paper/<part>/),
# each part's table, then the study's page (mli report runs/paper). A killed make paper
# resumes: every sweep skips its finished runs. Each part's wall time is appended to
# runs/paper/timing.tsv (part, UTC start, seconds, the sweep's summary line), which the page
# shows, so that the time of the pass that trained the runs is kept when a later pass only
# skips them.
#   MLI (./build/mli), GRIDS (paper), OUT (runs/paper), JOBS (2), PARTS (every part, in order)
set -u
MLI=${MLI:-./build/mli}
GRIDS=${GRIDS:-paper}
OUT=${OUT:-runs/paper}
JOBS=${JOBS:-2}
PARTS=${PARTS:-arch-relu arch-tanh arch-sigmoid outr optim mse ae}
mkdir -p "$OUT" || exit 1
[ -f "$OUT/timing.tsv" ] || printf 'part\tstart_utc\tseconds\tsweep\n' > "$OUT/timing.tsv"
status=0
T0=$(date +%s)
for p in $PARTS; do
    start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    t0=$(date +%s.%N)
    line=$("$MLI" sweep "$GRIDS/$p.grid" --out "$OUT/$p" -j "$JOBS" --quiet | tail -n 1)
    rc=${PIPESTATUS[0]}
    t1=$(date +%s.%N)
    echo "$line"
    [ "$rc" -eq 0 ] || { echo "make paper: part $p: mli sweep exited $rc" >&2; status=1; }
    awk -v p="$p" -v s="$start" -v a="$t0" -v b="$t1" -v l="$line" 'BEGIN { printf "%s\t%s\t%.1f\t%s\n", p, s, b - a, l }' >> "$OUT/timing.tsv"
    "$MLI" table "$OUT/$p" --quiet > /dev/null || status=1
done
"$MLI" report "$OUT" || status=1
echo "make paper: $(( $(date +%s) - T0 )) s wall for the parts $PARTS"
exit $status
