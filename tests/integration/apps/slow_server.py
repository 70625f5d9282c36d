"""A slow upstream for test_green.c's outbound-HTTP test, run with Debian's
/usr/bin/python3:  slow_server.py PORT

ThreadingHTTPServer on 127.0.0.1:PORT.  GET /barrier?key=K&n=N holds each
request until N requests with key K are inside (or 20 s passed), then
answers "reached" or "not reached k/N": the cgunicorn worker calling it can
only get "reached" for all of them if its N outbound calls are in flight at
once.  Prints "ready" once listening."""
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_cond = threading.Condition()
_arrived = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.0'

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path != '/barrier':
            body = b'ok'
        else:
            key, n = q.get('key', ''), int(q.get('n', '2'))
            end = time.monotonic() + 20
            with _cond:
                _arrived[key] = _arrived.get(key, 0) + 1
                _cond.notify_all()
                while _arrived[key] < n and time.monotonic() < end:
                    _cond.wait(end - time.monotonic())
                got = _arrived[key]
            body = b'reached' if got >= n else b'not reached %d/%d' % (got, n)
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512


def main():
    srv = Server(('127.0.0.1', int(sys.argv[1])), Handler)
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == '__main__':
    main()
