"""Apps for the production-lifecycle tests (test_lifecycle.c, test_hooks.c,
test_nginx.c).

    /                 the serving worker's pid
    /sleep?SECS       stuck_in_sleep(): sleeps SECS (30) seconds
    /blocked          blocked_sleep(): blocks SIGABRT, then sleeps 30 s, so
                      only the master's SIGKILL ends it
    /exit?CODE        os._exit(CODE)
    /segv             a segfault in C code (ctypes reads address 0)
    /boom             raises RuntimeError
    /version          VERSION below (the --reload test rewrites a copy)

On import the module appends its pid to $LIFE_IMPORT_FILE, if set: the
--preload test reads who imported it, and how many times.
"""
import os
import signal
import sys
import time

VERSION = 'v1'

if os.environ.get('LIFE_IMPORT_FILE'):
    with open(os.environ['LIFE_IMPORT_FILE'], 'a') as _f:
        _f.write('%d\n' % os.getpid())


def _reply(start_response, body, status='200 OK'):
    if isinstance(body, str):
        body = body.encode()
    start_response(status, [('Content-Type', 'text/plain'),
                            ('Content-Length', str(len(body)))])
    return [body]


def stuck_in_sleep(secs):
    """Where a timed-out worker is stuck: its traceback names this."""
    print('sleep: start %d' % os.getpid(), file=sys.stderr, flush=True)
    time.sleep(secs)


def blocked_sleep():
    """SIGABRT blocked: the Python handler never runs, the worker never
    exits by itself."""
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGABRT])
    print('blocked: start %d' % os.getpid(), file=sys.stderr, flush=True)
    time.sleep(30)


def _query_number(environ, default):
    try:
        return float(environ.get('QUERY_STRING') or default)
    except ValueError:
        return default


def app(environ, start_response):
    path = environ.get('PATH_INFO', '')
    if path == '/sleep':
        secs = _query_number(environ, 30)
        stuck_in_sleep(secs)
        return _reply(start_response, 'slept %.1f' % secs)
    if path == '/blocked':
        blocked_sleep()
        return _reply(start_response, 'not blocked')
    if path == '/exit':
        sys.stderr.flush()
        os._exit(int(_query_number(environ, 7)))
    if path == '/segv':
        import ctypes
        ctypes.string_at(0)
    if path == '/boom':
        raise RuntimeError('boom')
    if path == '/version':
        return _reply(start_response, VERSION)
    return _reply(start_response, str(os.getpid()))
