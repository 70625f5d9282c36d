#!/usr/bin/env bash
# test_dashboard.sh - end-to-end tests of the cgunicorn-top dashboard, driven
# through a private tmux server (new-session -d -x 100 -y 30, send-keys,
# capture-pane -p), as ../shared/tools/tui_probe.sh does.
#
#   CG_BIN=build/asan/cgunicorn-top CG_ROOT=. tests/dashboard/test_dashboard.sh
#
# Every screen assertion is paired with a state assertion from outside (the
# master's children, /proc).  Each case prints "ok N - name" or "not ok N -
# name"; the end prints cmocka's summary lines for tests/run.sh and the exit
# status is non-zero on any failure.  Every wait is bounded (WAIT seconds);
# the whole run takes well under two minutes under ASan.  Sanitizer reports
# go to files (log_path) and count as a failure.
set -u

CG_ROOT=${CG_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CG_BIN=${CG_BIN:-$CG_ROOT/build/asan/cgunicorn-top}
WAIT=${WAIT:-12}

command -v tmux >/dev/null 2>&1 || { echo "test_dashboard: tmux is required" >&2; exit 1; }
command -v curl >/dev/null 2>&1 || { echo "test_dashboard: curl is required" >&2; exit 1; }
[ -x "$CG_BIN" ] || { echo "test_dashboard: no binary at $CG_BIN" >&2; exit 1; }

TMP=$(mktemp -d -t cgdash.XXXXXX) || exit 1
SOCK="cgdash-$$"
SESS=dash
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}:log_path=$TMP/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}:log_path=$TMP/ubsan"
unset NO_COLOR

cat >"$TMP/tmux.conf" <<EOF
set -g default-terminal "$(infocmp tmux-256color >/dev/null 2>&1 && echo tmux-256color || echo screen)"
set -g status off
set -g remain-on-exit on
set -g history-limit 1000
set -s escape-time 0
EOF

T() { tmux -L "$SOCK" -f "$TMP/tmux.conf" "$@"; }

PIDS_TO_KILL=()
cleanup() {
  local p
  # the dashboard's master (and through it its workers), then anything left
  for p in $(T list-panes -a -F '#{pane_pid}' 2>/dev/null) ${PIDS_TO_KILL[@]+"${PIDS_TO_KILL[@]}"}; do
    pkill -KILL -P "$p" 2>/dev/null
    kill -KILL "$p" 2>/dev/null
  done
  T kill-server >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' HUP INT PIPE TERM

# ---- helpers -----------------------------------------------------------------

N=0 PASSED=0 FAILED=0 FAILED_NAMES=()
ok() { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $1"; }
not_ok() {
  N=$((N + 1)); FAILED=$((FAILED + 1)); FAILED_NAMES+=("$1")
  echo "not ok $N - $1"
  [ $# -gt 1 ] && printf '#   %s\n' "$2"
  echo "# screen:"; capture | sed 's/^/#   | /'
}
check() { # name command...
  local name=$1; shift
  if "$@"; then ok "$name"; else not_ok "$name"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

capture() { T capture-pane -p -t "$SESS" 2>/dev/null; }
pane() { T display-message -p -t "$SESS" "$1" 2>/dev/null; }
key() { # one character literally, longer words as tmux key names
  local k
  for k in "$@"; do
    if [ "${#k}" -eq 1 ]; then T send-keys -t "$SESS" -l -- "$k"; else T send-keys -t "$SESS" "$k"; fi
    sleep 0.05
  done
}

# wait_screen REGEX [SECONDS]: until the screen matches (grep -E)
wait_screen() {
  local re=$1 limit=${2:-$WAIT} i=0 steps
  steps=$((limit * 5))
  while [ $i -lt $steps ]; do
    capture | grep -Eq -- "$re" && return 0
    sleep 0.2; i=$((i + 1))
  done
  return 1
}

# wait_true SECONDS command...: until the command succeeds
wait_true() {
  local limit=$1 i=0; shift
  while [ $i -lt $((limit * 5)) ]; do
    "$@" && return 0
    sleep 0.2; i=$((i + 1))
  done
  return 1
}

# The worker pids in the table, in screen order.
screen_pids() {
  capture | grep -E '^.[ ]*[0-9]+ (idle|busy|boot|stop|STUCK) ' | sed -E 's/^.[ ]*([0-9]+) .*/\1/'
}
# The master's children (its workers), sorted.
children() { pgrep -P "$MASTER" | sort -n; }
nworkers_is() { [ "$(screen_pids | wc -l)" -eq "$1" ] && [ "$(children | wc -l)" -eq "$1" ]; }
# Every pid on screen is a live child of the master, and vice versa.
pids_match() {
  local s c p
  s=$(screen_pids | sort -n | tr '\n' ' ')
  c=$(children | tr '\n' ' ')
  [ -n "$s" ] && [ "$s" = "$c" ] || return 1
  for p in $s; do
    [ -d "/proc/$p" ] && [ "$(ps -o ppid= -p "$p" | tr -d ' ')" = "$MASTER" ] || return 1
  done
}

# start_dashboard DIR ARGS...: cgunicorn-top in a fresh pane
start_dashboard() {
  local dir=$1; shift
  T kill-session -t "$SESS" >/dev/null 2>&1
  T new-session -d -s "$SESS" -x 100 -y 30 -c "$dir" -- env ASAN_OPTIONS="$ASAN_OPTIONS" \
    "$CG_BIN" "$@" || return 1
  MASTER=$(pane '#{pane_pid}')
}

# wait_dead SECONDS: until the pane's process exited; sets EXIT_STATUS
wait_dead() {
  local limit=$1 i server
  EXIT_STATUS=''
  wait_true "$limit" sh -c "[ \"\$(tmux -L '$SOCK' display-message -p -t '$SESS' '#{pane_dead}')\" = 1 ]" ||
    return 1
  # the pty closes a moment before tmux reaps: wait for the status (tmux
  # 3.3a may need a SIGCHLD nudge, see tui_probe.sh)
  server=$(T display-message -p '#{pid}')
  for i in $(seq 30); do
    EXIT_STATUS=$(pane '#{pane_dead_status}')
    [ -n "$EXIT_STATUS$(pane '#{pane_dead_signal}')" ] && return 0
    [ $((i % 5)) -eq 0 ] && kill -CHLD "$server" 2>/dev/null
    sleep 0.1
  done
  return 0
}

# ---- the dashboard over examples/app.py, then the slow app ---------------------

PORT=$(free_port)
start_dashboard "$CG_ROOT/examples" -w 2 -b "127.0.0.1:$PORT" app:app

# 1. two worker rows, real pids
if wait_screen 'Workers 2/2' && wait_true "$WAIT" nworkers_is 2 && wait_true 5 pids_match; then
  ok "start -w 2: two worker rows whose pids are the master's children"
else
  not_ok "start -w 2: two worker rows whose pids are the master's children" \
    "children: $(children | tr '\n' ' ')"
fi

# 2. the workers hold no descriptor of the terminal and sit outside its
# foreground process group (Ctrl-C and Ctrl-Z are keys, never their signals)
TTY=$(pane '#{pane_tty}')
detached() {
  local w fg fd
  fg=$(ps -o tpgid= -p "$MASTER" | tr -d ' ')
  for w in $(children); do
    [ "$(ps -o pgid= -p "$w" | tr -d ' ')" != "$fg" ] || return 1
    for fd in /proc/"$w"/fd/*; do
      [ "$(readlink "$fd" 2>/dev/null)" != "$TTY" ] || return 1
    done
  done
}
check "workers hold no terminal descriptor and are not in its foreground group" detached

# 3-4. scale up and down
key +
if wait_screen 'Workers 3/3' && wait_true "$WAIT" nworkers_is 3 && wait_true 5 pids_match; then
  ok "+ adds a worker: three rows, three children"
else
  not_ok "+ adds a worker: three rows, three children"
fi
key -
if wait_screen 'Workers 2/2' && wait_true "$WAIT" nworkers_is 2 && wait_true 5 pids_match; then
  ok "- removes a worker: two rows, two children"
else
  not_ok "- removes a worker: two rows, two children"
fi

# 5. requests show in the counter and in the access log pane
for i in 1 2 3 4 5 6 7; do curl -s -o /dev/null "http://127.0.0.1:$PORT/hello"; done
curl -s -o /dev/null "http://127.0.0.1:$PORT/missing"
if wait_screen 'Requests 8 ' && wait_screen '"GET /hello HTTP/1.1" 200' &&
  wait_screen '"GET /missing HTTP/1.1" 404' && wait_screen '2xx 7 .*4xx 1 '; then
  ok "curl requests: counter, status classes and access log pane"
else
  not_ok "curl requests: counter, status classes and access log pane"
fi

# 6. the filter keeps the matching lines only; Esc clears it
key / ' ' 4 0 4 ' ' Enter
if wait_screen 'filter " 404 ": 1 match' && ! capture | grep -q 'GET /hello HTTP'; then
  key Escape
  if wait_screen '"GET /hello HTTP/1.1" 200'; then ok "/ filters the log pane, Esc clears it"
  else not_ok "/ filters the log pane, Esc clears it" "Esc did not clear"; fi
else
  not_ok "/ filters the log pane, Esc clears it"
fi

# 7. reload: all new pids
OLD=$(screen_pids | sort -n | tr '\n' ' ')
key r
new_pids() {
  local p s
  s=$(screen_pids | sort -n | tr '\n' ' ')
  [ "$(echo "$s" | wc -w)" -eq 2 ] || return 1
  for p in $s; do case " $OLD " in *" $p "*) return 1 ;; esac; done
  nworkers_is 2 && pids_match
}
if wait_true "$WAIT" new_pids; then ok "r reloads: two workers, all with new pids"
else not_ok "r reloads: two workers, all with new pids" "before: $OLD"; fi

# 8. select a worker, k (then y): it is replaced
key Home
VICTIM=$(screen_pids | head -n 1)  # sorted by pid: Home selects the first row
key k y
replaced() {
  ! screen_pids | grep -qx "$VICTIM" && ! [ -d "/proc/$VICTIM" ] && nworkers_is 2 && pids_match
}
if wait_true "$WAIT" replaced && wait_screen "worker $VICTIM"; then
  ok "k stops the selected worker ($VICTIM): it is replaced, the footer names it"
else
  not_ok "k stops the selected worker ($VICTIM): it is replaced, the footer names it"
fi

# 9. K asks first; n keeps the worker, y kills it
key Home
VICTIM=$(screen_pids | head -n 1)
key K
if wait_screen "Kill worker $VICTIM now with SIGKILL\\? .*\\[y/N\\]"; then
  key n
  sleep 0.5
  if [ -d "/proc/$VICTIM" ] && wait_screen 'cancelled'; then
    key K y
    if wait_true "$WAIT" replaced; then ok "K asks y/n: n keeps worker $VICTIM, y kills it (replaced)"
    else not_ok "K asks y/n: n keeps worker $VICTIM, y kills it (replaced)" "y did not kill"; fi
  else
    not_ok "K asks y/n: n keeps worker $VICTIM, y kills it (replaced)" "n did not keep it"
  fi
else
  not_ok "K asks y/n: n keeps worker $VICTIM, y kills it (replaced)" "no question"
fi

# 10. signals from outside show up on screen
kill -TTIN "$MASTER"
if wait_screen 'Workers 3/3' && wait_true "$WAIT" nworkers_is 3; then
  kill -TTOU "$MASTER"
  if wait_screen 'Workers 2/2' && wait_true "$WAIT" nworkers_is 2; then
    ok "kill -TTIN / -TTOU <master> from outside show on screen"
  else
    not_ok "kill -TTIN / -TTOU <master> from outside show on screen" "TTOU"
  fi
else
  not_ok "kill -TTIN / -TTOU <master> from outside show on screen" "TTIN"
fi

# 11. help fits 80x24 and lists every key; any key returns
key '?'
if wait_screen 'cgunicorn-top keys' && capture | grep -q 'F9' && capture | grep -q 'F10' &&
  capture | grep -q 'Ctrl-L' && capture | grep -q 'any key'; then
  key x
  if wait_screen 'Workers 2/2'; then ok "? shows the help screen, any key returns"
  else not_ok "? shows the help screen, any key returns" "did not return"; fi
else
  not_ok "? shows the help screen, any key returns"
fi

# 12. resize: redrawn at the new size; too small: a clear message, still serving
T resize-window -t "$SESS" -x 80 -y 24
if wait_screen '^Workers 2/2' && wait_screen "^\\?Help" && [ "$(capture | wc -l)" -le 24 ] &&
  [ "$(capture | wc -L)" -le 80 ]; then
  T resize-window -t "$SESS" -x 60 -y 20
  if wait_screen 'terminal too small: need 80x24, have 60x20' &&
    curl -s "http://127.0.0.1:$PORT/hello" | grep -q 'Hello World'; then
    T resize-window -t "$SESS" -x 100 -y 30
    if wait_screen '^Workers 2/2' && wait_screen '^\?Help'; then
      ok "resize: redrawn at 80x24, 'too small' at 60x20 while serving, back at 100x30"
    else
      not_ok "resize: redrawn at 80x24, 'too small' at 60x20 while serving, back at 100x30" "100x30"
    fi
  else
    not_ok "resize: redrawn at 80x24, 'too small' at 60x20 while serving, back at 100x30" "60x20"
  fi
else
  not_ok "resize: redrawn at 80x24, 'too small' at 60x20 while serving, back at 100x30" "80x24"
fi

# 13. Ctrl-C is a key (asks, like q); n cancels; the server keeps running
key C-c
if wait_screen 'Shut down gracefully\? .*\[y/N\]'; then
  key n
  if wait_screen 'cancelled' && nworkers_is 2 && [ -d "/proc/$MASTER" ]; then
    ok "Ctrl-C asks to shut down (no signal reaches anyone); n cancels"
  else
    not_ok "Ctrl-C asks to shut down (no signal reaches anyone); n cancels" "after n"
  fi
else
  not_ok "Ctrl-C asks to shut down (no signal reaches anyone); n cancels"
fi

# 14. q then y: the server exits 0, every worker is gone
WORKERS=$(children | tr '\n' ' ')
key q
if wait_screen 'Shut down gracefully\? .*\[y/N\]'; then
  key y
  gone() { local p; for p in $WORKERS; do [ -d "/proc/$p" ] && return 1; done; return 0; }
  if wait_dead "$WAIT" && [ "$EXIT_STATUS" = 0 ] && wait_true 5 gone; then
    ok "q then y: the server exits with status 0 and every worker is gone"
  else
    not_ok "q then y: the server exits with status 0 and every worker is gone" \
      "status '$EXIT_STATUS', workers left: $(for p in $WORKERS; do [ -d /proc/"$p" ] && echo "$p"; done)"
  fi
else
  not_ok "q then y: the server exits with status 0 and every worker is gone" "no question"
fi

# ---- no colour, no UTF-8, a plain vt100 ----------------------------------------

# 15. NO_COLOR, a terminal without colour, the C locale: attributes only,
# ASCII marks (the sort arrow is '^'), still usable
PORT=$(free_port)
T kill-session -t "$SESS" >/dev/null 2>&1
T new-session -d -s "$SESS" -x 80 -y 24 -c "$CG_ROOT/examples" -- \
  env NO_COLOR=1 TERM=vt100 LC_ALL=C "$CG_BIN" -w 1 -b "127.0.0.1:$PORT" app:app
MASTER=$(pane '#{pane_pid}')
if wait_screen 'Workers 1/1' && wait_true "$WAIT" nworkers_is 1; then
  esc=$(T capture-pane -p -e -t "$SESS")
  if printf '%s' "$esc" | grep -Eq $'\e\\[([0-9;]*;)?(3[0-7]|4[0-7]|38|48|9[0-7])(;|m)'; then
    not_ok "NO_COLOR, TERM=vt100, LC_ALL=C: no colour, reverse video, ASCII marks" "colour escapes"
  elif ! printf '%s' "$esc" | grep -Eq $'\e\\[([0-9;]*;)?7m' || ! capture | grep -Eq '^ +\^PID STATE'; then
    not_ok "NO_COLOR, TERM=vt100, LC_ALL=C: no colour, reverse video, ASCII marks" "no reverse/ASCII"
  else
    key q y
    if wait_dead "$WAIT" && [ "$EXIT_STATUS" = 0 ]; then
      ok "NO_COLOR, TERM=vt100, LC_ALL=C: no colour, reverse video, ASCII marks"
    else
      not_ok "NO_COLOR, TERM=vt100, LC_ALL=C: no colour, reverse video, ASCII marks" "quit"
    fi
  fi
else
  not_ok "NO_COLOR, TERM=vt100, LC_ALL=C: no colour, reverse video, ASCII marks" "no start"
fi

# ---- a request that sleeps: busy marks, traceback, shutdown countdown ---------------

PORT=$(free_port)
start_dashboard "$CG_ROOT/tests/dashboard/apps" -w 2 --graceful-timeout 20 \
  -b "127.0.0.1:$PORT" slowapp:app
wait_screen 'Workers 2/2' && wait_true "$WAIT" nworkers_is 2
curl -s -o /dev/null "http://127.0.0.1:$PORT/sleep?40" &
PIDS_TO_KILL+=("$!")

# 16. the busy worker stands out (mark + state + the request and its age),
# then turns stuck (after min(5 s, --timeout/2))
if wait_screen '^\*[ ]*[0-9]+ busy .* GET /sleep\?40 127\.0\.0\.1' &&
  wait_screen '^![ ]*[0-9]+ STUCK .*[0-9.]+s GET /sleep\?40' && wait_screen 'stuck 1'; then
  ok "a sleeping request: its worker is marked busy (*), then stuck (!), with the request"
else
  not_ok "a sleeping request: its worker is marked busy (*), then stuck (!), with the request"
fi
BUSY=$(capture | grep -E '^[*!][ ]*[0-9]+ (busy|STUCK) ' | sed -E 's/^.[ ]*([0-9]+) .*/\1/' | head -n 1)

# 17. select the busy worker (sort by state: busy first), t: the traceback
# names the app function that sleeps
key '>' Home t
if wait_screen "Python traceback of worker $BUSY" && wait_screen 'line [0-9]+ in sleepy_view'; then
  ok "t on the busy worker ($BUSY): the popup names sleepy_view"
else
  not_ok "t on the busy worker ($BUSY): the popup names sleepy_view"
fi
key Escape
wait_screen '^\?Help' 5

# 18. the traceback also went to the error log pane (Tab Tab)
key Tab Tab
if wait_screen 'Error log' && wait_screen "Traceback of worker $BUSY" &&
  wait_screen "\\[traceback $BUSY\\]   File "; then
  ok "the traceback is kept in the error log pane"
else
  not_ok "the traceback is kept in the error log pane"
fi
key Tab

# 19. Z pauses the display; the server keeps serving
key Z
if wait_screen 'PAUSED'; then
  curl -s -o /dev/null "http://127.0.0.1:$PORT/x"
  sleep 1
  if capture | grep -q 'Requests 0 ' && key Z && wait_screen 'Requests 1 '; then
    ok "Z pauses the display while the server serves; Z resumes"
  else
    not_ok "Z pauses the display while the server serves; Z resumes"
  fi
else
  not_ok "Z pauses the display while the server serves; Z resumes" "no PAUSED"
fi

# 20. q y with a request in flight: a visible countdown; Q y then cuts it
key q y
if wait_screen 'Graceful shutdown: 1 request in flight, .* SIGKILL in 1?[0-9]s'; then
  key Q y
  if wait_dead "$WAIT" && ! [ -d "/proc/$BUSY" ]; then
    ok "q y with a request in flight: countdown shown; Q y stops at once"
  else
    not_ok "q y with a request in flight: countdown shown; Q y stops at once" "still running"
  fi
else
  not_ok "q y with a request in flight: countdown shown; Q y stops at once" "no countdown"
fi

# 21. a fatal signal in the master: the terminal is restored (line discipline
# back to canonical mode with echo), the workers go away
PORT=$(free_port)
T kill-session -t "$SESS" >/dev/null 2>&1
T new-session -d -s "$SESS" -x 100 -y 30 -c "$CG_ROOT/examples" -- sh -c \
  "\"$CG_BIN\" -w 1 -b 127.0.0.1:$PORT app:app; stty -a >'$TMP/stty'; sleep 60"
if wait_screen 'Workers 1/1'; then
  MASTER=$(pgrep -P "$(pane '#{pane_pid}')" | head -n 1)
  WORKERS=$(children | tr '\n' ' ')
  kill -ABRT "$MASTER"
  restored() { grep -q -- ' icanon' "$TMP/stty" && grep -q -- ' echo ' "$TMP/stty"; }
  workers_gone() { local p; for p in $WORKERS; do [ -d "/proc/$p" ] && return 1; done; return 0; }
  if wait_true "$WAIT" test -s "$TMP/stty" && restored && wait_true "$WAIT" workers_gone; then
    ok "SIGABRT in the master: the terminal is restored, the workers exit"
  else
    not_ok "SIGABRT in the master: the terminal is restored, the workers exit" \
      "$(head -c 400 "$TMP/stty" 2>/dev/null)"
  fi
else
  not_ok "SIGABRT in the master: the terminal is restored, the workers exit" "no start"
fi

# ---- no usable terminal: headless with a notice ----------------------------------

# 22. TERM=dumb
PORT=$(free_port)
T kill-session -t "$SESS" >/dev/null 2>&1
T new-session -d -s "$SESS" -x 100 -y 30 -c "$CG_ROOT/examples" -- \
  env TERM=dumb "$CG_BIN" -w 1 -b "127.0.0.1:$PORT" app:app
MASTER=$(pane '#{pane_pid}')
if wait_screen 'cgunicorn-top: no terminal to draw on' &&
  wait_true "$WAIT" sh -c "curl -s http://127.0.0.1:$PORT/hello | grep -q 'Hello World'" &&
  wait_screen 'Booting worker with pid'; then
  kill -TERM "$MASTER"
  if wait_dead "$WAIT"; then ok "TERM=dumb: headless with a notice, serving, logging as usual"
  else not_ok "TERM=dumb: headless with a notice, serving, logging as usual" "TERM"; fi
else
  not_ok "TERM=dumb: headless with a notice, serving, logging as usual"
fi

# 23. stdout not a terminal
PORT=$(free_port)
(cd "$CG_ROOT/examples" && exec "$CG_BIN" -w 1 -b "127.0.0.1:$PORT" app:app \
  >"$TMP/headless.out" 2>&1 </dev/null) &
HL=$!
PIDS_TO_KILL+=("$HL")
if wait_true "$WAIT" sh -c "curl -s http://127.0.0.1:$PORT/hello | grep -q 'Hello World'" &&
  grep -q 'cgunicorn-top: no terminal to draw on' "$TMP/headless.out"; then
  kill -TERM "$HL"
  if wait_true "$WAIT" sh -c "! kill -0 $HL 2>/dev/null"; then
    ok "stdout not a tty: headless with a notice, serving"
  else
    not_ok "stdout not a tty: headless with a notice, serving" "did not stop"
  fi
else
  not_ok "stdout not a tty: headless with a notice, serving" "$(head -c 300 "$TMP/headless.out")"
fi

# 24. the terminal goes away (the pane is killed, as when an SSH session
# drops): the server shuts down gracefully and its workers are gone
PORT=$(free_port)
start_dashboard "$CG_ROOT/examples" -w 2 -b "127.0.0.1:$PORT" app:app
if wait_screen 'Workers 2/2' && wait_true "$WAIT" nworkers_is 2; then
  WORKERS=$(children | tr '\n' ' ')
  HUNG=$MASTER
  T kill-pane -t "$SESS" >/dev/null 2>&1
  all_gone() { local p; for p in $HUNG $WORKERS; do [ -d "/proc/$p" ] && return 1; done; return 0; }
  if wait_true "$WAIT" all_gone; then
    ok "terminal hangup: the server shuts down and every worker is gone"
  else
    PIDS_TO_KILL+=("$HUNG")
    not_ok "terminal hangup: the server shuts down and every worker is gone" \
      "left: $(for p in $HUNG $WORKERS; do [ -d /proc/"$p" ] && echo "$p"; done)"
  fi
else
  not_ok "terminal hangup: the server shuts down and every worker is gone" "no start"
fi

# three_at_once CLASS WHAT ARGS...: one worker of CLASS runs three sleeping
# requests at once; its row shows the oldest and how many more
three_at_once() {
  local cls=$1 what=$2; shift 2
  local name="$cls: a worker's row shows its oldest request and how many more $what run"
  PORT=$(free_port)
  start_dashboard "$CG_ROOT/tests/dashboard/apps" -k "$cls" "$@" -b "127.0.0.1:$PORT" slowapp:app
  if wait_screen 'Workers 1/1' && wait_screen "$cls"; then
    for i in 1 2 3; do
      curl -s -m 10 "http://127.0.0.1:$PORT/sleep?4" >/dev/null 2>&1 &
    done
    if wait_screen 'GET /sleep\?4 127\.0\.0\.1 \(\+2\)'; then
      ok "$name"
    else
      not_ok "$name"
    fi
    wait
    key Q
    wait_screen '\[y/N\]' && key y
    wait_dead "$WAIT"
  else
    not_ok "$name" "no start"
  fi
}

# 25. gthread: threads
three_at_once gthread threads --threads 4

# 26. gevent: greenlets (the sleep is monkey-patched); greenlets copy stack
# slices across ASan's redzones (see src/green.c)
ASAN_OPTIONS="$ASAN_OPTIONS:replace_intrin=0" three_at_once gevent greenlets

# 27. no sanitizer report from any process
# (ls lists what exists of either; its status would fail on one missing)
if [ -n "$(ls "$TMP"/asan.* "$TMP"/ubsan.* 2>/dev/null)" ]; then
  not_ok "no sanitizer reports" "$(cat "$TMP"/asan.* "$TMP"/ubsan.* 2>/dev/null | head -n 20)"
else
  ok "no sanitizer reports"
fi

# ---- summary (the lines tests/run.sh parses) ------------------------------------
echo "[  PASSED  ] $PASSED test(s)."
if [ "$FAILED" -gt 0 ]; then
  echo "[  FAILED  ] $FAILED test(s), listed below:"
  for n in "${FAILED_NAMES[@]}"; do echo "[  FAILED  ] $n"; done
  exit 1
fi
exit 0
