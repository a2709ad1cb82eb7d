#!/usr/bin/env bash
# The test driver of `make check`: every cmocka program (float and double builds), every
# end-to-end script, then the sanitized pass. Ends with one line "check: N passed, N failed".
cd "$(dirname "$0")/.." || exit 2
pass=0; fail=0; failed=()
export MLI_TEST_ROOT="$PWD"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
rm -rf build/test-tmp; mkdir -p build/test-logs

count_cmocka() {   # name, command...
  local name=$1; shift
  local log=build/test-logs/$name.log; mkdir -p "$(dirname "$log")"
  local t0=$SECONDS
  "$@" >"$log" 2>&1; local rc=$?
  local p f
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  p=${p:-0}; f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  pass=$((pass + p)); fail=$((fail + f))
  if [ "$f" -ne 0 ]; then failed+=("$name"); echo "FAIL $name ($p passed, $f failed, $((SECONDS - t0))s) — see $log"; grep -E '\[  (FAILED|ERROR) |ERROR|error:|runtime error' "$log" | head -20
  else echo "ok   $name ($p passed, $((SECONDS - t0))s)"; fi
}

count_tap() {      # name, script
  local name=$1 script=$2
  local log=build/test-logs/$name.log; mkdir -p "$(dirname "$log")"
  local t0=$SECONDS
  bash "$script" >"$log" 2>&1; local rc=$?
  local p f
  p=$(grep -c '^ok ' "$log"); f=$(grep -c '^not ok ' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  pass=$((pass + p)); fail=$((fail + f))
  if [ "$f" -ne 0 ]; then failed+=("$name"); echo "FAIL $name ($p passed, $f failed, $((SECONDS - t0))s) — see $log"; grep '^not ok' "$log" | head -20; tail -5 "$log"
  else echo "ok   $name ($p passed, $((SECONDS - t0))s)"; fi
}

for t in build/tests/test_*; do count_cmocka "$(basename "$t")" "$t"; done
for s in tests/e2e_*.sh; do [ -f "$s" ] && count_tap "$(basename "$s" .sh)" "$s"; done
for t in build/san/test_*; do [ -x "$t" ] && count_cmocka "san/$(basename "$t")" "$t"; done

[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
