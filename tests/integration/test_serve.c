/* test_serve.c - the tutorial's commands against the real binary: the Flask
 * app, -w/-b, config files (Python, YAML), start-up lines, process titles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

static char examples[512];

/* The tutorial's app: GET /hello and GET /. */
static void assert_tutorial_app(int port)
{
    char body[4096];
    assert_int_equal(h_get(port, "/hello", body, sizeof(body)), 200);
    assert_string_equal(body, "Hello World!");
    assert_int_equal(h_get(port, "/", body, sizeof(body)), 200);
    assert_string_equal(body, "nihao!");
    assert_int_equal(h_get(port, "/missing", body, sizeof(body)), 404);
}

/* cgunicorn -w 3 -b 127.0.0.1:PORT app:app */
static void test_serve_flask_cli(void **state)
{
    (void)state;
    const char *argv[] = {"-w", "3", "-b", "127.0.0.1:{port}", "app:app", NULL};
    srv_t *s = h_start_ready(examples, argv, 20000);
    assert_non_null(s);
    assert_true(h_wait_log(s, "Booting worker with pid", 3, 20000));
    assert_tutorial_app(s->port);
    pid_t kids[16];
    assert_int_equal(h_children(s->pid, kids, 16), 3);
    char *log = h_log(s);
    assert_non_null(strstr(log, "[INFO] Starting cgunicorn "));
    char want[128];
    snprintf(want, sizeof(want), "[INFO] Listening at: http://127.0.0.1:%d (%d)", s->port,
             (int)s->pid);
    assert_non_null(strstr(log, want));
    /* tests/run.sh re-runs this suite with -k gevent / -k eventlet */
    char using[96];
    snprintf(using, sizeof(using), "[INFO] Using worker: %s",
             h_worker_class()[0] ? h_worker_class() : "sync");
    assert_non_null(strstr(log, using));
    free(log);
    h_signal(s, SIGTERM);
    assert_int_equal(h_wait_exit(s, 10000), 0);
    assert_true(h_wait_log(s, "Shutting down: Master", 1, 1000));
    h_stop(s);
}

/* Error-log line format: [YYYY-mm-dd HH:MM:SS +zzzz] [pid] [LEVEL] msg */
static void test_serve_log_format(void **state)
{
    (void)state;
    const char *argv[] = {"-b", "127.0.0.1:{port}", "app:app", NULL};
    srv_t *s = h_start_ready(examples, argv, 20000);
    assert_non_null(s);
    char *log = h_log(s);
    char *line = strstr(log, "Starting cgunicorn");
    assert_non_null(line);
    while (line > log && line[-1] != '\n')
        line--;
    int y, mo, d, hh, mm, ss, pid;
    char sign;
    int zone;
    assert_int_equal(sscanf(line, "[%4d-%2d-%2d %2d:%2d:%2d %c%4d] [%d] [INFO]", &y, &mo, &d, &hh,
                            &mm, &ss, &sign, &zone, &pid),
                     9);
    assert_int_equal(pid, s->pid);
    free(log);
    h_stop(s);
}

/* cgunicorn -c gunicorn/config.py app:app (bind and workers from the file,
 * the port overridden on the command line, which wins). */
static void test_serve_python_config(void **state)
{
    (void)state;
    const char *argv[] = {"-c", "gunicorn/config.py", "-b", "127.0.0.1:{port}", "app:app", NULL};
    srv_t *s = h_start_ready(examples, argv, 20000);
    assert_non_null(s);
    assert_true(h_wait_log(s, "Booting worker with pid", 2, 20000));
    pid_t kids[16];
    assert_int_equal(h_children(s->pid, kids, 16), 2);
    assert_tutorial_app(s->port);
    h_stop(s);
}

/* A YAML config file gives the same settings. */
static void test_serve_yaml_config(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "/tmp/cg-yaml-%d.yaml", (int)getpid());
    FILE *f = fopen(path, "w");
    int port = h_free_port();
    fprintf(f, "bind:\n  - 127.0.0.1:%d\nworkers: 2\nproc_name: yamlapp\n", port);
    fclose(f);
    const char *argv[] = {"-c", path, "app:app", NULL};
    srv_t *s = h_start(examples, argv);
    s->port = port;
    assert_true(h_wait_log(s, "Booting worker with pid", 2, 20000));
    usleep(200000);
    assert_tutorial_app(port);
    /* proc_name names the processes */
    char cmd[256], buf[256] = "";
    snprintf(cmd, sizeof(cmd), "/proc/%d/cmdline", (int)s->pid);
    FILE *c = fopen(cmd, "r");
    assert_non_null(c);
    size_t n = fread(buf, 1, sizeof(buf) - 1, c);
    buf[n] = '\0';
    fclose(c);
    assert_string_equal(buf, "cgunicorn: master [yamlapp]");
    h_stop(s);
    unlink(path);
}

/* ps shows "cgunicorn: master [app:app]" and "cgunicorn: worker [app:app]". */
static void test_serve_process_titles(void **state)
{
    (void)state;
    const char *argv[] = {"-b", "127.0.0.1:{port}", "app:app", NULL};
    srv_t *s = h_start_ready(examples, argv, 20000);
    assert_non_null(s);
    char path[128], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)s->pid);
    FILE *f = fopen(path, "r");
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_string_equal(buf, "cgunicorn: master [app:app]");
    pid_t kids[4];
    assert_int_equal(h_children(s->pid, kids, 4), 1);
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)kids[0]);
    f = fopen(path, "r");
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_string_equal(buf, "cgunicorn: worker [app:app]");
    h_stop(s);
}

/* Several -b: TCP and a unix socket, both served. */
static void test_serve_multiple_binds(void **state)
{
    (void)state;
    char sock[128], bindarg[160];
    snprintf(sock, sizeof(sock), "/tmp/cg-test-%d.sock", (int)getpid());
    snprintf(bindarg, sizeof(bindarg), "unix:%s", sock);
    const char *argv[] = {"-b", "127.0.0.1:{port}", "-b", bindarg, "app:app", NULL};
    srv_t *s = h_start_ready(examples, argv, 20000);
    assert_non_null(s);
    assert_tutorial_app(s->port);
    char want[256];
    snprintf(want, sizeof(want), "Listening at: http://127.0.0.1:%d,unix:%s", s->port, sock);
    assert_true(h_wait_log(s, want, 1, 1000));

    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    memcpy(un.sun_path, sock, strlen(sock) + 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&un, sizeof(un)), 0);
    const char *req = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    char resp[4096];
    size_t len = 0;
    ssize_t r;
    while ((r = recv(fd, resp + len, sizeof(resp) - 1 - len, 0)) > 0)
        len += (size_t)r;
    resp[len] = '\0';
    close(fd);
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK"));
    assert_non_null(strstr(resp, "Hello World!"));
    h_signal(s, SIGTERM);
    assert_int_equal(h_wait_exit(s, 10000), 0);
    assert_int_equal(access(sock, F_OK), -1); /* unlinked on exit */
    h_stop(s);
}

/* IPv6 loopback bind. */
static void test_serve_ipv6(void **state)
{
    (void)state;
    int port = h_free_port();
    char bindarg[64];
    snprintf(bindarg, sizeof(bindarg), "[::1]:%d", port);
    const char *argv[] = {"-b", bindarg, "app:app", NULL};
    srv_t *s = h_start(examples, argv);
    char want[128];
    snprintf(want, sizeof(want), "Listening at: http://[::1]:%d", port);
    assert_true(h_wait_log(s, want, 1, 20000));
    h_stop(s);
}

/* PORT and WEB_CONCURRENCY are defaults (the command line still wins). */
static void test_serve_env_defaults(void **state)
{
    (void)state;
    char port[16];
    int p = h_free_port();
    snprintf(port, sizeof(port), "%d", p);
    setenv("PORT", port, 1);
    setenv("WEB_CONCURRENCY", "2", 1);
    const char *argv[] = {"app:app", NULL};
    srv_t *s = h_start(examples, argv);
    unsetenv("PORT");
    unsetenv("WEB_CONCURRENCY");
    char want[128];
    snprintf(want, sizeof(want), "Listening at: http://0.0.0.0:%d", p);
    assert_true(h_wait_log(s, want, 1, 20000));
    assert_true(h_wait_log(s, "Booting worker with pid", 2, 20000));
    h_stop(s);
}

/* GUNICORN_CMD_ARGS sits between the config file and the command line. */
static void test_serve_cmd_args_env(void **state)
{
    (void)state;
    /* the file says workers = 2: the environment (3) wins over it */
    setenv("GUNICORN_CMD_ARGS", "--workers 3 --name fromenv", 1);
    const char *argv[] = {"-c", "gunicorn/config.py", "-b", "127.0.0.1:{port}", "app:app", NULL};
    srv_t *s = h_start(examples, argv);
    unsetenv("GUNICORN_CMD_ARGS");
    assert_true(h_wait_log(s, "Booting worker with pid", 3, 20000));
    usleep(300000);
    pid_t kids[8];
    assert_int_equal(h_children(s->pid, kids, 8), 3);
    char path[128], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)s->pid);
    FILE *f = fopen(path, "r");
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_string_equal(buf, "cgunicorn: master [fromenv]");
    h_stop(s);
}

/* The access log: the tutorial's custom format, rendered like gunicorn. */
static void test_serve_access_log_tutorial_format(void **state)
{
    (void)state;
    const char *argv[] = {"-b",
                          "127.0.0.1:{port}",
                          "--access-logfile",
                          "-",
                          "--access-logformat",
                          "%(t)s %(p)s %(h)s \"%(r)s\" %(s)s %(L)s %(b)s %(f)s\" \"%(a)s\"",
                          "app:app",
                          NULL};
    srv_t *s = h_start_ready(examples, argv, 20000);
    assert_non_null(s);
    assert_int_equal(h_get(s->port, "/hello?x=1", NULL, 0), 200);
    assert_true(h_wait_log(s, "\"GET /hello?x=1 HTTP/1.1\" 200 ", 1, 5000));
    char *log = h_log(s);
    char *l = strstr(log, "\"GET /hello?x=1 HTTP/1.1\" 200 ");
    while (l > log && l[-1] != '\n')
        l--;
    /* [27/Nov/2026:12:07:05 +0000] <pid> 127.0.0.1 "GET ..." 200 0.001234 12 -" "cg-test" */
    char date[64], pidf[32], host[64];
    assert_int_equal(sscanf(l, "[%63[^]]] %31s %63s", date, pidf, host), 3);
    assert_true(pidf[0] == '<');
    assert_string_equal(host, "127.0.0.1");
    assert_non_null(strstr(l, " 200 0."));
    assert_non_null(strstr(l, " 12 -\" \"cg-test\""));
    free(log);
    h_stop(s);
}

/* The default access-log format. */
static void test_serve_access_log_default(void **state)
{
    (void)state;
    const char *argv[] = {"-b", "127.0.0.1:{port}", "--access-logfile", "-", "app:app", NULL};
    srv_t *s = h_start_ready(examples, argv, 20000);
    assert_non_null(s);
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    assert_true(h_wait_log(s, "\"GET / HTTP/1.1\" 200 6 \"-\" \"cg-test\"", 1, 5000));
    h_stop(s);
}

int main(void)
{
    h_path(examples, sizeof(examples), "examples");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_flask_cli),
        cmocka_unit_test(test_serve_log_format),
        cmocka_unit_test(test_serve_python_config),
        cmocka_unit_test(test_serve_yaml_config),
        cmocka_unit_test(test_serve_process_titles),
        cmocka_unit_test(test_serve_multiple_binds),
        cmocka_unit_test(test_serve_ipv6),
        cmocka_unit_test(test_serve_env_defaults),
        cmocka_unit_test(test_serve_cmd_args_env),
        cmocka_unit_test(test_serve_access_log_tutorial_format),
        cmocka_unit_test(test_serve_access_log_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
