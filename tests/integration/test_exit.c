/* test_exit.c - exit codes and messages of the real binary, gunicorn's
 * (GUNICORN.md 1.1, 2.1): 2 = usage error, 1 = configuration error,
 * 3 = worker failed to boot, 4 = app failed to load, 0 = -v/-h/checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define OUT_CAP 65536

static char out[OUT_CAP];
static char tmpfile_name[128];
static srv_t *srv;

static int teardown(void **state)
{
    (void)state;
    int rc = h_stop_checked(srv);
    srv = NULL;
    if (tmpfile_name[0])
        unlink(tmpfile_name);
    tmpfile_name[0] = '\0';
    return rc;
}

/* Run with argv (after the program name) in the apps directory; output in
 * out, the exit code returned.  A fixed bind keeps a run that does start
 * from taking :8000. */
static int run(const char *const *argv)
{
    out[0] = '\0';
    int rc = h_run(NULL, argv, out, sizeof(out), 20000);
    if (rc < 0)
        fprintf(stderr, "timed out; output:\n%s\n", out);
    if (h_sanitizer_report(out)) {
        fprintf(stderr, "sanitizer report:\n%s\n", out);
        fail();
    }
    return rc;
}

/* A temporary file with the given text; its path. */
static const char *write_tmp(const char *suffix, const char *text)
{
    snprintf(tmpfile_name, sizeof(tmpfile_name), "/tmp/cg-exit-%d%s", (int)getpid(), suffix);
    FILE *f = fopen(tmpfile_name, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return tmpfile_name;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

#define assert_out(needle)                                                                         \
    do {                                                                                           \
        if (strstr(out, (needle)) == NULL)                                                         \
            fprintf(stderr, "missing '%s' in output:\n%s\n", (needle), out);                       \
        assert_non_null(strstr(out, (needle)));                                                    \
    } while (0)

/* ------------------------------------------------------ usage errors: 2 */

static void test_unknown_flag(void **state)
{
    (void)state;
    const char *argv[] = {"--bogus", "wsgiapps:echo", NULL};
    assert_int_equal(run(argv), 2);
    assert_out("usage: cgunicorn");
    assert_out("cgunicorn: error: unrecognized arguments: --bogus");
}

static void test_bad_int(void **state)
{
    (void)state;
    const char *argv[] = {"-w", "abc", "wsgiapps:echo", NULL};
    assert_int_equal(run(argv), 2);
    assert_out("usage: cgunicorn");
    assert_out("error: argument -w/--workers: invalid int value: 'abc'");
}

/* ------------------------------------------------------ no app, -v, -h */

static void test_no_app(void **state)
{
    (void)state;
    const char *argv[] = {"-b", "127.0.0.1:{port}", NULL};
    assert_int_equal(run(argv), 1);
    assert_out("Error: No application module specified.");
    assert_null(strstr(out, "Traceback"));
}

static void test_version(void **state)
{
    (void)state;
    const char *argv[] = {"-v", NULL};
    assert_int_equal(run(argv), 0);
    assert_out("cgunicorn (version ");
    assert_int_equal(lines(out), 1);
    const char *argv2[] = {"--version", NULL};
    assert_int_equal(run(argv2), 0);
    assert_out("cgunicorn (version ");
}

static void test_help(void **state)
{
    (void)state;
    const char *argv[] = {"-h", NULL};
    assert_int_equal(run(argv), 0);
    assert_out("usage: cgunicorn");
    assert_out("--workers");
    assert_out("--bind");
    assert_out("--limit-request-field_size");
}

/* ------------------------------------------ boot failures: 3 and 4 */

static void test_import_error(void **state)
{
    (void)state;
    const char *argv[] = {"-b", "127.0.0.1:{port}", "broken_import:app", NULL};
    assert_int_equal(run(argv), 3);
    assert_out("[ERROR] Exception in worker process");
    assert_out("Traceback (most recent call last):");
    assert_out("ModuleNotFoundError: No module named 'module_that_does_not_exist'");
    assert_out("exited with code 3");
    assert_out("[ERROR] Shutting down: Master");
    assert_out("[ERROR] Reason: Worker failed to boot.");
}

static void test_no_such_module(void **state)
{
    (void)state;
    const char *argv[] = {"-b", "127.0.0.1:{port}", "nosuchmodule:app", NULL};
    assert_int_equal(run(argv), 3);
    assert_out("ModuleNotFoundError: No module named 'nosuchmodule'");
    assert_out("Reason: Worker failed to boot.");
}

static void test_missing_attribute(void **state)
{
    (void)state;
    const char *argv[] = {"-b", "127.0.0.1:{port}", "wsgiapps:nope", NULL};
    assert_int_equal(run(argv), 4);
    assert_out("Failed to find attribute 'nope' in 'wsgiapps'.");
    assert_out("[ERROR] Reason: App failed to load.");
    assert_null(strstr(out, "Traceback"));
}

static void test_not_callable(void **state)
{
    (void)state;
    const char *argv[] = {"-b", "127.0.0.1:{port}", "wsgiapps:not_callable", NULL};
    assert_int_equal(run(argv), 4);
    assert_out("Application object must be callable.");
    assert_out("Reason: App failed to load.");
}

/* With several workers the master still stops once, with the reason. */
static void test_boot_failure_many_workers(void **state)
{
    (void)state;
    const char *argv[] = {"-w", "3", "-b", "127.0.0.1:{port}", "wsgiapps:nope", NULL};
    assert_int_equal(run(argv), 4);
    assert_int_equal(count(out, "Shutting down: Master"), 1);
    assert_int_equal(count(out, "Reason: App failed to load."), 1);
}

/* GUNICORN_CMD_ARGS is parsed like a command line (gunicorn:
 * parser.parse_args(env)): an unknown flag there is a usage error too (the
 * first word used to be taken for the program name and dropped). */
static void test_cmd_args_env_bad_flag(void **state)
{
    (void)state;
    setenv("GUNICORN_CMD_ARGS", "--bogus", 1);
    const char *argv[] = {"-b", "127.0.0.1:{port}", "wsgiapps:echo", NULL};
    int rc = h_run(NULL, argv, out, sizeof(out), 3000);
    unsetenv("GUNICORN_CMD_ARGS");
    assert_int_equal(rc, 2);
    assert_out("usage: cgunicorn");
    assert_out("error: unrecognized arguments: --bogus");
}

/* ------------------------------------------------ worker classes: 1 */

/* gevent/eventlet need their Debian package: without it, one line naming
 * it, exit 1 (gunicorn: "class uri ... invalid or not found", exit 1).
 * The config file hides the installed package from the interpreter. */
static void missing_package(const char *cls, const char *pkg)
{
    char code[128];
    snprintf(code, sizeof(code), "import sys\nsys.modules['%s'] = None\n", cls);
    const char *conf = write_tmp(".py", code);
    const char *argv[] = {"-c", conf, "-k", cls, "-b", "127.0.0.1:{port}", "wsgiapps:echo", NULL};
    assert_int_equal(run(argv), 1);
    assert_out(pkg);
    assert_int_equal(lines(out), 1);
}

static void test_worker_class_gevent(void **state)
{
    (void)state;
    missing_package("gevent", "apt-get install python3-gevent");
    missing_package("eventlet", "apt-get install python3-eventlet");
}

static void test_worker_class_python_path(void **state)
{
    (void)state;
    const char *argv[] = {
        "-k", "uvicorn.workers.UvicornWorker", "-b", "127.0.0.1:{port}", "wsgiapps:echo", NULL};
    assert_int_equal(run(argv), 1);
    assert_out("'uvicorn.workers.UvicornWorker'");
    assert_int_equal(lines(out), 1);
}

/* threads > 1 with sync is gthread (gunicorn's rule). */
static void test_threads_means_gthread(void **state)
{
    (void)state;
    /* gunicorn's rule: --threads > 1 with the default class is gthread */
    const char *argv[] = {"--threads", "4", "-b", "127.0.0.1:{port}", "wsgiapps:echo", NULL};
    srv = h_start_ready(NULL, argv, 20000);
    assert_non_null(srv);
    assert_true(h_wait_log(srv, "[INFO] Using worker: gthread", 1, 5000));
    assert_int_equal(h_get(srv->port, "/", NULL, 0), 200);
}

/* The names gunicorn accepts for its gevent and eventlet workers serve
 * with the green worker, and the log names the class as it was given. */
static void test_green_class_names(void **state)
{
    (void)state;
    static const char *names[] = {"gevent_wsgi", "gevent_pywsgi", "egg:gunicorn#gevent",
                                  "gunicorn.workers.ggevent.GeventWorker",
                                  "gunicorn.workers.geventlet.EventletWorker"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *argv[] = {"-k", names[i], "-b", "127.0.0.1:{port}", "wsgiapps:echo", NULL};
        char want[128], body[256];
        srv = h_start_ready(NULL, argv, 20000);
        assert_non_null(srv);
        snprintf(want, sizeof(want), "[INFO] Using worker: %s\n",
                 strncmp(names[i], "egg:gunicorn#", 13) == 0 ? names[i] + 13 : names[i]);
        assert_true(h_wait_log(srv, want, 1, 5000));
        assert_int_equal(h_get(srv->port, "/", body, sizeof(body)), 200);
        char *log = h_log(srv);
        assert_false(h_sanitizer_report(log));
        free(log);
        h_stop(srv);
        srv = NULL;
    }
}

/* The tutorial's config file (worker_class = 'gevent', threads = 2) loads
 * and its app checks out (test_green.c serves with it). */
static void test_tutorial_config(void **state)
{
    (void)state;
    char path[512];
    h_path(path, sizeof(path), "examples/tutorial.conf.py");
    const char *argv[] = {"-c",
                          path,
                          "--check-config",
                          "--access-logfile",
                          "-",
                          "--error-logfile",
                          "-",
                          "wsgiapps:echo",
                          NULL};
    assert_int_equal(run(argv), 0);
    assert_null(strstr(out, "Traceback"));
    assert_null(strstr(out, "Invalid value"));
}

/* ------------------------------------------------ config files */

static void test_python_config_syntax_error(void **state)
{
    (void)state;
    const char *conf = write_tmp(".py", "workers = 2\nbind = (\n");
    const char *argv[] = {"-c", conf, "wsgiapps:echo", NULL};
    assert_int_equal(run(argv), 1);
    assert_out("Failed to read config file");
    assert_out(conf);
    assert_out("SyntaxError");
}

/* gunicorn: "Invalid value for workers: abc", then "\nError: ..." */
static void test_python_config_bad_value(void **state)
{
    (void)state;
    const char *conf = write_tmp(".py", "workers = 'abc'\n");
    const char *argv[] = {"-c", conf, "wsgiapps:echo", NULL};
    assert_int_equal(run(argv), 1);
    assert_out("Invalid value for workers: abc");
    assert_out("\nError: ");
}

/* An exception raised by the config file's code. */
static void test_python_config_raises(void **state)
{
    (void)state;
    const char *conf = write_tmp(".py", "workers = 2\nraise RuntimeError('from config')\n");
    const char *argv[] = {"-c", conf, "wsgiapps:echo", NULL};
    assert_int_equal(run(argv), 1);
    assert_out("Failed to read config file");
    assert_out("RuntimeError: from config");
}

static void test_yaml_unknown_key(void **state)
{
    (void)state;
    const char *conf = write_tmp(".yaml", "workers: 2\nbogus_key: 1\n");
    const char *argv[] = {"-c", conf, "wsgiapps:echo", NULL};
    assert_int_equal(run(argv), 2);
    char where[160];
    snprintf(where, sizeof(where), "%s:2", conf);
    assert_out(where);
    assert_out("bogus_key");
}

static void test_yaml_bad_value(void **state)
{
    (void)state;
    const char *conf = write_tmp(".yaml", "bind: 127.0.0.1:1\nworkers: abc\n");
    const char *argv[] = {"-c", conf, "wsgiapps:echo", NULL};
    assert_int_equal(run(argv), 2);
    char where[160];
    snprintf(where, sizeof(where), "%s:2", conf);
    assert_out(where);
    assert_out("workers");
}

static void test_config_missing(void **state)
{
    (void)state;
    const char *argv[] = {"-c", "/nonexistent.py", "wsgiapps:echo", NULL};
    assert_int_equal(run(argv), 1);
    assert_out("Error: '/nonexistent.py' doesn't exist");
    const char *argv2[] = {"-c", "/nonexistent.yaml", "wsgiapps:echo", NULL};
    assert_int_equal(run(argv2), 1);
    assert_out("doesn't exist");
}

/* ------------------------------------------------ --check-config, --print-config */

static void test_check_config_ok(void **state)
{
    (void)state;
    const char *argv[] = {"--check-config", "-b", "127.0.0.1:{port}", "wsgiapps:echo", NULL};
    assert_int_equal(run(argv), 0);
    assert_null(strstr(out, "Booting worker"));
    assert_null(strstr(out, "Listening at"));
}

static void test_check_config_broken(void **state)
{
    (void)state;
    const char *argv[] = {"--check-config", "-b", "127.0.0.1:{port}", "broken_import:app", NULL};
    assert_int_equal(run(argv), 1);
    assert_out("ModuleNotFoundError");
    assert_null(strstr(out, "Listening at"));
    const char *argv2[] = {"--check-config", "-b", "127.0.0.1:{port}", "wsgiapps:nope", NULL};
    assert_int_equal(run(argv2), 1);
    assert_out("Failed to find attribute 'nope' in 'wsgiapps'.");
}

/* gunicorn's Config.__str__: "name = value", names padded to the longest,
 * sorted; the values resolved from every source. */
static void test_print_config(void **state)
{
    (void)state;
    const char *argv[] = {"--print-config", "-w", "3", "-b", "127.0.0.1:9", "wsgiapps:echo", NULL};
    assert_int_equal(run(argv), 0);
    const char *w = strstr(out, "\nworkers ");
    const char *b = strstr(out, "\nbind ");
    assert_non_null(w);
    assert_non_null(b);
    assert_true(b < w); /* sorted */
    char name[64], value[128];
    assert_int_equal(sscanf(w + 1, "%63s = %127[^\n]", name, value), 2);
    assert_string_equal(name, "workers");
    assert_string_equal(value, "3");
    assert_int_equal(sscanf(b + 1, "%63s = %127[^\n]", name, value), 2);
    assert_string_equal(value, "['127.0.0.1:9']");
    /* every line has its " = " in the same column */
    int col = -1, n = 0;
    for (const char *l = out; *l; n++) {
        const char *eq = strstr(l, " = ");
        const char *nl = strchr(l, '\n');
        if (nl == NULL)
            nl = l + strlen(l);
        if (eq == NULL || eq > nl) {
            fprintf(stderr, "line without ' = ': %.*s\n", (int)(nl - l), l);
            fail();
        }
        if (col < 0)
            col = (int)(eq - l);
        assert_int_equal((int)(eq - l), col);
        l = *nl ? nl + 1 : nl;
    }
    assert_true(n > 50);
    assert_null(strstr(out, "Listening at"));
}

/* ------------------------------------------------ not built yet */

/* A setting that is not built yet is accepted: one WARNING naming it, and
 * the server serves. */
static void test_unbuilt_setting_warns(void **state)
{
    (void)state;
    const char *argv[] = {"--spew", "-b", "127.0.0.1:{port}", "wsgiapps:echo", NULL};
    srv = h_start_ready(NULL, argv, 20000);
    assert_non_null(srv);
    assert_int_equal(h_log_count(srv, "[WARNING]"), 1);
    assert_int_equal(h_log_count(srv, "'spew'"), 1);
    assert_int_equal(h_get(srv->port, "/", NULL, 0), 200);
    h_signal(srv, SIGTERM);
    assert_int_equal(h_wait_exit(srv, 10000), 0);
}

/* ------------------------------------------------ bind failure */

/* gunicorn retries a busy address 5 times, 1 s apart, then exits 1. */
static void test_bind_in_use(void **state)
{
    (void)state;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    int port = ntohs(sa.sin_port);
    char bindarg[64], want[96];
    snprintf(bindarg, sizeof(bindarg), "127.0.0.1:%d", port);
    const char *argv[] = {"-b", bindarg, "wsgiapps:echo", NULL};
    int rc = run(argv);
    close(fd);
    assert_int_equal(rc, 1);
    snprintf(want, sizeof(want), "[ERROR] Connection in use: ('127.0.0.1', %d)", port);
    assert_int_equal(count(out, want), 5);
    assert_out("Retrying in 1 second.");
    snprintf(want, sizeof(want), "Can't connect to ('127.0.0.1', %d)", port);
    assert_out(want);
    assert_null(strstr(out, "Booting worker"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_unknown_flag, teardown),
        cmocka_unit_test_teardown(test_bad_int, teardown),
        cmocka_unit_test_teardown(test_no_app, teardown),
        cmocka_unit_test_teardown(test_version, teardown),
        cmocka_unit_test_teardown(test_help, teardown),
        cmocka_unit_test_teardown(test_cmd_args_env_bad_flag, teardown),
        cmocka_unit_test_teardown(test_import_error, teardown),
        cmocka_unit_test_teardown(test_no_such_module, teardown),
        cmocka_unit_test_teardown(test_missing_attribute, teardown),
        cmocka_unit_test_teardown(test_not_callable, teardown),
        cmocka_unit_test_teardown(test_boot_failure_many_workers, teardown),
        cmocka_unit_test_teardown(test_worker_class_gevent, teardown),
        cmocka_unit_test_teardown(test_worker_class_python_path, teardown),
        cmocka_unit_test_teardown(test_threads_means_gthread, teardown),
        cmocka_unit_test_teardown(test_green_class_names, teardown),
        cmocka_unit_test_teardown(test_tutorial_config, teardown),
        cmocka_unit_test_teardown(test_python_config_syntax_error, teardown),
        cmocka_unit_test_teardown(test_python_config_bad_value, teardown),
        cmocka_unit_test_teardown(test_python_config_raises, teardown),
        cmocka_unit_test_teardown(test_yaml_unknown_key, teardown),
        cmocka_unit_test_teardown(test_yaml_bad_value, teardown),
        cmocka_unit_test_teardown(test_config_missing, teardown),
        cmocka_unit_test_teardown(test_check_config_ok, teardown),
        cmocka_unit_test_teardown(test_check_config_broken, teardown),
        cmocka_unit_test_teardown(test_print_config, teardown),
        cmocka_unit_test_teardown(test_unbuilt_setting_warns, teardown),
        cmocka_unit_test_teardown(test_bind_in_use, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
