#!/bin/sh
# The dashboard's cost: server CPU per request with cgunicorn-top drawing in
# a tmux pane vs headless cgunicorn, same run, alternated (target: within 3%).
cd "$(dirname "$0")/.." || exit 1
exec /usr/bin/python3 bench/bench.py --servers cgunicorn,cgunicorn-top --workers 2 \
    --conns 64 --duration "${DURATION:-10}" --repeat "${REPEAT:-5}" "$@"
