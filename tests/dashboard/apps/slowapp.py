"""A WSGI app for the dashboard tests: /sleep[?seconds] sleeps inside
`sleepy_view` (so a traceback of the busy worker names it), /status/NNN
answers with that status, anything else answers at once with the worker's
pid.

    cgunicorn-top -w 2 slowapp:app
"""
import os
import time


def sleepy_view(seconds):
    """The function a stuck request sits in."""
    time.sleep(seconds)
    return b'slept %.1f\n' % seconds


def app(environ, start_response):
    path = environ.get('PATH_INFO', '')
    status = '200 OK'
    if path.startswith('/sleep'):
        try:
            seconds = float(environ.get('QUERY_STRING') or 30)
        except ValueError:
            seconds = 30.0
        body = sleepy_view(seconds)
    elif path.startswith('/status/'):
        code = path[len('/status/'):][:3]
        status = code + ' Whatever' if code.isdigit() and len(code) == 3 else '400 Bad Request'
        body = status.encode() + b'\n'
    else:
        body = str(os.getpid()).encode() + b'\n'
    start_response(status, [('Content-Type', 'text/plain'),
                            ('Content-Length', str(len(body)))])
    return [body]
