/* test_signals.c - real signals to the real binary (gunicorn's Arbiter
 * signal table, GUNICORN.md 2.2 and 5.1), some of them under load from a
 * second process.  Apps: apps/slowapps.py (/ answers the worker's pid,
 * /slow?SECS sleeps first). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_KIDS 16

/* What a test leaves behind, cleaned up by teardown even when it fails. */
static srv_t *srv;
static pid_t stray_pid = -1; /* a -D or USR2 master, not our child */
static char tmpfiles[4][128];

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static const char *tmpfile_path(int i, const char *suffix)
{
    snprintf(tmpfiles[i], sizeof(tmpfiles[i]), "/tmp/cg-sig-%d-%d%s", (int)getpid(), i, suffix);
    return tmpfiles[i];
}

static int teardown(void **state)
{
    int rc = 0;
    (void)state;
    if (h_server_dirty(srv))
        rc = -1;
    h_load_kill();
    if (stray_pid > 0) {
        kill(stray_pid, SIGKILL);
        stray_pid = -1;
    }
    h_stop(srv);
    srv = NULL;
    for (int i = 0; i < 4; i++) {
        if (tmpfiles[i][0]) {
            char rotated[1100];
            unlink(tmpfiles[i]);
            snprintf(rotated, sizeof(rotated), "%s.1", tmpfiles[i]);
            unlink(rotated);
        }
        tmpfiles[i][0] = '\0';
    }
    return rc;
}

/* Start slowapps:app on a free port with extra arguments before it. */
static srv_t *start(const char *const *extra)
{
    const char *argv[32] = {"-b", "127.0.0.1:{port}"};
    int n = 2;
    for (int i = 0; extra && extra[i] && n < 29; i++)
        argv[n++] = extra[i];
    argv[n++] = "slowapps:app";
    argv[n] = NULL;
    srv = h_start_ready(NULL, argv, 20000);
    return srv;
}

static bool contains_pid(const pid_t *pids, int n, pid_t p)
{
    for (int i = 0; i < n; i++)
        if (pids[i] == p)
            return true;
    return false;
}

/* Send a GET and return the connected socket without reading (the request
 * is in flight). */
static int send_get(int port, const char *path)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char req[256];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int n =
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Start a slow request and wait until the app is inside it. */
static int slow_in_flight(srv_t *s, const char *path)
{
    int before = h_log_count(s, "slow: start");
    int fd = send_get(s->port, path);
    assert_true(fd >= 0);
    assert_true(h_wait_log(s, "slow: start", before + 1, 10000));
    return fd;
}

/* ---------------------------------------------------------------- TERM */

/* TERM: graceful; the in-flight slow request completes; every worker logs
 * its exit; "Shutting down: Master"; exit 0. */
static void test_term_graceful(void **state)
{
    (void)state;
    const char *extra[] = {"-w", "2", NULL};
    srv_t *s = start(extra);
    assert_non_null(s);
    pid_t kids[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 2, kids, 10000));

    int fd = slow_in_flight(s, "/slow?1");
    h_signal(s, SIGTERM);
    char resp[4096];
    h_read_and_close(fd, resp, sizeof(resp), 10000);
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(resp, "\r\nContent-Length: 9\r\n"));
    assert_non_null(strstr(resp, "\r\n\r\nslept 1.0"));

    assert_int_equal(h_wait_exit(s, 10000), 0);
    assert_int_equal(h_log_count(s, "[INFO] Handling signal: term"), 1);
    for (int i = 0; i < 2; i++) {
        char want[64];
        snprintf(want, sizeof(want), "[INFO] Worker exiting (pid: %d)", (int)kids[i]);
        assert_int_equal(h_log_count(s, want), 1);
        assert_true(h_pid_gone(kids[i]));
    }
    assert_int_equal(h_log_count(s, "[INFO] Shutting down: Master"), 1);
    assert_int_equal(h_log_count(s, "Reason:"), 0);
    /* the listener is closed: nothing accepts any more */
    assert_int_equal(h_get(s->port, "/", NULL, 0), -1);
}

/* TERM with --graceful-timeout 1: a request longer than that is cut, the
 * worker killed, and the master still exits 0 soon after. */
static void test_term_graceful_timeout(void **state)
{
    (void)state;
    const char *extra[] = {"--graceful-timeout", "1", NULL};
    srv_t *s = start(extra);
    assert_non_null(s);
    int fd = slow_in_flight(s, "/slow?20");
    long long t0 = now_ms();
    h_signal(s, SIGTERM);
    assert_int_equal(h_wait_exit(s, 5000), 0);
    long long took = now_ms() - t0;
    assert_true(took >= 900);
    assert_true(took < 4000);
    char resp[1024];
    h_read_and_close(fd, resp, sizeof(resp), 2000);
    assert_null(strstr(resp, "slept"));
    assert_true(h_wait_log(s, "Shutting down: Master", 1, 1000));
}

/* ------------------------------------------------------------ INT, QUIT */

/* INT and QUIT: quick stop, exit 0 within a couple of seconds even with a
 * 20 s request in flight (which is cut, not answered). */
static void quick_stop(int sig, const char *name)
{
    const char *extra[] = {"-w", "2", NULL};
    srv_t *s = start(extra);
    assert_non_null(s);
    pid_t kids[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 2, kids, 10000));
    int fd = slow_in_flight(s, "/slow?20");
    long long t0 = now_ms();
    h_signal(s, sig);
    assert_int_equal(h_wait_exit(s, 2500), 0);
    assert_true(now_ms() - t0 < 2500);
    char resp[1024];
    h_read_and_close(fd, resp, sizeof(resp), 2000);
    assert_null(strstr(resp, "slept"));
    char want[64];
    snprintf(want, sizeof(want), "[INFO] Handling signal: %s", name);
    assert_int_equal(h_log_count(s, want), 1);
    assert_int_equal(h_log_count(s, "[INFO] Shutting down: Master"), 1);
    for (int i = 0; i < 2; i++) {
        /* gunicorn logs it for every worker, quick stop or not */
        snprintf(want, sizeof(want), "[INFO] Worker exiting (pid: %d)", (int)kids[i]);
        assert_int_equal(h_log_count(s, want), 1);
        assert_true(h_pid_gone(kids[i]));
    }
}

static void test_int_quick(void **state)
{
    (void)state;
    quick_stop(SIGINT, "int");
}

static void test_quit_quick(void **state)
{
    (void)state;
    quick_stop(SIGQUIT, "quit");
}

/* gunicorn 26: INT during a graceful stop turns it quick. */
static void test_term_then_int(void **state)
{
    (void)state;
    srv_t *s = start(NULL);
    assert_non_null(s);
    int fd = slow_in_flight(s, "/slow?20");
    h_signal(s, SIGTERM);
    assert_true(h_wait_log(s, "Handling signal: term", 1, 5000));
    long long t0 = now_ms();
    h_signal(s, SIGINT);
    assert_int_equal(h_wait_exit(s, 3000), 0);
    assert_true(now_ms() - t0 < 3000);
    assert_int_equal(h_log_count(s, "Quick shutdown requested"), 1);
    char resp[1024];
    h_read_and_close(fd, resp, sizeof(resp), 2000);
    assert_null(strstr(resp, "slept"));
}

/* ------------------------------------------------------------ TTIN/TTOU */

/* TTIN/TTOU: 2 -> 3 -> 2 under load, the oldest worker goes first, TTOU
 * never goes below 1, and no request fails. */
static void test_ttin_ttou(void **state)
{
    (void)state;
    const char *extra[] = {"-w", "2", NULL};
    srv_t *s = start(extra);
    assert_non_null(s);
    pid_t orig[MAX_KIDS], three[MAX_KIDS], two[MAX_KIDS], kids[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 2, orig, 10000));
    h_load_t l;
    assert_true(h_load_start(&l, s->port, "/", NULL, 20000, 20000));

    h_signal(s, SIGTTIN);
    assert_true(h_wait_log(s, "[INFO] Handling signal: ttin", 1, 5000));
    assert_true(h_wait_children(s->pid, 3, three, 10000));
    assert_true(h_wait_log(s, "Booting worker with pid", 3, 10000));
    pid_t added = -1;
    for (int i = 0; i < 3; i++)
        if (!contains_pid(orig, 2, three[i]))
            added = three[i];
    assert_true(added > 0);

    h_signal(s, SIGTTOU);
    assert_true(h_wait_log(s, "[INFO] Handling signal: ttou", 1, 5000));
    assert_true(h_wait_children(s->pid, 2, two, 10000));
    /* the newest survives: one of the two original workers was stopped */
    assert_true(contains_pid(two, 2, added));
    assert_true(contains_pid(orig, 2, two[0]) != contains_pid(orig, 2, two[1]));

    /* down to 1, then once more: still 1 */
    h_signal(s, SIGTTOU);
    assert_true(h_wait_log(s, "[INFO] Handling signal: ttou", 2, 5000));
    assert_true(h_wait_children(s->pid, 1, kids, 10000));
    pid_t last = kids[0];
    h_signal(s, SIGTTOU);
    assert_true(h_wait_log(s, "[INFO] Handling signal: ttou", 3, 5000));
    usleep(300000);
    assert_int_equal(h_children(s->pid, kids, MAX_KIDS), 1);
    assert_int_equal(kids[0], last);

    int ok, failed;
    assert_true(h_load_stop(&l, &ok, &failed));
    assert_true(ok > 0);
    assert_int_equal(failed, 0);
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    /* the stopped workers exited gracefully, none was killed */
    assert_int_equal(h_log_count(s, "Worker exiting (pid:"), 2);
    assert_int_equal(h_log_count(s, "was sent"), 0);
}

/* ----------------------------------------------------------------- HUP */

/* HUP: "Hang up: Master", new workers replace all the old ones, which exit
 * gracefully; a load running across the HUP sees no failure. */
static void test_hup_replaces_workers(void **state)
{
    (void)state;
    const char *extra[] = {"-w", "2", NULL};
    srv_t *s = start(extra);
    assert_non_null(s);
    pid_t old[MAX_KIDS], kids[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 2, old, 10000));
    h_load_t l;
    assert_true(h_load_start(&l, s->port, "/", NULL, 20000, 20000));

    h_signal(s, SIGHUP);
    assert_true(h_wait_log(s, "[INFO] Handling signal: hup", 1, 5000));
    assert_true(h_wait_log(s, "[INFO] Hang up: Master", 1, 5000));
    for (int i = 0; i < 2; i++) {
        char want[64];
        snprintf(want, sizeof(want), "Worker exiting (pid: %d)", (int)old[i]);
        assert_true(h_wait_log(s, want, 1, 10000));
        assert_true(h_wait_gone(old[i], 5000));
    }
    assert_true(h_wait_children(s->pid, 2, kids, 10000));
    assert_false(contains_pid(old, 2, kids[0]));
    assert_false(contains_pid(old, 2, kids[1]));
    assert_true(h_wait_log(s, "Booting worker with pid", 4, 10000));
    usleep(200000); /* some load on the new workers too */

    int ok, failed;
    assert_true(h_load_stop(&l, &ok, &failed));
    assert_true(ok > 0);
    assert_int_equal(failed, 0);
    /* the bind did not change: no second "Listening at" */
    assert_int_equal(h_log_count(s, "Listening at:"), 1);
    assert_int_equal(h_log_count(s, "was sent"), 0);
    char body[64];
    assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
    assert_true(contains_pid(kids, 2, (pid_t)atoi(body)));
}

/* HUP re-reads the config file: workers = 1 -> workers = 2. */
static void test_hup_rereads_config(void **state)
{
    (void)state;
    const char *conf = tmpfile_path(0, ".py");
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fputs("workers = 1\n", f);
    fclose(f);
    const char *extra[] = {"-c", conf, NULL};
    srv_t *s = start(extra);
    assert_non_null(s);
    pid_t old[MAX_KIDS], kids[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 1, old, 10000));
    usleep(300000);
    assert_int_equal(h_children(s->pid, kids, MAX_KIDS), 1);

    f = fopen(conf, "w");
    assert_non_null(f);
    fputs("workers = 2\n", f);
    fclose(f);
    h_signal(s, SIGHUP);
    assert_true(h_wait_log(s, "Hang up: Master", 1, 5000));
    assert_true(h_wait_gone(old[0], 10000));
    assert_true(h_wait_children(s->pid, 2, kids, 10000));
    assert_false(contains_pid(kids, 2, old[0]));
    usleep(300000);
    assert_int_equal(h_children(s->pid, kids, MAX_KIDS), 2);
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
}

/* HUP while a request is in flight: the old worker finishes it. */
static void test_hup_in_flight_request_completes(void **state)
{
    (void)state;
    srv_t *s = start(NULL);
    assert_non_null(s);
    pid_t old[MAX_KIDS], kids[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 1, old, 10000));
    int fd = slow_in_flight(s, "/slow?1");
    h_signal(s, SIGHUP);
    assert_true(h_wait_log(s, "Hang up: Master", 1, 5000));
    char resp[4096];
    h_read_and_close(fd, resp, sizeof(resp), 10000);
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(resp, "\r\n\r\nslept 1.0"));
    assert_true(h_wait_gone(old[0], 5000));
    assert_true(h_wait_children(s->pid, 1, kids, 10000));
    assert_int_not_equal(kids[0], old[0]);
    char body[64];
    assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
    assert_int_equal(atoi(body), kids[0]);
}

/* Two HUPs in a row: still exactly -w workers, all of the last
 * generation. */
static void test_hup_twice(void **state)
{
    (void)state;
    const char *extra[] = {"-w", "2", NULL};
    srv_t *s = start(extra);
    assert_non_null(s);
    pid_t old[MAX_KIDS], kids[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 2, old, 10000));
    h_signal(s, SIGHUP);
    assert_true(h_wait_log(s, "Hang up: Master", 1, 5000));
    h_signal(s, SIGHUP);
    assert_true(h_wait_log(s, "Hang up: Master", 2, 5000));
    assert_true(h_wait_log(s, "Booting worker with pid", 6, 10000));
    for (int i = 0; i < 2; i++)
        assert_true(h_wait_gone(old[i], 5000));
    assert_true(h_wait_children(s->pid, 2, kids, 10000));
    usleep(300000);
    assert_int_equal(h_children(s->pid, kids, MAX_KIDS), 2);
    assert_int_equal(h_log_count(s, "Worker exiting (pid:"), 4);
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
}

/* HUP after the config file's bind changed: listen on the new address,
 * "Listening at" again, the old port closed. */
static void test_hup_rebind(void **state)
{
    (void)state;
    int p1 = h_free_port(), p2 = h_free_port();
    const char *conf = tmpfile_path(0, ".py");
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "bind = '127.0.0.1:%d'\n", p1);
    fclose(f);
    const char *argv[] = {"-c", conf, "slowapps:app", NULL};
    srv_t *s = srv = h_start(NULL, argv);
    s->port = p1;
    assert_true(h_wait_log(s, "Booting worker with pid", 1, 20000));
    assert_int_equal(h_get(p1, "/", NULL, 0), 200);
    pid_t old[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 1, old, 10000));

    f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "bind = '127.0.0.1:%d'\n", p2);
    fclose(f);
    h_signal(s, SIGHUP);
    char want[96];
    snprintf(want, sizeof(want), "Listening at: http://127.0.0.1:%d (%d)", p2, (int)s->pid);
    assert_true(h_wait_log(s, want, 1, 5000));
    assert_true(h_wait_log(s, "Booting worker with pid", 2, 10000));
    assert_true(h_wait_gone(old[0], 10000)); /* it held the old socket */
    s->port = p2;
    long long end = now_ms() + 5000;
    while (h_get(p2, "/", NULL, 0) != 200 && now_ms() < end)
        usleep(20000);
    assert_int_equal(h_get(p2, "/", NULL, 0), 200);
    assert_int_equal(h_get(p1, "/", NULL, 0), -1);
}

/* HUP with a config file that no longer loads: cgunicorn logs an error and
 * keeps the old configuration (gunicorn's master would exit 1 here). */
static void test_hup_bad_config_keeps_serving(void **state)
{
    (void)state;
    const char *conf = tmpfile_path(0, ".py");
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fputs("workers = 2\n", f);
    fclose(f);
    const char *extra[] = {"-c", conf, NULL};
    srv_t *s = start(extra);
    assert_non_null(s);
    assert_true(h_wait_children(s->pid, 2, NULL, 10000));
    f = fopen(conf, "w");
    assert_non_null(f);
    fputs("workers = (\n", f);
    fclose(f);
    h_signal(s, SIGHUP);
    assert_true(h_wait_log(s, "Hang up: Master", 1, 5000));
    assert_true(h_wait_log(s, "SyntaxError", 1, 5000));
    assert_true(h_wait_log(s, "[ERROR] Reloading the configuration failed", 1, 5000));
    usleep(300000);
    assert_true(h_wait_children(s->pid, 2, NULL, 10000));
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    assert_false(h_pid_gone(s->pid)); /* the master still runs */
}

/* TERM sent to a worker directly: it exits gracefully and is replaced. */
static void test_worker_term_replaced(void **state)
{
    (void)state;
    srv_t *s = start(NULL);
    assert_non_null(s);
    pid_t old[MAX_KIDS], kids[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 1, old, 10000));
    assert_int_equal(kill(old[0], SIGTERM), 0);
    char want[64];
    snprintf(want, sizeof(want), "Worker exiting (pid: %d)", (int)old[0]);
    assert_true(h_wait_log(s, want, 1, 5000));
    assert_true(h_wait_gone(old[0], 5000));
    assert_true(h_wait_log(s, "Booting worker with pid", 2, 10000));
    assert_true(h_wait_children(s->pid, 1, kids, 10000));
    assert_int_not_equal(kids[0], old[0]);
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    assert_int_equal(h_log_count(s, "exited with code"), 0);
}

/* HUPs back to back: the second one stops workers the first one forked a
 * moment ago.  A TERM that reaches a worker just after fork, before it has
 * installed its own handlers, must stop that worker only: not be lost (a
 * stale worker stays forever), and not be taken for a TERM to the master
 * (the child still shares the master's self-pipe at that point). */
static void test_hup_burst(void **state)
{
    (void)state;
    const char *extra[] = {"-w", "2", NULL};
    srv_t *s = start(extra);
    assert_non_null(s);
    pid_t kids[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 2, NULL, 10000));
    for (int i = 0; i < 5; i++) {
        int before = h_log_count(s, "Hang up: Master");
        h_signal(s, SIGHUP);
        h_signal(s, SIGHUP);
        h_signal(s, SIGTTOU);
        h_signal(s, SIGTTIN);
        assert_true(h_wait_log(s, "Hang up: Master", before + 1, 5000));
        assert_true(h_wait_log(s, "Handling signal: ttin", i + 1, 5000));
        /* every worker forked so far has logged its boot */
        long long end = now_ms() + 10000;
        while (now_ms() < end) {
            int n = h_children(s->pid, kids, MAX_KIDS);
            if (n == 2 && h_log_count(s, "Booting worker with pid") ==
                              h_log_count(s, "Worker exiting (pid:") + 2)
                break;
            usleep(20000);
        }
        assert_false(h_pid_gone(s->pid));
        assert_int_equal(h_children(s->pid, kids, MAX_KIDS), 2);
    }
    assert_int_equal(h_log_count(s, "Handling signal: term"), 0);
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
}

/* ---------------------------------------------------------------- USR1 */

static int file_count(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int n = 0;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static bool wait_file_count(const char *path, const char *needle, int count, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    do {
        if (file_count(path, needle) >= count)
            return true;
        usleep(20000);
    } while (now_ms() < end);
    return false;
}

/* USR1 reopens the access log (logrotate): after a rename, the next
 * request is logged to a new file of the old name. */
static void test_usr1_reopens_access_log(void **state)
{
    (void)state;
    const char *acc = tmpfile_path(0, ".log");
    char rotated[200];
    snprintf(rotated, sizeof(rotated), "%s.1", acc);
    const char *extra[] = {"--access-logfile", acc, NULL};
    srv_t *s = start(extra);
    assert_non_null(s);
    assert_int_equal(h_get(s->port, "/before", NULL, 0), 200);
    assert_true(wait_file_count(acc, "\"GET /before HTTP/1.1\" 200", 1, 5000));

    assert_int_equal(rename(acc, rotated), 0);
    h_signal(s, SIGUSR1);
    assert_true(h_wait_log(s, "[INFO] Handling signal: usr1", 1, 5000));
    usleep(100000); /* the master forwards USR1 to the workers */
    assert_int_equal(h_get(s->port, "/after", NULL, 0), 200);
    assert_true(wait_file_count(acc, "\"GET /after HTTP/1.1\" 200", 1, 5000));
    assert_int_equal(file_count(acc, "/before"), 0);
    assert_int_equal(file_count(rotated, "/before"), 1);
    assert_int_equal(file_count(rotated, "/after"), 0);
}

/* USR1 also reopens the error log file. */
static void test_usr1_reopens_error_log(void **state)
{
    (void)state;
    const char *errlog = tmpfile_path(0, ".err");
    char rotated[200];
    snprintf(rotated, sizeof(rotated), "%s.1", errlog);
    /* h_start_ready watches stdout/stderr, which stay empty here */
    const char *argv[] = {"-b",   "127.0.0.1:{port}", "--error-logfile",
                          errlog, "slowapps:app",     NULL};
    srv_t *s = srv = h_start(NULL, argv);
    srv_t flog = {.pid = -1};
    snprintf(flog.log, sizeof(flog.log), "%s", errlog);
    assert_true(h_wait_log(&flog, "Booting worker with pid", 1, 20000));
    assert_int_equal(rename(errlog, rotated), 0);
    h_signal(s, SIGUSR1);
    /* as in gunicorn, the line is logged before the files are reopened */
    srv_t rlog = {.pid = -1};
    snprintf(rlog.log, sizeof(rlog.log), "%s", rotated);
    assert_true(h_wait_log(&rlog, "[INFO] Handling signal: usr1", 1, 5000));
    usleep(100000); /* the master forwards USR1 to the worker */
    h_signal(s, SIGTERM);
    assert_int_equal(h_wait_exit(s, 10000), 0);
    assert_int_equal(file_count(errlog, "Handling signal: term"), 1);
    assert_int_equal(file_count(errlog, "Worker exiting (pid:"), 1);
    assert_int_equal(file_count(errlog, "Shutting down: Master"), 1);
    assert_int_equal(file_count(rotated, "Booting worker"), 1);
    assert_int_equal(file_count(rotated, "Handling signal: term"), 0);
    assert_int_equal(file_count(rotated, "Worker exiting"), 0);
}

/* ------------------------------------------------------------- kill -9 */

/* kill -9 of a worker under load: it is replaced, the master logs it, and
 * at most the one request it was serving fails. */
static void test_kill9_worker(void **state)
{
    (void)state;
    const char *extra[] = {"-w", "2", NULL};
    srv_t *s = start(extra);
    assert_non_null(s);
    pid_t old[MAX_KIDS], kids[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 2, old, 10000));
    h_load_t l;
    assert_true(h_load_start(&l, s->port, "/", NULL, 20000, 20000));

    assert_int_equal(kill(old[0], SIGKILL), 0);
    char want[96];
    snprintf(want, sizeof(want), "[ERROR] Worker (pid:%d) was sent SIGKILL! Perhaps out of memory?",
             (int)old[0]);
    assert_true(h_wait_log(s, want, 1, 5000));
    assert_true(h_wait_log(s, "Booting worker with pid", 3, 10000));
    assert_true(h_wait_children(s->pid, 2, kids, 10000));
    assert_false(contains_pid(kids, 2, old[0]));
    assert_true(contains_pid(kids, 2, old[1]));
    usleep(200000);

    int ok, failed;
    assert_true(h_load_stop(&l, &ok, &failed));
    assert_true(ok > 0);
    assert_true(failed <= 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
}

/* kill -9 of the master: its workers notice and exit by themselves. */
static void test_kill9_master(void **state)
{
    (void)state;
    const char *extra[] = {"-w", "2", NULL};
    srv_t *s = start(extra);
    assert_non_null(s);
    pid_t kids[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 2, kids, 10000));
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    kill(s->pid, SIGKILL);
    assert_int_equal(h_wait_exit(s, 5000), 128 + SIGKILL);
    for (int i = 0; i < 2; i++)
        assert_true(h_wait_gone(kids[i], 2500));
}

/* ------------------------------------------------ WINCH, USR2, -D */

/* WINCH is ignored when not daemonized: the server keeps its workers. */
static void test_winch_ignored(void **state)
{
    (void)state;
    const char *extra[] = {"-w", "2", "--log-level", "debug", NULL};
    srv_t *s = start(extra);
    assert_non_null(s);
    pid_t old[MAX_KIDS], kids[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 2, old, 10000));
    h_signal(s, SIGWINCH);
    assert_true(h_wait_log(s, "SIGWINCH ignored. Not daemonized", 1, 5000));
    usleep(200000);
    assert_int_equal(h_children(s->pid, kids, MAX_KIDS), 2);
    assert_true(contains_pid(kids, 2, old[0]) && contains_pid(kids, 2, old[1]));
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
}

static void read_cmdline(pid_t pid, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

/* USR2: a new master (a child of the old one, ".2" in its title) serves on
 * the same socket; TERM to the old master leaves the new one serving, and
 * it logs "Master has been promoted." (GUNICORN.md 2.2). */
static void test_usr2_upgrade(void **state)
{
    (void)state;
    srv_t *s = start(NULL);
    assert_non_null(s);
    pid_t kids[MAX_KIDS], old_worker;
    assert_true(h_wait_children(s->pid, 1, kids, 10000));
    old_worker = kids[0];
    h_signal(s, SIGUSR2);
    assert_true(h_wait_log(s, "[INFO] Handling signal: usr2", 1, 5000));
    if (!h_wait_log(s, "Listening at:", 2, 10000)) {
        char *log = h_log(s);
        fprintf(stderr, "no new master; log:\n%s\n", log);
        free(log);
        fail();
    }
    assert_true(h_wait_log(s, "Booting worker with pid", 2, 10000));
    /* the new master is the old one's second child */
    assert_true(h_wait_children(s->pid, 2, kids, 10000));
    stray_pid = kids[0] == old_worker ? kids[1] : kids[0];
    char title[256];
    read_cmdline(stray_pid, title, sizeof(title));
    assert_string_equal(title, "cgunicorn: master [slowapps:app.2]");
    pid_t new_kids[MAX_KIDS];
    assert_true(h_wait_children(stray_pid, 1, new_kids, 10000));
    char want[96];
    snprintf(want, sizeof(want), "Listening at: http://127.0.0.1:%d (%d)", s->port, (int)stray_pid);
    assert_int_equal(h_log_count(s, want), 1);
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);

    h_signal(s, SIGTERM);
    assert_int_equal(h_wait_exit(s, 10000), 0);
    assert_true(h_wait_gone(old_worker, 2000));
    assert_true(h_wait_log(s, "Master has been promoted.", 1, 5000));
    read_cmdline(stray_pid, title, sizeof(title));
    assert_string_equal(title, "cgunicorn: master [slowapps:app]");
    char body[64];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
        assert_int_equal(atoi(body), new_kids[0]);
    }
    assert_int_equal(kill(stray_pid, SIGTERM), 0);
    assert_true(h_wait_gone(stray_pid, 10000));
    assert_true(h_wait_gone(new_kids[0], 2000));
    stray_pid = -1;
    assert_int_equal(h_log_count(s, "Shutting down: Master"), 2);
}

/* Start a -D server with its error log in a temp file; the daemon
 * master's pid from "Listening at: URL (PID)".  The command itself returns
 * 0 at once with nothing on its stdout/stderr. */
static pid_t start_daemon(int port, const char *const *extra, srv_t *flog)
{
    const char *errlog = tmpfile_path(0, ".err");
    char bind[64], out[8192];
    const char *argv[16] = {"-D", "--error-logfile", errlog, "-b", bind};
    int n = 5;
    for (int i = 0; extra && extra[i] && n < 14; i++)
        argv[n++] = extra[i];
    argv[n++] = "slowapps:app";
    argv[n] = NULL;
    snprintf(bind, sizeof(bind), "127.0.0.1:%d", port);
    long long t0 = now_ms();
    assert_int_equal(h_run(NULL, argv, out, sizeof(out), 10000), 0);
    assert_true(now_ms() - t0 < 5000);
    assert_string_equal(out, ""); /* stdio went to /dev/null */

    *flog = (srv_t){.pid = -1, .port = port};
    snprintf(flog->log, sizeof(flog->log), "%s", errlog);
    char want[96];
    snprintf(want, sizeof(want), "Listening at: http://127.0.0.1:%d (", port);
    assert_true(h_wait_log(flog, want, 1, 10000));
    char *log = h_log(flog);
    stray_pid = (pid_t)atoi(strstr(log, want) + strlen(want));
    free(log);
    assert_true(stray_pid > 1);
    assert_true(h_wait_log(flog, "Booting worker with pid", 1, 10000));
    return stray_pid;
}

/* TERM the daemon, check it and its workers are gone and its log is clean. */
static void stop_daemon(srv_t *flog, const pid_t *workers, int nworkers)
{
    assert_int_equal(kill(stray_pid, SIGTERM), 0);
    assert_true(h_wait_gone(stray_pid, 10000));
    for (int i = 0; i < nworkers; i++)
        assert_true(h_wait_gone(workers[i], 2000));
    stray_pid = -1;
    assert_true(h_wait_log(flog, "Shutting down: Master", 1, 2000));
    assert_int_equal(h_get(flog->port, "/", NULL, 0), -1);
    char *log = h_log(flog);
    bool report = h_sanitizer_report(log);
    if (report)
        fprintf(stderr, "sanitizer report in the daemon's log:\n%s\n", log);
    free(log);
    assert_false(report);
}

/* -D: the command returns 0 at once, the daemon serves, TERM stops it. */
static void test_daemon(void **state)
{
    (void)state;
    srv_t flog;
    int port = h_free_port();
    const char *pidfile = tmpfile_path(1, ".pid");
    const char *extra[] = {"--pid", pidfile, NULL};
    pid_t pid = start_daemon(port, extra, &flog);
    /* --pid: "PID\n", the daemon's pid */
    char buf[32] = "", want[32];
    FILE *f = fopen(pidfile, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    snprintf(want, sizeof(want), "%d\n", (int)pid);
    assert_string_equal(buf, want);
    /* detached: another session (setsid, then a second fork) */
    assert_true(getsid(pid) > 0);
    assert_int_not_equal(getsid(pid), getsid(0));
    assert_int_not_equal(getsid(pid), pid);
    char body[64];
    assert_int_equal(h_get(port, "/", body, sizeof(body)), 200);
    pid_t worker = (pid_t)atoi(body);
    assert_true(worker > 1);
    stop_daemon(&flog, &worker, 1);
    assert_int_equal(access(pidfile, F_OK), -1); /* removed at exit */
}

/* Daemonized, WINCH stops the workers gracefully and keeps them at 0 (the
 * master stays); TTIN brings one back. */
static void test_daemon_winch(void **state)
{
    (void)state;
    srv_t flog;
    int port = h_free_port();
    const char *extra[] = {"-w", "2", NULL};
    pid_t pid = start_daemon(port, extra, &flog);
    pid_t old[MAX_KIDS], kids[MAX_KIDS];
    assert_true(h_wait_children(pid, 2, old, 10000));
    kill(pid, SIGWINCH);
    assert_true(h_wait_log(&flog, "[INFO] graceful stop of workers", 1, 5000));
    for (int i = 0; i < 2; i++)
        assert_true(h_wait_gone(old[i], 5000));
    usleep(300000);
    assert_int_equal(h_children(pid, kids, MAX_KIDS), 0);
    assert_false(h_pid_gone(pid));
    kill(pid, SIGTTIN);
    assert_true(h_wait_children(pid, 1, kids, 10000));
    assert_true(h_wait_log(&flog, "Booting worker with pid", 3, 10000));
    assert_int_equal(h_get(port, "/", NULL, 0), 200);
    stop_daemon(&flog, kids, 1);
}

int main(void)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_term_graceful, teardown),
        cmocka_unit_test_teardown(test_term_graceful_timeout, teardown),
        cmocka_unit_test_teardown(test_int_quick, teardown),
        cmocka_unit_test_teardown(test_quit_quick, teardown),
        cmocka_unit_test_teardown(test_term_then_int, teardown),
        cmocka_unit_test_teardown(test_ttin_ttou, teardown),
        cmocka_unit_test_teardown(test_hup_replaces_workers, teardown),
        cmocka_unit_test_teardown(test_hup_rereads_config, teardown),
        cmocka_unit_test_teardown(test_hup_in_flight_request_completes, teardown),
        cmocka_unit_test_teardown(test_hup_twice, teardown),
        cmocka_unit_test_teardown(test_hup_rebind, teardown),
        cmocka_unit_test_teardown(test_hup_bad_config_keeps_serving, teardown),
        cmocka_unit_test_teardown(test_hup_burst, teardown),
        cmocka_unit_test_teardown(test_usr1_reopens_access_log, teardown),
        cmocka_unit_test_teardown(test_usr1_reopens_error_log, teardown),
        cmocka_unit_test_teardown(test_kill9_worker, teardown),
        cmocka_unit_test_teardown(test_kill9_master, teardown),
        cmocka_unit_test_teardown(test_worker_term_replaced, teardown),
        cmocka_unit_test_teardown(test_winch_ignored, teardown),
        cmocka_unit_test_teardown(test_usr2_upgrade, teardown),
        cmocka_unit_test_teardown(test_daemon, teardown),
        cmocka_unit_test_teardown(test_daemon_winch, teardown),
    };
    size_t n = h_select_tests(tests, sizeof(tests) / sizeof(tests[0]));
    return _cmocka_run_group_tests("test_signals", tests, n, NULL, NULL);
}
