/* test_lifecycle.c - the production lifecycle of issue 4 against the real
 * binary: worker timeout (SIGABRT, traceback, SIGKILL), max_requests and
 * its jitter under load, crashing workers, exit codes 3/4 after boot, the
 * pid file, the USR2 binary upgrade (plain, and daemonized with WINCH and a
 * rollback) under load, --preload, --reload, -u/-g/--initgroups, --umask,
 * --reuse-port, systemd socket activation and sd_notify, StatsD.
 *
 * The signals TERM/INT/QUIT/TTIN/TTOU/HUP/USR1, kill -9 and plain -D are in
 * test_signals.c; hooks in test_hooks.c; nginx in front in test_nginx.c.
 * App: apps/lifeapps.py.
 *
 * The test process makes itself a child subreaper, so the masters that are
 * not its own children (a USR2 child whose parent exited, a daemon) are
 * reparented to it and can be waited for.  The harness starts the binary
 * as a bare "cgunicorn" that is not in PATH: USR2 must still find it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_KIDS 16
#define MAX_EXTRA 8
#define MAX_TALLY 512

/* What a test leaves behind, cleaned up by teardown even when it fails. */
static srv_t *srv, *srv2;
static pid_t load_pid = -1;
static pid_t extra_pids[MAX_EXTRA]; /* masters the harness did not start */
static int nextra;
static char tmpfiles[8][128];
static char tmpdir[256];
static char saved_asan[512];
static bool asan_changed;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static const char *tmpfile_path(int i, const char *suffix)
{
    snprintf(tmpfiles[i], sizeof(tmpfiles[i]), "/tmp/cg-life-%d-%d%s", (int)getpid(), i, suffix);
    return tmpfiles[i];
}

static const char *make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cg-life-%d-XXXXXX", (int)getpid());
    assert_non_null(mkdtemp(tmpdir));
    return tmpdir;
}

static void remember_extra(pid_t pid)
{
    if (nextra < MAX_EXTRA)
        extra_pids[nextra++] = pid;
}

/* Stop a server in the middle of a test; fail on a sanitizer report. */
static void stop_server(srv_t **s)
{
    bool bad = *s && h_server_dirty(*s);
    h_stop(*s);
    *s = NULL;
    assert_false(bad);
}

/* The live (not zombie) children of pid. */
static int live_children(pid_t pid, pid_t *out, int max)
{
    return h_children(pid, out, max);
}

/* Kill a master we did not start through the harness, its workers first. */
static void kill_tree(pid_t pid)
{
    pid_t kids[MAX_KIDS];
    int n = live_children(pid, kids, MAX_KIDS);
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    kill(pid, SIGKILL);
    h_wait_gone(pid, 2000);
}

static int teardown(void **state)
{
    int rc = 0;
    (void)state;
    if (srv && h_server_dirty(srv))
        rc = -1;
    if (srv2 && h_server_dirty(srv2))
        rc = -1;
    for (int i = 0; i < 8; i++)
        if (tmpfiles[i][0]) {
            srv_t f = {.pid = -1};
            snprintf(f.log, sizeof(f.log), "%.127s", tmpfiles[i]);
            if (strstr(tmpfiles[i], ".err") && h_server_dirty(&f))
                rc = -1;
        }
    if (load_pid > 0) {
        kill(load_pid, SIGKILL);
        waitpid(load_pid, NULL, 0);
        load_pid = -1;
    }
    for (int i = 0; i < nextra; i++)
        if (extra_pids[i] > 0)
            kill_tree(extra_pids[i]);
    nextra = 0;
    h_stop(srv);
    h_stop(srv2);
    srv = srv2 = NULL;
    /* we are a subreaper: collect whatever was reparented to us */
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    for (int i = 0; i < 8; i++) {
        if (tmpfiles[i][0]) {
            char more[300];
            unlink(tmpfiles[i]);
            snprintf(more, sizeof(more), "%.127s.2", tmpfiles[i]);
            unlink(more);
        }
        tmpfiles[i][0] = '\0';
    }
    if (tmpdir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            rc = -1;
        tmpdir[0] = '\0';
    }
    unsetenv("LIFE_IMPORT_FILE");
    if (asan_changed) {
        if (saved_asan[0])
            setenv("ASAN_OPTIONS", saved_asan, 1);
        else
            unsetenv("ASAN_OPTIONS");
        asan_changed = false;
    }
    return rc;
}

/* Start lifeapps:app on a free port with extra arguments before it. */
static srv_t *start_app(const char *const *extra)
{
    const char *argv[40] = {"-b", "127.0.0.1:{port}"};
    int n = 2;
    for (int i = 0; extra && extra[i] && n < 37; i++)
        argv[n++] = extra[i];
    argv[n++] = "lifeapps:app";
    argv[n] = NULL;
    return h_start_ready(NULL, argv, 20000);
}

static bool contains_pid(const pid_t *pids, int n, pid_t p)
{
    for (int i = 0; i < n; i++)
        if (pids[i] == p)
            return true;
    return false;
}

/* Send a GET and return the connected socket without reading. */
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

/* A unix socket address for path (which must fit). */
static struct sockaddr_un unix_addr(const char *path)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    assert_true(n < sizeof(un.sun_path));
    memcpy(un.sun_path, path, n + 1);
    return un;
}

/* GET path over a unix socket; the status, -1 if nothing came back. */
static int unix_get(const char *sock_path, const char *path, char *body, size_t cap)
{
    struct sockaddr_un un = unix_addr(sock_path);
    char req[256], resp[8192];
    int fd = socket(AF_UNIX, SOCK_STREAM, 0), status = -1;
    int n =
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    if (connect(fd, (struct sockaddr *)&un, sizeof(un)) != 0 ||
        send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return -1;
    }
    h_read_and_close(fd, resp, sizeof(resp), 10000);
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    if (body) {
        char *b = strstr(resp, "\r\n\r\n");
        snprintf(body, cap, "%s", b ? b + 4 : "");
    }
    return status;
}

/* The number printed right after the first occurrence of needle in the
 * log, 0 if none. */
static long log_number_after(srv_t *s, const char *needle)
{
    char *log = h_log(s), *p;
    long v = 0;
    if (log && (p = strstr(log, needle)) != NULL)
        v = strtol(p + strlen(needle), NULL, 10);
    free(log);
    return v;
}

/* Everything in the log after the first occurrence of needle (malloc'd),
 * NULL if absent. */
static char *log_after(srv_t *s, const char *needle)
{
    char *log = h_log(s), *p, *out = NULL;
    if (log && (p = strstr(log, needle)) != NULL)
        out = strdup(p);
    free(log);
    return out;
}

/* Read a small file; its length, -1 if absent. */
static int read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return (int)n;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static pid_t pid_from_file(const char *path)
{
    char buf[64];
    if (read_file(path, buf, sizeof(buf)) <= 0)
        return 0;
    return (pid_t)atoi(buf);
}

/* Wait until path holds a pid other than not_this. */
static pid_t wait_pidfile(const char *path, pid_t not_this, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    do {
        pid_t p = pid_from_file(path);
        if (p > 0 && p != not_this)
            return p;
        usleep(20000);
    } while (now_ms() < end);
    return 0;
}

/* The process title (/proc/PID/cmdline with NULs as spaces, trimmed). */
static const char *title_of(pid_t pid, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    int n = read_file(path, buf, cap);
    if (n < 0)
        n = 0;
    for (int i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    while (n > 0 && buf[n - 1] == ' ')
        buf[--n] = '\0';
    buf[n] = '\0';
    return buf;
}

/* Wait for the title of pid to be exactly want. */
static bool wait_title(pid_t pid, const char *want, int timeout_ms)
{
    char t[512];
    long long end = now_ms() + timeout_ms;
    do {
        if (strcmp(title_of(pid, t, sizeof(t)), want) == 0)
            return true;
        usleep(20000);
    } while (now_ms() < end);
    fprintf(stderr, "title of %d is '%s', not '%s'\n", (int)pid, t, want);
    return false;
}

/* A line of /proc/PID/status ("Uid:", "Gid:", "Groups:"), value only. */
static const char *status_line(pid_t pid, const char *key, char *out, size_t cap)
{
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    if (f == NULL)
        return out;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, strlen(key)) == 0) {
            char *v = line + strlen(key);
            while (*v == '\t' || *v == ' ')
                v++;
            size_t n = strcspn(v, "\n");
            while (n > 0 && v[n - 1] == ' ')
                n--;
            snprintf(out, cap, "%.*s", (int)n, v);
            break;
        }
    fclose(f);
    return out;
}

/* ------------------------------------------------------------ load */

/* A child looping GETs of path on port until told to stop (or max
 * requests, or 60 s), tallying which worker pid answered each. */
typedef struct {
    int ok, failed;
    int n;
    pid_t pids[MAX_TALLY];
    int counts[MAX_TALLY];
} tally_t;

typedef struct {
    int ctl; /* closing it tells the child to stop */
    int res;
} load_t;

static void tally_add(tally_t *t, pid_t pid)
{
    for (int i = 0; i < t->n; i++)
        if (t->pids[i] == pid) {
            t->counts[i]++;
            return;
        }
    if (t->n < MAX_TALLY) {
        t->pids[t->n] = pid;
        t->counts[t->n++] = 1;
    }
}

static void load_start(load_t *l, int port, const char *path, int max_requests)
{
    int ctl[2], res[2];
    assert_int_equal(pipe(ctl), 0);
    assert_int_equal(pipe(res), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static tally_t t;
        long long end = now_ms() + 60000;
        bool told = false;
        close(ctl[1]);
        close(res[0]);
        while (t.ok + t.failed < max_requests && now_ms() < end) {
            struct pollfd p = {.fd = ctl[0], .events = POLLIN};
            if (poll(&p, 1, 0) > 0)
                break;
            char body[256];
            int st = h_get(port, path, body, sizeof(body));
            if (st == 200) {
                t.ok++;
                tally_add(&t, (pid_t)atoi(body));
            } else {
                t.failed++;
                fprintf(stderr, "load: request %d failed with %d\n", t.ok + t.failed, st);
            }
            if (!told && st == 200) {
                char b = 's';
                told = write(res[1], &b, 1) == 1;
            }
        }
        if (!told) {
            char b = 'f';
            (void)!write(res[1], &b, 1);
        }
        const char *p = (const char *)&t;
        size_t left = sizeof(t);
        while (left > 0) {
            ssize_t w = write(res[1], p, left);
            if (w <= 0)
                _exit(1);
            p += w;
            left -= (size_t)w;
        }
        _exit(0);
    }
    close(ctl[0]);
    close(res[1]);
    load_pid = pid;
    l->ctl = ctl[1];
    l->res = res[0];
    /* wait for its first success: the load is really running */
    struct pollfd p = {.fd = l->res, .events = POLLIN};
    char b = 0;
    assert_int_equal(poll(&p, 1, 10000), 1);
    assert_int_equal(read(l->res, &b, 1), 1);
    assert_int_equal(b, 's');
}

/* Stop the load (or wait for it to reach its count) and get the tally. */
static void load_stop(load_t *l, tally_t *t, bool wait_for_count)
{
    size_t got = 0;
    if (!wait_for_count)
        close(l->ctl);
    while (got < sizeof(*t)) {
        struct pollfd p = {.fd = l->res, .events = POLLIN};
        if (poll(&p, 1, 60000) != 1)
            break;
        ssize_t r = read(l->res, (char *)t + got, sizeof(*t) - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (wait_for_count)
        close(l->ctl);
    close(l->res);
    waitpid(load_pid, NULL, 0);
    load_pid = -1;
    assert_int_equal(got, sizeof(*t));
}

/* ------------------------------------------------------------ timeout */

/* --timeout 2, a request stuck in time.sleep(30): WORKER TIMEOUT, the
 * worker's Python traceback from the master (faulthandler) and from the
 * worker (the SystemExit that SIGABRT raised, "Error handling request"),
 * a 500 for the client, exit code 1, a replacement; the other worker
 * serves all along. */
static void test_timeout_abort(void **state)
{
    (void)state;
    const char *extra[] = {"-w", "2", "--timeout", "2", NULL};
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    pid_t kids[MAX_KIDS], now[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 2, kids, 10000));

    int fd = send_get(s->port, "/sleep?30");
    assert_true(fd >= 0);
    assert_true(h_wait_log(s, "sleep: start ", 1, 10000));
    long long t0 = now_ms();
    pid_t stuck = (pid_t)log_number_after(s, "sleep: start ");
    assert_true(contains_pid(kids, 2, stuck));
    /* the other worker is not affected */
    char body[64];
    assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
    assert_int_not_equal(atoi(body), stuck);

    char want[128];
    snprintf(want, sizeof(want), "[CRITICAL] WORKER TIMEOUT (pid:%d)", (int)stuck);
    assert_true(h_wait_log(s, want, 1, 10000));
    long long took = now_ms() - t0;
    assert_true(took >= 1000); /* not before the timeout */
    assert_true(took < 7000);

    char resp[4096];
    h_read_and_close(fd, resp, sizeof(resp), 10000);
    assert_true(resp[0] == '\0' || strncmp(resp, "HTTP/1.1 500 ", 13) == 0);
    assert_null(strstr(resp, "slept"));

    /* the master's dump of where the worker was stuck */
    snprintf(want, sizeof(want), "Traceback of worker %d at its timeout:", (int)stuck);
    assert_true(h_wait_log(s, want, 1, 5000));
    char *tb = log_after(s, want);
    assert_non_null(tb);
    char *next = strstr(tb + 1, "\n[20"); /* the next log record */
    if (next)
        *next = '\0';
    assert_non_null(strstr(tb, "in stuck_in_sleep"));
    assert_non_null(strstr(tb, "lifeapps.py"));
    free(tb);
    /* the worker's own: the SystemExit unwinding the request */
    snprintf(want, sizeof(want), "[%d] [ERROR] Error handling request GET /sleep", (int)stuck);
    assert_true(h_wait_log(s, want, 1, 5000));
    tb = log_after(s, want);
    assert_non_null(tb);
    assert_non_null(strstr(tb, "stuck_in_sleep"));
    assert_non_null(strstr(tb, "SystemExit: 1"));
    free(tb);
    snprintf(want, sizeof(want), "Worker (pid:%d) exited with code 1.", (int)stuck);
    assert_true(h_wait_log(s, want, 1, 5000));
    assert_int_equal(h_log_count(s, "SIGKILL"), 0);

    /* replaced, and serving */
    assert_true(h_wait_gone(stuck, 5000));
    assert_true(h_wait_children(s->pid, 2, now, 10000));
    assert_false(contains_pid(now, 2, stuck));
    assert_true(h_wait_log(s, "Booting worker with pid", 3, 10000));
    for (int i = 0; i < 4; i++)
        assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
}

/* A worker that blocks SIGABRT never leaves the request: SIGKILL follows
 * within a few seconds of WORKER TIMEOUT; its client sees the connection
 * closed; the worker is replaced. */
static void test_timeout_kill(void **state)
{
    (void)state;
    const char *extra[] = {"--timeout", "2", NULL};
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    pid_t kids[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 1, kids, 10000));

    int fd = send_get(s->port, "/blocked");
    assert_true(fd >= 0);
    assert_true(h_wait_log(s, "blocked: start ", 1, 10000));
    pid_t stuck = (pid_t)log_number_after(s, "blocked: start ");
    assert_int_equal(stuck, kids[0]);
    char want[128];
    snprintf(want, sizeof(want), "[CRITICAL] WORKER TIMEOUT (pid:%d)", (int)stuck);
    assert_true(h_wait_log(s, want, 1, 10000));
    long long t0 = now_ms();
    snprintf(want, sizeof(want), "[ERROR] Worker (pid:%d) was sent SIGKILL! Perhaps out of memory?",
             (int)stuck);
    assert_true(h_wait_log(s, want, 1, 8000));
    assert_true(now_ms() - t0 < 6000);
    snprintf(want, sizeof(want), "Traceback of worker %d at its timeout:", (int)stuck);
    char *tb = log_after(s, want);
    assert_non_null(tb);
    assert_non_null(strstr(tb, "in blocked_sleep"));
    free(tb);

    char resp[1024];
    h_read_and_close(fd, resp, sizeof(resp), 5000);
    assert_string_equal(resp, ""); /* closed, never answered */
    assert_true(h_wait_gone(stuck, 5000));
    pid_t now[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 1, now, 10000));
    assert_int_not_equal(now[0], stuck);
    assert_true(h_wait_log(s, "Booting worker with pid", 2, 10000));
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
}

/* ------------------------------------------------------- max_requests */

/* --max-requests 3: the third request makes the worker announce its
 * restart; it exits 0 after answering and is replaced. */
static void test_max_requests(void **state)
{
    (void)state;
    const char *extra[] = {"--max-requests", "3", NULL};
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    pid_t kids[MAX_KIDS], now[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 1, kids, 10000));
    char body[64];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
        assert_int_equal(atoi(body), kids[0]);
    }
    usleep(100000);
    assert_int_equal(h_log_count(s, "Autorestarting worker"), 0);
    assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
    assert_int_equal(atoi(body), kids[0]);
    char want[128];
    snprintf(want, sizeof(want), "[%d] [INFO] Autorestarting worker after current request.",
             (int)kids[0]);
    assert_true(h_wait_log(s, want, 1, 5000));
    snprintf(want, sizeof(want), "Worker exiting (pid: %d)", (int)kids[0]);
    assert_true(h_wait_log(s, want, 1, 5000));
    assert_true(h_wait_gone(kids[0], 5000));
    assert_true(h_wait_children(s->pid, 1, now, 10000));
    assert_int_not_equal(now[0], kids[0]);
    assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
    assert_int_equal(atoi(body), now[0]);
    assert_int_equal(h_log_count(s, "exited with code"), 0);
    assert_int_equal(h_log_count(s, "was sent"), 0);
}

/* --max-requests 5 --max-requests-jitter 3, 300 requests over 2 workers:
 * none fails, every retired worker served between 5 and 8 requests, and
 * the shares differ (the jitter is real). */
static void test_max_requests_jitter_under_load(void **state)
{
    (void)state;
    const char *extra[] = {"-w", "2", "--max-requests", "5", "--max-requests-jitter", "3", NULL};
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    assert_true(h_wait_children(s->pid, 2, NULL, 10000));
    load_t l;
    tally_t t;
    load_start(&l, s->port, "/", 300);
    load_stop(&l, &t, true);
    assert_int_equal(t.failed, 0);
    assert_int_equal(t.ok, 300);
    /* let the last retirements finish */
    usleep(300000);
    assert_true(h_wait_children(s->pid, 2, NULL, 10000));
    int restarts = h_log_count(s, "Autorestarting worker after current request.");
    assert_true(restarts >= 300 / 8 - 2);
    assert_true(t.n >= 300 / 8);
    int retired = 0, lo = 1000, hi = 0;
    bool differ = false;
    for (int i = 0; i < t.n; i++) {
        if (!h_pid_gone(t.pids[i]))
            continue; /* still serving: its share is not used up */
        retired++;
        if (t.counts[i] < lo)
            lo = t.counts[i];
        if (t.counts[i] > hi)
            hi = t.counts[i];
        differ = differ || t.counts[i] != t.counts[0];
    }
    if (lo < 5 || hi > 8 || !differ)
        fprintf(stderr, "retired %d workers, shares %d..%d\n", retired, lo, hi);
    assert_true(retired >= 300 / 8 - 2);
    assert_true(lo >= 5);
    assert_true(hi <= 8);
    assert_true(hi > lo);
    assert_int_equal(h_log_count(s, "exited with code"), 0);
    assert_int_equal(h_log_count(s, "was sent"), 0);
}

/* ------------------------------------------------------------ gthread */

/* Unlike gunicorn's, a threaded worker whose main loop keeps beating is
 * still recycled when one request runs past --timeout (the scoreboard has
 * each thread's request start): WORKER TIMEOUT, the traceback naming the
 * stuck function, the worker replaced; meanwhile the worker's other
 * threads answer. */
static void test_gthread_timeout(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "4", "--timeout", "2", NULL};
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    assert_int_equal(h_log_count(s, "Using worker: gthread"), 1);
    pid_t kids[MAX_KIDS], now[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 1, kids, 10000));

    int fd = send_get(s->port, "/sleep?30");
    assert_true(fd >= 0);
    assert_true(h_wait_log(s, "sleep: start ", 1, 10000));
    long long t0 = now_ms();
    /* the same worker's other threads serve meanwhile */
    char body[64];
    assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
    assert_int_equal(atoi(body), kids[0]);

    char want[128];
    snprintf(want, sizeof(want), "[CRITICAL] WORKER TIMEOUT (pid:%d)", (int)kids[0]);
    assert_true(h_wait_log(s, want, 1, 10000));
    long long took = now_ms() - t0;
    assert_true(took >= 1000);
    assert_true(took < 7000);
    snprintf(want, sizeof(want), "Traceback of worker %d at its timeout:", (int)kids[0]);
    assert_true(h_wait_log(s, want, 1, 5000));
    char *tb = log_after(s, want);
    assert_non_null(tb);
    assert_non_null(strstr(tb, "in stuck_in_sleep"));
    free(tb);
    char resp[4096];
    h_read_and_close(fd, resp, sizeof(resp), 10000);
    assert_true(resp[0] == '\0' || strncmp(resp, "HTTP/1.1 500 ", 13) == 0);
    assert_null(strstr(resp, "slept"));
    assert_true(h_wait_gone(kids[0], 8000));
    assert_true(h_wait_children(s->pid, 1, now, 10000));
    assert_int_not_equal(now[0], kids[0]);
    long long end = now_ms() + 10000;
    while (h_get(s->port, "/", body, sizeof(body)) != 200 && now_ms() < end)
        usleep(50000);
    assert_int_equal(atoi(body), now[0]);
}

/* INT with requests in flight in a threaded worker: a quick stop, within
 * a couple of seconds, the requests cut. */
static void test_gthread_quick_stop_in_flight(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "4", NULL};
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    pid_t kids[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 1, kids, 10000));
    int fds[2];
    for (int i = 0; i < 2; i++) {
        fds[i] = send_get(s->port, "/sleep?30");
        assert_true(fds[i] >= 0);
        assert_true(h_wait_log(s, "sleep: start ", i + 1, 10000));
    }
    long long t0 = now_ms();
    h_signal(s, SIGINT);
    assert_int_equal(h_wait_exit(s, 5000), 0);
    assert_true(now_ms() - t0 < 2500);
    assert_true(h_wait_gone(kids[0], 2000));
    for (int i = 0; i < 2; i++) {
        char resp[1024];
        h_read_and_close(fds[i], resp, sizeof(resp), 2000);
        assert_null(strstr(resp, "slept"));
    }
    assert_int_equal(h_log_count(s, "Shutting down: Master"), 1);
}

/* max-requests with threaded workers under load: no request fails. */
static void test_gthread_max_requests_under_load(void **state)
{
    (void)state;
    const char *extra[] = {"-w",
                           "2",
                           "-k",
                           "gthread",
                           "--threads",
                           "2",
                           "--max-requests",
                           "5",
                           "--max-requests-jitter",
                           "3",
                           NULL};
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    assert_true(h_wait_children(s->pid, 2, NULL, 10000));
    load_t l;
    tally_t t;
    load_start(&l, s->port, "/", 200);
    load_stop(&l, &t, true);
    assert_int_equal(t.failed, 0);
    assert_int_equal(t.ok, 200);
    assert_true(h_log_count(s, "Autorestarting worker after current request.") >= 200 / 8 - 2);
    assert_int_equal(h_log_count(s, "was sent"), 0);
    assert_int_equal(h_log_count(s, "exited with code"), 0);
}

/* ------------------------------------------------------------ crashes */

/* The worker a route crashes, found as the one that disappeared. */
static pid_t crashed_worker(const pid_t *kids, int n, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    do {
        for (int i = 0; i < n; i++)
            if (h_pid_gone(kids[i]))
                return kids[i];
        usleep(5000);
    } while (now_ms() < end);
    return 0;
}

/* A route crashing its worker under load: logged with the status, the
 * worker replaced at once, no other request fails.  want_fmt has one %d
 * for the pid. */
static void crash_under_load(const char *route, const char *want_fmt)
{
    const char *extra[] = {"-w", "2", NULL};
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    pid_t kids[MAX_KIDS], now[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 2, kids, 10000));
    load_t l;
    tally_t t;
    load_start(&l, s->port, "/", 100000);

    char resp[1024];
    int fd = send_get(s->port, route);
    assert_true(fd >= 0);
    h_read_and_close(fd, resp, sizeof(resp), 10000);
    assert_string_equal(resp, ""); /* the connection just closes */
    long long t0 = now_ms();
    pid_t dead = crashed_worker(kids, 2, 5000);
    assert_true(dead > 0);
    /* replaced at once: within the master's next pass */
    assert_true(h_wait_children(s->pid, 2, now, 3000));
    assert_false(contains_pid(now, 2, dead));
    assert_true(now_ms() - t0 < 3000);
    assert_true(h_wait_log(s, "Booting worker with pid", 3, 10000));
    usleep(300000); /* some load on the replacement too */
    load_stop(&l, &t, false);
    assert_true(t.ok > 0);
    assert_int_equal(t.failed, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    /* gunicorn's wording, checked last */
    char want[128];
    snprintf(want, sizeof(want), want_fmt, (int)dead);
    if (!h_wait_log(s, want, 1, 2000)) {
        char *log = h_log(s);
        fprintf(stderr, "wanted '%s' in:\n%s\n", want, log);
        free(log);
        fail();
    }
}

/* os._exit(7) in a request. */
static void test_worker_exit_code(void **state)
{
    (void)state;
    crash_under_load("/exit?7", "[ERROR] Worker (pid:%d) exited with code 7.");
}

/* A segfault in C code (ctypes) in a request: gunicorn 26 logs the
 * signal's name, "Worker (pid:N) was sent SIGSEGV!" (signal.Signals(sig)
 * .name) at WARNING. */
static void test_worker_segfault(void **state)
{
    (void)state;
    /* under ASan, let the signal kill the worker as it would in production */
    const char *cur = getenv("ASAN_OPTIONS");
    char opts[600];
    snprintf(saved_asan, sizeof(saved_asan), "%s", cur ? cur : "");
    snprintf(opts, sizeof(opts), "%s%shandle_segv=0", cur ? cur : "", cur && *cur ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    asan_changed = true;
    crash_under_load("/segv", "[WARNING] Worker (pid:%d) was sent SIGSEGV!");
}

/* A worker that booted fine and later exits 3 (or 4) still halts the
 * master with gunicorn's reason and code: gunicorn's reap_workers acts on
 * the exit code alone (GUNICORN.md 2.1). */
static void halt_on_code(int code, const char *reason)
{
    char route[32], want[128];
    const char *extra[] = {"-w", "2", NULL};
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    assert_true(h_wait_children(s->pid, 2, NULL, 10000));
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    snprintf(route, sizeof(route), "/exit?%d", code);
    assert_int_equal(h_get(s->port, route, NULL, 0), -1);
    assert_int_equal(h_wait_exit(s, 10000), code);
    snprintf(want, sizeof(want), "exited with code %d.", code);
    assert_int_equal(h_log_count(s, want), 1);
    assert_int_equal(h_log_count(s, "[ERROR] Shutting down: Master"), 1);
    snprintf(want, sizeof(want), "[ERROR] Reason: %s", reason);
    assert_int_equal(h_log_count(s, want), 1);
    /* the other worker was stopped gracefully, and nothing respawned */
    assert_int_equal(h_log_count(s, "Worker exiting (pid:"), 1);
    assert_int_equal(h_log_count(s, "Booting worker with pid"), 2);
    assert_int_equal(h_get(s->port, "/", NULL, 0), -1);
}

static void test_exit3_after_boot_halts(void **state)
{
    (void)state;
    halt_on_code(3, "Worker failed to boot.");
}

static void test_exit4_after_boot_halts(void **state)
{
    (void)state;
    halt_on_code(4, "App failed to load.");
}

/* QUIT (what the master sends its workers on INT/QUIT) reaching a worker
 * the moment it has answered a request, before it is back in poll(): the
 * worker must still quit at once, not hold the signal until the next
 * request (which the pending SystemExit would then fail with a 500). */
static void test_worker_quit_right_after_request(void **state)
{
    (void)state;
    srv_t *s = srv = start_app(NULL);
    assert_non_null(s);
    pid_t kids[MAX_KIDS];
    int lost = 0;
    for (int i = 0; i < 10; i++) {
        char body[64];
        assert_true(h_wait_children(s->pid, 1, kids, 10000));
        assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
        pid_t w = (pid_t)atoi(body);
        assert_int_equal(w, kids[0]);
        kill(w, SIGQUIT);
        if (!h_wait_gone(w, 1500)) {
            /* what the next request gets from it */
            int st = h_get(s->port, "/", NULL, 0);
            fprintf(stderr, "worker %d ignored QUIT; the next request got %d\n", (int)w, st);
            lost++;
            kill(w, SIGKILL); /* the next round gets a fresh worker */
            assert_true(h_wait_gone(w, 2000));
        }
    }
    if (lost)
        fprintf(stderr, "%d of 10 workers ignored a QUIT sent just after a request\n", lost);
    assert_int_equal(lost, 0);
}

/* ------------------------------------------------------------ pidfile */

/* -p: "PID\n", mode 0644 whatever the umask; a second server with the
 * same pid file refuses to start (exit 1) and leaves the file alone; TERM
 * removes it. */
static void test_pidfile(void **state)
{
    (void)state;
    const char *pf = tmpfile_path(0, ".pid");
    const char *extra[] = {"-p", pf, "-m", "077", NULL};
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    char buf[64], want[64];
    assert_true(read_file(pf, buf, sizeof(buf)) > 0);
    snprintf(want, sizeof(want), "%d\n", (int)s->pid);
    assert_string_equal(buf, want);
    struct stat st;
    assert_int_equal(stat(pf, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_true(S_ISREG(st.st_mode));

    char out[8192];
    const char *argv2[] = {"-b", "127.0.0.1:{port}", "-p", pf, "lifeapps:app", NULL};
    assert_int_equal(h_run(NULL, argv2, out, sizeof(out), 20000), 1);
    snprintf(want, sizeof(want), "Already running on PID %d", (int)s->pid);
    assert_non_null(strstr(out, want));
    assert_null(strstr(out, "Booting worker"));
    assert_true(read_file(pf, buf, sizeof(buf)) > 0);
    assert_int_equal(atoi(buf), s->pid);

    h_signal(s, SIGTERM);
    assert_int_equal(h_wait_exit(s, 10000), 0);
    assert_int_equal(access(pf, F_OK), -1);
}

/* A pid file naming a dead process is stale: it is replaced. */
static void test_pidfile_stale(void **state)
{
    (void)state;
    const char *pf = tmpfile_path(0, ".pid");
    pid_t dead = fork();
    assert_true(dead >= 0);
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    char buf[64];
    snprintf(buf, sizeof(buf), "%d\n", (int)dead);
    write_file(pf, buf);
    const char *extra[] = {"-p", pf, NULL};
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    assert_int_equal(pid_from_file(pf), s->pid);
    assert_int_equal(h_log_count(s, "Already running"), 0);
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
}

/* --------------------------------------------------------------- USR2 */

/* USR2 under load, gunicorn's upgrade: the new master gets the sockets,
 * "<pidfile>.2" and the title "master [app.2]"; a USR2 to either master
 * meanwhile is refused; TERM to the old master promotes the new one (the
 * pid file renamed, the title without .2).  No request fails. */
static void test_usr2_upgrade_under_load(void **state)
{
    (void)state;
    const char *pf = tmpfile_path(0, ".pid");
    char pf2[300], t[512], want[256];
    snprintf(pf2, sizeof(pf2), "%s.2", pf);
    const char *extra[] = {"-w", "2", "-p", pf, NULL};
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    pid_t old = s->pid, oldkids[MAX_KIDS], newkids[MAX_KIDS];
    assert_true(h_wait_children(old, 2, oldkids, 10000));
    assert_true(wait_title(old, "cgunicorn: master [lifeapps:app]", 5000));
    load_t l;
    tally_t tl;
    load_start(&l, s->port, "/", 100000);

    h_signal(s, SIGUSR2);
    assert_true(h_wait_log(s, "[INFO] Handling signal: usr2", 1, 5000));
    pid_t nm = wait_pidfile(pf2, 0, 20000);
    assert_true(nm > 0);
    remember_extra(nm);
    assert_int_not_equal(nm, old);
    assert_int_equal(pid_from_file(pf), old);
    snprintf(want, sizeof(want), "Listening at: http://127.0.0.1:%d (%d)", s->port, (int)nm);
    assert_true(h_wait_log(s, want, 1, 20000));
    assert_true(h_wait_children(nm, 2, newkids, 20000));
    assert_true(h_wait_log(s, "Booting worker with pid", 4, 20000));
    assert_true(wait_title(nm, "cgunicorn: master [lifeapps:app.2]", 5000));
    assert_true(wait_title(old, "cgunicorn: master [lifeapps:app]", 1000));
    assert_string_equal(title_of(newkids[0], t, sizeof(t)), "cgunicorn: worker [lifeapps:app.2]");
    /* the old workers are untouched */
    pid_t kids[MAX_KIDS];
    assert_int_equal(live_children(old, kids, MAX_KIDS), 3); /* 2 workers + the new master */

    /* a second upgrade is refused by both masters */
    kill(nm, SIGUSR2);
    assert_true(h_wait_log(s, "[WARNING] USR2 signal ignored. Parent exists.", 1, 5000));
    h_signal(s, SIGUSR2);
    assert_true(h_wait_log(s, "[WARNING] USR2 signal ignored. Child exists.", 1, 5000));
    usleep(200000);
    assert_int_equal(h_log_count(s, "Starting cgunicorn"), 2);

    /* TERM the old master: the new one is promoted */
    usleep(300000);
    h_signal(s, SIGTERM);
    assert_int_equal(h_wait_exit(s, 15000), 0);
    for (int i = 0; i < 2; i++)
        assert_true(h_wait_gone(oldkids[i], 5000));
    snprintf(want, sizeof(want), "[%d] [INFO] Master has been promoted.", (int)nm);
    assert_true(h_wait_log(s, want, 1, 5000));
    assert_true(wait_pidfile(pf, old, 5000) == nm);
    assert_int_equal(access(pf2, F_OK), -1);
    assert_true(wait_title(nm, "cgunicorn: master [lifeapps:app]", 5000));
    usleep(300000);
    load_stop(&l, &tl, false);
    assert_true(tl.ok > 0);
    assert_int_equal(tl.failed, 0);
    /* the new workers serve, and the new master is a complete server */
    char body[64];
    assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
    assert_true(contains_pid(newkids, 2, (pid_t)atoi(body)));
    assert_false(h_pid_gone(nm));
    kill(nm, SIGTERM);
    assert_true(h_wait_gone(nm, 15000));
    int status = -1;
    assert_int_equal(waitpid(nm, &status, 0), nm); /* reparented to us */
    extra_pids[0] = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(access(pf, F_OK), -1);
    assert_int_equal(h_get(s->port, "/", NULL, 0), -1);
}

/* The documented procedure when daemonized: USR2, WINCH the old master
 * (its workers stop, it stays), then roll back: HUP the old master (its
 * workers come back), TERM the new one.  No request fails; the old master
 * keeps its pid file. */
static void test_usr2_daemon_winch_rollback(void **state)
{
    (void)state;
    const char *pf = tmpfile_path(0, ".pid");
    const char *errlog = tmpfile_path(1, ".err");
    char pf2[300], bind[64], out[4096];
    int port = h_free_port();
    snprintf(pf2, sizeof(pf2), "%s.2", pf);
    snprintf(bind, sizeof(bind), "127.0.0.1:%d", port);
    const char *argv[] = {"-D",   "-w", "2",  "-p",           pf,  "--error-logfile",
                          errlog, "-b", bind, "lifeapps:app", NULL};
    assert_int_equal(h_run(NULL, argv, out, sizeof(out), 10000), 0);
    srv_t flog = {.pid = -1, .port = port};
    snprintf(flog.log, sizeof(flog.log), "%s", errlog);
    pid_t old = wait_pidfile(pf, 0, 10000);
    assert_true(old > 0);
    remember_extra(old);
    pid_t oldkids[MAX_KIDS], newkids[MAX_KIDS], kids[MAX_KIDS];
    assert_true(h_wait_children(old, 2, oldkids, 20000));
    assert_true(h_wait_log(&flog, "Booting worker with pid", 2, 20000));
    load_t l;
    tally_t tl;
    load_start(&l, port, "/", 100000);

    kill(old, SIGUSR2);
    pid_t nm = wait_pidfile(pf2, 0, 20000);
    assert_true(nm > 0);
    remember_extra(nm);
    assert_true(h_wait_children(nm, 2, newkids, 20000));
    assert_true(h_wait_log(&flog, "Booting worker with pid", 4, 20000));
    /* not daemonized again: the old master's child, in its session */
    assert_int_equal(getsid(nm), getsid(old));

    kill(old, SIGWINCH);
    assert_true(h_wait_log(&flog, "[INFO] graceful stop of workers", 1, 5000));
    for (int i = 0; i < 2; i++)
        assert_true(h_wait_gone(oldkids[i], 10000));
    usleep(500000);
    assert_int_equal(live_children(old, kids, MAX_KIDS), 1); /* only the new master */
    assert_false(h_pid_gone(old));
    char body[64];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(h_get(port, "/", body, sizeof(body)), 200);
        assert_true(contains_pid(newkids, 2, (pid_t)atoi(body)));
    }

    /* roll back */
    kill(old, SIGHUP);
    assert_true(h_wait_log(&flog, "[INFO] Hang up: Master", 1, 5000));
    assert_true(h_wait_children(old, 3, NULL, 20000)); /* 2 workers + the new master */
    assert_true(h_wait_log(&flog, "Booting worker with pid", 6, 20000));
    kill(nm, SIGTERM);
    assert_true(h_wait_log(&flog, "Shutting down: Master.2", 1, 15000));
    assert_true(h_wait_gone(nm, 10000));
    for (int i = 0; i < 2; i++)
        assert_true(h_wait_gone(newkids[i], 5000));
    assert_true(h_wait_children(old, 2, kids, 10000));
    assert_int_equal(access(pf2, F_OK), -1);
    assert_int_equal(pid_from_file(pf), old);
    usleep(300000);
    load_stop(&l, &tl, false);
    assert_true(tl.ok > 0);
    assert_int_equal(tl.failed, 0);
    assert_int_equal(h_log_count(&flog, "Master has been promoted"), 0);
    assert_int_equal(h_get(port, "/", body, sizeof(body)), 200);
    assert_true(contains_pid(kids, 2, (pid_t)atoi(body)));

    kill(old, SIGTERM);
    assert_true(h_wait_gone(old, 15000));
    assert_int_equal(access(pf, F_OK), -1);
    assert_int_equal(h_get(port, "/", NULL, 0), -1);
}

/* ------------------------------------------------------------ preload */

/* Lines of the import file (the pids that imported lifeapps). */
static int import_pids(const char *path, pid_t *out, int max)
{
    char buf[4096];
    int n = 0;
    if (read_file(path, buf, sizeof(buf)) < 0)
        return 0;
    for (char *p = buf; *p && n < max;) {
        out[n++] = (pid_t)atoi(p);
        p += strcspn(p, "\n");
        if (*p)
            p++;
    }
    return n;
}

/* --preload: the app is imported once, in the master, and a HUP does not
 * import it again; without it each worker imports it, again after HUP. */
static void test_preload(void **state)
{
    (void)state;
    const char *imp = tmpfile_path(0, ".imports");
    pid_t pids[16], kids[MAX_KIDS], now[MAX_KIDS];
    setenv("LIFE_IMPORT_FILE", imp, 1);

    const char *pre[] = {"-w", "2", "--preload", NULL};
    srv_t *s = srv = start_app(pre);
    assert_non_null(s);
    assert_true(h_wait_children(s->pid, 2, kids, 10000));
    assert_int_equal(import_pids(imp, pids, 16), 1);
    assert_int_equal(pids[0], s->pid);
    for (int i = 0; i < 4; i++) {
        char body[64];
        assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
        assert_true(contains_pid(kids, 2, (pid_t)atoi(body)));
    }
    h_signal(s, SIGHUP);
    assert_true(h_wait_log(s, "Hang up: Master", 1, 5000));
    for (int i = 0; i < 2; i++)
        assert_true(h_wait_gone(kids[i], 10000));
    assert_true(h_wait_children(s->pid, 2, now, 10000));
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    assert_int_equal(import_pids(imp, pids, 16), 1);
    stop_server(&srv);
    unlink(imp);

    const char *plain[] = {"-w", "2", NULL};
    s = srv = start_app(plain);
    assert_non_null(s);
    assert_true(h_wait_children(s->pid, 2, kids, 10000));
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    long long end = now_ms() + 5000;
    while (import_pids(imp, pids, 16) < 2 && now_ms() < end)
        usleep(20000);
    assert_int_equal(import_pids(imp, pids, 16), 2);
    assert_true(contains_pid(kids, 2, pids[0]) && contains_pid(kids, 2, pids[1]));
    h_signal(s, SIGHUP);
    assert_true(h_wait_log(s, "Hang up: Master", 1, 5000));
    for (int i = 0; i < 2; i++)
        assert_true(h_wait_gone(kids[i], 10000));
    assert_true(h_wait_children(s->pid, 2, now, 10000));
    end = now_ms() + 5000;
    while (import_pids(imp, pids, 16) < 4 && now_ms() < end)
        usleep(20000);
    assert_int_equal(import_pids(imp, pids, 16), 4);
    assert_true(contains_pid(now, 2, pids[2]) && contains_pid(now, 2, pids[3]));
}

/* ------------------------------------------------------------- reload */

static const char reload_app_fmt[] =
    "VERSION = '%s'\n"
    "def app(environ, start_response):\n"
    "    body = VERSION.encode()\n"
    "    start_response('200 OK', [('Content-Type', 'text/plain'),\n"
    "                              ('Content-Length', str(len(body)))])\n"
    "    return [body]\n";

static void write_reload_app(const char *path, const char *version)
{
    char text[1024];
    snprintf(text, sizeof(text), reload_app_fmt, version);
    write_file(path, text);
}

/* GET / until the body is want (a new worker may still be booting). */
static bool wait_body(int port, const char *want, int timeout_ms)
{
    char body[256] = "";
    long long end = now_ms() + timeout_ms;
    do {
        if (h_get(port, "/", body, sizeof(body)) == 200 && strcmp(body, want) == 0)
            return true;
        usleep(50000);
    } while (now_ms() < end);
    fprintf(stderr, "body '%s', wanted '%s'\n", body, want);
    return false;
}

/* --reload: editing the app's module restarts the worker, which serves
 * the new code; --reload-extra-file globs are watched, re-expanded so a
 * file created later counts too. */
static void test_reload(void **state)
{
    (void)state;
    const char *dir = make_tmpdir();
    char app[300], tpl[300], a[320], b[320], glob[320], want[400];
    snprintf(app, sizeof(app), "%s/reloadme.py", dir);
    snprintf(tpl, sizeof(tpl), "%s/templates", dir);
    snprintf(a, sizeof(a), "%s/a.html", tpl);
    snprintf(b, sizeof(b), "%s/b.html", tpl);
    snprintf(glob, sizeof(glob), "%s/*.html", tpl);
    write_reload_app(app, "one");
    assert_int_equal(mkdir(tpl, 0755), 0);
    write_file(a, "<p>a</p>\n");
    const char *argv[] = {"-b", "127.0.0.1:{port}", "--reload", "--reload-extra-file",
                          glob, "reloadme:app",     NULL};
    srv_t *s = srv = h_start_ready(dir, argv, 20000);
    assert_non_null(s);
    assert_int_equal(h_log_count(s, "[WARNING] Reloader is on. Use in development only!"), 1);
    assert_true(wait_body(s->port, "one", 5000));
    usleep(1200000); /* the worker has looked at its modules */

    write_reload_app(app, "second");
    snprintf(want, sizeof(want), "[INFO] Worker reloading: %s modified", app);
    assert_true(h_wait_log(s, want, 1, 10000));
    assert_true(h_wait_log(s, "Booting worker with pid", 2, 10000));
    assert_true(wait_body(s->port, "second", 10000));
    usleep(1200000);

    write_file(a, "<p>a, edited</p>\n");
    snprintf(want, sizeof(want), "[INFO] Worker reloading: %s modified", a);
    assert_true(h_wait_log(s, want, 1, 10000));
    assert_true(h_wait_log(s, "Booting worker with pid", 3, 10000));
    assert_true(wait_body(s->port, "second", 10000));

    /* a file the glob matches only now */
    write_file(b, "<p>b</p>\n");
    usleep(2500000);
    write_file(b, "<p>b, edited</p>\n");
    snprintf(want, sizeof(want), "[INFO] Worker reloading: %s modified", b);
    assert_true(h_wait_log(s, want, 1, 10000));
    assert_true(h_wait_log(s, "Booting worker with pid", 4, 10000));
    assert_true(wait_body(s->port, "second", 10000));
    assert_int_equal(h_log_count(s, "exited with code"), 0);
}

/* ------------------------------------------------- user, group, umask */

/* -u nobody -g nogroup as root: the workers run as nobody:nogroup without
 * supplementary groups (with --initgroups: nobody's groups), the master
 * stays root, requests work. */
static void user_group(bool initgroups)
{
    if (geteuid() != 0) {
        fprintf(stderr, "skipped: -u/-g need root (the tests run as root in CI)\n");
        skip();
    }
    struct passwd *pw = getpwnam("nobody");
    struct group *gr = getgrnam("nogroup");
    if (pw == NULL || gr == NULL) {
        fprintf(stderr, "skipped: no user nobody / group nogroup here\n");
        skip();
    }
    char uid[64], gid[64], v[128];
    snprintf(uid, sizeof(uid), "%d\t%d\t%d\t%d", (int)pw->pw_uid, (int)pw->pw_uid, (int)pw->pw_uid,
             (int)pw->pw_uid);
    snprintf(gid, sizeof(gid), "%d\t%d\t%d\t%d", (int)gr->gr_gid, (int)gr->gr_gid, (int)gr->gr_gid,
             (int)gr->gr_gid);
    const char *extra[] = {"-w", "2", "-u", "nobody", "-g", "nogroup", NULL, NULL};
    if (initgroups)
        extra[6] = "--initgroups";
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    pid_t kids[MAX_KIDS];
    assert_true(h_wait_children(s->pid, 2, kids, 10000));
    for (int i = 0; i < 4; i++) {
        char body[64];
        assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
        assert_true(contains_pid(kids, 2, (pid_t)atoi(body)));
    }
    for (int i = 0; i < 2; i++) {
        assert_string_equal(status_line(kids[i], "Uid:", v, sizeof(v)), uid);
        assert_string_equal(status_line(kids[i], "Gid:", v, sizeof(v)), gid);
        char groups[32];
        snprintf(groups, sizeof(groups), "%d", (int)gr->gr_gid);
        assert_string_equal(status_line(kids[i], "Groups:", v, sizeof(v)),
                            initgroups ? groups : "");
    }
    assert_string_equal(status_line(s->pid, "Uid:", v, sizeof(v)), "0\t0\t0\t0");
    assert_string_equal(status_line(s->pid, "Gid:", v, sizeof(v)), "0\t0\t0\t0");
    /* the master can still manage them: HUP replaces them */
    h_signal(s, SIGHUP);
    for (int i = 0; i < 2; i++)
        assert_true(h_wait_gone(kids[i], 10000));
    assert_true(h_wait_children(s->pid, 2, kids, 10000));
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    assert_string_equal(status_line(kids[0], "Uid:", v, sizeof(v)), uid);
}

static void test_user_group(void **state)
{
    (void)state;
    user_group(false);
}

static void test_user_group_initgroups(void **state)
{
    (void)state;
    user_group(true);
}

/* Start lifeapps:app on a unix socket with extra arguments; wait until it
 * answers there. */
static srv_t *start_unix(const char *sock_path, const char *const *extra)
{
    char bind[300];
    const char *argv[24] = {"-b", bind};
    int n = 2;
    snprintf(bind, sizeof(bind), "unix:%s", sock_path);
    for (int i = 0; extra && extra[i] && n < 21; i++)
        argv[n++] = extra[i];
    argv[n++] = "lifeapps:app";
    argv[n] = NULL;
    srv_t *s = h_start(NULL, argv);
    long long end = now_ms() + 20000;
    while (now_ms() < end) {
        if (h_log_count(s, "Booting worker with pid") > 0 &&
            unix_get(sock_path, "/", NULL, 0) == 200)
            return s;
        usleep(50000);
    }
    char *log = h_log(s);
    fprintf(stderr, "not ready on %s:\n%s\n", sock_path, log);
    free(log);
    return s;
}

/* -m 027 with a unix socket: the socket file is created 0750; without -m
 * (umask 0, gunicorn's default) 0777.  Removed on TERM. */
static void test_umask_unix_socket(void **state)
{
    (void)state;
    const char *dir = make_tmpdir();
    char sock[300];
    struct stat st;
    snprintf(sock, sizeof(sock), "%s/cg.sock", dir);
    const char *extra[] = {"-m", "027", NULL};
    srv_t *s = srv = start_unix(sock, extra);
    assert_int_equal(unix_get(sock, "/", NULL, 0), 200);
    assert_int_equal(stat(sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0750);
    char want[400];
    snprintf(want, sizeof(want), "Listening at: unix:%s (%d)", sock, (int)s->pid);
    assert_int_equal(h_log_count(s, want), 1);
    h_signal(s, SIGTERM);
    assert_int_equal(h_wait_exit(s, 10000), 0);
    assert_int_equal(access(sock, F_OK), -1);
    stop_server(&srv);

    s = srv = start_unix(sock, NULL);
    assert_int_equal(unix_get(sock, "/", NULL, 0), 200);
    assert_int_equal(stat(sock, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0777);
}

/* ---------------------------------------------------------- reuse_port */

/* --reuse-port: a second server binds the same port while the first
 * runs; the kernel spreads connections over both. */
static void test_reuse_port(void **state)
{
    (void)state;
    int port = h_free_port();
    char bind[64];
    snprintf(bind, sizeof(bind), "127.0.0.1:%d", port);
    const char *argv[] = {"-b", bind, "--reuse-port", "lifeapps:app", NULL};
    srv_t *a = srv = h_start(NULL, argv);
    a->port = port;
    assert_true(h_wait_log(a, "Booting worker with pid", 1, 20000));
    srv_t *b = srv2 = h_start(NULL, argv);
    b->port = port;
    assert_true(h_wait_log(b, "Booting worker with pid", 1, 20000));
    char want[96];
    snprintf(want, sizeof(want), "Listening at: http://127.0.0.1:%d (%d)", port, (int)b->pid);
    assert_int_equal(h_log_count(b, want), 1);
    assert_int_equal(h_log_count(b, "Connection in use"), 0);
    pid_t ka[MAX_KIDS], kb[MAX_KIDS];
    assert_true(h_wait_children(a->pid, 1, ka, 10000));
    assert_true(h_wait_children(b->pid, 1, kb, 10000));
    int from_a = 0, from_b = 0;
    for (int i = 0; i < 60 && (from_a == 0 || from_b == 0); i++) {
        char body[64];
        assert_int_equal(h_get(port, "/", body, sizeof(body)), 200);
        from_a += atoi(body) == ka[0];
        from_b += atoi(body) == kb[0];
    }
    assert_true(from_a > 0);
    assert_true(from_b > 0);
    /* one of them stops; the other goes on serving the port */
    h_signal(a, SIGTERM);
    assert_int_equal(h_wait_exit(a, 10000), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(h_get(port, "/", NULL, 0), 200);
}

/* ------------------------------------------------------------- systemd */

/* The binary path the harness runs, under the name `cgunicorn`. */
static const char *headless_binary(char *buf, size_t cap)
{
    const char *b = getenv("CG_BIN");
    snprintf(buf, cap, "%s", b ? b : "build/asan/cgunicorn-top");
    char *slash = strrchr(buf, '/');
    if (slash)
        snprintf(slash + 1, cap - (size_t)(slash + 1 - buf), "cgunicorn");
    return buf;
}

/* Start lifeapps:app (-w 2, no --bind) as systemd would with a socket
 * unit: a unix socket listening as fd 3, LISTEN_FDS=1, LISTEN_PID=<its
 * pid>, and NOTIFY_SOCKET; *nfd is our end of the notify socket. */
static srv_t *spawn_activated(const char *dir, const char *sock, const char *notify, int *nfd)
{
    char bin[1024], appsdir[512];
    struct sockaddr_un un = unix_addr(sock);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&un, sizeof(un)), 0);
    assert_int_equal(listen(lfd, 128), 0);
    struct sockaddr_un nu = unix_addr(notify);
    *nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(*nfd, (struct sockaddr *)&nu, sizeof(nu)), 0);

    srv_t *s = srv = calloc(1, sizeof(*s));
    snprintf(s->log, sizeof(s->log), "%.200s/server.log", dir);
    headless_binary(bin, sizeof(bin));
    h_path(appsdir, sizeof(appsdir), "tests/integration/apps");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char lp[32];
        int log = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
        setpgid(0, 0);
        dup2(log, 1);
        dup2(log, 2);
        if (lfd != 3) {
            dup2(lfd, 3);
            close(lfd);
        }
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        snprintf(lp, sizeof(lp), "%d", (int)getpid());
        setenv("LISTEN_PID", lp, 1);
        setenv("LISTEN_FDS", "1", 1);
        setenv("NOTIFY_SOCKET", notify, 1);
        if (chdir(appsdir) != 0)
            _exit(126);
        execl(bin, "cgunicorn", "-w", "2", "lifeapps:app", (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    close(lfd);
    return s;
}

/* The next sd_notify datagram (NUL-terminated), or "" after timeout_ms. */
static const char *recv_notify(int nfd, char *msg, size_t cap, int timeout_ms)
{
    struct pollfd p = {.fd = nfd, .events = POLLIN};
    msg[0] = '\0';
    if (poll(&p, 1, timeout_ms) == 1) {
        ssize_t n = recv(nfd, msg, cap - 1, 0);
        if (n > 0)
            msg[n] = '\0';
    }
    return msg;
}

/* Socket activation, as systemd does it: no --bind, the socket comes as fd
 * 3; NOTIFY_SOCKET gets READY=1 once it listens.  A systemd socket is
 * systemd's: not unlinked on exit. */
static void test_systemd_activation(void **state)
{
    (void)state;
    const char *dir = make_tmpdir();
    char sock[300], notify[300], want[400], msg[512];
    int nfd;
    snprintf(sock, sizeof(sock), "%s/activated.sock", dir);
    snprintf(notify, sizeof(notify), "%s/notify", dir);
    srv_t *s = spawn_activated(dir, sock, notify, &nfd);

    recv_notify(nfd, msg, sizeof(msg), 20000);
    close(nfd);
    assert_true(strncmp(msg, "READY=1\n", 8) == 0 || strcmp(msg, "READY=1") == 0);
    assert_true(h_wait_log(s, "Booting worker with pid", 2, 20000));
    snprintf(want, sizeof(want), "Listening at: unix:%s (%d)", sock, (int)s->pid);
    assert_int_equal(h_log_count(s, want), 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(unix_get(sock, "/", NULL, 0), 200);
    h_signal(s, SIGTERM);
    assert_int_equal(h_wait_exit(s, 10000), 0);
    assert_int_equal(access(sock, F_OK), 0);
}

/* USR2 of a socket-activated master: the new one gets the socket through
 * LISTEN_FDS/LISTEN_PID (not GUNICORN_FD), reports READY=1 too, and takes
 * over when the old one exits; the socket file stays. */
static void test_systemd_usr2(void **state)
{
    (void)state;
    const char *dir = make_tmpdir();
    char sock[300], notify[300], want[400], msg[512];
    int nfd;
    snprintf(sock, sizeof(sock), "%s/activated.sock", dir);
    snprintf(notify, sizeof(notify), "%s/notify", dir);
    srv_t *s = spawn_activated(dir, sock, notify, &nfd);
    pid_t old = s->pid;
    assert_non_null(strstr(recv_notify(nfd, msg, sizeof(msg), 20000), "READY=1"));
    assert_true(h_wait_log(s, "Booting worker with pid", 2, 20000));

    h_signal(s, SIGUSR2);
    assert_true(h_wait_log(s, "Starting cgunicorn", 2, 20000));
    snprintf(want, sizeof(want), "Listening at: unix:%s (", sock);
    assert_true(h_wait_log(s, want, 2, 20000));
    char *after = log_after(s, want);
    assert_non_null(after);
    char *second = strstr(after + 1, want);
    assert_non_null(second);
    pid_t nm = (pid_t)atol(second + strlen(want));
    free(after);
    assert_true(nm > 0);
    assert_int_not_equal(nm, old);
    remember_extra(nm);
    assert_non_null(strstr(recv_notify(nfd, msg, sizeof(msg), 20000), "READY=1"));
    assert_true(h_wait_children(nm, 2, NULL, 20000));
    assert_true(wait_title(nm, "cgunicorn: master [lifeapps:app.2]", 5000));

    h_signal(s, SIGTERM);
    assert_int_equal(h_wait_exit(s, 15000), 0);
    snprintf(want, sizeof(want), "[%d] [INFO] Master has been promoted.", (int)nm);
    assert_true(h_wait_log(s, want, 1, 5000));
    for (int i = 0; i < 4; i++)
        assert_int_equal(unix_get(sock, "/", NULL, 0), 200);
    kill(nm, SIGTERM);
    int status = -1;
    long long end = now_ms() + 15000;
    while (waitpid(nm, &status, WNOHANG) != nm && now_ms() < end)
        usleep(20000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    extra_pids[nextra - 1] = 0;
    close(nfd);
    assert_int_equal(access(sock, F_OK), 0);
}

/* ------------------------------------------------- settings not built */

/* --log-syslog and logconfig_dict are accepted and warned about (their
 * effect is not built); --worker-tmp-dir is accepted silently (the
 * heartbeat lives in the shared scoreboard, no temp file is needed). */
static void test_unbuilt_settings_warn(void **state)
{
    (void)state;
    const char *conf = tmpfile_path(0, ".py");
    write_file(conf, "logconfig_dict = {'version': 1}\n");
    const char *extra[] = {"-c", conf, "--log-syslog", "--worker-tmp-dir", "/dev/shm", NULL};
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    const char *names[] = {"syslog", "logconfig_dict"};
    for (int i = 0; i < 2; i++) {
        char want[160];
        snprintf(want, sizeof(want),
                 "[WARNING] Setting '%s' is accepted but not implemented yet in cgunicorn; it "
                 "has no effect",
                 names[i]);
        assert_int_equal(h_log_count(s, want), 1);
    }
    assert_int_equal(h_log_count(s, "worker_tmp_dir"), 0);
    assert_int_equal(h_log_count(s, "[WARNING]"), 2);
}

/* -------------------------------------------------------------- statsd */

/* A UDP socket on a free loopback port. */
static int udp_listener(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Collect datagrams (one per line in out) until every want[] line was
 * seen or timeout_ms. */
static bool collect_metrics(int fd, char *out, size_t cap, const char *const *want, int timeout_ms)
{
    size_t len = strlen(out);
    long long end = now_ms() + timeout_ms;
    for (;;) {
        bool all = true;
        for (int i = 0; want[i]; i++) {
            char line[300];
            snprintf(line, sizeof(line), "\n%s\n", want[i]);
            all = all && strstr(out, line) != NULL;
        }
        if (all)
            return true;
        long long left = end - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return false;
        char d[600];
        ssize_t n = recv(fd, d, sizeof(d) - 1, 0);
        if (n > 0 && len + (size_t)n + 2 < cap) {
            memcpy(out + len, d, (size_t)n);
            len += (size_t)n;
            out[len++] = '\n';
            out[len] = '\0';
        }
    }
}

/* The duration line: PREFIXgunicorn.request.duration:<float>|ms<tags>. */
static bool has_duration(const char *metrics, const char *prefix, const char *tags)
{
    char head[128];
    snprintf(head, sizeof(head), "\n%sgunicorn.request.duration:", prefix);
    for (const char *p = metrics; (p = strstr(p, head)) != NULL; p += strlen(head)) {
        char *end;
        double v = strtod(p + strlen(head), &end);
        char tail[64];
        snprintf(tail, sizeof(tail), "|ms%s\n", tags);
        if (end != p + strlen(head) && v >= 0 && strncmp(end, tail, strlen(tail)) == 0)
            return true;
    }
    return false;
}

/* --statsd-host/--statsd-prefix: per request the duration, the request
 * counter and the status counter; the workers gauge; with
 * --dogstatsd-tags every line carries |#tags. */
static void test_statsd(void **state)
{
    (void)state;
    int uport;
    int ufd = udp_listener(&uport);
    char host[64], metrics[16384] = "\n";
    snprintf(host, sizeof(host), "127.0.0.1:%d", uport);
    const char *extra[] = {"-w", "2", "--statsd-host", host, "--statsd-prefix", "myapp", NULL};
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    assert_true(h_wait_children(s->pid, 2, NULL, 10000));
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    assert_int_equal(h_get(s->port, "/boom", NULL, 0), 500);
    const char *want[] = {
        "myapp.gunicorn.requests:1|c|@1.0", "myapp.gunicorn.request.status.200:1|c|@1.0",
        "myapp.gunicorn.request.status.500:1|c|@1.0", "myapp.gunicorn.workers:2|g", NULL};
    bool ok = collect_metrics(ufd, metrics, sizeof(metrics), want, 5000);
    if (!ok)
        fprintf(stderr, "metrics received:%s\n", metrics);
    assert_true(ok);
    assert_true(has_duration(metrics, "myapp.", ""));
    stop_server(&srv);

    /* a trailing dot in the prefix is not doubled; tags */
    strcpy(metrics, "\n");
    const char *tagged[] = {
        "-w",       "1", "--statsd-host", host, "--statsd-prefix", "myapp.", "--dogstatsd-tags",
        "env:test", NULL};
    s = srv = start_app(tagged);
    assert_non_null(s);
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    const char *want2[] = {"myapp.gunicorn.requests:1|c|@1.0|#env:test",
                           "myapp.gunicorn.request.status.200:1|c|@1.0|#env:test",
                           "myapp.gunicorn.workers:1|g|#env:test", NULL};
    ok = collect_metrics(ufd, metrics, sizeof(metrics), want2, 5000);
    if (!ok)
        fprintf(stderr, "metrics received:%s\n", metrics);
    assert_true(ok);
    assert_true(has_duration(metrics, "myapp.", "|#env:test"));
    close(ufd);
}

/* gunicorn's Statsd logger also counts the error log's records by level:
 * log.exception() -> gunicorn.log.exception, log.critical() (WORKER
 * TIMEOUT) -> gunicorn.log.critical, error -> gunicorn.log.error, warning
 * -> gunicorn.log.warning.  An exception in a request is logged with
 * log.exception ("Error handling request"). */
static void test_statsd_log_counters(void **state)
{
    (void)state;
    int uport;
    int ufd = udp_listener(&uport);
    char host[64], metrics[16384] = "\n";
    snprintf(host, sizeof(host), "127.0.0.1:%d", uport);
    const char *extra[] = {"--statsd-host", host, "--statsd-prefix", "myapp", NULL};
    srv_t *s = srv = start_app(extra);
    assert_non_null(s);
    assert_int_equal(h_get(s->port, "/boom", NULL, 0), 500);
    const char *want[] = {"myapp.gunicorn.request.status.500:1|c|@1.0",
                          "myapp.gunicorn.log.exception:1|c|@1.0", NULL};
    bool ok = collect_metrics(ufd, metrics, sizeof(metrics), want, 3000);
    if (!ok)
        fprintf(stderr, "metrics received:%s\n", metrics);
    close(ufd);
    assert_true(ok);
}

int main(void)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_timeout_abort, teardown),
        cmocka_unit_test_teardown(test_timeout_kill, teardown),
        cmocka_unit_test_teardown(test_max_requests, teardown),
        cmocka_unit_test_teardown(test_max_requests_jitter_under_load, teardown),
        cmocka_unit_test_teardown(test_gthread_timeout, teardown),
        cmocka_unit_test_teardown(test_gthread_quick_stop_in_flight, teardown),
        cmocka_unit_test_teardown(test_gthread_max_requests_under_load, teardown),
        cmocka_unit_test_teardown(test_worker_exit_code, teardown),
        cmocka_unit_test_teardown(test_worker_segfault, teardown),
        cmocka_unit_test_teardown(test_exit3_after_boot_halts, teardown),
        cmocka_unit_test_teardown(test_exit4_after_boot_halts, teardown),
        cmocka_unit_test_teardown(test_worker_quit_right_after_request, teardown),
        cmocka_unit_test_teardown(test_pidfile, teardown),
        cmocka_unit_test_teardown(test_pidfile_stale, teardown),
        cmocka_unit_test_teardown(test_usr2_upgrade_under_load, teardown),
        cmocka_unit_test_teardown(test_usr2_daemon_winch_rollback, teardown),
        cmocka_unit_test_teardown(test_preload, teardown),
        cmocka_unit_test_teardown(test_reload, teardown),
        cmocka_unit_test_teardown(test_user_group, teardown),
        cmocka_unit_test_teardown(test_user_group_initgroups, teardown),
        cmocka_unit_test_teardown(test_umask_unix_socket, teardown),
        cmocka_unit_test_teardown(test_reuse_port, teardown),
        cmocka_unit_test_teardown(test_systemd_activation, teardown),
        cmocka_unit_test_teardown(test_systemd_usr2, teardown),
        cmocka_unit_test_teardown(test_unbuilt_settings_warn, teardown),
        cmocka_unit_test_teardown(test_statsd, teardown),
        cmocka_unit_test_teardown(test_statsd_log_counters, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
