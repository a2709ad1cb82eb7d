#!/usr/bin/env bash
# End-to-end tests of `mli table` and `mli report SWEEP_DIR` (TAP-style "ok - ..." lines).
# A sweep of 36 runs is written here with awk (lr x optimizer x batch norm x hsizes, with one
# run diverged, one running and one stopped early), and a small real one is trained.
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp sweep-report)
MLI=$PWD/build/mli

# sweep_fixture DIR: sweep.json and runs/rNN/ with config.json, geometry.json and interp.tsv;
# delta grows with the learning rate, Adam, batch norm and depth, and is 0 for small SGD steps
sweep_fixture() {
  local d=$1; mkdir -p "$d/runs"
  awk -v dir="$d" 'BEGIN {
    split("0.01 0.1 1", lrs, " "); split("sgd adam", opts, " "); split("false true", bns, " ")
    split("32,10|32,32,10|32,128,10", hs, "|")
    n = 0; js = dir "/sweep.json"; printf "{\"runs\": [" > js
    for (a = 1; a <= 3; a++) for (o = 1; o <= 2; o++) for (b = 1; b <= 2; b++) for (h = 1; h <= 3; h++) {
      id = sprintf("r%02d", n); rd = dir "/runs/" id; system("mkdir -p \"" rd "\"")
      lr = lrs[a]; status = "done"
      if (n == 7) status = "diverged"; if (n == 20) status = "running"; if (n == 33) status = "stopped_early"
      depth = split(hs[h], parts, ",")
      printf "%s{\"index\": %d, \"id\": \"%s\", \"path\": \"runs/%s\", \"keys\": {\"lr\": \"%s\", \"optim_name\": \"%s\", \"use_batchnorm\": \"%s\", \"hsizes\": \"%s\"}}", (n ? ",\n " : ""), n, id, id, lr, opts[o], bns[b], hs[h] > js
      cf = rd "/config.json"
      printf "{\"dset_name\": \"fashionmnist\", \"hsizes\": [%s], \"act_fn\": \"relu\", \"use_batchnorm\": %s, \"optim_name\": \"%s\", \"lr\": %s, \"epochs\": 3, \"status\": \"%s\"}\n", hs[h], bns[b], opts[o], lr, status > cf
      close(cf)
      if (status == "diverged" || status == "running") { n++; continue }
      s = (a - 1) + (o - 1) * 1.5 + (b - 1) + 0.3 * (depth - 2) + 0.2 * (h == 3)
      delta = s < 1 ? 0 : 1e-4 * 10 ^ (s - 1)
      dist = 0.2 * 2 ^ s * (1 + 0.1 * (n % 3)); gl = 0.05 + 0.3 * s + 0.02 * (n % 4)
      ftl = (status == "stopped_early") ? 1.5 : 0.02 + 0.01 * (n % 5)
      gf = rd "/geometry.json"
      printf "{\"delta\": %.9g, \"monotone\": %s, \"wdist\": %.9g, \"norm_wdist\": %.9g, \"final_train_loss\": %.9g, \"final_test_loss\": %.9g, \"final_train_acc\": 0.95, \"final_test_acc\": 0.9, \"gauss_length\": {\"mean\": %.9g, \"median\": %.9g}}\n", delta, (delta > 1e-3 ? "false" : "true"), 10 * dist, dist, ftl, ftl + 0.05, gl, gl > gf
      close(gf)
      f = rd "/interp.tsv"; print "alpha\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc" > f
      for (i = 0; i <= 20; i++) { al = i / 20; l = ftl + (2.3 - ftl) * (1 - al) ^ 2 + delta * exp(-((al - 0.75) / 0.08) ^ 2)
        printf "%g\t%.9g\t0.5\t%.9g\t0.5\n", al, l, l + 0.05 > f }
      close(f); n++
    }
    printf "]}\n" > js }'
}

# every href/src of index.html is an existing file (or an anchor of the page), and every
# .png/.svg/.tsv/.gp of the report directory is linked
links_ok() {
  local r=$1/report t
  for t in $(grep -o -E '(href|src)="[^"#][^"]*"' "$r/index.html" | sed -E 's/^(href|src)="(.*)"$/\2/'); do
    [ -e "$r/$t" ] || { echo "# broken link $t"; return 1; }
  done
  for t in "$r"/*.png "$r"/*.svg "$r"/*.tsv "$r"/*.gp; do
    [ -e "$t" ] || continue
    grep -q "\"$(basename "$t")\"" "$r/index.html" || { echo "# not linked: $t"; return 1; }
  done
}

# every PNG of the report starts with the PNG signature
png_ok() {
  local f n=0
  for f in "$1"/report/*.png; do
    [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || { echo "# not a PNG: $f"; return 1; }
    n=$((n + 1))
  done
  [ "$n" -gt 0 ]
}

FIGS="delta_lr_depth delta_lr_width gauss_delta dist_delta wdist_delta gauss_dist curves_bn curves_optim"
S=$T/sweep
sweep_fixture "$S"

# --- mli table ---------------------------------------------------------------------------
run "mli table on a sweep of 36 runs" 0 "$MLI" table "$S"
check "summary.tsv has a header and one row per run" test "$(wc -l < "$S/summary.tsv")" -eq 37
check "summary.tsv: run_id, the keys that vary in key-table order, status, metrics" \
  grep -qx "$(printf 'run_id\thsizes\tuse_batchnorm\toptim_name\tlr\tstatus\tfinal_train_loss\tfinal_test_loss\tfinal_train_acc\tfinal_test_acc\tdelta\tmonotone\twdist\tnorm_wdist\tgauss_length_mean')" "$S/summary.tsv"
check "summary.tsv: a diverged run without results" grep -q "$(printf '^r07\t32,32,10\tfalse\tadam\t0.01\tdiverged\tnan\t')" "$S/summary.tsv"
check "summary.tsv: a running run" grep -q "$(printf '^r20\t.*\trunning\tnan\t')" "$S/summary.tsv"
check "the table is printed as Markdown" grep -q '^| optimizer | batch norm | learning rate | non-monotone / successful |' "$T/last.out"
check "the sentence counts the runs" grep -q '36 runs, 33 successful, 2 excluded as unsuccessful, 1 pending' "$T/last.out"
check "rows: optimizer, batch norm, then learning rate descending" \
  bash -c "grep '^| [as]' '$T/last.out' | cut -d'|' -f2-4 | tr -d ' ' | tr '\n' ' ' | grep -qx 'adam|no|1 adam|no|0.1 adam|no|0.01 adam|yes|1 adam|yes|0.1 adam|yes|0.01 sgd|no|1 sgd|no|0.1 sgd|no|0.01 sgd|yes|1 sgd|yes|0.1 sgd|yes|0.01 '"
check "sgd, no batch norm, lr 1: 2 of 3 non-monotone" grep -qF '| sgd | no | 1 | 2/3 | 0.67 |' "$T/last.out"
check "table.md is what was printed" cmp -s "$S/table.md" "$T/last.out"
check "table.tex is a LaTeX tabular" bash -c "grep -q '^\\\\begin{tabular}{llrrrrrr}' '$S/table.tex' && grep -q '^\\\\end{tabular}' '$S/table.tex' && grep -qF 'Mean \$\\Delta\$' '$S/table.tex'"
run "--loss-threshold 2 counts the run stopped early" 0 "$MLI" table --loss-threshold 2 "$S"
check "now 34 successful, 1 excluded" grep -q '36 runs, 34 successful, 1 excluded as unsuccessful, 1 pending' "$T/last.out"
run "--delta-threshold 0.1 --quiet" 0 "$MLI" table --delta-threshold 0.1 --quiet "$S"
check "--quiet prints nothing" test ! -s "$T/last.out"
check "the threshold is in table.md" grep -q '(Δ > 0.1)' "$S/table.md"
check "sgd, no batch norm, lr 1: none above 0.1" grep -qF '| sgd | no | 1 | 0/3 | 0.00 |' "$S/table.md"
check "no temporary files left behind" test -z "$(find "$S" -maxdepth 1 -name '*.tmp*')"

# --- mli report SWEEP_DIR --------------------------------------------------------------------
run "a run's own report" 0 "$MLI" report --quiet "$S/runs/r05"
run "mli report on the sweep" 0 "$MLI" report "$S"
check "prints where index.html is" grep -qx "$S/report/index.html" "$T/last.out"
check "no warnings from gnuplot" test ! -s "$T/last.err"
for f in $FIGS; do
  check "$f: .png, .svg, .gp and .tsv" test -s "$S/report/$f.png" -a -s "$S/report/$f.svg" -a -s "$S/report/$f.gp" -a -s "$S/report/$f.tsv"
done
check "every PNG is a PNG" png_ok "$S"
command -v file >/dev/null && check "the PNGs are 960x600 images" bash -c "file '$S/report/'*.png | grep -v -c '960 x 600' | grep -qx 0"
command -v xmllint >/dev/null && check "the SVGs are well-formed XML" xmllint --noout "$S/report/"*.svg
check "index.html links exactly the files there are" links_ok "$S"
check "index.html links the run report that exists" grep -q 'href="../runs/r05/report/index.html"' "$S/report/index.html"
check "and not those that do not" bash -c "! grep -q 'runs/r04/report' '$S/report/index.html'"
check "index.html links the table files" bash -c "grep -q 'href=\"../summary.tsv\"' '$S/report/index.html' && grep -q 'href=\"../table.md\"' '$S/report/index.html' && grep -q 'href=\"../table.tex\"' '$S/report/index.html'"
check "index.html counts the runs per status" grep -q '36 runs: 33 done, 1 diverged, 1 running, 1 stopped_early.' "$S/report/index.html"
check "index.html has the table" grep -q '<th>non-monotone / successful</th>' "$S/report/index.html"
check "the titles give Spearman's rho" grep -q "Spearman ρ = " "$S/report/gauss_delta.gp"
check "no temporary files left behind" test -z "$(find "$S/report" -name '*.tmp*')"
mkdir -p "$T/rerender" && cp "$S/report/"*.gp "$S/report/"*.tsv "$T/rerender/"
check "the scripts redraw every figure from inside the report directory" \
  bash -c "cd '$T/rerender' && gnuplot *.gp && for f in $FIGS; do test -s \$f.png -a -s \$f.svg || exit 1; done"

# --- a sweep that varies neither depth nor width, without sweep.json: real runs ---------------
R=$T/real
for lr in 0.03 0.3; do for bn in false true; do
  d=$R/runs/lr${lr}_bn$bn
  "$MLI" train --quiet --out "$d" datasize=300 epochs=1 hsizes=16,10 batchsize=64 lr=$lr use_batchnorm=$bn >/dev/null 2>&1 &&
    "$MLI" analyze --quiet "$d" --examples 10 --verify-steps 10 >/dev/null 2>&1
done; done
run "mli table on 4 trained runs" 0 "$MLI" table "$R"
check "one row per run" test "$(wc -l < "$R/summary.tsv")" -eq 5
check "the keys that vary are use_batchnorm and lr" grep -qx "$(printf 'run_id\tuse_batchnorm\tlr\tstatus\t.*')" "$R/summary.tsv"
run "mli report on 4 trained runs" 0 "$MLI" report --quiet "$R"
check "every PNG is a PNG" png_ok "$R"
for f in gauss_delta dist_delta wdist_delta gauss_dist curves_bn curves_optim; do
  check "$f drawn" test -s "$R/report/$f.png"
done
check "no heat map for a sweep that does not vary depth or width" test ! -e "$R/report/delta_lr_depth.png" -a ! -e "$R/report/delta_lr_width.png"
check "index.html says why" grep -q 'does not vary both the learning rate and the depth' "$R/report/index.html"
check "index.html has no broken link" links_ok "$R"

# --- gnuplot missing ---------------------------------------------------------------------------
mkdir -p "$T/emptybin"
run "without gnuplot on PATH: exit 1" 1 env PATH="$T/emptybin" "$MLI" report "$R"
check "the message says how to render later" grep -q "install gnuplot-nox and run 'cd .*/report && gnuplot \*.gp'" "$T/last.err"
check "index.html still written, without broken links" links_ok "$R"

# --- bad input and usage ---------------------------------------------------------------------
mkdir -p "$T/empty/runs"
run "mli table: a sweep with no runs" 3 "$MLI" table "$T/empty"
check "the message says so" grep -q "without runs" "$T/last.err"
run "mli report: a sweep with no runs" 3 "$MLI" report "$T/empty"
check "nothing written for it" test ! -e "$T/empty/report" -a ! -e "$T/empty/summary.tsv"
run "mli table: a missing directory" 3 "$MLI" table "$T/nonexistent"
check "the message names it" grep -q "$T/nonexistent" "$T/last.err"
mkdir -p "$T/notasweep"
run "mli table: a directory without runs/" 3 "$MLI" table "$T/notasweep"
cp -r "$S" "$T/bad" && rm -rf "$T/bad/report"
printf '{"delta": "big"}\n' > "$T/bad/runs/r03/geometry.json"
run "mli table: a malformed geometry.json" 3 "$MLI" table "$T/bad"
check "the message names the file and the key" grep -q "runs/r03/geometry.json: key 'delta'" "$T/last.err"
run "mli report: a malformed geometry.json" 3 "$MLI" report "$T/bad"
check "nothing written for a malformed input" test ! -e "$T/bad/report"
cp "$S/runs/r03/geometry.json" "$T/bad/runs/r03/geometry.json"
printf 'alpha\ttrain_loss\n0\t2.3\n1\toops\n' > "$T/bad/runs/r04/interp.tsv"
run "mli report: a malformed interp.tsv" 3 "$MLI" report "$T/bad"
check "the message names the file and the line" grep -q "runs/r04/interp.tsv:3: column 'train_loss'" "$T/last.err"
printf '{"runs": [{"id": "../x"}]}\n' > "$T/bad/sweep.json"
run "mli table: a malformed sweep.json" 3 "$MLI" table "$T/bad"
check "the message names sweep.json" grep -q "sweep.json: runs\[0\].id" "$T/last.err"
run "unknown option" 2 "$MLI" table --frobnicate "$S"
check "the message names the option" grep -q -- "--frobnicate" "$T/last.err"
run "a bad threshold" 2 "$MLI" table --loss-threshold abc "$S"
check "the message names the value" grep -q "abc" "$T/last.err"
run "a negative delta threshold" 2 "$MLI" table --delta-threshold -1 "$S"
run "a threshold without value" 2 "$MLI" table "$S" --loss-threshold
run "no sweep directory" 2 "$MLI" table
run "two sweep directories" 2 "$MLI" table "$S" "$R"
run "mli table --help" 0 "$MLI" table --help
check "help names the files" grep -q "table.tex" "$T/last.out"
run "mli --help" 0 "$MLI" --help
check "table is listed" grep -q "^  table" "$T/last.out"
run "mli report --help" 0 "$MLI" report --help
check "report help mentions sweeps" grep -q "SWEEP_DIR" "$T/last.out"
finish
