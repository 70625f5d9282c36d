"""Apps for the gthread, HTTP/1.1 and idle-connection tests: one app that
routes on PATH_INFO (see app()), plus a few single-purpose ones.

Bodies the tests check byte by byte use pattern(i) = (i * 7 + 3) % 251, so
neither side needs to hold a copy."""
import contextvars
import json
import os
import sys
import tempfile
import threading
import time

PIECE = 64 * 1024


def pattern(start, n):
    """n bytes of the pattern from offset start."""
    return bytes(((i * 7 + 3) % 251) for i in range(start, start + n))


# one 64 KiB period of the pattern repeats every 251 * k bytes: precompute a
# block long enough to slice any 64 KiB piece from
_BLOCK = pattern(0, PIECE + 251)


def _piece(start, n):
    off = start % 251
    return _BLOCK[off:off + n]


def _qs(environ, default):
    try:
        return float(environ.get('QUERY_STRING') or default)
    except ValueError:
        return float(default)


def _json(start_response, obj, status='200 OK', extra=()):
    data = json.dumps(obj, sort_keys=True).encode()
    start_response(status, [('Content-Type', 'application/json'),
                            ('Content-Length', str(len(data)))] + list(extra))
    return [data]


def _text(start_response, text, status='200 OK'):
    data = text.encode() if isinstance(text, str) else text
    start_response(status, [('Content-Type', 'text/plain'),
                            ('Content-Length', str(len(data)))])
    return [data]


def _read_all(environ, size=PIECE):
    inp = environ['wsgi.input']
    parts = []
    while True:
        part = inp.read(size)
        if not part:
            break
        parts.append(part)
    return b''.join(parts)


def echo(environ, start_response):
    """The request as JSON: method, path, query, raw uri, body, scheme,
    multithread, the worker's pid and the HTTP_* headers."""
    body = _read_all(environ)
    return _json(start_response, {
        'method': environ['REQUEST_METHOD'],
        'path': environ['PATH_INFO'],
        'query': environ['QUERY_STRING'],
        'raw_uri': environ.get('RAW_URI'),
        'protocol': environ['SERVER_PROTOCOL'],
        'body': body.decode('latin-1'),
        'scheme': environ['wsgi.url_scheme'],
        'multithread': environ['wsgi.multithread'],
        'pid': os.getpid(),
        'headers': {k: v for k, v in environ.items() if k.startswith('HTTP_')},
    })


def sleep(environ, start_response):
    """Sleep QUERY_STRING seconds (1), then answer "slept"."""
    secs = _qs(environ, 1)
    print('sleep: start %d %s' % (os.getpid(), threading.current_thread().name),
          file=sys.stderr, flush=True)
    time.sleep(secs)
    return _text(start_response, 'slept %.1f' % secs)


def pid(environ, start_response):
    return _text(start_response, str(os.getpid()))


def big(environ, start_response):
    """QUERY_STRING bytes (5 MB) of the pattern, streamed in 64 KiB pieces
    with no Content-Length (chunked on HTTP/1.1)."""
    total = int(_qs(environ, 5 * 1024 * 1024))
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])

    def gen():
        sent = 0
        while sent < total:
            n = min(PIECE, total - sent)
            yield _piece(sent, n)
            sent += n
    return gen()


def big_cl(environ, start_response):
    """Like big, with a Content-Length."""
    total = int(_qs(environ, 5 * 1024 * 1024))
    start_response('200 OK', [('Content-Type', 'application/octet-stream'),
                              ('Content-Length', str(total))])

    def gen():
        sent = 0
        while sent < total:
            n = min(PIECE, total - sent)
            yield _piece(sent, n)
            sent += n
    return gen()


def upload(environ, start_response):
    """Read the body in 64 KiB pieces and check it against the pattern:
    "ok <length> <pieces>" or "bad at <offset>"."""
    inp = environ['wsgi.input']
    got = 0
    pieces = 0
    while True:
        part = inp.read(PIECE)
        if not part:
            break
        if len(part) > PIECE:
            return _text(start_response, 'piece too large %d' % len(part))
        if part != _piece(got, len(part)):
            for k in range(len(part)):
                if part[k] != _piece(got + k, 1)[0]:
                    return _text(start_response, 'bad at %d' % (got + k))
        got += len(part)
        pieces += 1
    return _text(start_response, 'ok %d %d' % (got, pieces))


def ignore_body(environ, start_response):
    """Answers without touching wsgi.input."""
    return _text(start_response, 'ignored')


def nolength(environ, start_response):
    """Three pieces, no Content-Length."""
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return iter([b'alpha,', b'beta,', b'gamma'])


def head(environ, start_response):
    body = b'0123456789'
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body))), ('X-Head-Test', 'yes')])
    return [body]


# the tests name it (and remove it); the default is per worker
_FILE = os.environ.get('CG_HTTP11_FILE') or '/tmp/cg-http11-file-%d' % os.getpid()
FILE_SIZE = 1024 * 1024 + 17


def _file_path():
    if not os.path.exists(_FILE):
        tmp = '%s.%d.tmp' % (_FILE, os.getpid())
        with open(tmp, 'wb') as f:
            f.write(pattern(0, FILE_SIZE))
        os.rename(tmp, _FILE)
    return _FILE


def file(environ, start_response):
    """wsgi.file_wrapper over a real file of FILE_SIZE pattern bytes (from
    the offset in QUERY_STRING, default 0); no Content-Length from the app."""
    f = open(_file_path(), 'rb')
    off = int(_qs(environ, 0))
    if off:
        f.seek(off)
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    return environ['wsgi.file_wrapper'](f, 8192)


class _Reader:
    """A file-like object with read() and no fileno()."""

    def __init__(self, data):
        self.data = data
        self.closed = False

    def read(self, n):
        chunk, self.data = self.data[:n], self.data[n:]
        return chunk

    def close(self):
        self.closed = True


def fileobj(environ, start_response):
    """wsgi.file_wrapper over a non-file object: 100000 pattern bytes."""
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    return environ['wsgi.file_wrapper'](_Reader(pattern(0, 100000)), 4096)


def badheader(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain'), ('X-Bad', 'a\r\nInjected: yes')])
    return [b'should not be sent']


def stream_slow(environ, start_response):
    """Pieces of 64 KiB every 10 ms for QUERY_STRING seconds (5): a response
    a client can walk away from in the middle."""
    secs = _qs(environ, 5)
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])

    def gen():
        end = time.time() + secs
        while time.time() < end:
            yield b'z' * PIECE
            time.sleep(0.01)
    return gen()


def biglist(environ, start_response):
    """QUERY_STRING bytes (5 MB) of the pattern as a list of 64 KiB pieces
    (the server computes the Content-Length)."""
    total = int(_qs(environ, 5 * 1024 * 1024))
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    return [_piece(at, min(PIECE, total - at)) for at in range(0, total, PIECE)]


def sparse(environ, start_response):
    """wsgi.file_wrapper over a real (sparse, unlinked) file of
    QUERY_STRING zero bytes (100 MB): sendfile without the disk."""
    f = tempfile.TemporaryFile()
    f.truncate(int(_qs(environ, 100 * 1024 * 1024)))
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    return environ['wsgi.file_wrapper'](f, 8192)


_CV = contextvars.ContextVar('cg_test_cv', default=None)


def ctx_stream(environ, start_response):
    """Like big, from a generator that sets a ContextVar before its first
    piece, checks it before each, and resets it at the end (as Flask's
    stream_with_context does with its request context): that only works
    if every step runs in the same context, whichever thread runs it.
    Prints "ctx_stream: end ok" once the reset worked (also when the
    server closes the generator early)."""
    total = int(_qs(environ, 5 * 1024 * 1024))
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])

    def gen():
        token = _CV.set('mine')
        threads = set()
        try:
            sent = 0
            while sent < total:
                if _CV.get() != 'mine':
                    raise RuntimeError('ContextVar lost')
                threads.add(threading.current_thread().name)
                n = min(PIECE, total - sent)
                yield _piece(sent, n)
                sent += n
        finally:
            _CV.reset(token)
            print('ctx_stream: end ok, %d thread(s)' % len(threads), file=sys.stderr, flush=True)
    return gen()


ROUTES = {
    '/sleep': sleep,
    '/pid': pid,
    '/big': big,
    '/big_cl': big_cl,
    '/upload': upload,
    '/ignore': ignore_body,
    '/nolength': nolength,
    '/head': head,
    '/file': file,
    '/fileobj': fileobj,
    '/badheader': badheader,
    '/stream_slow': stream_slow,
    '/biglist': biglist,
    '/sparse': sparse,
    '/ctx_stream': ctx_stream,
}


def app(environ, start_response):
    """Route on PATH_INFO; anything else is echo."""
    return ROUTES.get(environ['PATH_INFO'], echo)(environ, start_response)


def hello(environ, start_response):
    """The smallest answer: for the idle-connection and bench runs."""
    body = b'Hello, World!'
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]
