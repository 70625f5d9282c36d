/* test_hooks.c - gunicorn's server hooks from a Python config file
 * (apps/hookconf.py, GUNICORN.md 4): each runs at its moment, in the right
 * process, with the documented arguments; and an exception in each has the
 * effect it has in gunicorn (docs/OPERATIONS.md has the table).
 *
 * hookconf.py appends "NAME me=PID key=value ..." to $HOOK_LOG for every
 * call; $HOOK_RAISE makes one hook raise.  App: apps/lifeapps.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_KIDS 16
#define MAX_LINES 512

static srv_t *srv;
static pid_t extra_pid = -1; /* a USR2 child or a daemon */
static char hook_log[128], pidfile[128], errlog[128];

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int teardown(void **state)
{
    int rc = 0;
    (void)state;
    if (srv && h_server_dirty(srv))
        rc = -1;
    if (errlog[0]) {
        srv_t f = {.pid = -1};
        snprintf(f.log, sizeof(f.log), "%s", errlog);
        if (h_server_dirty(&f))
            rc = -1;
        unlink(errlog);
        errlog[0] = '\0';
    }
    if (extra_pid > 0) {
        pid_t kids[MAX_KIDS];
        int n = h_children(extra_pid, kids, MAX_KIDS);
        for (int i = 0; i < n; i++)
            kill(kids[i], SIGKILL);
        kill(extra_pid, SIGKILL);
        h_wait_gone(extra_pid, 2000);
        extra_pid = -1;
    }
    h_stop(srv);
    srv = NULL;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    if (hook_log[0])
        unlink(hook_log);
    if (pidfile[0]) {
        char p2[200];
        unlink(pidfile);
        snprintf(p2, sizeof(p2), "%s.2", pidfile);
        unlink(p2);
        pidfile[0] = '\0';
    }
    unsetenv("HOOK_RAISE");
    unsetenv("HOOK_POST_ARITY");
    return rc;
}

static int setup(void **state)
{
    (void)state;
    static int seq;
    snprintf(hook_log, sizeof(hook_log), "/tmp/cg-hooks-%d-%d.log", (int)getpid(), seq++);
    unlink(hook_log);
    setenv("HOOK_LOG", hook_log, 1);
    return 0;
}

/* Start lifeapps:app with -c hookconf.py and extra arguments; raise = the
 * hook that raises (NULL: none).  Does not wait. */
static srv_t *start_hooks(const char *raise, const char *const *extra)
{
    const char *argv[32] = {"-c", "hookconf.py", "-b", "127.0.0.1:{port}"};
    int n = 4;
    for (int i = 0; extra && extra[i] && n < 29; i++)
        argv[n++] = extra[i];
    argv[n++] = "lifeapps:app";
    argv[n] = NULL;
    if (raise)
        setenv("HOOK_RAISE", raise, 1);
    else
        unsetenv("HOOK_RAISE");
    return srv = h_start(NULL, argv);
}

/* Can we connect to port?  (Nothing is sent: no request, no hook.) */
static bool port_open(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static int count_lines_named(const char *name);

/* Like start_hooks, and wait until nworkers workers have run
 * post_worker_init and the port accepts connections. */
static srv_t *start_ready(const char *raise, const char *const *extra, int nworkers, pid_t *kids)
{
    srv_t *s = start_hooks(raise, extra);
    long long end = now_ms() + 20000;
    while (now_ms() < end) {
        if (count_lines_named("post_worker_init") >= nworkers && port_open(s->port) &&
            h_wait_children(s->pid, nworkers, kids, 0))
            return s;
        usleep(50000);
    }
    char *log = h_log(s);
    fprintf(stderr, "server not ready:\n%s\n", log);
    free(log);
    fail();
    return NULL;
}

/* --- the hook log ------------------------------------------------------- */

typedef struct {
    int n;
    char *line[MAX_LINES];
} hooklog_t;

static void hooklog_free(hooklog_t *h)
{
    for (int i = 0; i < h->n; i++)
        free(h->line[i]);
    h->n = 0;
}

static void hooklog_read(hooklog_t *h)
{
    char buf[4096];
    hooklog_free(h);
    FILE *f = fopen(hook_log, "r");
    if (f == NULL)
        return;
    while (h->n < MAX_LINES && fgets(buf, sizeof(buf), f)) {
        buf[strcspn(buf, "\n")] = '\0';
        h->line[h->n++] = strdup(buf);
    }
    fclose(f);
}

/* Does line hold the token (a whole space-separated word)? */
static bool has_token(const char *line, const char *tok)
{
    size_t n = strlen(tok);
    for (const char *p = line; (p = strstr(p, tok)) != NULL; p++)
        if ((p == line || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

/* The first line at or after from whose name is name and which holds every
 * token of the NULL-terminated list; -1 if none. */
static int find_v(const hooklog_t *h, int from, const char *name, va_list ap)
{
    const char *toks[16];
    int nt = 0;
    const char *t;
    while ((t = va_arg(ap, const char *)) != NULL && nt < 16)
        toks[nt++] = t;
    size_t nl = strlen(name);
    for (int i = from < 0 ? 0 : from; i < h->n; i++) {
        if (strncmp(h->line[i], name, nl) != 0 || h->line[i][nl] != ' ')
            continue;
        bool all = true;
        for (int k = 0; k < nt && all; k++)
            all = has_token(h->line[i], toks[k]);
        if (all)
            return i;
    }
    return -1;
}

static int find(const hooklog_t *h, int from, const char *name, ...)
{
    va_list ap;
    va_start(ap, name);
    int r = find_v(h, from, name, ap);
    va_end(ap);
    return r;
}

/* How many lines are calls of name. */
static int count(const hooklog_t *h, const char *name)
{
    int c = 0;
    size_t nl = strlen(name);
    for (int i = 0; i < h->n; i++)
        c += strncmp(h->line[i], name, nl) == 0 && h->line[i][nl] == ' ';
    return c;
}

/* How many calls of name the hook log has now. */
static int count_lines_named(const char *name)
{
    hooklog_t h = {0};
    hooklog_read(&h);
    int c = count(&h, name);
    hooklog_free(&h);
    return c;
}

/* Wait until the hook log has a line as find() describes; its index. */
static int wait_hook(hooklog_t *h, int from, int timeout_ms, const char *name, ...)
{
    long long end = now_ms() + timeout_ms;
    for (;;) {
        va_list ap;
        va_start(ap, name);
        hooklog_read(h);
        int r = find_v(h, from, name, ap);
        va_end(ap);
        if (r >= 0 || now_ms() >= end) {
            if (r < 0) {
                fprintf(stderr, "no '%s' hook line from %d in:\n", name, from);
                for (int i = 0; i < h->n; i++)
                    fprintf(stderr, "  %d: %s\n", i, h->line[i]);
            }
            return r;
        }
        usleep(20000);
    }
}

static const char *tok(char *buf, size_t cap, const char *key, long v)
{
    snprintf(buf, cap, "%s=%ld", key, v);
    return buf;
}

/* ------------------------------------------------------------ lifecycle */

/* Start, one request, TERM: every hook in its order, in its process, with
 * its arguments. */
static void test_hooks_start_request_stop(void **state)
{
    (void)state;
    pid_t kids[MAX_KIDS];
    srv_t *s = start_ready(NULL, NULL, 1, kids);
    pid_t m = s->pid, w = kids[0];
    char me_m[32], me_w[32], spid[32], wpid[32], ppid[32], listeners[64], t[64];
    tok(me_m, sizeof(me_m), "me", m);
    tok(me_w, sizeof(me_w), "me", w);
    tok(spid, sizeof(spid), "spid", m);
    tok(wpid, sizeof(wpid), "wpid", w);
    tok(ppid, sizeof(ppid), "ppid", m);
    snprintf(listeners, sizeof(listeners), "listeners=http://127.0.0.1:%d", s->port);

    char req[256], resp[4096];
    int n = snprintf(req, sizeof(req),
                     "GET /x?y=1 HTTP/1.1\r\nHost: h\r\nX-Test: 1\r\nConnection: close\r\n\r\n");
    assert_true(h_http(s->port, req, (size_t)n, resp, sizeof(resp), 5000) > 0);
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK"));
    hooklog_t h = {0};
    int pr = wait_hook(&h, 0, 5000, "post_request", "path=/x", NULL);
    h_signal(s, SIGTERM);
    assert_int_equal(h_wait_exit(s, 10000), 0);
    hooklog_read(&h);

    /* master side, before any worker: on_starting (no listeners yet),
     * nworkers_changed(1, None), when_ready (listening) */
    int os = find(&h, 0, "on_starting", me_m, spid, "listeners=", "proc=lifeapps:app",
                  "app=lifeapps:app", "nw=1", "cfgw=1", NULL);
    int nc = find(&h, 0, "nworkers_changed", me_m, spid, "new=1", "old=None", NULL);
    int wr = find(&h, 0, "when_ready", me_m, spid, listeners, "workers=", NULL);
    assert_true(os >= 0);
    assert_true(nc >= 0);
    assert_true(wr > os);
    assert_true(wr > nc);
    assert_int_equal(count(&h, "nworkers_changed"), 1);
    /* pre_fork in the master, post_fork and post_worker_init in the worker */
    int pf = find(&h, 0, "pre_fork", me_m, spid, "wpid=0", "age=0", "booted=False", NULL);
    assert_true(pf > wr);
    char wb[64];
    snprintf(wb, sizeof(wb), "wbind=127.0.0.1:%d", s->port);
    int pof = find(&h, 0, "post_fork", me_w, wpid, spid, ppid, "booted=False", wb, NULL);
    assert_true(pof > pf);
    assert_true(has_token(h.line[pof], tok(t, sizeof(t), "parent", m)));
    int pwi =
        find(&h, 0, "post_worker_init", me_w, wpid, ppid, "booted=False", "wtimeout=30", NULL);
    assert_true(pwi > pof);
    /* the request hooks, in the worker */
    int prq = find(&h, 0, "pre_request", me_w, wpid, "booted=True", "method=GET", "path=/x",
                   "query=y=1", "uri=/x?y=1", "version=1.1", "scheme=http", "xh=X-TEST:1", NULL);
    assert_true(prq > pwi);
    if (pr != find(&h, 0, "post_request", me_w, wpid, "method=GET", "path=/x", "env_path=/x",
                   "status=200_OK", "code=200", "ctype=text/plain", "nr=1", NULL)) {
        for (int i = 0; i < h.n; i++)
            fprintf(stderr, "  %d: %s\n", i, h.line[i]);
        fail_msg("post_request line %d: not the expected arguments", pr);
    }
    assert_true(pr > prq);
    char sent[32];
    snprintf(sent, sizeof(sent), "sent=%zu", strlen(strstr(resp, "\r\n\r\n") + 4));
    assert_true(has_token(h.line[pr], sent));
    /* TERM: worker_exit in the worker, child_exit in the master, on_exit
     * last */
    int we = find(&h, pr, "worker_exit", me_w, wpid, spid, "booted=True", "nr=1", NULL);
    int ce = find(&h, pr, "child_exit", me_m, spid, wpid, NULL);
    assert_true(we > pr);
    assert_true(ce > we);
    assert_int_equal(find(&h, 0, "on_exit", me_m, spid, NULL), h.n - 1);
    /* nothing else ran */
    assert_int_equal(count(&h, "on_reload") + count(&h, "worker_int") + count(&h, "worker_abort") +
                         count(&h, "pre_exec"),
                     0);
    /* server.log and worker.log write to the error log */
    assert_int_equal(h_log_count(s, "[INFO] on_starting says hello from the master"), 1);
    snprintf(t, sizeof(t), "[%d] [INFO] post_fork in worker %d", (int)w, (int)w);
    assert_int_equal(h_log_count(s, t), 1);
    assert_int_equal(h_log_count(s, "Exception in"), 0);
    hooklog_free(&h);
}

/* TTIN, TTOU, HUP: nworkers_changed with (new, old), pre_fork/post_fork
 * for every new worker, worker_exit/child_exit for every stopped one,
 * on_reload on HUP. */
static void test_hooks_ttin_ttou_hup(void **state)
{
    (void)state;
    pid_t kids[MAX_KIDS], two[MAX_KIDS], one[MAX_KIDS];
    srv_t *s = start_ready(NULL, NULL, 1, kids);
    pid_t m = s->pid, first = kids[0];
    char me_m[32], t1[32], t2[32];
    tok(me_m, sizeof(me_m), "me", m);
    hooklog_t h = {0};

    h_signal(s, SIGTTIN);
    int nc = wait_hook(&h, 0, 5000, "nworkers_changed", me_m, "new=2", "old=1", "nw=2", NULL);
    assert_true(nc > 0);
    assert_true(h_wait_children(m, 2, two, 10000));
    pid_t added = two[0] == first ? two[1] : two[0];
    assert_true(
        wait_hook(&h, nc, 5000, "post_worker_init", tok(t1, sizeof(t1), "me", added), NULL) > 0);
    int pf = find(&h, nc, "pre_fork", me_m, "age=1", NULL);
    int pof = find(&h, nc, "post_fork", tok(t1, sizeof(t1), "wpid", added), "age=1", NULL);
    assert_true(pf > nc);
    assert_true(pof > pf);

    /* TTOU stops the oldest: the first worker */
    h_signal(s, SIGTTOU);
    int nc2 = wait_hook(&h, pof, 5000, "nworkers_changed", me_m, "new=1", "old=2", NULL);
    assert_true(nc2 > 0);
    int ce = wait_hook(&h, nc2, 5000, "child_exit", me_m, tok(t1, sizeof(t1), "wpid", first), NULL);
    assert_true(ce > 0);
    int we = find(&h, nc2, "worker_exit", tok(t1, sizeof(t1), "me", first),
                  tok(t2, sizeof(t2), "wpid", first), NULL);
    assert_true(we > nc2);
    assert_true(we < ce);
    assert_true(h_wait_children(m, 1, one, 10000));
    assert_int_equal(one[0], added);

    /* HUP: on_reload, a new worker, the old one stopped */
    h_signal(s, SIGHUP);
    int orl = wait_hook(&h, ce, 5000, "on_reload", me_m, "nw=1", NULL);
    assert_true(orl > 0);
    int ce2 =
        wait_hook(&h, orl, 10000, "child_exit", me_m, tok(t1, sizeof(t1), "wpid", added), NULL);
    assert_true(ce2 > 0);
    assert_true(find(&h, orl, "pre_fork", me_m, "age=2", NULL) > orl);
    assert_true(find(&h, orl, "worker_exit", tok(t1, sizeof(t1), "me", added), NULL) > orl);
    assert_true(h_wait_children(m, 1, one, 10000));
    assert_int_not_equal(one[0], added);
    assert_true(wait_hook(&h, orl, 5000, "post_worker_init", tok(t1, sizeof(t1), "me", one[0]),
                          NULL) > orl);
    /* (cgunicorn fires nworkers_changed only when the count changes, so
     * not on this HUP; gunicorn's setter fires (1, 1) here too) */
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    hooklog_free(&h);
}

/* worker_int on QUIT/INT to a worker, worker_abort on a timeout. */
static void test_hooks_worker_int_abort(void **state)
{
    (void)state;
    pid_t kids[MAX_KIDS], now[MAX_KIDS];
    const char *extra[] = {"--timeout", "2", NULL};
    srv_t *s = start_ready(NULL, extra, 1, kids);
    char t1[32], t2[32];
    hooklog_t h = {0};

    /* sent once the worker is idle in its loop: a QUIT/INT that comes
     * earlier is held (test_lifecycle.c, test_worker_quit_right_after_request) */
    usleep(300000);
    kill(kids[0], SIGQUIT);
    int wi = wait_hook(&h, 0, 5000, "worker_int", tok(t1, sizeof(t1), "me", kids[0]),
                       tok(t2, sizeof(t2), "wpid", kids[0]), "booted=True", NULL);
    assert_true(wi > 0);
    assert_true(wait_hook(&h, wi, 5000, "child_exit", tok(t1, sizeof(t1), "wpid", kids[0]), NULL) >
                wi);
    assert_true(h_wait_gone(kids[0], 5000));
    assert_true(h_wait_children(s->pid, 1, now, 10000));
    assert_true(h_wait_log(s, "Booting worker with pid", 2, 10000));
    assert_int_equal(h_log_count(s, "exited with code"), 0); /* a quick exit is code 0 */

    /* INT does the same (sent once the worker is idle again: see
     * test_lifecycle.c's test_worker_quit_right_after_request) */
    pid_t second = now[0];
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    usleep(300000);
    kill(second, SIGINT);
    assert_true(wait_hook(&h, wi + 1, 5000, "worker_int", tok(t1, sizeof(t1), "me", second), NULL) >
                wi);
    assert_true(h_wait_gone(second, 5000));
    assert_true(h_wait_children(s->pid, 1, now, 10000));
    assert_true(h_wait_log(s, "Booting worker with pid", 3, 10000));

    /* a timeout: worker_abort in the stuck worker */
    pid_t third = now[0];
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    int fd = -1;
    {
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)s->port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        const char r[] = "GET /sleep?30 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(send(fd, r, sizeof(r) - 1, 0), (ssize_t)(sizeof(r) - 1));
    }
    int wa = wait_hook(&h, 0, 10000, "worker_abort", tok(t1, sizeof(t1), "me", third),
                       tok(t2, sizeof(t2), "wpid", third), NULL);
    close(fd);
    assert_true(wa > 0);
    assert_true(wait_hook(&h, wa, 5000, "worker_exit", tok(t1, sizeof(t1), "me", third), NULL) >
                wa);
    assert_true(h_wait_gone(third, 5000));
    char want[64];
    snprintf(want, sizeof(want), "Worker (pid:%d) exited with code 1.", (int)third);
    assert_true(h_wait_log(s, want, 1, 5000));
    assert_int_equal(count(&h, "worker_abort"), 1);
    assert_int_equal(count(&h, "worker_int"), 2);
    hooklog_free(&h);
}

/* USR2: pre_exec runs in the forked child, just before it becomes the new
 * master (same pid), with the old master as server. */
static void test_hooks_pre_exec(void **state)
{
    (void)state;
    pid_t kids[MAX_KIDS];
    srv_t *s = start_ready(NULL, NULL, 1, kids);
    pid_t m = s->pid;
    char t1[32], t2[32];
    hooklog_t h = {0};
    h_signal(s, SIGUSR2);
    int pe = wait_hook(&h, 0, 10000, "pre_exec", tok(t1, sizeof(t1), "spid", m), NULL);
    assert_true(pe > 0);
    pid_t child = (pid_t)atoi(strstr(h.line[pe], "me=") + 3);
    extra_pid = child;
    assert_int_not_equal(child, m);
    assert_int_equal(find(&h, 0, "pre_exec", tok(t1, sizeof(t1), "me", m), NULL), -1);
    /* the program it executed is the new master: same pid, .2 */
    int os = wait_hook(&h, pe, 20000, "on_starting", tok(t1, sizeof(t1), "me", child),
                       tok(t2, sizeof(t2), "spid", child), "proc=lifeapps:app.2", NULL);
    assert_true(os > pe);
    assert_true(wait_hook(&h, os, 20000, "post_worker_init", tok(t1, sizeof(t1), "ppid", child),
                          NULL) > os);
    assert_int_equal(count(&h, "pre_exec"), 1);
    kill(child, SIGTERM);
    assert_true(wait_hook(&h, os, 10000, "on_exit", tok(t1, sizeof(t1), "me", child), NULL) > os);
    assert_true(h_wait_gone(child, 10000));
    extra_pid = -1;
    h_signal(s, SIGTERM);
    assert_int_equal(h_wait_exit(s, 10000), 0);
    hooklog_free(&h);
}

/* post_request of arity 2 and 3 are adapted, as gunicorn does. */
static void test_hooks_post_request_arity(void **state)
{
    (void)state;
    pid_t kids[MAX_KIDS];
    char t1[32];
    hooklog_t h = {0};
    setenv("HOOK_POST_ARITY", "2", 1);
    srv_t *s = start_ready(NULL, NULL, 1, kids);
    assert_int_equal(h_get(s->port, "/two", NULL, 0), 200);
    assert_true(wait_hook(&h, 0, 5000, "post_request2", tok(t1, sizeof(t1), "me", kids[0]),
                          "path=/two", NULL) >= 0);
    assert_int_equal(count(&h, "post_request"), 0);
    assert_int_equal(h_log_count(s, "Exception in"), 0);
    bool bad = h_server_dirty(s);
    h_stop(s);
    srv = NULL;
    assert_false(bad);
    unlink(hook_log);

    setenv("HOOK_POST_ARITY", "3", 1);
    s = start_ready(NULL, NULL, 1, kids);
    assert_int_equal(h_get(s->port, "/three", NULL, 0), 200);
    assert_true(wait_hook(&h, 0, 5000, "post_request3", tok(t1, sizeof(t1), "me", kids[0]),
                          "path=/three", "env_path=/three", NULL) >= 0);
    assert_int_equal(h_log_count(s, "Exception in"), 0);
    hooklog_free(&h);
}

/* ---------------------------------------------------- exceptions in hooks */

/* The traceback of the exception hookconf.py raised in hook (as raised,
 * its $HOOK_RAISE name) is in the log. */
static void assert_traceback_as(srv_t *s, const char *hook, const char *raised)
{
    char want[96];
    snprintf(want, sizeof(want), "[ERROR] Exception in %s hook\nTraceback", hook);
    assert_true(h_wait_log(s, want, 1, 5000));
    snprintf(want, sizeof(want), "RuntimeError: hook %s failed", raised);
    assert_true(h_wait_log(s, want, 1, 1000));
}

static void assert_hook_traceback(srv_t *s, const char *hook)
{
    assert_traceback_as(s, hook, hook);
}

/* Wait for the master to exit; guard against a master that loops logging
 * (kill it when its log passes 4 MB).  Its exit code, or -1. */
static int wait_exit_bounded(srv_t *s, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        int rc = h_wait_exit(s, 100);
        if (rc >= 0)
            return rc;
        struct stat st;
        if (stat(s->log, &st) == 0 && st.st_size > 4 * 1024 * 1024) {
            kill(-s->pid, SIGKILL);
            fprintf(stderr, "the master loops: its log passed 4 MB\n");
            return -1;
        }
    }
    return -1;
}

/* An exception in on_starting or when_ready ends the start: exit 1, no
 * worker, the pid file removed. */
static void start_fails(const char *hook)
{
    snprintf(pidfile, sizeof(pidfile), "/tmp/cg-hooks-%d.pid", (int)getpid());
    const char *extra[] = {"-p", pidfile, NULL};
    srv_t *s = start_hooks(hook, extra);
    assert_int_equal(wait_exit_bounded(s, 20000), 1);
    assert_hook_traceback(s, hook);
    assert_int_equal(h_log_count(s, "Booting worker"), 0);
    assert_int_equal(access(pidfile, F_OK), -1);
    assert_int_equal(h_get(s->port, "/", NULL, 0), -1);
}

static void test_raise_on_starting(void **state)
{
    (void)state;
    start_fails("on_starting");
    assert_int_equal(h_log_count(srv, "Listening at"), 0);
}

static void test_raise_when_ready(void **state)
{
    (void)state;
    start_fails("when_ready");
    assert_int_equal(h_log_count(srv, "Listening at"), 1);
}

/* An exception in post_fork or post_worker_init is a worker that failed to
 * boot: the master halts with 3. */
static void boot_fails(const char *hook)
{
    srv_t *s = start_hooks(hook, NULL);
    assert_int_equal(wait_exit_bounded(s, 20000), 3);
    assert_hook_traceback(s, hook);
    assert_int_equal(h_log_count(s, "Booting worker with pid"), 1);
    assert_int_equal(h_log_count(s, "exited with code 3."), 1);
    assert_int_equal(h_log_count(s, "[ERROR] Reason: Worker failed to boot."), 1);
}

static void test_raise_post_fork(void **state)
{
    (void)state;
    boot_fails("post_fork");
}

static void test_raise_post_worker_init(void **state)
{
    (void)state;
    boot_fails("post_worker_init");
}

/* pre_request raising: that request gets a 500 ("Error handling request"),
 * post_request still runs for it, and the worker goes on serving. */
static void test_raise_pre_request(void **state)
{
    (void)state;
    pid_t kids[MAX_KIDS];
    srv_t *s = start_ready("pre_request", NULL, 1, kids);
    char body[64], t1[32];
    hooklog_t h = {0};
    assert_int_equal(h_get(s->port, "/fail", NULL, 0), 500);
    assert_hook_traceback(s, "pre_request");
    assert_true(h_wait_log(s, "[ERROR] Error handling request GET /fail", 1, 5000));
    assert_true(wait_hook(&h, 0, 5000, "post_request", "path=/fail", "code=500", NULL) >= 0);
    assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
    assert_int_equal(atoi(body), kids[0]);
    assert_true(wait_hook(&h, 0, 5000, "post_request", tok(t1, sizeof(t1), "me", kids[0]), "path=/",
                          "code=200", NULL) >= 0);
    assert_false(h_pid_gone(s->pid));
    hooklog_free(&h);
}

/* post_request raising: logged; the response was already a 200. */
static void test_raise_post_request(void **state)
{
    (void)state;
    pid_t kids[MAX_KIDS];
    srv_t *s = start_ready("post_request", NULL, 1, kids);
    char body[64];
    assert_int_equal(h_get(s->port, "/fail", body, sizeof(body)), 200);
    assert_int_equal(atoi(body), kids[0]);
    assert_hook_traceback(s, "post_request");
    assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
    assert_int_equal(atoi(body), kids[0]);
    assert_int_equal(h_log_count(s, "Error handling request"), 0);
}

/* gunicorn's main loop: any other exception is "Unhandled exception in
 * main loop", a quick stop and exit -1 (255). */
static void main_loop_fails_as(srv_t *s, const char *hook, const char *raised)
{
    assert_int_equal(wait_exit_bounded(s, 20000), 255);
    assert_traceback_as(s, hook, raised);
    assert_int_equal(h_log_count(s, "[ERROR] Unhandled exception in main loop"), 1);
    assert_int_equal(h_get(s->port, "/", NULL, 0), -1);
}

static void main_loop_fails(srv_t *s, const char *hook)
{
    main_loop_fails_as(s, hook, hook);
}

static void test_raise_pre_fork(void **state)
{
    (void)state;
    srv_t *s = start_hooks("pre_fork", NULL);
    main_loop_fails(s, "pre_fork");
    assert_int_equal(h_log_count(s, "Booting worker"), 0);
}

static void test_raise_child_exit(void **state)
{
    (void)state;
    pid_t kids[MAX_KIDS];
    srv_t *s = start_ready("child_exit", NULL, 1, kids);
    kill(kids[0], SIGTERM);
    main_loop_fails(s, "child_exit");
}

static void test_raise_nworkers_changed(void **state)
{
    (void)state;
    pid_t kids[MAX_KIDS];
    srv_t *s = start_ready("nworkers_changed", NULL, 1, kids);
    h_signal(s, SIGTTIN);
    main_loop_fails(s, "nworkers_changed");
}

/* The first call (old_value None) comes at start, before the workers:
 * cgunicorn treats it as the main loop's (gunicorn calls it from the
 * Arbiter's constructor, where the exception ends the program with 1). */
static void test_raise_nworkers_changed_first(void **state)
{
    (void)state;
    srv_t *s = start_hooks("nworkers_changed_first", NULL);
    main_loop_fails_as(s, "nworkers_changed", "nworkers_changed_first");
    assert_int_equal(h_log_count(s, "Booting worker"), 0);
}

static void test_raise_on_reload(void **state)
{
    (void)state;
    pid_t kids[MAX_KIDS];
    srv_t *s = start_ready("on_reload", NULL, 1, kids);
    h_signal(s, SIGHUP);
    main_loop_fails(s, "on_reload");
    assert_int_equal(h_log_count(s, "Booting worker"), 1);
}

/* on_exit raising: the server still stops, with exit code 1. */
static void test_raise_on_exit(void **state)
{
    (void)state;
    pid_t kids[MAX_KIDS];
    srv_t *s = start_ready("on_exit", NULL, 1, kids);
    h_signal(s, SIGTERM);
    assert_int_equal(wait_exit_bounded(s, 10000), 1);
    assert_hook_traceback(s, "on_exit");
    assert_int_equal(h_log_count(s, "Shutting down: Master"), 1);
    assert_true(h_pid_gone(kids[0]));
}

/* worker_exit, worker_int, worker_abort raising: logged; the worker exits
 * as it would have, and is replaced. */
static void test_raise_worker_exit(void **state)
{
    (void)state;
    pid_t kids[MAX_KIDS], now[MAX_KIDS];
    srv_t *s = start_ready("worker_exit", NULL, 1, kids);
    kill(kids[0], SIGTERM);
    assert_hook_traceback(s, "worker_exit");
    assert_true(h_wait_gone(kids[0], 5000));
    assert_true(h_wait_children(s->pid, 1, now, 10000));
    assert_int_not_equal(now[0], kids[0]);
    assert_int_equal(h_log_count(s, "exited with code"), 0);
    assert_true(h_wait_log(s, "Booting worker with pid", 2, 10000));
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
}

static void test_raise_worker_int(void **state)
{
    (void)state;
    pid_t kids[MAX_KIDS], now[MAX_KIDS];
    srv_t *s = start_ready("worker_int", NULL, 1, kids);
    usleep(300000); /* idle in its loop, as above */
    kill(kids[0], SIGQUIT);
    assert_hook_traceback(s, "worker_int");
    assert_true(h_wait_gone(kids[0], 5000));
    assert_true(h_wait_children(s->pid, 1, now, 10000));
    assert_true(h_wait_log(s, "Booting worker with pid", 2, 10000));
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    assert_false(h_pid_gone(s->pid));
}

static void test_raise_worker_abort(void **state)
{
    (void)state;
    pid_t kids[MAX_KIDS], now[MAX_KIDS];
    const char *extra[] = {"--timeout", "2", NULL};
    srv_t *s = start_ready("worker_abort", extra, 1, kids);
    char resp[1024];
    const char r[] = "GET /sleep?30 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    h_http(s->port, r, sizeof(r) - 1, resp, sizeof(resp), 10000);
    assert_hook_traceback(s, "worker_abort");
    assert_true(h_wait_gone(kids[0], 8000));
    assert_true(h_wait_children(s->pid, 1, now, 10000));
    assert_true(h_wait_log(s, "Booting worker with pid", 2, 10000));
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
}

/* pre_exec raising (in the USR2 child): logged, and the child goes on to
 * execute the new master (gunicorn's child would fall into its copy of the
 * main loop's exception handler instead). */
static void test_raise_pre_exec(void **state)
{
    (void)state;
    pid_t kids[MAX_KIDS];
    char t1[32];
    hooklog_t h = {0};
    srv_t *s = start_ready("pre_exec", NULL, 1, kids);
    h_signal(s, SIGUSR2);
    assert_hook_traceback(s, "pre_exec");
    int pe = wait_hook(&h, 0, 5000, "pre_exec", NULL);
    assert_true(pe >= 0);
    pid_t child = (pid_t)atoi(strstr(h.line[pe], "me=") + 3);
    extra_pid = child;
    assert_true(wait_hook(&h, pe, 20000, "when_ready", tok(t1, sizeof(t1), "me", child), NULL) >
                pe);
    /* the old master is untouched */
    assert_false(h_pid_gone(s->pid));
    assert_false(h_pid_gone(kids[0]));
    assert_int_equal(h_log_count(s, "Unhandled exception"), 0);
    hooklog_free(&h);
}

/* Daemonized, WINCH sets the worker count to 0: gunicorn's num_workers
 * setter fires nworkers_changed(server, 0, N). */
static void test_winch_fires_nworkers_changed(void **state)
{
    (void)state;
    char out[4096], t1[32];
    int port = h_free_port();
    char bind[64];
    hooklog_t h = {0};
    snprintf(bind, sizeof(bind), "127.0.0.1:%d", port);
    snprintf(pidfile, sizeof(pidfile), "/tmp/cg-hooks-%d.pid", (int)getpid());
    snprintf(errlog, sizeof(errlog), "/tmp/cg-hooks-%d.err", (int)getpid());
    unsetenv("HOOK_RAISE");
    const char *argv[] = {"-D",   "-c", "hookconf.py", "-p",           pidfile, "--error-logfile",
                          errlog, "-b", bind,          "lifeapps:app", NULL};
    assert_int_equal(h_run(NULL, argv, out, sizeof(out), 10000), 0);
    int wr = wait_hook(&h, 0, 20000, "post_worker_init", NULL);
    assert_true(wr >= 0);
    char buf[32] = "";
    FILE *f = fopen(pidfile, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    extra_pid = (pid_t)atoi(buf);
    assert_true(extra_pid > 0);
    kill(extra_pid, SIGWINCH);
    assert_true(wait_hook(&h, wr, 5000, "child_exit", tok(t1, sizeof(t1), "me", extra_pid), NULL) >
                wr);
    assert_true(find(&h, wr, "nworkers_changed", "new=0", "old=1", NULL) > wr);
    hooklog_free(&h);
}

int main(void)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hooks_start_request_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hooks_ttin_ttou_hup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hooks_worker_int_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hooks_pre_exec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hooks_post_request_arity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_on_starting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_when_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_post_fork, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_post_worker_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_pre_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_post_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_pre_fork, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_child_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_nworkers_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_nworkers_changed_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_on_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_on_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_worker_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_worker_int, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_worker_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise_pre_exec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_winch_fires_nworkers_changed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
