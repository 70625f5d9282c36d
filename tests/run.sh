#!/bin/sh
# run.sh BUILD_DIR - run every test binary in BUILD_DIR/tests, then print one
# line "N passed, M failed" and exit non-zero on any failure.
# A binary that dies without cmocka's summary counts as one failure.
B=${1:-build/asan}
export CG_BIN="$(pwd)/$B/cgunicorn-top"
export CG_ROOT="$(pwd)"
# Python's own allocations are not ours to report; ASan still catches
# overflows and use-after-free everywhere.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
passed=0 failed=0 skipped=0
logdir="$B/test-logs"
mkdir -p "$logdir"
# cmocka programs, then the dashboard's tmux-driven scripts (which print the
# same summary lines)
for t in "$B"/tests/test_* tests/dashboard/test_*.sh; do
  [ -f "$t" ] || continue
  name=$(basename "$t")
  out="$logdir/$name.log"
  case $t in
    *.sh) bash "$t" >"$out" 2>&1 ;;
    *) "$t" >"$out" 2>&1 ;;
  esac
  rc=$?
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
  k=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
  p=${p:-0} f=${f:-0} k=${k:-0}
  skipped=$((skipped + k))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)) failed=$((failed + f))
  if [ "$f" -ne 0 ]; then
    echo "FAIL $name ($p passed, $f failed) - log: $out"
    grep -E '^\[  (FAILED|ERROR) |^\[  ERROR|error:|Assertion|ERROR: AddressSanitizer|runtime error' "$out" | head -n 20
  else
    echo "ok   $name ($p passed)"
  fi
done
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
