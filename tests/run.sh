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
# tally NAME RC SECS: count the summary of $logdir/NAME.log (exit code RC,
# SECS seconds)
tally() {
  name=$1 rc=$2 secs=$3
  out="$logdir/$name.log"
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
  k=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
  p=${p:-0} f=${f:-0} k=${k:-0}
  skipped=$((skipped + k))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)) failed=$((failed + f))
  if [ "$f" -ne 0 ]; then
    echo "FAIL $name ($p passed, $f failed, ${secs}s) - log: $out"
    grep -E '^\[  (FAILED|ERROR) |^\[  ERROR|error:|Assertion|ERROR: AddressSanitizer|runtime error' "$out" | head -n 20
  else
    echo "ok   $name ($p passed, ${secs}s)"
  fi
}
# cmocka programs, then the dashboard's tmux-driven scripts (which print the
# same summary lines)
for t in "$B"/tests/test_* tests/dashboard/test_*.sh; do
  [ -f "$t" ] || continue
  name=$(basename "$t")
  t0=$(date +%s)
  case $t in
    *.sh) bash "$t" >"$logdir/$name.log" 2>&1 ;;
    *) "$t" >"$logdir/$name.log" 2>&1 ;;
  esac
  tally "$name" $? $(($(date +%s) - t0))
done
# The real-app, bad-input, WSGI and signal suites again under the green
# worker classes (issue 6): the harness appends $CG_TEST_WORKER_ARGS to
# every server's arguments (the last -k wins).  These suites start a server
# per test and a green worker imports gevent (0.2 s) or eventlet (about a
# second: dnspython, setuptools) at boot, so the two classes run side by
# side (each test process has its own ports and logs) and eventlet runs a
# chosen part of two suites ($CG_TEST_ONLY, h_select_tests):
# - test_badinput: the connection and body cases; of the 35 table cases
#   (bad_cases.c), whose heads the C parser rejects in the main greenlet
#   before any connection greenlet exists - the same code as under gevent -
#   three samples;
# - test_signals: what the worker itself does (graceful and quick stops,
#   TTIN/TTOU, HUP, a killed or TERMed worker); the master-only cases
#   (USR1/USR2, daemon, WINCH, config reloads) run under gevent.
rerun="test_badinput test_wsgi test_serve test_signals test_apps"
# test_apps (Django, Falcon, Bottle, Flask; a few seconds) also under gthread
rerun_gthread="test_apps"
args_gthread="-k gthread --threads 4"
only_eventlet_test_badinput="request_line_without_end too_many_headers chunked_twice
  limits_boundaries default_limits_boundaries invalid_chunk_size chunked_body_truncated
  expect_continue expect_continue_body_at_once expect_http10_ignored connect_and_close
  disconnect_mid_head disconnect_mid_body random_garbage mutated_requests"
only_eventlet_test_signals="test_term_graceful test_term_graceful_timeout test_int_quick
  test_quit_quick test_term_then_int test_ttin_ttou test_hup_replaces_workers
  test_hup_in_flight_request_completes test_kill9_worker test_worker_term_replaced"
for cls in gevent eventlet gthread; do
  (
    eval "export CG_TEST_WORKER_ARGS=\"\${args_$cls:--k $cls}\""
    eval "suites=\${rerun_$cls:-\$rerun}"
    for t in $suites; do
      [ -f "$B/tests/$t" ] || continue
      eval "only=\${only_${cls}_$t:-}"
      t0=$(date +%s)
      CG_TEST_ONLY=$(echo $only) "$B/tests/$t" >"$logdir/$t[$cls].log" 2>&1
      echo $? $(($(date +%s) - t0)) >"$logdir/$t[$cls].rc"
    done
  ) &
done
wait
for cls in gevent eventlet gthread; do
  eval "suites=\${rerun_$cls:-\$rerun}"
  for t in $suites; do
    [ -f "$logdir/$t[$cls].rc" ] || continue
    # shellcheck disable=SC2046
    tally "$t[$cls]" $(cat "$logdir/$t[$cls].rc")
    rm -f "$logdir/$t[$cls].rc"
  done
done
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
