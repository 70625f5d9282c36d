#!/usr/bin/python3
"""Side-by-side benchmark: cgunicorn vs gunicorn vs uWSGI, same app, same
worker count, wrk at several connection counts, servers alternated and
runs repeated; prints medians of requests/s, p99 latency and the servers'
CPU time per request (utime+stime of the master and all its workers, read
from /proc before and after each run - the figure a noisy shared machine
disturbs least).

    bench/bench.py [--workers 2] [--conns 1,16,64] [--duration 10] [--repeat 3]
                   [--servers cgunicorn,gunicorn,uwsgi] [--app hello]
                   [--worker-class sync|gthread|gevent|eventlet] [--threads N]
                   [--worker-connections N] [--keepalive] [--log-dir DIR]

--servers cgunicorn,cgunicorn-top compares the headless server with the
dashboard drawing in a tmux pane (the scoreboard's cost on the request path
plus the dashboard's own CPU).

--worker-class gthread --threads N runs cgunicorn and gunicorn with
-k gthread --threads N and uWSGI with --threads N (same processes and
threads).  --keepalive keeps connections alive: wrk does by default, uWSGI
gets --http11-socket instead of --http-socket (cgunicorn's and gunicorn's
gthread keep connections alive on their own; their sync workers never do).
Without --keepalive a gthread run sends "Connection: close" with every
request, so each request is a new connection, as against the sync workers.

--worker-class gevent (or eventlet) runs cgunicorn and gunicorn with
-k gevent --worker-connections N (default 1000); both keep connections
alive.  uWSGI gets its gevent loop (Debian's uwsgi-plugin-gevent-python3:
--plugin python3,gevent_python3 --gevent N --gevent-early-monkey-patch) on
--http-socket, which closes each connection after its response: uWSGI
2.0.21's gevent loop with --http11-socket answers the first request of a
connection and then its worker aborts (AttributeError: 'gevent.libev.
corecext.io' object has no attribute 'stop', then a libev assertion), so
--keepalive is ignored for uWSGI there and wrk reconnects after each of its
responses (wrk counts those closes as read errors).  uWSGI has no eventlet
loop: an eventlet run compares cgunicorn with gunicorn only.

After each run the servers' stderr is searched for tracebacks, [ERROR] and
[CRITICAL] lines and worker deaths; a run with any prints their count and
keeps the log (in --log-dir, default a temporary directory).
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf('SC_CLK_TCK')
APPS = {
    'hello': (os.path.join(ROOT, 'examples'), 'hello', 'application', '/'),
    'flask': (os.path.join(ROOT, 'examples'), 'app', 'app', '/hello'),
}


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def children(pid):
    """The pids of pid's live children (its workers)."""
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def tree_cpu(pid):
    """utime+stime in seconds of pid and its live children."""
    total = 0
    for p in [pid] + children(pid):
        try:
            with open('/proc/%d/stat' % p) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / TICK


ASYNC = ('gevent', 'eventlet')
# lines in a server's stderr that mean something went wrong during a run
LOG_TROUBLE = re.compile(r'Traceback|\[ERROR\]|\[CRITICAL\]|WORKER TIMEOUT|DAMN !|'
                         r'was sent SIG|exited with code|'
                         r'Assertion|Segmentation|AddressSanitizer|runtime error')


def worker_args(args):
    """The worker-class arguments cgunicorn and gunicorn share."""
    wc = getattr(args, 'worker_class', 'sync')
    if wc == 'gthread':
        return ['-k', 'gthread', '--threads', str(args.threads)]
    if wc in ASYNC:
        return ['-k', wc, '--worker-connections', str(args.worker_connections)]
    return []


def command(server, port, workers, app, args=None):
    chdir, module, name, _ = APPS[app]
    wargs = worker_args(args) if args is not None else []
    if server == 'cgunicorn-top':
        # the dashboard, drawing in a real terminal (a detached tmux pane)
        return ['tmux', '-L', 'cgbench-%d' % port, 'new-session', '-d', '-x', '120', '-y', '40',
                '--', os.path.join(ROOT, 'build', 'cgunicorn-top'), '-w', str(workers)] + wargs + [
                '-b', '127.0.0.1:%d' % port, '--chdir', chdir, '%s:%s' % (module, name)]
    if server == 'cgunicorn':
        return [os.path.join(ROOT, 'build', 'cgunicorn'), '-w', str(workers)] + wargs + [
                '-b', '127.0.0.1:%d' % port, '--chdir', chdir, '--log-level', 'warning',
                '%s:%s' % (module, name)]
    if server == 'gunicorn':
        return ['/usr/bin/python3', '-m', 'gunicorn', '-w', str(workers)] + wargs + [
                '-b', '127.0.0.1:%d' % port, '--chdir', chdir, '--log-level', 'warning',
                '%s:%s' % (module, name)]
    if server == 'uwsgi':
        wc = args.worker_class if args is not None else 'sync'
        if wc == 'eventlet':
            raise ValueError('uWSGI has no eventlet loop')
        # its gevent loop aborts on a kept-alive connection's second request
        keepalive = args is not None and args.keepalive and wc != 'gevent'
        cmd = ['uwsgi', '--plugin', 'python3,gevent_python3' if wc == 'gevent' else 'python3',
               '--http11-socket' if keepalive else '--http-socket', '127.0.0.1:%d' % port,
               '--master', '--processes', str(workers), '--chdir', chdir,
               '--wsgi', '%s:%s' % (module, name), '--disable-logging', '--die-on-term',
               '--need-app', '--lazy-apps']
        if wc == 'gthread':
            cmd += ['--threads', str(args.threads)]
        elif wc == 'gevent':
            cmd += ['--gevent', str(args.worker_connections), '--gevent-early-monkey-patch']
        return cmd
    raise ValueError(server)


def wait_ready(port, path, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            s = socket.create_connection(('127.0.0.1', port), timeout=1)
            s.sendall(('GET %s HTTP/1.0\r\n\r\n' % path).encode())
            if s.recv(100).startswith(b'HTTP/1.'):
                s.close()
                return True
            s.close()
        except OSError:
            pass
        time.sleep(0.1)
    return False


def parse_wrk(out):
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    total = int(re.search(r'(\d+) requests in', out).group(1))
    m = re.search(r'\s99%\s+([\d.]+)(us|ms|s)\b', out)
    p99 = float(m.group(1)) * {'us': 0.001, 'ms': 1, 's': 1000}[m.group(2)] if m else float('nan')
    errors = re.search(r'Socket errors: (.*)', out)
    non2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    return rps, total, p99, (errors.group(1) if errors else ''), int(non2xx.group(1)) if non2xx else 0


def tmux_pane_pid(port):
    out = subprocess.run(['tmux', '-L', 'cgbench-%d' % port, 'display-message', '-p',
                          '#{pane_pid}'], capture_output=True, text=True).stdout.strip()
    return int(out) if out else None


class Pane:
    """A server running in a tmux pane, looked at like a Popen."""

    def __init__(self, port):
        self.port = port
        self.pid = None
        for _ in range(50):
            self.pid = tmux_pane_pid(port)
            if self.pid:
                break
            time.sleep(0.1)

    def stop(self):
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except OSError:
                pass
            for _ in range(100):
                if not os.path.exists('/proc/%d' % self.pid):
                    break
                time.sleep(0.1)
        subprocess.run(['tmux', '-L', 'cgbench-%d' % self.port, 'kill-server'],
                       capture_output=True)


def run_one(server, conns, args):
    port = free_port()
    _, _, _, path = APPS[args.app]
    if server == 'cgunicorn-top':
        subprocess.run(command(server, port, args.workers, args.app, args), check=True)
        pane = Pane(port)
        try:
            return measure(server, pane.pid, port, path, conns, args) + ('',)
        finally:
            pane.stop()
    args.run_no = getattr(args, 'run_no', 0) + 1
    log_path = os.path.join(args.log_dir, '%03d-%s-c%d.log' % (args.run_no, server, conns))
    log = open(log_path, 'w+')
    proc = subprocess.Popen(command(server, port, args.workers, args.app, args),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        res = measure(server, proc.pid, port, path, conns, args)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    log.seek(0)
    trouble = [line for line in log if LOG_TROUBLE.search(line)]
    log.close()
    if not trouble:
        os.unlink(log_path)
        return res + ('',)
    return res + ('%d error lines in %s' % (len(trouble), log_path),)


def measure(server, pid, port, path, conns, args):
    """One wrk run against a started server: (req/s, p99 ms, CPU us/req,
    socket errors, non-2xx count)."""
    if not wait_ready(port, path):
        raise RuntimeError('%s did not start' % server)
    # a gthread run without --keepalive: a new connection for each request
    close = (['-H', 'Connection: close']
             if args.worker_class == 'gthread' and not args.keepalive else [])
    # warm-up
    subprocess.run(['wrk', '-t1', '-c%d' % conns, '-d1s'] + close +
                   ['http://127.0.0.1:%d%s' % (port, path)], capture_output=True)
    workers0 = set(children(pid))
    cpu0 = tree_cpu(pid)
    threads = min(conns, 2)
    wrk = subprocess.Popen(['wrk', '-t%d' % threads, '-c%d' % conns, '-d%ds' % args.duration,
                            '--latency'] + close + ['http://127.0.0.1:%d%s' % (port, path)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    # halfway: connections wrk opened that the server never accepted (a
    # server with a thread per kept-alive connection leaves the rest in the
    # listen queue; wrk reports neither their wait nor an error)
    time.sleep(args.duration / 2)
    unserved = listen_queue(port)
    out = wrk.communicate()[0]
    cpu1 = tree_cpu(pid)
    gone = workers0 - set(children(pid))
    rps, total, p99, errors, non2xx = parse_wrk(out)
    if gone:
        # a worker died during the run: its CPU time left the sum with it
        errors = ('%d workers replaced during the run (CPU figure wrong) ' % len(gone)) + errors
    return rps, p99, (cpu1 - cpu0) * 1e6 / max(total, 1), errors, non2xx, unserved


def listen_queue(port):
    """Connections waiting in the accept queue of the listener on port."""
    out = subprocess.run(['ss', '-Hltn', 'sport = :%d' % port], capture_output=True,
                         text=True).stdout.split()
    try:
        return int(out[1])
    except (IndexError, ValueError):
        return -1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--conns', default='1,16,64')
    ap.add_argument('--duration', type=int, default=10)
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--servers', default='cgunicorn,gunicorn,uwsgi')
    ap.add_argument('--app', default='hello', choices=sorted(APPS))
    ap.add_argument('--worker-class', default='sync',
                    choices=['sync', 'gthread', 'gevent', 'eventlet'],
                    help='gthread: -k gthread --threads N (uWSGI: --threads N); '
                    'gevent: -k gevent --worker-connections N (uWSGI: --gevent N); '
                    'eventlet: -k eventlet (no uWSGI)')
    ap.add_argument('--threads', type=int, default=4,
                    help='threads per worker with --worker-class gthread')
    ap.add_argument('--worker-connections', type=int, default=1000,
                    help='greenlets per worker with --worker-class gevent/eventlet')
    ap.add_argument('--keepalive', action='store_true',
                    help='keep connections alive (uWSGI: --http11-socket, not with gevent)')
    ap.add_argument('--log-dir', default=None,
                    help="where the logs of runs with errors are kept (default: a new "
                    "temporary directory)")
    args = ap.parse_args()
    if args.log_dir is None:
        args.log_dir = tempfile.mkdtemp(prefix='cgbench-')
    os.makedirs(args.log_dir, exist_ok=True)
    servers = [s for s in args.servers.split(',') if s != 'uwsgi' or shutil.which('uwsgi')]
    if args.worker_class == 'eventlet' and 'uwsgi' in servers:
        servers.remove('uwsgi')
        print('(uWSGI has no eventlet loop: left out)')
    results = {}
    wdesc = ''
    if args.worker_class == 'gthread':
        wdesc = ' worker-class=gthread threads=%d' % args.threads
    elif args.worker_class in ASYNC:
        wdesc = ' worker-class=%s worker-connections=%d' % (args.worker_class,
                                                            args.worker_connections)
        if args.worker_class == 'gevent' and 'uwsgi' in servers:
            wdesc += ' (uWSGI: --gevent on --http-socket, a connection per request)'
    print('app=%s workers=%d%s duration=%ds repeat=%d (servers alternated, medians)' %
          (args.app, args.workers, wdesc + (' keep-alive' if args.keepalive else ''),
           args.duration, args.repeat))
    for conns in [int(c) for c in args.conns.split(',')]:
        for r in range(args.repeat):
            for server in (servers if r % 2 == 0 else list(reversed(servers))):
                res = run_one(server, conns, args)
                results.setdefault((server, conns), []).append(res)
                print('  run %d c=%-3d %-10s %9.0f req/s  p99 %7.2f ms  %6.1f us CPU/req %s%s%s%s' % (
                    r + 1, conns, server, res[0], res[1], res[2],
                    ('errors: ' + res[3]) if res[3] else '',
                    (' non-2xx: %d' % res[4]) if res[4] else '',
                    (' unserved conns: %d' % res[5]) if res[5] > 0 else '',
                    (' LOG: ' + res[6]) if res[6] else ''), flush=True)
    print()
    # ratios against gunicorn, or against the first server when it is absent
    ref = 'gunicorn' if 'gunicorn' in servers else servers[0]
    print('%-6s %-14s %10s %8s %11s %12s %12s %9s' % ('conns', 'server', 'req/s', 'p99 ms',
                                                       'CPU us/req', 'req/s ratio', 'CPU ratio',
                                                       'unserved'))
    for conns in [int(c) for c in args.conns.split(',')]:
        base = results[(ref, conns)]
        base_rps = statistics.median(x[0] for x in base)
        base_cpu = statistics.median(x[2] for x in base)
        for server in servers:
            rs = results[(server, conns)]
            rps = statistics.median(x[0] for x in rs)
            cpu = statistics.median(x[2] for x in rs)
            print('%-6d %-14s %10.0f %8.2f %11.1f %11.2fx %11.3fx %9d' % (
                conns, server, rps, statistics.median(x[1] for x in rs), cpu, rps / base_rps,
                cpu / base_cpu, statistics.median(x[5] for x in rs)))
    print('(ratios relative to %s; unserved: connections still in the listen queue halfway '
          'through the run, never answered%s)' % (ref, (
              " - uWSGI's, under gevent, are its reconnects waiting to be accepted"
              if args.worker_class == 'gevent' and 'uwsgi' in servers else '')))


if __name__ == '__main__':
    sys.exit(main())
