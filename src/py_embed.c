/* py_embed.c - the embedded interpreter. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "py_embed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgunicorn/cgunicorn.h"
#include "cgunicorn/log.h"

#ifndef CG_PYTHON_EXE
#define CG_PYTHON_EXE "/usr/bin/python3"
#endif

/* The raised exception as one object with its traceback attached
 * (PyErr_GetRaisedException is 3.12+; this works on 3.11 too).  Owned. */
static PyObject *take_exception(void)
{
    PyObject *type, *value, *tb;

    PyErr_Fetch(&type, &value, &tb);
    if (type == NULL)
        return NULL;
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb && value)
        PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}

static PyObject *app_obj; /* owned: the WSGI application */
/* This thread's Python thread state (each C thread that runs Python has
 * its own, see cg_py_thread_attach).  It stays set while the thread holds
 * the GIL: under gevent, greenlets of one thread share it, and one may
 * take the GIL back after another released it. */
static _Thread_local PyThreadState *saved_tstate;

/* gunicorn's util.import_app, kept in Python: it runs once per worker boot,
 * and matching gunicorn's parsing of "factory(args)" and its messages
 * exactly matters more than speed here. */
static const char import_app_src[] =
    "import ast, importlib, os, sys\n"
    "class AppImportError(Exception):\n"
    "    pass\n"
    "def import_app(module):\n"
    "    parts = module.split(':', 1)\n"
    "    if len(parts) == 1:\n"
    "        obj = 'application'\n"
    "    else:\n"
    "        module, obj = parts[0], parts[1]\n"
    "    try:\n"
    "        mod = importlib.import_module(module)\n"
    "    except ImportError:\n"
    "        if module.endswith('.py') and os.path.exists(module):\n"
    "            msg = \"Failed to find application, did you mean '%s:%s'?\"\n"
    "            raise ImportError(msg % (module.rsplit('.', 1)[0], obj))\n"
    "        raise\n"
    "    try:\n"
    "        expression = ast.parse(obj, mode='eval').body\n"
    "    except SyntaxError:\n"
    "        raise AppImportError('Failed to parse %r as an attribute name or function call.'"
    " % obj)\n"
    "    if isinstance(expression, ast.Name):\n"
    "        name = expression.id\n"
    "        args = kwargs = None\n"
    "    elif isinstance(expression, ast.Call):\n"
    "        if not isinstance(expression.func, ast.Name):\n"
    "            raise AppImportError('Function reference must be a simple name: %r' % obj)\n"
    "        name = expression.func.id\n"
    "        try:\n"
    "            args = [ast.literal_eval(arg) for arg in expression.args]\n"
    "            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in expression.keywords}\n"
    "        except ValueError:\n"
    "            raise AppImportError('Failed to parse arguments as literal values: %r' % obj)\n"
    "    else:\n"
    "        raise AppImportError('Failed to parse %r as an attribute name or function call.'"
    " % obj)\n"
    "    try:\n"
    "        app = getattr(mod, name)\n"
    "    except AttributeError:\n"
    "        raise AppImportError('Failed to find attribute %r in %r.' % (name, module))\n"
    "    if args is not None:\n"
    "        try:\n"
    "            app = app(*args, **kwargs)\n"
    "        except TypeError as e:\n"
    "            import inspect\n"
    "            try:\n"
    "                inspect.signature(app).bind(*args, **kwargs)\n"
    "            except TypeError:\n"
    "                raise AppImportError(''.join(['Error while loading app: ', str(e)]))\n"
    "            raise\n"
    "    if app is None:\n"
    "        raise AppImportError('Failed to find application object: %r' % obj)\n"
    "    if not callable(app):\n"
    "        raise AppImportError('Application object must be callable.')\n"
    "    return app\n";

/* Check a PyStatus; on failure describe it in err. */
static int status_ok(PyStatus st, const char *what, char *err, size_t errlen)
{
    if (!PyStatus_Exception(st))
        return 1;
    snprintf(err, errlen, "Python init failed (%s): %s", what,
             st.err_msg ? st.err_msg : "unknown error");
    return 0;
}

int cg_py_init(int argc, char **argv, char *err, size_t errlen)
{
    PyConfig config;
    PyStatus st;
    char prog[4096];
    const char *venv = getenv("VIRTUAL_ENV");

    PyConfig_InitPythonConfig(&config);
    config.install_signal_handlers = 0;
    config.parse_argv = 0;
    /* Name the interpreter as python3 itself (or the virtualenv's python),
     * so getpath finds the same prefix, site-packages and pyvenv.cfg a
     * python3 process would, and sys.executable is a real Python. */
    if (venv && *venv)
        snprintf(prog, sizeof(prog), "%s/bin/python3", venv);
    else
        snprintf(prog, sizeof(prog), "%s", CG_PYTHON_EXE);
    if (access(prog, X_OK) != 0)
        snprintf(prog, sizeof(prog), "%s", CG_PYTHON_EXE);
    st = PyConfig_SetBytesString(&config, &config.program_name, prog);
    if (!status_ok(st, "program name", err, errlen))
        goto fail;
    st = PyConfig_SetBytesArgv(&config, argc, argv);
    if (!status_ok(st, "argv", err, errlen))
        goto fail;
    st = Py_InitializeFromConfig(&config);
    if (!status_ok(st, "initialize", err, errlen))
        goto fail;
    PyConfig_Clear(&config);
    return 0;
fail:
    PyConfig_Clear(&config);
    return -1;
}

int cg_py_setup_path(const char *chdir_abs, const char *pythonpath)
{
    PyObject *path = PySys_GetObject("path"); /* borrowed */
    PyObject *item = NULL;
    int rc = -1;

    if (path == NULL || !PyList_Check(path))
        return -1;
    if (chdir_abs) {
        item = PyUnicode_DecodeFSDefault(chdir_abs);
        if (item == NULL)
            goto done;
        if (PySequence_Contains(path, item) == 0 && PyList_Insert(path, 0, item) != 0)
            goto done;
        Py_CLEAR(item);
    }
    if (pythonpath && *pythonpath) {
        /* gunicorn: abspath each entry, then insert them in order at 0 */
        char *copy = strdup(pythonpath), *save = NULL, *tok;
        char *entries[64];
        int n = 0;

        if (copy == NULL)
            goto done;
        for (tok = strtok_r(copy, ",", &save); tok && n < 64; tok = strtok_r(NULL, ",", &save))
            entries[n++] = tok;
        for (int i = n - 1; i >= 0; i--) {
            char abs[4096];
            if (entries[i][0] == '/' || getcwd(abs, sizeof(abs)) == NULL)
                snprintf(abs, sizeof(abs), "%s", entries[i]);
            else {
                size_t l = strlen(abs);
                snprintf(abs + l, sizeof(abs) - l, "/%s", entries[i]);
            }
            item = PyUnicode_DecodeFSDefault(abs);
            if (item == NULL || PyList_Insert(path, 0, item) != 0) {
                free(copy);
                goto done;
            }
            Py_CLEAR(item);
        }
        free(copy);
    }
    rc = 0;
done:
    Py_XDECREF(item);
    if (rc != 0)
        PyErr_Clear();
    return rc;
}

int cg_py_setenv(const char *key, const char *value)
{
    PyObject *os = PyImport_ImportModule("os"); /* owned */
    PyObject *environ = NULL, *k = NULL, *v = NULL;
    int rc = -1;

    if (os == NULL)
        goto done;
    environ = PyObject_GetAttrString(os, "environ");
    k = PyUnicode_DecodeFSDefault(key);
    v = PyUnicode_DecodeFSDefault(value);
    if (environ == NULL || k == NULL || v == NULL)
        goto done;
    rc = PyObject_SetItem(environ, k, v);
done:
    Py_XDECREF(os);
    Py_XDECREF(environ);
    Py_XDECREF(k);
    Py_XDECREF(v);
    if (rc != 0) {
        PyErr_Clear();
        rc = setenv(key, value, 1);
    }
    return rc;
}

void cg_py_before_fork(void)
{
    PyOS_BeforeFork();
}

void cg_py_after_fork_parent(void)
{
    PyOS_AfterFork_Parent();
}

void cg_py_after_fork_child(void)
{
    PyOS_AfterFork_Child();
}

char *cg_py_format_exception(void)
{
    PyObject *exc = take_exception(); /* owned */
    PyObject *tb = NULL, *lines = NULL, *text = NULL, *empty = NULL;
    char *out = NULL;

    if (exc == NULL)
        return NULL;
    tb = PyImport_ImportModule("traceback");
    if (tb)
        lines = PyObject_CallMethod(tb, "format_exception", "O", exc);
    empty = PyUnicode_FromString("");
    if (lines && empty)
        text = PyUnicode_Join(empty, lines);
    if (text) {
        const char *s = PyUnicode_AsUTF8(text);
        if (s) {
            out = strdup(s);
            /* logging's exc_text has no trailing newline */
            size_t n = out ? strlen(out) : 0;
            while (n > 0 && out[n - 1] == '\n')
                out[--n] = '\0';
        }
    }
    if (out == NULL)
        out = strdup("(traceback unavailable)");
    PyErr_Clear();
    Py_XDECREF(exc);
    Py_XDECREF(tb);
    Py_XDECREF(lines);
    Py_XDECREF(text);
    Py_XDECREF(empty);
    return out;
}

int cg_py_load_app(const char *uri, const char *log_prefix)
{
    PyObject *globals = NULL, *code = NULL, *res = NULL, *fn = NULL, *errcls = NULL;
    int rc = CG_EXIT_WORKER_BOOT_ERROR;

    globals = PyDict_New();
    if (globals == NULL || PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()))
        goto fail;
    code = Py_CompileString(import_app_src, "<cgunicorn import_app>", Py_file_input);
    if (code == NULL)
        goto fail;
    res = PyEval_EvalCode(code, globals, globals);
    if (res == NULL)
        goto fail;
    fn = PyDict_GetItemString(globals, "import_app");         /* borrowed */
    errcls = PyDict_GetItemString(globals, "AppImportError"); /* borrowed */
    Py_CLEAR(res);
    res = PyObject_CallFunction(fn, "s", uri);
    if (res == NULL) {
        if (PyErr_ExceptionMatches(errcls)) {
            PyObject *exc = take_exception(); /* owned */
            PyObject *msg = PyObject_Str(exc);
            fprintf(stderr, "%s\n", msg ? PyUnicode_AsUTF8(msg) : "App failed to load");
            fflush(stderr);
            Py_XDECREF(msg);
            Py_XDECREF(exc);
            PyErr_Clear();
            rc = CG_EXIT_APP_LOAD_ERROR;
            goto done;
        }
        goto fail;
    }
    Py_XSETREF(app_obj, res);
    res = NULL;
    rc = 0;
    goto done;
fail : {
    char *tb = cg_py_format_exception();
    cg_log_mark_exception();
    cg_log(CG_LOG_ERROR, "%s\n%s", log_prefix, tb ? tb : "");
    free(tb);
}
done:
    Py_XDECREF(globals);
    Py_XDECREF(code);
    Py_XDECREF(res);
    return rc;
}

void *cg_py_app(void)
{
    return app_obj;
}

int cg_py_register_traceback(int sig, int fd)
{
    PyObject *fh = PyImport_ImportModule("faulthandler"); /* owned */
    PyObject *r = NULL;

    if (fh)
        r = PyObject_CallMethod(fh, "register", "iiii", sig, fd, 1, 0);
    Py_XDECREF(fh);
    if (r == NULL) {
        PyErr_Clear();
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

static void (*worker_signal_cb)(int sig);

/* _cgunicorn_signal(sig): the C side of the worker's Python handlers. */
static PyObject *worker_signal_fn(PyObject *self, PyObject *arg)
{
    (void)self;
    long sig = PyLong_AsLong(arg);
    if (sig == -1 && PyErr_Occurred())
        return NULL;
    if (worker_signal_cb)
        worker_signal_cb((int)sig);
    Py_RETURN_NONE;
}

static PyMethodDef worker_signal_def = {"_cgunicorn_signal", worker_signal_fn, METH_O,
                                        "Called by the worker's signal handlers."};

static const char worker_signals_src[] = "import signal, sys\n"
                                         "def _cg_quit(sig, frame):\n"
                                         "    _cgunicorn_signal(sig)\n"
                                         "    sys.exit(0)\n"
                                         "def _cg_abort(sig, frame):\n"
                                         "    _cgunicorn_signal(sig)\n"
                                         "    sys.exit(1)\n"
                                         "signal.signal(signal.SIGINT, _cg_quit)\n"
                                         "signal.signal(signal.SIGQUIT, _cg_quit)\n"
                                         "signal.signal(signal.SIGABRT, _cg_abort)\n";

int cg_py_worker_signals(void (*on_signal)(int sig))
{
    PyObject *globals = PyDict_New(), *fn = NULL, *res = NULL; /* owned */
    int rc = -1;

    worker_signal_cb = on_signal;
    fn = PyCFunction_New(&worker_signal_def, NULL);
    if (globals == NULL || fn == NULL ||
        PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) ||
        PyDict_SetItemString(globals, "_cgunicorn_signal", fn))
        goto done;
    res = PyRun_String(worker_signals_src, Py_file_input, globals, globals);
    rc = res ? 0 : -1;
done:
    if (rc != 0) {
        char *tb = cg_py_format_exception();
        cg_log(CG_LOG_ERROR, "installing the worker's signal handlers failed\n%s", tb ? tb : "");
        free(tb);
    }
    Py_XDECREF(globals);
    Py_XDECREF(fn);
    Py_XDECREF(res);
    return rc;
}

/* The code of a pending SystemExit, clearing it; -1 for anything else. */
static int system_exit_code(void)
{
    int code = -1;

    if (PyErr_ExceptionMatches(PyExc_SystemExit)) {
        PyObject *exc = take_exception(); /* owned */
        PyObject *c = exc ? PyObject_GetAttrString(exc, "code") : NULL;
        code = c && PyLong_Check(c) ? (int)PyLong_AsLong(c) : 1;
        Py_XDECREF(c);
        Py_XDECREF(exc);
    }
    PyErr_Clear();
    return code;
}

int cg_py_check_signals(void)
{
    return PyErr_CheckSignals() != 0 ? system_exit_code() : -1;
}

int cg_py_run_pending_signals(void)
{
    int code;

    cg_py_acquire_gil();
    code = cg_py_check_signals();
    cg_py_release_gil();
    return code;
}

void cg_py_thread_attach(void)
{
    /* called without the GIL from a new C thread */
    PyGILState_STATE g = PyGILState_Ensure();
    (void)g;
    saved_tstate = PyEval_SaveThread();
}

void cg_py_release_gil(void)
{
    saved_tstate = PyEval_SaveThread();
}

void cg_py_acquire_gil(void)
{
    PyEval_RestoreThread(saved_tstate);
}
