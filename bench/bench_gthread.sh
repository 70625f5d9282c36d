#!/bin/sh
# The keep-alive benchmark of the gthread issue: cgunicorn -k gthread vs
# gunicorn -k gthread (Debian's) vs uWSGI (--http11-socket --threads), hello
# world, the same processes and threads for all three, wrk keeping its
# connections alive, 1/16/64 connections, servers alternated, medians.
# WORKERS/THREADS/DURATION/REPEAT override the defaults (2/4/10/3).
cd "$(dirname "$0")/.." || exit 1
exec /usr/bin/python3 bench/bench.py --worker-class gthread --threads "${THREADS:-4}" \
    --keepalive --workers "${WORKERS:-2}" --conns 1,16,64 --duration "${DURATION:-10}" \
    --repeat "${REPEAT:-3}" "$@"
