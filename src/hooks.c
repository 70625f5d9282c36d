/* hooks.c - calling the config file's server hooks. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "hooks.h"

#include <stdlib.h>
#include <string.h>

#include "cgunicorn/log.h"
#include "py_embed.h"

static const cg_config_t *hooks_cfg;
static PyObject *cfg_obj; /* owned: the `cfg` attribute, built once per config */
static PyObject *log_obj; /* owned: the `log` attribute */

/* --- server.log / worker.log: gunicorn's logger methods -------------- */

typedef struct {
    PyObject_HEAD
} HookLog;

/* msg % args, as logging does. */
static PyObject *format_message(PyObject *args)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    PyObject *msg, *rest, *out;

    if (n < 1) {
        PyErr_SetString(PyExc_TypeError, "a message is required");
        return NULL;
    }
    msg = PyObject_Str(PyTuple_GET_ITEM(args, 0));
    if (msg == NULL || n == 1)
        return msg;
    rest = PyTuple_GetSlice(args, 1, n);
    out = rest ? PyUnicode_Format(msg, rest) : NULL;
    Py_DECREF(msg);
    Py_XDECREF(rest);
    return out;
}

static PyObject *log_at(cg_log_level level, PyObject *args, bool with_exc)
{
    PyObject *text = format_message(args);
    const char *s;

    if (text == NULL)
        return NULL;
    s = PyUnicode_AsUTF8(text);
    if (s == NULL) {
        Py_DECREF(text);
        return NULL;
    }
    if (with_exc && PyErr_Occurred() == NULL) {
        /* logging.exception: the exception being handled */
        PyObject *sys = PyImport_ImportModule("sys"), *info = NULL;
        if (sys)
            info = PyObject_CallMethod(sys, "exc_info", NULL);
        Py_XDECREF(sys);
        if (info && PyTuple_Check(info) && PyTuple_GET_ITEM(info, 0) != Py_None) {
            PyObject *t = PyTuple_GET_ITEM(info, 0), *v = PyTuple_GET_ITEM(info, 1),
                     *tb = PyTuple_GET_ITEM(info, 2);
            Py_INCREF(t);
            Py_INCREF(v);
            Py_INCREF(tb);
            PyErr_Restore(t, v, tb);
            char *trace = cg_py_format_exception();
            cg_log(level, "%s\n%s", s, trace ? trace : "");
            free(trace);
            Py_DECREF(info);
            Py_DECREF(text);
            Py_RETURN_NONE;
        }
        Py_XDECREF(info);
        PyErr_Clear();
    }
    cg_log(level, "%s", s);
    Py_DECREF(text);
    Py_RETURN_NONE;
}

#define LOG_METHOD(fname, level, exc)                                                              \
    static PyObject *fname(PyObject *self, PyObject *args)                                         \
    {                                                                                              \
        (void)self;                                                                                \
        return log_at(level, args, exc);                                                           \
    }
LOG_METHOD(HookLog_debug, CG_LOG_DEBUG, false)
LOG_METHOD(HookLog_info, CG_LOG_INFO, false)
LOG_METHOD(HookLog_warning, CG_LOG_WARNING, false)
LOG_METHOD(HookLog_error, CG_LOG_ERROR, false)
LOG_METHOD(HookLog_critical, CG_LOG_CRITICAL, false)
LOG_METHOD(HookLog_exception, CG_LOG_ERROR, true)

static PyMethodDef HookLog_methods[] = {
    {"debug", HookLog_debug, METH_VARARGS, "Log at DEBUG."},
    {"info", HookLog_info, METH_VARARGS, "Log at INFO."},
    {"warning", HookLog_warning, METH_VARARGS, "Log at WARNING."},
    {"error", HookLog_error, METH_VARARGS, "Log at ERROR."},
    {"critical", HookLog_critical, METH_VARARGS, "Log at CRITICAL."},
    {"exception", HookLog_exception, METH_VARARGS, "Log at ERROR with the traceback."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject HookLogType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "cgunicorn.Logger",
    .tp_basicsize = sizeof(HookLog),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_methods = HookLog_methods,
};

/* --- objects --------------------------------------------------------- */

/* A types.SimpleNamespace() (owned). */
static PyObject *namespace(void)
{
    PyObject *types = PyImport_ImportModule("types"), *ns = NULL;
    if (types)
        ns = PyObject_CallMethod(types, "SimpleNamespace", NULL);
    Py_XDECREF(types);
    return ns;
}

/* obj.name = value, releasing value. */
static int set_attr(PyObject *obj, const char *name, PyObject *value)
{
    int rc = value ? PyObject_SetAttrString(obj, name, value) : -1;
    Py_XDECREF(value);
    return rc;
}

/* A setting's value as a Python object (owned). */
static PyObject *setting_value(const cg_config_t *cfg, int id)
{
    const char *const *items, *const *values;
    size_t n;

    switch (cg_setting_type(id)) {
    case CG_TYPE_INT:
        return PyLong_FromLong(cg_config_int(cfg, id));
    case CG_TYPE_BOOL:
        if (cg_config_is_none(cfg, id))
            Py_RETURN_NONE;
        return PyBool_FromLong(cg_config_bool(cfg, id));
    case CG_TYPE_STR: {
        const char *s = cg_config_str(cfg, id);
        if (s == NULL)
            Py_RETURN_NONE;
        return PyUnicode_DecodeFSDefault(s);
    }
    case CG_TYPE_LIST: {
        n = cg_config_list(cfg, id, &items);
        PyObject *l = PyList_New((Py_ssize_t)n);
        for (size_t i = 0; l && i < n; i++) {
            PyObject *v = PyUnicode_DecodeFSDefault(items[i]);
            if (v == NULL) {
                Py_CLEAR(l);
                break;
            }
            PyList_SET_ITEM(l, (Py_ssize_t)i, v);
        }
        return l;
    }
    case CG_TYPE_DICT: {
        n = cg_config_dict(cfg, id, &items, &values);
        PyObject *d = PyDict_New();
        for (size_t i = 0; d && i < n; i++) {
            PyObject *v = PyUnicode_DecodeFSDefault(values[i]);
            if (v == NULL || PyDict_SetItemString(d, items[i], v) != 0) {
                Py_XDECREF(v);
                Py_CLEAR(d);
                break;
            }
            Py_DECREF(v);
        }
        return d;
    }
    case CG_TYPE_HOOK: {
        PyObject *h = cg_config_hook(cfg, id);
        if (h == NULL)
            Py_RETURN_NONE;
        Py_INCREF(h);
        return h;
    }
    }
    Py_RETURN_NONE;
}

/* server.cfg / worker.cfg: every setting by name. */
static PyObject *build_cfg(const cg_config_t *cfg)
{
    PyObject *ns = namespace();
    for (int id = 0; ns && id < CG_SET__COUNT; id++)
        if (set_attr(ns, cg_setting_name(id), setting_value(cfg, id)) != 0)
            Py_CLEAR(ns);
    return ns;
}

void cg_hooks_use(const cg_config_t *cfg)
{
    hooks_cfg = cfg;
    Py_CLEAR(cfg_obj);
    if (PyType_Ready(&HookLogType) == 0 && log_obj == NULL)
        log_obj = PyObject_CallNoArgs((PyObject *)&HookLogType);
    PyErr_Clear();
}

bool cg_hook_set(int id)
{
    return hooks_cfg && cg_config_source(hooks_cfg, id) != CG_SRC_DEFAULT &&
           cg_config_hook(hooks_cfg, id) != NULL;
}

/* The shared cfg object, built on first use. */
static PyObject *cfg_attr(void)
{
    if (cfg_obj == NULL)
        cfg_obj = build_cfg(hooks_cfg);
    Py_XINCREF(cfg_obj);
    return cfg_obj;
}

static PyObject *pid_list(const pid_t *pids, size_t n)
{
    PyObject *d = PyDict_New();
    for (size_t i = 0; d && i < n; i++) {
        PyObject *k = PyLong_FromLong(pids[i]);
        if (k == NULL || PyDict_SetItem(d, k, Py_None) != 0)
            Py_CLEAR(d);
        Py_XDECREF(k);
    }
    return d;
}

static PyObject *str_list(const char *const *items, size_t n)
{
    PyObject *l = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; l && i < n; i++) {
        PyObject *v = PyUnicode_FromString(items[i]);
        if (v == NULL) {
            Py_CLEAR(l);
            break;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)i, v);
    }
    return l;
}

/* gunicorn's Arbiter, as far as hooks use it. */
static PyObject *server_object(const cg_hook_server *s)
{
    PyObject *o = namespace();
    if (o == NULL)
        return NULL;
    Py_XINCREF(log_obj);
    if (set_attr(o, "pid", PyLong_FromLong(s->pid)) || set_attr(o, "cfg", cfg_attr()) ||
        set_attr(o, "log", log_obj) ||
        set_attr(o, "app_uri", PyUnicode_FromString(s->app_uri ? s->app_uri : "")) ||
        set_attr(o, "proc_name", PyUnicode_FromString(s->proc_name ? s->proc_name : "")) ||
        set_attr(o, "num_workers", PyLong_FromLong(s->num_workers)) ||
        set_attr(o, "WORKERS", pid_list(s->worker_pids, s->nworkers)) ||
        set_attr(o, "LISTENERS", str_list(s->listeners, s->nlisteners)))
        Py_CLEAR(o);
    return o;
}

/* gunicorn's Worker, as far as hooks use it. */
static PyObject *worker_object(const cg_hook_worker *w)
{
    PyObject *o = namespace();
    if (o == NULL)
        return NULL;
    Py_XINCREF(log_obj);
    if (set_attr(o, "pid", PyLong_FromLong(w->pid)) ||
        set_attr(o, "ppid", PyLong_FromLong(w->ppid)) ||
        set_attr(o, "age", PyLong_FromUnsignedLong(w->age)) ||
        set_attr(o, "booted", PyBool_FromLong(w->booted)) ||
        set_attr(o, "alive", PyBool_FromLong(1)) ||
        set_attr(o, "nr", PyLong_FromUnsignedLongLong(w->nr)) ||
        set_attr(o, "max_requests", PyLong_FromLong(w->max_requests)) ||
        set_attr(o, "timeout", PyLong_FromLong(w->timeout)) || set_attr(o, "cfg", cfg_attr()) ||
        set_attr(o, "log", log_obj))
        Py_CLEAR(o);
    return o;
}

/* Call hook id with the given arguments (stolen, may contain NULL after a
 * failed build).  0, or -1 with the traceback logged. */
static int call(int id, PyObject *a0, PyObject *a1, PyObject *a2)
{
    PyObject *fn = cg_config_hook(hooks_cfg, id); /* borrowed */
    PyObject *args = NULL, *r = NULL;
    int rc = -1;

    if (a0 == NULL || (a1 == NULL && a2 != NULL))
        goto done;
    args = a2 ? PyTuple_Pack(3, a0, a1, a2) : a1 ? PyTuple_Pack(2, a0, a1) : PyTuple_Pack(1, a0);
    if (args == NULL)
        goto done;
    r = PyObject_Call(fn, args, NULL);
    if (r != NULL)
        rc = 0;
done:
    if (rc != 0) {
        char *tb = cg_py_format_exception();
        cg_log_mark_exception();
        cg_log(CG_LOG_ERROR, "Exception in %s hook\n%s", cg_setting_name(id), tb ? tb : "");
        free(tb);
    }
    Py_XDECREF(args);
    Py_XDECREF(r);
    Py_XDECREF(a0);
    Py_XDECREF(a1);
    Py_XDECREF(a2);
    return rc;
}

int cg_hook_call_server(int id, const cg_hook_server *s)
{
    if (!cg_hook_set(id))
        return 0;
    return call(id, server_object(s), NULL, NULL);
}

int cg_hook_call_server_worker(int id, const cg_hook_server *s, const cg_hook_worker *w)
{
    if (!cg_hook_set(id))
        return 0;
    PyObject *so = server_object(s);
    PyObject *wo = so ? worker_object(w) : NULL;
    if (so && wo == NULL) {
        Py_DECREF(so);
        so = NULL;
    }
    return call(id, so, wo, NULL);
}

int cg_hook_call_worker(int id, const cg_hook_worker *w)
{
    if (!cg_hook_set(id))
        return 0;
    return call(id, worker_object(w), NULL, NULL);
}

int cg_hook_call_nworkers_changed(const cg_hook_server *s, int new_value, int old_value)
{
    if (!cg_hook_set(CG_SET_nworkers_changed))
        return 0;
    PyObject *so = server_object(s);
    PyObject *nv = so ? PyLong_FromLong(new_value) : NULL;
    PyObject *ov = NULL;
    if (nv) {
        if (old_value < 0) {
            ov = Py_None;
            Py_INCREF(ov);
        } else {
            ov = PyLong_FromLong(old_value);
        }
    }
    if (so && (nv == NULL || ov == NULL)) {
        Py_CLEAR(so);
        Py_CLEAR(nv);
        Py_CLEAR(ov);
    }
    return call(CG_SET_nworkers_changed, so, nv, ov);
}

static const cg_hook_worker *request_worker;

void cg_hooks_set_worker(const cg_hook_worker *w)
{
    request_worker = w;
}

int cg_hook_call_request(int id, void *req, void *environ, void *resp)
{
    static const cg_hook_worker none;
    PyObject *fn, *code = NULL, *argc = NULL;
    long nargs = 4;

    if (!cg_hook_set(id))
        return 0;
    PyObject *wo = worker_object(request_worker ? request_worker : &none);
    if (wo == NULL)
        return call(id, NULL, NULL, NULL);
    Py_XINCREF((PyObject *)req);
    if (id == CG_SET_pre_request)
        return call(id, wo, req, NULL);
    /* post_request of arity 2 or 3 is accepted: gunicorn adapts it */
    fn = cg_config_hook(hooks_cfg, id);
    code = PyObject_GetAttrString(fn, "__code__");
    argc = code ? PyObject_GetAttrString(code, "co_argcount") : NULL;
    if (argc && PyLong_Check(argc))
        nargs = PyLong_AsLong(argc) - (PyObject_HasAttrString(fn, "__self__") ? 1 : 0);
    PyErr_Clear();
    Py_XDECREF(code);
    Py_XDECREF(argc);
    PyObject *args =
        nargs <= 2   ? PyTuple_Pack(2, wo, (PyObject *)req)
        : nargs == 3 ? PyTuple_Pack(3, wo, (PyObject *)req, (PyObject *)environ)
                     : PyTuple_Pack(4, wo, (PyObject *)req, (PyObject *)environ, (PyObject *)resp);
    Py_DECREF(wo);
    Py_XDECREF((PyObject *)req);
    PyObject *r = args ? PyObject_Call(fn, args, NULL) : NULL;
    Py_XDECREF(args);
    if (r == NULL) {
        char *tb = cg_py_format_exception();
        cg_log(CG_LOG_ERROR, "Exception in post_request hook\n%s", tb ? tb : "");
        free(tb);
        return -1;
    }
    Py_DECREF(r);
    return 0;
}
