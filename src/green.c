/* green.c - the gevent and eventlet workers: serve.c's connection loop and
 * request path, with greenlets in place of threads.
 *
 * The worker monkey-patches the process before the app is imported (as
 * gunicorn's GeventWorker/EventletWorker do), then runs serve.c's loop in
 * the main greenlet.  The loop waits on its epoll descriptor through the
 * hub, each connection with a complete request is served in a new greenlet,
 * and every wait of the request path (a body still arriving, a client
 * reading slowly) goes through the hub too (cg_io_wait), so a slow client
 * or an app blocked in patched I/O lets the other greenlets run.  Parsing,
 * the environ and writing the response stay in C.  All of it runs in one
 * thread: the GIL is taken and released around the Python calls, and
 * greenlets only switch inside them. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "green.h"

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgunicorn/log.h"
#include "iowait.h"
#include "py_embed.h"
#include "serve.h"

/* The Python side: monkey-patching, a wait on a descriptor with a timeout,
 * and a pool of greenlets that run the C request path.  Greenlets are kept
 * and reused rather than spawned per request: a greenlet that ends frees
 * its Python frame stack (an munmap), which cost more than the request. */
static const char adapter_src[] =
    "class _TimedOut(Exception):\n"
    "    pass\n"
    "_TIMED_OUT = _TimedOut()\n"
    "def _pool(spawn, Queue, run):\n"
    "    q = Queue()\n"
    "    idle = 0  # greenlets waiting for work that no submit has claimed\n"
    "    def serve():\n"
    "        nonlocal idle\n"
    "        while True:\n"
    "            run(q.get())\n"
    "            idle += 1\n"
    "    def submit(conn):\n"
    "        nonlocal idle\n"
    "        if idle:\n"
    "            idle -= 1\n"
    "        else:\n"
    "            spawn(serve)\n"
    "        q.put(conn)\n"
    "    return submit\n"
    "def gevent_setup(run):\n"
    "    from gevent import monkey\n"
    "    monkey.patch_all()\n"
    "    import gevent, gevent.queue\n"
    "    from gevent.socket import wait_read, wait_write\n"
    "    gevent.get_hub()\n"
    "    def wait(fd, write, timeout):\n"
    "        try:\n"
    "            (wait_write if write else wait_read)(fd, timeout, _TIMED_OUT)\n"
    "            return True\n"
    "        except _TimedOut:\n"
    "            return False\n"
    "    return wait, _pool(gevent.spawn_raw, gevent.queue.Queue, run)\n"
    "def eventlet_setup(run):\n"
    "    import eventlet, eventlet.queue\n"
    "    eventlet.monkey_patch()\n"
    "    from eventlet.hubs import trampoline\n"
    "    def wait(fd, write, timeout):\n"
    "        try:\n"
    "            trampoline(fd, read=not write, write=write, timeout=timeout,\n"
    "                       timeout_exc=_TimedOut)\n"
    "            return True\n"
    "        except _TimedOut:\n"
    "            return False\n"
    "    return wait, _pool(eventlet.spawn_n, eventlet.queue.LightQueue, run)\n";

#if defined(__SANITIZE_ADDRESS__)
/* AddressSanitizer and greenlets.  greenlet switches by copying slices of
 * the C stack in and out, so a resumed greenlet finds its frames under the
 * shadow memory (redzones) of whatever frames ran at those addresses in
 * between, and reports errors that are not there.  In sanitizer builds a
 * greenlet switch trace clears the shadow of the resumed greenlet's live
 * frames (missing a real overflow there is the price); the tests run the
 * green workers with ASAN_OPTIONS=replace_intrin=0, since greenlet's own
 * memcpy of a stack slice reads across redzones too. */
#include <pthread.h>
#include <sanitizer/asan_interface.h>

static char *stack_top, *stack_bottom;
#define ASAN_BELOW (512 * 1024) /* deeper frames the resumed greenlet may make */

static PyObject *asan_switched(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    char *here = __builtin_frame_address(0);
    char *from = here - ASAN_BELOW > stack_bottom ? here - ASAN_BELOW : stack_bottom;
    __asan_unpoison_memory_region(from, (size_t)(stack_top - from));
    Py_RETURN_NONE;
}

static PyMethodDef asan_def = {"cgunicorn_asan_switched", asan_switched, METH_VARARGS, NULL};

static int asan_trace_switches(void)
{
    pthread_attr_t a;
    void *addr;
    size_t size;

    if (pthread_getattr_np(pthread_self(), &a) != 0)
        return -1;
    pthread_attr_getstack(&a, &addr, &size);
    pthread_attr_destroy(&a);
    stack_top = (char *)addr + size;
    stack_bottom = (char *)addr + 65536; /* above the guard */
    PyObject *greenlet = PyImport_ImportModule("greenlet");
    PyObject *fn = PyCFunction_New(&asan_def, NULL);
    PyObject *r = greenlet && fn ? PyObject_CallMethod(greenlet, "settrace", "O", fn) : NULL;
    Py_XDECREF(r);
    Py_XDECREF(fn);
    Py_XDECREF(greenlet);
    return r ? 0 : -1;
}
#else
static int asan_trace_switches(void)
{
    return 0;
}
#endif

static PyObject *wait_fn;   /* wait(fd, write, timeout) -> bool */
static PyObject *submit_fn; /* submit(conn): a pooled greenlet runs it */

const char *cg_green_kind(const char *worker_class)
{
    static const struct {
        const char *name, *kind;
    } classes[] = {
        {"gevent", "gevent"},
        {"gevent_wsgi", "gevent"},
        {"gevent_pywsgi", "gevent"},
        {"gunicorn.workers.ggevent.GeventWorker", "gevent"},
        {"gunicorn.workers.ggevent.GeventPyWSGIWorker", "gevent"},
        {"eventlet", "eventlet"},
        {"gunicorn.workers.geventlet.EventletWorker", "eventlet"},
    };

    for (size_t i = 0; worker_class && i < sizeof(classes) / sizeof(classes[0]); i++)
        if (strcmp(worker_class, classes[i].name) == 0)
            return classes[i].kind;
    return NULL;
}

int cg_green_check(const char *kind, char *err, size_t errlen)
{
    /* what is importable, without importing it in the master: monkey-
     * patching happens in each worker */
    static const char *needs[2][2] = {{"gevent", "greenlet"}, {"eventlet", "greenlet"}};
    const char *const *mods = needs[strcmp(kind, "gevent") == 0 ? 0 : 1];
    PyObject *util = PyImport_ImportModule("importlib.util");

    if (util == NULL) {
        PyErr_Clear();
        return 0; /* the worker will say what is wrong */
    }
    for (int i = 0; i < 2; i++) {
        PyObject *spec = PyObject_CallMethod(util, "find_spec", "s", mods[i]);
        bool missing = spec == NULL || spec == Py_None;
        PyErr_Clear();
        Py_XDECREF(spec);
        if (missing) {
            snprintf(err, errlen,
                     "worker class '%s' needs the Python package '%s': "
                     "apt-get install python3-%s",
                     kind, mods[i], mods[i]);
            Py_DECREF(util);
            return -1;
        }
    }
    Py_DECREF(util);
    return 0;
}

/* cg_io_wait under the hub.  Called with or without the GIL. */
static int green_wait(int fd, short events, int timeout_ms)
{
    bool held = PyGILState_Check();
    int rc;

    if (!held)
        cg_py_acquire_gil();
    int write = (events & POLLOUT) != 0;
    PyObject *r = timeout_ms < 0
                      ? PyObject_CallFunction(wait_fn, "iiO", fd, write, Py_None)
                      : PyObject_CallFunction(wait_fn, "iid", fd, write, timeout_ms / 1000.0);
    if (r == NULL) {
        /* INT/QUIT/ABRT unwinding (their handlers already told the loop
         * to stop), or the hub failing: this wait fails */
        if (!PyErr_ExceptionMatches(PyExc_SystemExit) &&
            !PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
            char *tb = cg_py_format_exception();
            cg_log(CG_LOG_ERROR, "Waiting for a socket through the hub failed:\n%s", tb ? tb : "");
            free(tb);
        }
        PyErr_Clear();
        rc = -1;
    } else {
        rc = PyObject_IsTrue(r);
        Py_DECREF(r);
    }
    if (!held)
        cg_py_release_gil();
    return rc;
}

/* A greenlet's body: serve one connection's requests. */
static PyObject *green_run(PyObject *self, PyObject *arg)
{
    (void)self;
    void *conn = PyLong_AsVoidPtr(arg);

    if (conn == NULL)
        return NULL;
    cg_py_release_gil();
    cg_serve_green_conn(conn);
    cg_py_acquire_gil();
    Py_RETURN_NONE;
}

static PyMethodDef run_def = {"cgunicorn_serve_connection", green_run, METH_O, NULL};

int cg_green_spawn(void *conn)
{
    int rc = 0;

    cg_py_acquire_gil();
    PyObject *arg = PyLong_FromVoidPtr(conn);
    PyObject *g = arg ? PyObject_CallOneArg(submit_fn, arg) : NULL;
    if (g == NULL) {
        char *tb = cg_py_format_exception();
        cg_log(CG_LOG_ERROR, "Could not start a greenlet:\n%s", tb ? tb : "");
        free(tb);
        PyErr_Clear();
        rc = -1;
    }
    Py_XDECREF(g);
    Py_XDECREF(arg);
    cg_py_release_gil();
    return rc;
}

int cg_green_setup(const char *kind)
{
    PyObject *mod = PyModule_New("cgunicorn_green");
    PyObject *dict = mod ? PyModule_GetDict(mod) : NULL;
    PyObject *res = NULL, *pair = NULL;

    if (dict == NULL || PyDict_SetItemString(dict, "__builtins__", PyEval_GetBuiltins()) != 0)
        goto fail;
    res = PyRun_String(adapter_src, Py_file_input, dict, dict);
    if (res == NULL)
        goto fail;
    PyObject *setup = PyDict_GetItemString(
        dict, strcmp(kind, "gevent") == 0 ? "gevent_setup" : "eventlet_setup"); /* borrowed */
    PyObject *run = PyCFunction_New(&run_def, NULL);
    pair = setup && run ? PyObject_CallOneArg(setup, run) : NULL;
    Py_XDECREF(run);
    if (pair == NULL || !PyArg_ParseTuple(pair, "OO", &wait_fn, &submit_fn))
        goto fail;
    Py_INCREF(wait_fn);
    Py_INCREF(submit_fn);
    if (asan_trace_switches() != 0)
        goto fail;
    Py_DECREF(res);
    Py_DECREF(pair);
    Py_DECREF(mod);
    cg_io_wait_set(green_wait);
    return 0;
fail:;
    char *tb = cg_py_format_exception();
    cg_log(CG_LOG_ERROR, "Exception in worker process\n%s", tb ? tb : "");
    free(tb);
    PyErr_Clear();
    Py_XDECREF(res);
    Py_XDECREF(pair);
    Py_XDECREF(mod);
    return -1;
}
