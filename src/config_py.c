/* config_py.c - Python config files, read as gunicorn reads them.
 *
 * gunicorn/app/base.py get_config_from_filename(): the file is imported
 * through importlib as the module "__config__" (registered in sys.modules),
 * then every module-level name that is a setting is validated and applied;
 * other names are ignored.  Hooks are checked with gunicorn's rules (a
 * callable, or an import string, whose positional parameter count is the
 * hook's arity) by a few lines of Python run in a private namespace. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "cgunicorn/config.h"
#include "cgunicorn/cgunicorn.h"

#include <string.h>
#include <sys/stat.h>

/* gunicorn's validate_callable / validate_post_request, with its messages.
 * hook(val, arity) returns (callable, qualname) or raises TypeError; an
 * arity of -1 means post_request's 2, 3 or 4 (fewer are wrapped). */
static const char hook_helpers[] =
    "import inspect\n"
    "def _arity(f):\n"
    "    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)\n"
    "    return len([p for p in inspect.signature(f).parameters.values() if p.kind in kinds])\n"
    "def _from_import_string(val):\n"
    "    try:\n"
    "        mod_name, obj_name = val.rsplit('.', 1)\n"
    "    except ValueError:\n"
    "        raise TypeError(\"Value '%s' is not import string. \"\n"
    "                        \"Format: module[.submodules...].object\" % val)\n"
    "    try:\n"
    "        return getattr(__import__(mod_name, fromlist=[obj_name]), obj_name)\n"
    "    except ImportError as e:\n"
    "        raise TypeError(str(e))\n"
    "    except AttributeError:\n"
    "        raise TypeError(\"Can not load '%s' from '%s'\" % (obj_name, mod_name))\n"
    "def validate_post_request(val):\n"
    "    n = _arity(val)\n"
    "    if n == 4:\n"
    "        return val\n"
    "    if n == 3:\n"
    "        return lambda worker, req, env, _r: val(worker, req, env)\n"
    "    if n == 2:\n"
    "        return lambda worker, req, _e, _r: val(worker, req)\n"
    "    raise TypeError('Value must have an arity of: 4')\n"
    "def hook(val, arity):\n"
    "    if isinstance(val, str):\n"
    "        val = _from_import_string(val)\n"
    "    if not callable(val):\n"
    "        raise TypeError('Value is not callable: %s' % val)\n"
    "    if arity == -1:\n"
    "        val = validate_post_request(val)\n"
    "    elif _arity(val) != arity:\n"
    "        raise TypeError('Value must have an arity of: %s' % arity)\n"
    "    return val, getattr(val, '__qualname__', type(val).__qualname__)\n";

/* Write text to Python's sys.stderr (where tracebacks go), then flush it. */
static void py_stderr(const char *text)
{
    PyObject *stderr_obj = PySys_GetObject("stderr"); /* borrowed */
    PyObject *res = NULL;                             /* owned */
    if (!stderr_obj || stderr_obj == Py_None) {
        fputs(text, stderr);
        return;
    }
    res = PyObject_CallMethod(stderr_obj, "write", "s", text);
    Py_XDECREF(res);
    res = PyObject_CallMethod(stderr_obj, "flush", NULL);
    Py_XDECREF(res);
    PyErr_Clear();
}

/* The current Python exception's str() into err, clearing it. */
static void take_exception(char *err, size_t errlen)
{
    PyObject *type = NULL, *val = NULL, *tb = NULL; /* owned */
    PyObject *s = NULL;                             /* owned */
    const char *text;
    PyErr_Fetch(&type, &val, &tb);
    PyErr_NormalizeException(&type, &val, &tb);
    s = val ? PyObject_Str(val) : NULL;
    text = s ? PyUnicode_AsUTF8(s) : NULL;
    snprintf(err, errlen, "%s", text ? text : "unknown error");
    PyErr_Clear();
    Py_XDECREF(s);
    Py_XDECREF(type);
    Py_XDECREF(val);
    Py_XDECREF(tb);
}

/* str(obj) as UTF-8 into buf (for messages). */
static const char *py_str(PyObject *obj, char *buf, size_t len)
{
    PyObject *s = PyObject_Str(obj); /* owned */
    const char *text = s ? PyUnicode_AsUTF8(s) : NULL;
    snprintf(buf, len, "%s", text ? text : "?");
    Py_XDECREF(s);
    PyErr_Clear();
    return buf;
}

/* The release function of a hook value: drop our reference under the GIL
 * (nothing to do once the interpreter is gone). */
static void release_hook(void *callable)
{
    PyGILState_STATE gil;
    if (!Py_IsInitialized())
        return;
    gil = PyGILState_Ensure();
    Py_DECREF((PyObject *)callable);
    PyGILState_Release(gil);
}

/* The arity gunicorn requires of hook id: the parameter count of the
 * default's signature in settings.def, -1 for post_request. */
static int hook_arity(int id)
{
    const char *sig = cg_setting_default(id);
    int n = 1;
    if (id == CG_SET_post_request)
        return -1;
    for (const char *p = sig; p && *p; p++)
        n += *p == ',';
    return n;
}

/* Validate and set the hook id from val (borrowed). */
static int apply_hook(PyObject *helpers, cg_config_t *cfg, int id, PyObject *val, char *err,
                      size_t errlen)
{
    PyObject *fn = PyDict_GetItemString(helpers, "hook"); /* borrowed */
    PyObject *res = NULL;                                 /* owned: (callable, qualname) */
    PyObject *callable, *qualname;                        /* borrowed from res */
    const char *name;
    int rc = CG_ERR;

    res = fn ? PyObject_CallFunction(fn, "Oi", val, hook_arity(id)) : NULL;
    if (!res || !PyTuple_Check(res) || PyTuple_GET_SIZE(res) != 2) {
        take_exception(err, errlen);
        goto done;
    }
    callable = PyTuple_GET_ITEM(res, 0);
    qualname = PyTuple_GET_ITEM(res, 1);
    name = PyUnicode_Check(qualname) ? PyUnicode_AsUTF8(qualname) : NULL;
    PyErr_Clear();
    Py_INCREF(callable); /* owned by the configuration from here on */
    rc = cg_config_set_hook_named(cfg, id, callable, release_hook, name, CG_SRC_FILE, err, errlen);
done:
    Py_XDECREF(res);
    return rc;
}

/* A list/tuple of str (or one str) for the list setting id. */
static int apply_list(cg_config_t *cfg, int id, PyObject *val, char *err, size_t errlen)
{
    PyObject *seq = NULL; /* owned */
    const char **items = NULL;
    Py_ssize_t n;
    int rc = CG_ERR;
    char buf[256];

    if (PyUnicode_Check(val)) {
        const char *text = PyUnicode_AsUTF8(val);
        if (!text) {
            take_exception(err, errlen);
            return CG_ERR;
        }
        /* comma lists split the string; a repeatable list takes it as one item */
        if (cg_setting_action(id) == CG_ACT_STORE)
            return cg_config_set_text(cfg, id, text, CG_SRC_FILE, err, errlen);
        return cg_config_set_list(cfg, id, &text, *text ? 1 : 0, CG_SRC_FILE, err, errlen);
    }
    if (!PyObject_IsTrue(val)) { /* validate_list_string: a falsy value is [] */
        PyErr_Clear();
        return cg_config_set_list(cfg, id, NULL, 0, CG_SRC_FILE, err, errlen);
    }
    seq = PySequence_Fast(val, "");
    if (!seq) {
        PyErr_Clear();
        snprintf(err, errlen, "'%s' object is not iterable", Py_TYPE(val)->tp_name);
        return CG_ERR;
    }
    n = PySequence_Fast_GET_SIZE(seq);
    items = calloc((size_t)n + 1, sizeof *items);
    if (!items) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i); /* borrowed */
        items[i] = PyUnicode_Check(item) ? PyUnicode_AsUTF8(item) : NULL;
        if (!items[i]) {
            PyErr_Clear();
            snprintf(err, errlen, "Not a string: %s", py_str(item, buf, sizeof buf));
            goto done;
        }
    }
    rc = cg_config_set_list(cfg, id, items, (size_t)n, CG_SRC_FILE, err, errlen);
done:
    free(items);
    Py_XDECREF(seq);
    return rc;
}

/* A dict for the dict setting id: keys and values by str(). */
static int apply_dict(cg_config_t *cfg, int id, PyObject *val, char *err, size_t errlen)
{
    PyObject *strs = NULL; /* owned: list of the str()s, keeping them alive */
    const char **keys = NULL, **vals = NULL;
    PyObject *k, *v; /* borrowed */
    Py_ssize_t pos = 0, n, i = 0;
    int rc = CG_ERR;
    char buf[256];

    if (!PyDict_Check(val)) {
        snprintf(err, errlen, "Value is not a dictionary: %s ", py_str(val, buf, sizeof buf));
        return CG_ERR;
    }
    n = PyDict_Size(val);
    strs = PyList_New(0);
    keys = calloc((size_t)n + 1, sizeof *keys);
    vals = calloc((size_t)n + 1, sizeof *vals);
    if (!strs || !keys || !vals) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    while (PyDict_Next(val, &pos, &k, &v) && i < n) {
        PyObject *ks = PyObject_Str(k), *vs = PyObject_Str(v); /* owned */
        bool ok = ks && vs && PyList_Append(strs, ks) == 0 && PyList_Append(strs, vs) == 0;
        keys[i] = ok ? PyUnicode_AsUTF8(ks) : NULL;
        vals[i] = ok ? PyUnicode_AsUTF8(vs) : NULL;
        Py_XDECREF(ks);
        Py_XDECREF(vs);
        if (!keys[i] || !vals[i]) {
            take_exception(err, errlen);
            goto done;
        }
        i++;
    }
    rc = cg_config_set_dict(cfg, id, keys, vals, (size_t)i, CG_SRC_FILE, err, errlen);
done:
    free(keys);
    free(vals);
    Py_XDECREF(strs);
    return rc;
}

/* A scalar (None, bool, int, str, class) for setting id. */
static int apply_scalar(cg_config_t *cfg, int id, PyObject *val, char *err, size_t errlen)
{
    cg_type type = cg_setting_type(id);
    char buf[256];
    const char *text = NULL;

    if (val == Py_None)
        return cg_config_set_text(cfg, id, NULL, CG_SRC_FILE, err, errlen);
    if (PyBool_Check(val) && (type != CG_TYPE_STR || id == CG_SET_proxy_protocol)) {
        text = val == Py_True ? (type == CG_TYPE_INT ? "1" : "true")
                              : (type == CG_TYPE_INT ? "0" : "false");
    } else if (PyLong_Check(val) && !PyBool_Check(val) &&
               (type == CG_TYPE_INT || id == CG_SET_ssl_version)) {
        long v = PyLong_AsLong(val);
        if (v == -1 && PyErr_Occurred()) {
            take_exception(err, errlen);
            return CG_ERR;
        }
        snprintf(buf, sizeof buf, "%ld", v);
        text = buf;
    } else if (PyUnicode_Check(val)) {
        if (!(text = PyUnicode_AsUTF8(val))) {
            take_exception(err, errlen);
            return CG_ERR;
        }
    } else if (PyType_Check(val) && (id == CG_SET_worker_class || id == CG_SET_logger_class)) {
        /* validate_class takes a class: keep its import path */
        PyObject *mod = PyObject_GetAttrString(val, "__module__");    /* owned */
        PyObject *qual = PyObject_GetAttrString(val, "__qualname__"); /* owned */
        const char *m = mod && PyUnicode_Check(mod) ? PyUnicode_AsUTF8(mod) : NULL;
        const char *q = qual && PyUnicode_Check(qual) ? PyUnicode_AsUTF8(qual) : NULL;
        PyErr_Clear();
        snprintf(buf, sizeof buf, "%s.%s", m ? m : "__config__", q ? q : "?");
        Py_XDECREF(mod);
        Py_XDECREF(qual);
        text = buf;
    } else {
        switch (type) {
        case CG_TYPE_BOOL:
            snprintf(err, errlen, "Invalid type for casting: %s", py_str(val, buf, sizeof buf));
            break;
        case CG_TYPE_INT:
            snprintf(err, errlen, "int() can't convert non-string with explicit base");
            break;
        default:
            snprintf(err, errlen, "Not a string: %s", py_str(val, buf, sizeof buf));
            break;
        }
        return CG_ERR;
    }
    return cg_config_set_text(cfg, id, text, CG_SRC_FILE, err, errlen);
}

/* Validate and apply one module-level value (borrowed) to setting id. */
static int apply_value(PyObject *helpers, cg_config_t *cfg, int id, PyObject *val, char *err,
                       size_t errlen)
{
    switch (cg_setting_type(id)) {
    case CG_TYPE_HOOK:
        return apply_hook(helpers, cfg, id, val, err, errlen);
    case CG_TYPE_LIST:
        if (val == Py_None)
            return cg_config_set_list(cfg, id, NULL, 0, CG_SRC_FILE, err, errlen);
        return apply_list(cfg, id, val, err, errlen);
    case CG_TYPE_DICT:
        return apply_dict(cfg, id, val, err, errlen);
    default:
        return apply_scalar(cfg, id, val, err, errlen);
    }
}

/* Import path as the module "__config__" (gunicorn's importlib dance).
 * Returns a new reference to the module, or NULL with a Python error set. */
static PyObject *exec_config(const char *path)
{
    PyObject *util = NULL, *machinery = NULL; /* owned */
    PyObject *args = NULL, *kwargs = NULL;    /* owned */
    PyObject *loader = NULL, *spec = NULL;    /* owned */
    PyObject *mod = NULL, *res = NULL;        /* owned */
    PyObject *spec_fn = NULL;                 /* owned */
    const char *ext = strrchr(path, '.');
    bool python_ext = ext && !strchr(ext, '/') && (!strcmp(ext, ".py") || !strcmp(ext, ".pyc"));

    util = PyImport_ImportModule("importlib.util");
    if (!util)
        goto done;
    args = Py_BuildValue("(ss)", "__config__", path);
    if (!args)
        goto done;
    if (!python_ext) {
        py_stderr("!!!\n!!! WARNING: configuration file should have a valid Python "
                  "extension.\n!!!\n\n");
        machinery = PyImport_ImportModule("importlib.machinery");
        loader = machinery
                     ? PyObject_CallMethod(machinery, "SourceFileLoader", "ss", "__config__", path)
                     : NULL;
        kwargs = loader ? Py_BuildValue("{s:O}", "loader", loader) : NULL;
        if (!kwargs)
            goto done;
    }
    spec_fn = PyObject_GetAttrString(util, "spec_from_file_location");
    spec = spec_fn ? PyObject_Call(spec_fn, args, kwargs) : NULL;
    if (!spec)
        goto done;
    if (spec == Py_None) {
        PyErr_Format(PyExc_ImportError, "cannot load %s", path);
        goto done;
    }
    mod = PyObject_CallMethod(util, "module_from_spec", "O", spec);
    if (!mod || PyDict_SetItemString(PyImport_GetModuleDict(), "__config__", mod) < 0)
        goto fail;
    Py_CLEAR(loader);
    loader = PyObject_GetAttrString(spec, "loader");
    res = loader ? PyObject_CallMethod(loader, "exec_module", "O", mod) : NULL;
    if (!res)
        goto fail;
    goto done;
fail:
    Py_CLEAR(mod);
done:
    Py_XDECREF(res);
    Py_XDECREF(spec);
    Py_XDECREF(spec_fn);
    Py_XDECREF(loader);
    Py_XDECREF(kwargs);
    Py_XDECREF(args);
    Py_XDECREF(machinery);
    Py_XDECREF(util);
    return mod;
}

/* A fresh namespace holding hook_helpers' functions, or NULL (error set). */
static PyObject *load_helpers(void)
{
    PyObject *ns = PyDict_New(); /* owned, returned */
    PyObject *res = NULL;        /* owned */
    if (!ns || PyDict_SetItemString(ns, "__builtins__", PyEval_GetBuiltins()) < 0)
        goto fail;
    res = PyRun_String(hook_helpers, Py_file_input, ns, ns);
    if (!res)
        goto fail;
    Py_DECREF(res);
    return ns;
fail:
    Py_XDECREF(ns);
    return NULL;
}

int cg_config_load_python(cg_config_t *cfg, const char *path, char *err, size_t errlen)
{
    PyObject *mod = NULL, *items = NULL, *helpers = NULL; /* owned */
    PyObject *dict;                                       /* borrowed from mod */
    struct stat st;
    char line[1024], buf[512];
    int rc = CG_ERR;

    if (stat(path, &st) != 0) {
        PyObject *p = PyUnicode_FromString(path);  /* owned */
        PyObject *r = p ? PyObject_Repr(p) : NULL; /* owned */
        const char *rs = r ? PyUnicode_AsUTF8(r) : NULL;
        snprintf(err, errlen, "%s doesn't exist", rs ? rs : path);
        Py_XDECREF(r);
        Py_XDECREF(p);
        PyErr_Clear();
        return CG_ERR;
    }
    mod = exec_config(path);
    if (!mod) {
        PyObject *type = NULL, *val = NULL, *tb = NULL; /* owned until restored */
        PyErr_Fetch(&type, &val, &tb);
        snprintf(line, sizeof line, "Failed to read config file: %s\n", path);
        py_stderr(line);
        PyErr_Restore(type, val, tb);
        PyErr_Print(); /* the traceback, as traceback.print_exc() shows it */
        py_stderr("");
        snprintf(err, errlen, "Failed to read config file: %s", path);
        goto done;
    }
    helpers = load_helpers();
    dict = PyModule_GetDict(mod);
    items = helpers && dict ? PyDict_Items(dict) : NULL;
    if (!items) {
        take_exception(err, errlen);
        goto done;
    }
    rc = CG_OK;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items) && rc == CG_OK; i++) {
        PyObject *pair = PyList_GET_ITEM(items, i); /* borrowed */
        PyObject *key = PyTuple_GET_ITEM(pair, 0), *val = PyTuple_GET_ITEM(pair, 1);
        const char *name = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        int id = name && strncmp(name, "__", 2) != 0 ? cg_setting_lookup(name) : -1;
        PyErr_Clear();
        if (id < 0)
            continue; /* gunicorn ignores unknown names */
        rc = apply_value(helpers, cfg, id, val, err, errlen);
        if (rc != CG_OK) {
            snprintf(line, sizeof line, "Invalid value for %s: %s\n\n", name,
                     py_str(val, buf, sizeof buf));
            py_stderr(line);
        }
    }
done:
    Py_XDECREF(items);
    Py_XDECREF(helpers);
    Py_XDECREF(mod);
    return rc;
}
