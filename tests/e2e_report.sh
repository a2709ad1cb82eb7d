#!/usr/bin/env bash
# End-to-end tests of `mli report` (TAP-style lines: "ok - ..." / "not ok - ...").
# The run directories are written here with printf, so that the report is tested on its own.
# Exit statuses chosen for `mli report`: a missing RUN_DIR is an invalid input (3), like any
# other unreadable input file; a sweep directory is a usage error (2) until sweeps are supported.
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
T=$(tu_tmp report)
MLI=$PWD/build/mli

# fixture DIR [full]: a run directory; with "full" every optional file and key as well
fixture() {
  local d=$1; mkdir -p "$d"
  printf '{"dset_name": "fashionmnist", "hsizes": [100, 10], "act_fn": "relu", "use_batchnorm": false,\n "loss_fn": "mse", "optim_name": "sgd", "lr": 0.1, "epochs": 3, "status": "done", "mli_version": "0.1.0"}\n' > "$d/config.json"
  { printf 'epoch\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc\twdist\tnorm_wdist\tseconds\n'
    for e in 1 2 3; do printf '%d\t%s\t%s\t%s\t%s\t%s\t%s\t1.5\n' $e 0.$((9 - 2 * e)) 0.$((6 + e)) 0.$((9 - e)) 0.$((5 + e)) $((2 * e)) 0.$((2 * e)); done
  } > "$d/train.tsv"
  local extra="" geo=""
  [ "$2" = full ] && extra='\ttrain_dloss\ttrain_d2loss\ttrain_d2loss_gn\ttrain_d2loss_curv\tspeed\tcurvature\tgauss_speed\tgauss_length_cum'
  { printf "alpha\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc$extra\n"
    awk -v full="$2" 'BEGIN { for (i = 0; i <= 20; i++) { a = i / 20; l = 2.3 * (1 - a) ^ 2 + 0.05 + 0.1 * exp(-((a - 0.6) / 0.05) ^ 2)
      printf "%g\t%g\t%g\t%g\t%s", a, l, 0.1 + 0.8 * a, l + 0.02, (i == 5 ? "nan" : 0.1 + 0.75 * a)
      if (full == "full") printf "\t%g\t%g\t4.6\t%g\t%g\t%g\t%g\t%g", -4.6 * (1 - a), 4.6, 0, 2 - a, 0.01 * 1000 ^ a, 0.5 + a, a * (0.5 + a / 2)
      printf "\n" } }'
  } > "$d/interp.tsv"
  if [ "$2" = full ]; then
    { printf 'alpha\tspeed_q25\tspeed_q50\tspeed_q75\tcurvature_q25\tcurvature_q50\tcurvature_q75\tgauss_speed_q25\tgauss_speed_q50\tgauss_speed_q75\n'
      awk 'BEGIN { for (i = 0; i <= 20; i++) { a = i / 20; s = 2 - a; c = 0.01 * 1000 ^ a; g = 0.5 + a
        printf "%g\t%g\t%g\t%g\t%g\t%g\t%g\t%g\t%g\t%g\n", a, 0.7*s, s, 1.4*s, 0.7*c, c, 1.4*c, 0.7*g, g, 1.4*g } }'
    } > "$d/geometry_quantiles.tsv"
    { printf 'index\tlabel\tgauss_length\tarc_length\tmax_curvature\tmonotone\tcert_c0\tcert_c1\tcert_c2\tfirst_violation_alpha\tc1_prefix\tcert_c12\n'
      awk 'BEGIN { srand(1); for (i = 0; i < 200; i++) { g = 0.3 + 1.8 * rand() * rand(); printf "%d\t%d\t%g\t1\t2\t1\t1\t%d\t0\t-1\t0.5\t1\n", i, i % 10, g, g < 1.5707963 } }'
    } > "$d/examples.tsv"
    geo=', "gauss_length": {"mean": 0.75, "median": 0.7, "frac_below_half_pi": 0.9, "split": "test", "n_examples": 200},
 "certificates": {"c0": {"certified": 120, "monotone": 150, "counterexamples": 0, "n_examples": 200},
   "c1": {"certified": 100, "monotone": 150, "counterexamples": 0, "n_examples": 200},
   "c2": {"certified": 60, "monotone": 150, "counterexamples": 0, "n_examples": 200},
   "c12": {"certified": 110, "monotone": 150, "counterexamples": 0, "n_examples": 200},
   "dataset": {"c0": false, "monotone": false}, "verify_steps": 1000},
 "hessian": {"alphas": [0, 1], "top_eigenvalues": [[50, 20, 10], [80, 30, 12]],
   "bottom_eigenvalues": [[-2, -1, -0.5], [-0.3, -0.1, null]], "trace": [400, 900], "trace_stderr": [20, null]}'
  fi
  printf '{"alphas": [0, 0.05], "delta": 0.0123, "monotone": false, "nonmonotone_threshold": 0.001,
 "bumps": [{"start": 0.5, "end": 0.7, "height": 0.0123, "width": 0.2}], "wdist": 6, "norm_wdist": 0.6,
 "final_train_loss": 0.05, "final_test_loss": 0.07, "final_train_acc": 0.9, "final_test_acc": null%s}\n' "$geo" > "$d/geometry.json"
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

FIGS="loss_alpha acc_alpha train_curves dloss_alpha geometry_alpha gauss_hist certificates hessian"

# --- a full run directory ----------------------------------------------------------------
fixture "$T/full" full
run "report of a full run directory" 0 "$MLI" report "$T/full"
check "prints where index.html is" grep -qx "$T/full/report/index.html" "$T/last.out"
check "no warnings from gnuplot" test ! -s "$T/last.err"
for f in $FIGS; do
  check "$f: .png, .svg, .gp and .tsv" test -s "$T/full/report/$f.png" -a -s "$T/full/report/$f.svg" \
    -a -s "$T/full/report/$f.gp" -a -s "$T/full/report/$f.tsv"
done
command -v file >/dev/null && check "the PNGs are 960x600 images" bash -c "file '$T/full/report/'*.png | grep -v -c '960 x 600' | grep -qx 0"
if command -v xmllint >/dev/null; then
  check "the SVGs are well-formed XML" xmllint --noout "$T/full/report/"*.svg
fi
check "index.html links exactly the files there are" links_ok "$T/full"
check "index.html shows the summary" grep -q "non-monotone" "$T/full/report/index.html"
check "no temporary files left behind" test -z "$(find "$T/full" -name '*.tmp*')"
mkdir -p "$T/rerender" && cp "$T/full/report/"*.gp "$T/full/report/"*.tsv "$T/rerender/"
check "the scripts redraw every figure from inside the report directory" \
  bash -c "cd '$T/rerender' && gnuplot *.gp && for f in $FIGS; do test -s \$f.png -a -s \$f.svg || exit 1; done"
run "a second report over the first" 0 "$MLI" report --quiet "$T/full/"
check "--quiet prints nothing" test ! -s "$T/last.out"

# --- only the mandatory files ------------------------------------------------------------
fixture "$T/min"
run "report of a run without the optional files" 0 "$MLI" report "$T/min"
check "its loss figure exists" test -s "$T/min/report/loss_alpha.png"
check "no figure without data" test -z "$(ls "$T/min/report" | grep -E '^(dloss_alpha|geometry_alpha|gauss_hist|certificates|hessian)')"
check "no broken link" links_ok "$T/min"

# --- gnuplot missing ---------------------------------------------------------------------
fixture "$T/nognu" full
mkdir -p "$T/emptybin"
run "without gnuplot on PATH: exit 1" 1 env PATH="$T/emptybin" "$MLI" report "$T/nognu"
check "the message says how to render later" grep -q "install gnuplot-nox and run 'cd .*/report && gnuplot \*.gp'" "$T/last.err"
for f in $FIGS; do
  check "$f.gp and $f.tsv still written" test -s "$T/nognu/report/$f.gp" -a -s "$T/nognu/report/$f.tsv"
done
check "no image without gnuplot" test -z "$(ls "$T/nognu/report" | grep -E '\.(png|svg)$')"
check "index.html still written, without broken links" links_ok "$T/nognu"
check "rendering later works as the message says" bash -c "cd '$T/nognu/report' && gnuplot *.gp && test -s loss_alpha.png"

# --- a full disk: gnuplot exits 0 after a failed write; what it cut must not be put in place --
# every PNG of a directory whole (signature, chunks within the file, IEND at its very end)
# and every SVG ending with </svg>
whole_images() {
  python3 - "$1" <<'PY'
import glob, struct, sys
for f in glob.glob(sys.argv[1] + "/*.png"):
    d = open(f, "rb").read(); pos = 8
    assert d[:8] == b"\x89PNG\r\n\x1a\n", f
    while True:
        assert pos + 12 <= len(d), f + ": cut"
        n, t = struct.unpack(">I4s", d[pos:pos + 8]); pos += 12 + n
        assert pos <= len(d), f + ": chunk beyond the end"
        if t == b"IEND": assert pos == len(d), f; break
for f in glob.glob(sys.argv[1] + "/*.svg"):
    assert open(f, "rb").read().rstrip().endswith(b"</svg>"), f + ": cut"
PY
}
if [ "$(id -u)" -ne 0 ]; then
  echo "# skipped: the full-disk report test needs root (it mounts a small tmpfs)"
else
  for size in 200k 120k 60k; do
    d=$T/disk$size
    fixture "$d" full
    mkdir -p "$d/report"
    if ! mount -t tmpfs -o size=$size tmpfs "$d/report"; then
      echo "# skipped: cannot mount a tmpfs of $size"; continue
    fi
    run "report on a full disk ($size tmpfs): exit 1" 1 "$MLI" report "$d"
    check "  the message names the cut figure and the cause" grep -qE \
      "$d/report/[a-z_]+\.(png|svg): gnuplot wrote an incomplete (PNG|SVG) \(.*\): No space left on device" "$T/last.err"
    check "  every image in place is whole" whole_images "$d/report"
    check "  no temporary file left behind" test -z "$(find "$d/report" -name '*.tmp*')"
    if [ -e "$d/report/index.html" ]; then check "  index.html links only what is there" links_ok "$d"; fi
    umount "$d/report"
  done
fi

# --- bad input and usage -----------------------------------------------------------------
run "unknown option" 2 "$MLI" report --frobnicate "$T/full"
check "the message names the option" grep -q -- "--frobnicate" "$T/last.err"
run "no run directory" 2 "$MLI" report
run "two run directories" 2 "$MLI" report "$T/full" "$T/min"
run "missing run directory" 3 "$MLI" report "$T/nonexistent"
check "the message names it" grep -q "$T/nonexistent" "$T/last.err"
long=$T/$(printf 'x%.0s' $(seq 99))
while [ ${#long} -lt 3900 ]; do long=$long/$(printf 'y%.0s' $(seq 99)); done
run "missing run directory with a 4000-byte path" 3 "$MLI" report "$long"
check "  the message keeps the whole path and the cause" grep -qF "$long: no such run directory" "$T/last.err"
mkdir -p "$T/notarun"
run "a directory without config.json" 3 "$MLI" report "$T/notarun"
mkdir -p "$T/sweep" && fixture "$T/sweep/lr0.1" && fixture "$T/sweep/lr1"
run "a sweep directory is not supported yet" 2 "$MLI" report "$T/sweep"
check "the message says sweep" grep -q "sweep" "$T/last.err"
fixture "$T/badtsv"
printf 'alpha\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc\n0\t2.3\t0.1\t2.3\t0.1\n1\toops\t0.9\t0.1\t0.9\n' > "$T/badtsv/interp.tsv"
run "a malformed interp.tsv" 3 "$MLI" report "$T/badtsv"
check "the message names file and line" grep -q "interp.tsv:3" "$T/last.err"
check "nothing written for a malformed input" test ! -e "$T/badtsv/report"
fixture "$T/badjson"
printf '{"delta": 0.1,\n "bumps": [oops]}\n' > "$T/badjson/geometry.json"
run "a malformed geometry.json" 3 "$MLI" report "$T/badjson"
check "the message names file and line" grep -q "geometry.json:2" "$T/last.err"
run "help" 0 "$MLI" report --help
check "help says what is written" grep -q "index.html" "$T/last.out"
run "mli help report" 0 "$MLI" help report
run "mli --help lists report" 0 "$MLI" --help
check "report is listed" grep -q "^  report" "$T/last.out"
finish
