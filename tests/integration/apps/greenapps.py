"""Apps for the gevent/eventlet tests (test_green.c): one app routing on
PATH_INFO.  The worker monkey-patches before this module is imported, so
time.sleep, socket and urllib here are the cooperative ones.

Query strings are "name=value&..." (urllib.parse.parse_qs)."""
import json
import os
import sys
import time
import urllib.parse
import urllib.request

# barrier counters by key: module-level, so one per worker process
_ARRIVED = {}


def _q(environ):
    return {k: v[-1] for k, v in urllib.parse.parse_qs(environ.get('QUERY_STRING', '')).items()}


def _text(start_response, text, status='200 OK', ctype='text/plain'):
    data = text.encode() if isinstance(text, str) else text
    start_response(status, [('Content-Type', ctype), ('Content-Length', str(len(data)))])
    return [data]


def barrier(environ, start_response):
    """Count this request in under key, then sleep 10 ms at a time until n
    requests have arrived (or 10 s passed): "reached" or "not reached k/n".
    Only works when the requests run concurrently in this one process."""
    q = _q(environ)
    key, n = q.get('key', ''), int(q.get('n', '2'))
    _ARRIVED[key] = _ARRIVED.get(key, 0) + 1
    end = time.time() + 10
    while _ARRIVED[key] < n and time.time() < end:
        time.sleep(0.01)
    if _ARRIVED[key] >= n:
        return _text(start_response, 'reached')
    return _text(start_response, 'not reached %d/%d' % (_ARRIVED[key], n))


def sleep(environ, start_response):
    """time.sleep(secs) (1), then "slept"."""
    secs = float(_q(environ).get('secs', '1'))
    print('green sleep: start %d' % os.getpid(), file=sys.stderr, flush=True)
    time.sleep(secs)
    return _text(start_response, 'slept %.1f' % secs)


def busy(environ, start_response):
    """A CPU-bound loop of secs seconds that never yields to the hub."""
    secs = float(_q(environ).get('secs', '6'))
    print('green busy: start %d' % os.getpid(), file=sys.stderr, flush=True)
    end = time.perf_counter() + secs
    x = 0
    while time.perf_counter() < end:
        x += 1
    return _text(start_response, 'busy %d' % x)


def outbound(environ, start_response):
    """GET http://127.0.0.1:port/barrier?key=..&n=.. with urllib (patched
    sockets) and answer with what it said."""
    q = _q(environ)
    url = 'http://127.0.0.1:%s/barrier?key=%s&n=%s' % (q['port'], q.get('key', ''), q.get('n', '2'))
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            body = r.read()
    except Exception as e:  # the test shows it
        return _text(start_response, 'error %r' % (e,), '502 Bad Gateway')
    return _text(start_response, body)


def _patched():
    """What monkey-patching did, as the libraries themselves see it."""
    out = {}
    try:
        from gevent import monkey
        out['gevent'] = {m: monkey.is_module_patched(m) for m in ('socket', 'time', 'threading')}
    except ImportError:
        pass
    try:
        from eventlet import patcher
        out['eventlet'] = {m: patcher.is_monkey_patched(m) for m in ('socket', 'time', 'thread')}
    except ImportError:
        pass
    return out


def env(environ, start_response):
    """The wsgi.* flags, the pid and the monkey-patching state as JSON."""
    return _text(start_response, json.dumps({
        'multithread': environ['wsgi.multithread'],
        'multiprocess': environ['wsgi.multiprocess'],
        'run_once': environ['wsgi.run_once'],
        'version': list(environ['wsgi.version']),
        'pid': os.getpid(),
        'patched': _patched(),
        'has_file_wrapper': 'wsgi.file_wrapper' in environ,
    }, sort_keys=True), ctype='application/json')


def pid(environ, start_response):
    return _text(start_response, str(os.getpid()))


def upload(environ, start_response):
    """Read wsgi.input in 64 KiB pieces, checking it against the pattern
    (i * 7 + 3) % 251: "ok <length>" or "bad at <offset>"."""
    inp = environ['wsgi.input']
    total = 0
    while True:
        part = inp.read(65536)
        if not part:
            break
        want = _pattern_at(total, len(part))
        if part != want:
            k = next(i for i in range(len(part)) if part[i] != want[i])
            return _text(start_response, 'bad at %d' % (total + k))
        total += len(part)
    return _text(start_response, 'ok %d' % total)


def upload_readline(environ, start_response):
    """wsgi.input.readline() until EOF: "lines <count> <length>"."""
    inp = environ['wsgi.input']
    count = total = 0
    while True:
        line = inp.readline()
        if not line:
            break
        count += 1
        total += len(line)
    return _text(start_response, 'lines %d %d' % (count, total))


def _pattern_at(start, n):
    """n bytes of the pattern (i * 7 + 3) % 251 from offset start."""
    return bytes((i * 7 + 3) % 251 for i in range(start, start + n))


# the file wrapper's file: the test names it (GREEN_FILE) and removes it
FILE = os.environ.get('GREEN_FILE', '/tmp/cg-green-file')
FILE_SIZE = 3 * 1024 * 1024 + 5


def _pattern(n):
    return _pattern_at(0, n)


def _file_path():
    if not os.path.exists(FILE):
        tmp = '%s.%d.tmp' % (FILE, os.getpid())
        with open(tmp, 'wb') as f:
            f.write(_pattern(FILE_SIZE))
        os.rename(tmp, FILE)
    return FILE


def file(environ, start_response):
    """wsgi.file_wrapper over a real file (FILE_SIZE pattern bytes)."""
    f = open(_file_path(), 'rb')
    start_response('200 OK', [('Content-Type', 'application/octet-stream'),
                              ('Content-Length', str(FILE_SIZE))])
    return environ['wsgi.file_wrapper'](f, 65536)


class _Reader:
    """A file-like object: read() and close(), no fileno()."""

    def __init__(self, data):
        self.data = data
        self.closed = False

    def read(self, n=-1):
        if n is None or n < 0:
            n = len(self.data)
        chunk, self.data = self.data[:n], self.data[n:]
        return chunk

    def close(self):
        self.closed = True


def fileobj(environ, start_response):
    """wsgi.file_wrapper over a file-like object: 300000 pattern bytes."""
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    return environ['wsgi.file_wrapper'](_Reader(_pattern(300000)), 4096)


def big(environ, start_response):
    """size bytes (8 MiB) of 'b' in 64 KiB pieces: for a client that stops
    reading."""
    size = int(_q(environ).get('size', str(8 * 1024 * 1024)))
    start_response('200 OK', [('Content-Type', 'application/octet-stream'),
                              ('Content-Length', str(size))])

    def gen():
        left = size
        while left > 0:
            n = min(65536, left)
            yield b'b' * n
            left -= n
    return gen()


def echo(environ, start_response):
    """Method, path and body as JSON (the default route)."""
    body = environ['wsgi.input'].read()
    return _text(start_response, json.dumps({
        'method': environ['REQUEST_METHOD'],
        'path': environ['PATH_INFO'],
        'body': body.decode('latin-1'),
    }, sort_keys=True), ctype='application/json')


ROUTES = {
    '/barrier': barrier,
    '/sleep': sleep,
    '/busy': busy,
    '/outbound': outbound,
    '/env': env,
    '/pid': pid,
    '/upload': upload,
    '/upload_readline': upload_readline,
    '/file': file,
    '/fileobj': fileobj,
    '/big': big,
}


def app(environ, start_response):
    return ROUTES.get(environ['PATH_INFO'], echo)(environ, start_response)
