"""A config file defining every server hook (test_hooks.c).

Each hook appends one line to $HOOK_LOG: its name, then key=value pairs of
the arguments it was given and of the process it runs in (me=os.getpid()).
$HOOK_RAISE names a hook that raises RuntimeError instead of returning;
the request hooks raise only for a path containing "fail", and
nworkers_changed only when old_value is not None (a TTIN), unless
$HOOK_RAISE is "nworkers_changed_first".  $HOOK_POST_ARITY (2, 3 or 4)
chooses the post_request signature.
"""
import os

LOG = os.environ['HOOK_LOG']
RAISE = os.environ.get('HOOK_RAISE', '')
ARITY = os.environ.get('HOOK_POST_ARITY', '4')

workers = int(os.environ.get('HOOK_WORKERS', '1'))


def _log(name, **kw):
    parts = [name, 'me=%d' % os.getpid()]
    parts += ['%s=%s' % (k, kw[k]) for k in sorted(kw)]
    with open(LOG, 'a') as f:
        f.write(' '.join(parts) + '\n')


def _maybe_raise(name):
    if RAISE == name:
        raise RuntimeError('hook %s failed' % name)


def _server(server):
    return dict(spid=server.pid, nw=server.num_workers,
                workers=','.join(str(p) for p in sorted(server.WORKERS)),
                listeners=','.join(server.LISTENERS), proc=server.proc_name,
                app=server.app_uri, cfgw=server.cfg.workers)


def _worker(worker):
    return dict(wpid=worker.pid, ppid=worker.ppid, age=worker.age,
                booted=worker.booted, nr=worker.nr, maxreq=worker.max_requests,
                wtimeout=worker.timeout, wbind=','.join(worker.cfg.bind))


def on_starting(server):
    _log('on_starting', **_server(server))
    server.log.info('on_starting says hello from %s', 'the master')
    _maybe_raise('on_starting')


def on_reload(server):
    _log('on_reload', **_server(server))
    _maybe_raise('on_reload')


def when_ready(server):
    _log('when_ready', **_server(server))
    _maybe_raise('when_ready')


def pre_fork(server, worker):
    _log('pre_fork', **_server(server), **_worker(worker))
    _maybe_raise('pre_fork')


def post_fork(server, worker):
    _log('post_fork', **_server(server), **_worker(worker), parent=os.getppid())
    worker.log.info('post_fork in worker %s', worker.pid)
    _maybe_raise('post_fork')


def post_worker_init(worker):
    _log('post_worker_init', **_worker(worker))
    _maybe_raise('post_worker_init')


def worker_int(worker):
    _log('worker_int', **_worker(worker))
    _maybe_raise('worker_int')


def worker_abort(worker):
    _log('worker_abort', **_worker(worker))
    _maybe_raise('worker_abort')


def pre_exec(server):
    _log('pre_exec', **_server(server))
    _maybe_raise('pre_exec')


def _request(req):
    headers = ','.join('%s:%s' % (k, v) for k, v in req.headers if k.startswith('X-'))
    return dict(method=req.method, path=req.path, query=req.query or '-', uri=req.uri,
                version='%d.%d' % req.version, scheme=req.scheme, xh=headers or '-')


def pre_request(worker, req):
    _log('pre_request', **_worker(worker), **_request(req))
    if 'fail' in req.path:
        _maybe_raise('pre_request')


if ARITY == '2':
    def post_request(worker, req):
        _log('post_request2', **_worker(worker), **_request(req))
        if 'fail' in req.path:
            _maybe_raise('post_request')
elif ARITY == '3':
    def post_request(worker, req, environ):
        _log('post_request3', **_worker(worker), **_request(req),
             env_path=environ.get('PATH_INFO'))
        if 'fail' in req.path:
            _maybe_raise('post_request')
else:
    def post_request(worker, req, environ, resp):
        # after a failed request the status may be None (gunicorn: resp
        # itself may be None when pre_request raised)
        status = getattr(resp, 'status', None)
        headers = getattr(resp, 'headers', None) or []
        _log('post_request', **_worker(worker), **_request(req),
             env_path=environ.get('PATH_INFO'), status=str(status).replace(' ', '_'),
             code=getattr(resp, 'status_code', None), sent=getattr(resp, 'sent', None),
             ctype=dict(headers).get('Content-Type', '-').replace(' ', ''))
        if 'fail' in req.path:
            _maybe_raise('post_request')


def child_exit(server, worker):
    _log('child_exit', **_server(server), **_worker(worker))
    _maybe_raise('child_exit')


def worker_exit(server, worker):
    _log('worker_exit', **_server(server), **_worker(worker))
    _maybe_raise('worker_exit')


def nworkers_changed(server, new_value, old_value):
    _log('nworkers_changed', **_server(server), new=new_value, old=old_value)
    if old_value is not None or RAISE == 'nworkers_changed_first':
        _maybe_raise('nworkers_changed' if old_value is not None else 'nworkers_changed_first')


def on_exit(server):
    _log('on_exit', **_server(server))
    _maybe_raise('on_exit')
