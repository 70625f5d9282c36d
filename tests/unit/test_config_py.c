/* test_config_py.c - Python config files (src/config_py.c), read the way
 * gunicorn reads them: the tutorial's gunicorn.conf.py, hooks and their
 * arity, value types, and the errors gunicorn reports. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgunicorn/cgunicorn.h"
#include "cgunicorn/config.h"

static char dir[] = "/tmp/cg-py-XXXXXX";
static char path[256];

static int setup(void **state)
{
    (void)state;
    unsetenv("PORT");
    unsetenv("WEB_CONCURRENCY");
    if (!mkdtemp(dir))
        return -1;
    Py_Initialize();
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    Py_Finalize();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* Write text to dir/name; returns the path (static). */
static const char *write_file(const char *name, const char *text)
{
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* The value of id as Python's str() shows it (static buffer). */
static const char *shown(const cg_config_t *cfg, int id)
{
    static char buf[512];
    char *t = cg_config_value_text(cfg, id);
    snprintf(buf, sizeof buf, "%s", t ? t : "?");
    free(t);
    return buf;
}

/* Load file with stderr captured into captured[] (both C and Python
 * write to file descriptor 2). */
static char captured[8192];

static int load_capturing(cg_config_t *cfg, const char *file, char *err, size_t errlen)
{
    char tmp[300];
    int saved = dup(2), fd, rc;
    ssize_t n;
    snprintf(tmp, sizeof tmp, "%s/stderr.txt", dir);
    fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    rc = cg_config_load_python(cfg, file, err, errlen);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, captured, sizeof captured - 1, 0);
    captured[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(tmp);
    return rc;
}

/* A file that sets one value fails with exactly msg, and gunicorn's
 * "Invalid value for NAME: VALUE" goes to stderr (starting with
 * stderr_start). */
static void check_refused(const char *source, const char *msg, const char *stderr_start)
{
    cg_config_t *cfg = cg_config_new();
    char err[512];
    write_file("bad.py", source);
    assert_int_equal(load_capturing(cfg, path, err, sizeof err), CG_ERR);
    assert_string_equal(err, msg);
    if (strncmp(captured, stderr_start, strlen(stderr_start)) != 0)
        fail_msg("stderr: [%s], expected [%s...]", captured, stderr_start);
    assert_string_equal(captured + strlen(captured) - 2, "\n\n");
    cg_config_free(cfg);
}

static void test_py_tutorial_config(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[512];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    (void)state;
    /* SEED.md section 8, verbatim settings */
    write_file("gunicorn.conf.py",
               "import logging\n"
               "import logging.handlers\n"
               "from logging.handlers import WatchedFileHandler\n"
               "import os\n"
               "import multiprocessing\n"
               "bind = '127.0.0.1:5000'\n"
               "backlog = 512\n"
               "timeout = 30\n"
               "worker_class = 'gevent'\n"
               "workers = multiprocessing.cpu_count() * 2 + 1\n"
               "threads = 2\n"
               "loglevel = 'info'\n"
               "access_log_format = '%(t)s %(p)s %(h)s \"%(r)s\" %(s)s %(L)s %(b)s %(f)s\" "
               "\"%(a)s\"'\n"
               "accesslog = \"/log/access.log\"\n"
               "errorlog = \"/log/error.log\"\n");
    assert_int_equal(cg_config_load_python(cfg, path, err, sizeof err), CG_OK);
    assert_string_equal(shown(cfg, CG_SET_bind), "['127.0.0.1:5000']");
    assert_int_equal(cg_config_int(cfg, CG_SET_backlog), 512);
    assert_int_equal(cg_config_int(cfg, CG_SET_timeout), 30);
    assert_string_equal(cg_config_str(cfg, CG_SET_worker_class), "gevent");
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 2 * ncpu + 1);
    assert_int_equal(cg_config_int(cfg, CG_SET_threads), 2);
    assert_string_equal(cg_config_str(cfg, CG_SET_loglevel), "info");
    assert_string_equal(cg_config_str(cfg, CG_SET_access_log_format),
                        "%(t)s %(p)s %(h)s \"%(r)s\" %(s)s %(L)s %(b)s %(f)s\" \"%(a)s\"");
    assert_string_equal(cg_config_str(cfg, CG_SET_accesslog), "/log/access.log");
    assert_string_equal(cg_config_str(cfg, CG_SET_errorlog), "/log/error.log");
    assert_int_equal(cg_config_source(cfg, CG_SET_workers), CG_SRC_FILE);
    assert_int_equal(cg_config_source(cfg, CG_SET_graceful_timeout), CG_SRC_DEFAULT);
    cg_config_free(cfg);
}

static void test_py_module_like_gunicorn(void **state)
{
    cg_config_t *cfg = cg_config_new();
    PyObject *mod, *file; /* borrowed */
    char err[512];
    (void)state;
    write_file("mod.py", "import sys\n"
                         "proc_name = __name__ + ':' + str(__file__.endswith('mod.py'))\n"
                         "default_proc_name = str(sys.modules['__config__'].__name__)\n");
    assert_int_equal(cg_config_load_python(cfg, path, err, sizeof err), CG_OK);
    assert_string_equal(cg_config_str(cfg, CG_SET_proc_name), "__config__:True");
    assert_string_equal(cg_config_str(cfg, CG_SET_default_proc_name), "__config__");
    mod = PyDict_GetItemString(PyImport_GetModuleDict(), "__config__");
    assert_non_null(mod);
    file = PyObject_GetAttrString(mod, "__file__");
    assert_non_null(file);
    assert_string_equal(PyUnicode_AsUTF8(file), path);
    Py_DECREF(file);
    cg_config_free(cfg);
}

static void test_py_ignores_other_names(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[512];
    (void)state;
    write_file("names.py", "import os, multiprocessing\n"
                           "not_a_setting = object()\n"
                           "Workers = 'ignored: names are case-sensitive'\n"
                           "_private = 3\n"
                           "def helper(a, b, c): pass\n"
                           "workers = 2\n");
    assert_int_equal(cg_config_load_python(cfg, path, err, sizeof err), CG_OK);
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 2);
    for (int id = 0; id < CG_SET__COUNT; id++)
        if (id != CG_SET_workers)
            assert_int_equal(cg_config_source(cfg, id), CG_SRC_DEFAULT);
    cg_config_free(cfg);
}

static void test_py_value_types(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[512];
    (void)state;
    write_file("types.py", "daemon = True\n"                /* bool */
                           "reuse_port = None\n"            /* bool None */
                           "workers = True\n"               /* bool is an int: 1 */
                           "umask = '0o22'\n"               /* int(x, 0) */
                           "keepalive = 5\n"                /* int */
                           "accesslog = None\n"             /* None */
                           "bind = 'unix:/tmp/a.sock'\n"    /* str for a list */
                           "raw_env = ('A=1', ' B=2 ')\n"   /* tuple */
                           "reload_extra_files = []\n"      /* empty */
                           "forwarded_allow_ips = '*'\n"    /* comma list */
                           "proxy_allow_ips = ['a', 'b']\n" /* 26 takes lists too */
                           "secure_scheme_headers = {'X-SCHEME': 'https', 'N': 1}\n"
                           "proxy_protocol = True\n"
                           "ssl_version = 2\n"
                           "class MyWorker: pass\n"
                           "worker_class = MyWorker\n");
    assert_int_equal(cg_config_load_python(cfg, path, err, sizeof err), CG_OK);
    assert_true(cg_config_bool(cfg, CG_SET_daemon));
    assert_true(cg_config_is_none(cfg, CG_SET_reuse_port));
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 1);
    assert_int_equal(cg_config_int(cfg, CG_SET_umask), 18);
    assert_int_equal(cg_config_int(cfg, CG_SET_keepalive), 5);
    assert_null(cg_config_str(cfg, CG_SET_accesslog));
    assert_string_equal(shown(cfg, CG_SET_bind), "['unix:/tmp/a.sock']");
    assert_string_equal(shown(cfg, CG_SET_raw_env), "['A=1', 'B=2']");
    assert_string_equal(shown(cfg, CG_SET_reload_extra_files), "[]");
    assert_int_equal(cg_config_source(cfg, CG_SET_reload_extra_files), CG_SRC_FILE);
    assert_string_equal(shown(cfg, CG_SET_forwarded_allow_ips), "['*']");
    assert_string_equal(shown(cfg, CG_SET_proxy_allow_ips), "['a', 'b']");
    assert_string_equal(shown(cfg, CG_SET_secure_scheme_headers),
                        "{'X-SCHEME': 'https', 'N': '1'}");
    assert_string_equal(cg_config_str(cfg, CG_SET_proxy_protocol), "auto");
    assert_string_equal(cg_config_str(cfg, CG_SET_ssl_version), "2");
    assert_string_equal(cg_config_str(cfg, CG_SET_worker_class), "__config__.MyWorker");
    cg_config_free(cfg);
}

static void test_py_bad_values(void **state)
{
    (void)state;
    check_refused("workers = 'x'\n", "invalid literal for int() with base 0: 'x'",
                  "Invalid value for workers: x\n\n");
    check_refused("workers = -3\n", "Value must be positive: -3",
                  "Invalid value for workers: -3\n\n");
    check_refused("workers = 2.5\n", "int() can't convert non-string with explicit base",
                  "Invalid value for workers: 2.5\n\n");
    check_refused("workers = None\n", "int() can't convert non-string with explicit base",
                  "Invalid value for workers: None\n\n");
    check_refused("daemon = 1\n", "Invalid type for casting: 1", "Invalid value for daemon: 1\n\n");
    check_refused("daemon = 'yes'\n", "Invalid boolean: yes", "Invalid value for daemon: yes\n\n");
    check_refused("loglevel = 10\n", "Not a string: 10", "Invalid value for loglevel: 10\n\n");
    check_refused("bind = 5\n", "'int' object is not iterable", "Invalid value for bind: 5\n\n");
    check_refused("raw_env = ['A=1', 2]\n", "Not a string: 2",
                  "Invalid value for raw_env: ['A=1', 2]\n\n");
    check_refused("secure_scheme_headers = 'x'\n", "Value is not a dictionary: x ",
                  "Invalid value for secure_scheme_headers: x\n\n");
    check_refused("chdir = '/no/such/dir'\n", "can't chdir to '/no/such/dir'",
                  "Invalid value for chdir: /no/such/dir\n\n");
}

static void test_py_hooks(void **state)
{
    cg_config_t *cfg = cg_config_new();
    PyObject *hook, *res; /* borrowed from the config; owned */
    Py_ssize_t refs;
    char err[512], *dbg;
    (void)state;
    write_file("hooks.py", "calls = []\n"
                           "def on_starting(server):\n"
                           "    calls.append(server)\n"
                           "    return 'started'\n"
                           "def post_request(worker, req):\n"
                           "    pass\n"
                           "def nworkers_changed(server, new_value, old_value): pass\n"
                           "pre_fork = lambda server, worker: None\n"
                           "when_ready = 'os.path.basename'\n"); /* import strings work */
    assert_int_equal(cg_config_load_python(cfg, path, err, sizeof err), CG_OK);
    hook = cg_config_hook(cfg, CG_SET_on_starting);
    assert_non_null(hook);
    res = PyObject_CallFunction(hook, "s", "arbiter");
    assert_non_null(res);
    assert_string_equal(PyUnicode_AsUTF8(res), "started");
    Py_DECREF(res);
    assert_string_equal(shown(cfg, CG_SET_on_starting), "<on_starting()>");
    /* gunicorn wraps a 2- or 3-argument post_request into a 4-argument one */
    assert_string_equal(shown(cfg, CG_SET_post_request),
                        "<validate_post_request.<locals>.<lambda>()>");
    res = PyObject_CallFunction(cg_config_hook(cfg, CG_SET_post_request), "ssss", "w", "r", "e",
                                "resp");
    assert_non_null(res);
    Py_DECREF(res);
    assert_string_equal(shown(cfg, CG_SET_nworkers_changed), "<nworkers_changed()>");
    assert_string_equal(shown(cfg, CG_SET_pre_fork), "<<lambda>()>");
    assert_string_equal(shown(cfg, CG_SET_when_ready), "<basename()>");
    assert_string_equal(shown(cfg, CG_SET_on_exit), "<OnExit.on_exit()>");
    assert_null(cg_config_hook(cfg, CG_SET_on_exit));
    dbg = cg_config_debug_text(cfg);
    assert_non_null(strstr(dbg, "  on_starting: <function on_starting at 0x"));
    free(dbg);
    /* the configuration holds a reference, dropped when it is freed */
    refs = Py_REFCNT(hook);
    Py_INCREF(hook);
    cg_config_free(cfg);
    assert_int_equal(Py_REFCNT(hook), refs);
    Py_DECREF(hook);
}

static void test_py_bad_hooks(void **state)
{
    (void)state;
    check_refused("def on_starting(a, b): pass\n", "Value must have an arity of: 1",
                  "Invalid value for on_starting: <function on_starting at 0x");
    check_refused("def post_request(w): pass\n", "Value must have an arity of: 4",
                  "Invalid value for post_request: <function post_request at 0x");
    check_refused("def pre_fork(*args): pass\n", "Value must have an arity of: 2",
                  "Invalid value for pre_fork: <function pre_fork at 0x");
    check_refused("on_exit = 5\n", "Value is not callable: 5", "Invalid value for on_exit: 5\n\n");
    check_refused("on_exit = 'nosuchmodule_xyz.hook'\n", "No module named 'nosuchmodule_xyz'",
                  "Invalid value for on_exit: nosuchmodule_xyz.hook\n\n");
    check_refused("on_exit = 'os.no_such_function'\n", "Can not load 'no_such_function' from 'os'",
                  "Invalid value for on_exit: os.no_such_function\n\n");
    check_refused("on_exit = 'hook'\n",
                  "Value 'hook' is not import string. Format: module[.submodules...].object",
                  "Invalid value for on_exit: hook\n\n");
}

static void test_py_broken_files(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[512], want[400];
    (void)state;
    write_file("syntax.py", "workers = (\n");
    assert_int_equal(load_capturing(cfg, path, err, sizeof err), CG_ERR);
    snprintf(want, sizeof want, "Failed to read config file: %s", path);
    assert_string_equal(err, want);
    assert_int_equal(strncmp(captured, want, strlen(want)), 0);
    assert_non_null(strstr(captured, "Traceback (most recent call last):\n"));
    assert_non_null(strstr(captured, "syntax.py\", line 1\n"));
    assert_non_null(strstr(captured, "SyntaxError: '(' was never closed\n"));

    write_file("raises.py", "workers = 2\nimport nosuchmodule_xyz\n");
    assert_int_equal(load_capturing(cfg, path, err, sizeof err), CG_ERR);
    assert_non_null(strstr(captured, "raises.py\", line 2, in <module>\n"));
    assert_non_null(strstr(captured, "ModuleNotFoundError: No module named 'nosuchmodule_xyz'"));
    /* nothing was applied from a file that did not finish */
    assert_int_equal(cg_config_source(cfg, CG_SET_workers), CG_SRC_DEFAULT);

    snprintf(want, sizeof want, "'%s/missing.py' doesn't exist", dir);
    snprintf(path, sizeof path, "%s/missing.py", dir);
    assert_int_equal(load_capturing(cfg, path, err, sizeof err), CG_ERR);
    assert_string_equal(err, want);
    assert_string_equal(captured, "");
    assert_false(PyErr_Occurred());
    cg_config_free(cfg);
}

static void test_py_other_extension(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[512];
    (void)state;
    write_file("gunicorn.conf", "workers = 7\n");
    assert_int_equal(load_capturing(cfg, path, err, sizeof err), CG_OK);
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 7);
    assert_string_equal(captured, "!!!\n!!! WARNING: configuration file should have a valid "
                                  "Python extension.\n!!!\n\n");
    cg_config_free(cfg);
}

static void test_py_precedence(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[512];
    (void)state;
    assert_int_equal(cg_config_set_text(cfg, CG_SET_workers, "9", CG_SRC_CLI, err, sizeof err),
                     CG_OK);
    write_file("prec.py", "workers = 2\ntimeout = 5\n");
    assert_int_equal(cg_config_load_python(cfg, path, err, sizeof err), CG_OK);
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 9);
    assert_int_equal(cg_config_int(cfg, CG_SET_timeout), 5);
    cg_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_py_tutorial_config),
        cmocka_unit_test(test_py_module_like_gunicorn),
        cmocka_unit_test(test_py_ignores_other_names),
        cmocka_unit_test(test_py_value_types),
        cmocka_unit_test(test_py_bad_values),
        cmocka_unit_test(test_py_hooks),
        cmocka_unit_test(test_py_bad_hooks),
        cmocka_unit_test(test_py_broken_files),
        cmocka_unit_test(test_py_other_extension),
        cmocka_unit_test(test_py_precedence),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
