"""WSGI apps the integration tests drive, each checked by wsgiref's
validator where PEP 3333 allows it."""
import json
import os
import sys
from wsgiref.validate import validator


def _echo(environ, start_response):
    """Reply with the environ's interesting keys as JSON."""
    if environ.get('CONTENT_LENGTH'):
        body = environ['wsgi.input'].read(int(environ['CONTENT_LENGTH']))
    else:
        # chunked: read until EOF, in pieces (the validator wants a size)
        body = b''
        while True:
            part = environ['wsgi.input'].read(7)
            if not part:
                break
            body += part
    keys = ['REQUEST_METHOD', 'PATH_INFO', 'QUERY_STRING', 'RAW_URI', 'SERVER_PROTOCOL',
            'SERVER_NAME', 'SERVER_PORT', 'REMOTE_ADDR', 'REMOTE_PORT', 'SCRIPT_NAME',
            'CONTENT_TYPE', 'CONTENT_LENGTH', 'SERVER_SOFTWARE', 'wsgi.url_scheme',
            'wsgi.multithread', 'wsgi.multiprocess', 'wsgi.run_once', 'wsgi.version',
            'wsgi.input_terminated']
    out = {k: environ.get(k) for k in keys}
    out['headers'] = {k: v for k, v in environ.items() if k.startswith('HTTP_')}
    out['body'] = body.decode('latin-1')
    out['has_file_wrapper'] = 'wsgi.file_wrapper' in environ
    data = json.dumps(out, sort_keys=True).encode()
    start_response('200 OK', [('Content-Type', 'application/json'),
                              ('Content-Length', str(len(data)))])
    return [data]


echo = validator(_echo)
raw_echo = _echo


def readall(environ, start_response):
    """wsgi.input.read() with no size: the whole body."""
    body = environ['wsgi.input'].read()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'%d:' % len(body), body[:20]]


def _lines(environ, start_response):
    """Exercise readline, readlines and iteration of wsgi.input."""
    inp = environ['wsgi.input']
    first = inp.readline()
    limited = inp.readline(3)
    rest = inp.readlines()
    data = json.dumps({'first': first.decode(), 'limited': limited.decode(),
                       'rest': [x.decode() for x in rest]}).encode()
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [data]


lines = validator(_lines)


def _iterinput(environ, start_response):
    chunks = [line.decode() for line in environ['wsgi.input']]
    data = json.dumps(chunks).encode()
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [data]


iterinput = validator(_iterinput)


def _stream(environ, start_response):
    """No Content-Length: HTTP/1.1 gets chunks."""
    start_response('200 OK', [('Content-Type', 'text/plain')])

    def gen():
        for i in range(3):
            yield ('part%d\n' % i).encode()
    return gen()


stream = validator(_stream)


def writer(environ, start_response):
    """The write() callable from start_response."""
    write = start_response('200 OK', [('Content-Type', 'text/plain'),
                                      ('Content-Length', '11')])
    write(b'hello ')
    return [b'world']


class Closing:
    closed_flag = '/tmp/cg-closing-flag'

    def __init__(self):
        self.items = [b'a', b'b']

    def __iter__(self):
        return iter(self.items)

    def close(self):
        with open(os.environ.get('CG_CLOSE_FLAG', self.closed_flag), 'w') as f:
            f.write('closed')


def closing(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return Closing()


def boom(environ, start_response):
    """An exception before start_response: a 500, and the worker lives."""
    raise RuntimeError('boom from the app')


def boom_late(environ, start_response):
    """An exception after the headers went out: the connection is cut."""
    start_response('200 OK', [('Content-Type', 'text/plain')])

    def gen():
        yield b'first'
        raise RuntimeError('late boom')
    return gen()


def exc_info_app(environ, start_response):
    """start_response again with exc_info before anything was sent."""
    start_response('200 OK', [('Content-Type', 'text/plain')])
    try:
        raise ValueError('oops')
    except ValueError:
        start_response('500 Internal Server Error', [('Content-Type', 'text/plain')],
                       sys.exc_info())
    return [b'handled']


def bad_header(environ, start_response):
    start_response('200 OK', [('X-Bad', 'a\r\nInjected: yes')])
    return [b'x']


def head204(environ, start_response):
    path = environ['PATH_INFO']
    if path == '/204':
        start_response('204 No Content', [])
        return [b'should not be sent']
    if path == '/304':
        start_response('304 Not Modified', [])
        return [b'should not be sent']
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', '5')])
    return [b'hello']


def filewrap(environ, start_response):
    path = os.path.join(os.path.dirname(__file__), 'static.txt')
    f = open(path, 'rb')
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return environ['wsgi.file_wrapper'](f, 4096)


class _Reader:
    def __init__(self, data):
        self.data = data

    def read(self, n):
        chunk, self.data = self.data[:n], self.data[n:]
        return chunk


def filewrap_obj(environ, start_response):
    """file_wrapper over an object with no fileno(): iterated."""
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return environ['wsgi.file_wrapper'](_Reader(b'x' * 10000), 1000)


def errors(environ, start_response):
    environ['wsgi.errors'].write('message to wsgi.errors\n')
    environ['wsgi.errors'].flush()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


def printer(environ, start_response):
    print('printed by the app', flush=True)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


def envvar(environ, start_response):
    body = os.environ.get('CG_TEST_VAR', '<unset>').encode()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [body]


def factory(greeting='hi'):
    def app(environ, start_response):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [greeting.encode()]
    return app


not_callable = 42
application = validator(_echo)
