# Helpers for the end-to-end test scripts: TAP-style "ok - name" / "not ok - name" lines.
N_FAIL=0
tu_tmp() { local d="$PWD/build/test-tmp/$1-$$"; rm -rf "$d"; mkdir -p "$d"; T_LAST="$d"; echo "$d"; }
# run NAME EXPECTED_STATUS CMD...: runs CMD, stdout/stderr to $T/last.out / last.err
run() {
  local name=$1 want=$2; shift 2
  "$@" >"$T/last.out" 2>"$T/last.err"; local rc=$?
  if [ "$rc" -eq "$want" ]; then echo "ok - $name"
  else echo "not ok - $name (exit $rc, expected $want)"; sed 's/^/#   /' "$T/last.err" | tail -5; N_FAIL=$((N_FAIL+1)); fi
}
# check NAME CMD...: passes when CMD succeeds
check() {
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then echo "ok - $name"; else echo "not ok - $name"; N_FAIL=$((N_FAIL+1)); fi
}
finish() { [ "$N_FAIL" -eq 0 ]; }
