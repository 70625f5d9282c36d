#!/bin/sh
# deps.sh KIND - make sure the Debian packages a make target needs are there.
# As root, installs what is missing with apt-get; otherwise prints the one
# apt-get line that would, and fails.
#   run   build + serve the example app
#   test  + cmocka, curl, tmux, clang's fuzzer runtime, gevent/eventlet,
#         Django, Falcon and Bottle (tests/integration/test_apps.c)
#   bench + wrk, gunicorn, uwsgi, gevent/eventlet (+ uWSGI's gevent loop)
set -e
kind=${1:-run}
pkgs="gcc make pkg-config libpython3-dev python3-dev libyaml-dev libncurses-dev python3-flask"
case $kind in
  test)  pkgs="$pkgs libcmocka-dev curl tmux clang libclang-rt-14-dev procps nginx-light
         python3-gevent python3-eventlet python3-greenlet python3-django python3-falcon python3-bottle" ;;
  bench) pkgs="$pkgs wrk gunicorn uwsgi-core uwsgi-plugin-python3 procps python3-gevent python3-eventlet
         python3-greenlet uwsgi-plugin-gevent-python3" ;;
esac
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "deps: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || apt-get update
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "Missing Debian packages. Run as root:"
  echo "  apt-get install -y$missing"
  exit 1
fi
