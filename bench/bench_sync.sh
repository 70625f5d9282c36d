#!/bin/sh
# The sync-worker benchmark of the headless-server issue: cgunicorn vs
# gunicorn (Debian's) vs uWSGI, hello world, 2 workers, 1/16/64 connections.
cd "$(dirname "$0")/.." || exit 1
exec /usr/bin/python3 bench/bench.py --workers 2 --conns 1,16,64 --duration "${DURATION:-10}" \
    --repeat "${REPEAT:-3}" "$@"
