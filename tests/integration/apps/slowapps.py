"""Apps for the signal tests: a slow request to be in flight while the
master is signalled, and the serving worker's pid."""
import os
import sys
import time


def slow(environ, start_response):
    """Sleep (1 s, or the query string's seconds), then a full answer."""
    try:
        secs = float(environ.get('QUERY_STRING') or 1)
    except ValueError:
        secs = 1.0
    print('slow: start %d' % os.getpid(), file=sys.stderr, flush=True)
    time.sleep(secs)
    body = b'slept %.1f' % secs
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]


def pid(environ, start_response):
    """The pid of the worker that served the request."""
    body = str(os.getpid()).encode()
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]


def app(environ, start_response):
    """/slow[?secs] -> slow, anything else -> pid."""
    if environ.get('PATH_INFO', '').startswith('/slow'):
        return slow(environ, start_response)
    return pid(environ, start_response)
