#!/bin/sh
# The benchmark of the gevent/eventlet issue: cgunicorn -k gevent vs gunicorn
# -k gevent (Debian's, with python3-gevent) vs uWSGI's gevent loop (--gevent,
# on --http-socket: its gevent loop cannot keep connections alive, see
# bench/README.md), hello world and then the tutorial's Flask app, the same
# processes and --worker-connections for all, wrk keeping its connections
# alive, 1/16/64 connections, servers alternated, medians.
# WORKERS/CONNS/WORKER_CONNECTIONS/DURATION/REPEAT override the defaults
# (2/1,16,64/1000/10/3); KLASS=eventlet compares cgunicorn -k eventlet with
# gunicorn -k eventlet instead (uWSGI has no eventlet loop); APPS="hello"
# runs one app only.  Further arguments go to bench.py.
cd "$(dirname "$0")/.." || exit 1
status=0
for app in ${APPS:-hello flask}; do
    echo "== $app"
    /usr/bin/python3 bench/bench.py --worker-class "${KLASS:-gevent}" \
        --worker-connections "${WORKER_CONNECTIONS:-1000}" --keepalive \
        --workers "${WORKERS:-2}" --conns "${CONNS:-1,16,64}" --app "$app" \
        --duration "${DURATION:-10}" --repeat "${REPEAT:-3}" "$@" || status=1
    echo
done
exit $status
