/* test_green.c - the gevent and eventlet workers (issue 6) against the real
 * binary: cooperative concurrency proved by barriers (no timed assertions),
 * outbound HTTP through patched sockets, the tutorial's gevent config, the
 * WSGI flags, keep-alive, pipelining, cooperative wsgi.input and
 * wsgi.file_wrapper, the hub's heartbeat and WORKER TIMEOUT, signals,
 * max_requests and slow clients.  Most tests run once per class (the
 * [gevent]/[eventlet] suffix).  Apps: apps/greenapps.py (routes on
 * PATH_INFO), apps/slow_server.py (a slow upstream run by /usr/bin/python3),
 * the tutorial's examples/app.py. */
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
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"

#define MAX_KIDS 32
#define FANOUT 100

static srv_t *srv;
static pid_t upstream = -1; /* slow_server.py */
static char file_path[64];
static char tmpdir[128];

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void remove_tmp(void)
{
    char cmd[256];
    unlink(file_path);
    if (tmpdir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
}

static long long test_t0;

static int setup(void **state)
{
    (void)state;
    test_t0 = now_ms();
    return 0;
}

static int teardown(void **state)
{
    int rc = 0;
    (void)state;
    fprintf(stderr, "(the test took %lld ms)\n", now_ms() - test_t0);
    h_load_kill();
    if (upstream > 0) {
        kill(upstream, SIGKILL);
        waitpid(upstream, NULL, 0);
        upstream = -1;
    }
    if (srv) {
        char *log = h_log(srv);
        if (h_sanitizer_report(log)) {
            fprintf(stderr, "sanitizer report in the server's output:\n%s\n", log);
            rc = -1;
        }
        if (log && strstr(log, "Traceback"))
            fprintf(stderr, "a traceback in the server's output:\n%s\n", log);
        free(log);
    }
    h_stop(srv);
    srv = NULL;
    return rc;
}

/* Start greenapps:app with -k kind, -b and the extra arguments. */
static srv_t *start(const char *kind, const char *const *extra)
{
    const char *argv[40] = {"-k", kind, "-b", "127.0.0.1:{port}"};
    int n = 4;
    for (int i = 0; extra && extra[i] && n < 38; i++)
        argv[n++] = extra[i];
    argv[n++] = "greenapps:app";
    argv[n] = NULL;
    srv = h_start_ready(NULL, argv, 30000);
    assert_non_null(srv);
    return srv;
}

static pid_t the_worker(void)
{
    pid_t w;
    if (!h_wait_children(srv->pid, 1, &w, 10000))
        fail_msg("no single worker");
    return w;
}

/* Send "GET path" (Connection: close) on a new connection; the fd, -1. */
static int send_get(int port, const char *path)
{
    char req[512];
    int fd = connect_to(port);
    int n =
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    if (fd >= 0 && send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Read until EOF or the deadline; status and body (into body). */
static int read_response(int fd, char *body, size_t cap, long long deadline)
{
    char buf[65536];
    size_t len = 0;
    while (len + 1 < sizeof(buf)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long long left = deadline - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    int status = -1;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
    char *b = strstr(buf, "\r\n\r\n");
    snprintf(body, cap, "%s", b ? b + 4 : "");
    return status;
}

/* n concurrent GETs of path: every connection is opened and its request
 * sent before any response is read.  How many were a 200 with body want
 * (any body when NULL); the first few others are printed. */
static int fanout(int port, const char *path, int n, const char *want, int timeout_ms)
{
    int fds[FANOUT], good = 0, shown = 0;
    long long t0 = now_ms(), deadline = t0 + timeout_ms;
    assert_true(n <= FANOUT);
    for (int i = 0; i < n; i++)
        fds[i] = send_get(port, path);
    for (int i = 0; i < n; i++) {
        char body[256] = "";
        int st = fds[i] < 0 ? -1 : read_response(fds[i], body, sizeof(body), deadline);
        if (fds[i] >= 0)
            close(fds[i]);
        if (st == 200 && (want == NULL || strcmp(body, want) == 0))
            good++;
        else if (shown++ < 5)
            fprintf(stderr, "%s #%d: status %d body '%.100s'\n", path, i, st, body);
    }
    fprintf(stderr, "%d concurrent %s: %d good, %lld ms (information only)\n", n, path, good,
            now_ms() - t0);
    return good;
}

/* The pattern greenapps.py checks uploads against and serves files of. */
static unsigned char pat(size_t i)
{
    return (unsigned char)((i * 7 + 3) % 251);
}

/* ---------------------------------------------------------------- 1 */

/* 100 requests on one worker meet at a barrier: only possible when they
 * all run at once (patched time.sleep yields). */
static void test_barrier(void **state)
{
    const char *kind = *state;
    const char *extra[] = {"-w", "1", NULL};
    start(kind, extra);
    char path[64];
    snprintf(path, sizeof(path), "/barrier?key=b&n=%d", FANOUT);
    assert_int_equal(fanout(srv->port, path, FANOUT, "reached", 30000), FANOUT);
    /* and the worker is still the one that started, still serving */
    pid_t w = the_worker();
    char body[64];
    assert_int_equal(h_get(srv->port, "/pid", body, sizeof(body)), 200);
    assert_int_equal(atoi(body), w);
}

/* 100 requests that each sleep 1 s on one worker: all answered. */
static void test_sleep_fanout(void **state)
{
    const char *kind = *state;
    const char *extra[] = {"-w", "1", NULL};
    start(kind, extra);
    assert_int_equal(fanout(srv->port, "/sleep?secs=1", FANOUT, "slept 1.0", 30000), FANOUT);
}

/* ---------------------------------------------------------------- 2 */

/* Start slow_server.py on a free port with Debian's python; its port once
 * it accepts connections. */
static int start_upstream(void)
{
    char script[512];
    int port = h_free_port();
    h_path(script, sizeof(script), "tests/integration/apps/slow_server.py");
    upstream = fork();
    assert_true(upstream >= 0);
    if (upstream == 0) {
        char portbuf[16];
        snprintf(portbuf, sizeof(portbuf), "%d", port);
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(devnull, 1);
        execl("/usr/bin/python3", "python3", script, portbuf, (char *)NULL);
        _exit(127);
    }
    long long end = now_ms() + 15000;
    while (now_ms() < end) {
        int fd = connect_to(port);
        if (fd >= 0) {
            close(fd);
            return port;
        }
        assert_int_equal(waitpid(upstream, NULL, WNOHANG), 0);
        usleep(20000);
    }
    fail_msg("slow_server.py does not listen on %d", port);
    return -1;
}

/* 100 app requests, each an urllib call to an upstream that holds every
 * call until 100 are inside: all succeed only if the worker's outbound
 * sockets yield to the hub. */
static void test_outbound(void **state)
{
    const char *kind = *state;
    int up = start_upstream();
    const char *extra[] = {"-w", "1", NULL};
    start(kind, extra);
    char path[128];
    /* the upstream answers at all */
    snprintf(path, sizeof(path), "/outbound?port=%d&key=one&n=1", up);
    char body[256];
    int st = h_get(srv->port, path, body, sizeof(body));
    if (st != 200)
        fprintf(stderr, "%s: %d %s\n", path, st, body);
    assert_int_equal(st, 200);
    assert_string_equal(body, "reached");
    snprintf(path, sizeof(path), "/outbound?port=%d&key=all&n=%d", up, FANOUT);
    assert_int_equal(fanout(srv->port, path, FANOUT, "reached", 40000), FANOUT);
}

/* ---------------------------------------------------------------- 3 */

/* Copy examples/tutorial.conf.py into tmpdir with its log paths there. */
static void tutorial_conf(char *conf, size_t cap, char *access, char *errlog, size_t logcap)
{
    char src[512], line[1024];
    h_path(src, sizeof(src), "examples/tutorial.conf.py");
    snprintf(conf, cap, "%s/gunicorn.conf.py", tmpdir);
    snprintf(access, logcap, "%s/access.log", tmpdir);
    snprintf(errlog, logcap, "%s/error.log", tmpdir);
    FILE *in = fopen(src, "r"), *out = fopen(conf, "w");
    assert_non_null(in);
    assert_non_null(out);
    int replaced = 0;
    while (fgets(line, sizeof(line), in)) {
        char *a = strstr(line, "\"/log/access.log\""), *e = strstr(line, "\"/log/error.log\"");
        if (a) {
            fprintf(out, "%.*s\"%s\"%s", (int)(a - line), line, access, a + 17);
            replaced++;
        } else if (e) {
            fprintf(out, "%.*s\"%s\"%s", (int)(e - line), line, errlog, e + 16);
            replaced++;
        } else {
            fputs(line, out);
        }
    }
    fclose(in);
    fclose(out);
    assert_int_equal(replaced, 2);
}

/* The tutorial's gunicorn.conf.py (worker_class 'gevent', threads 2,
 * workers cpu_count()*2+1, its access_log_format) with -c, the Flask app. */
static void test_tutorial_config(void **state)
{
    (void)state;
    char conf[256], access[256], errlog[256], examples[512];
    tutorial_conf(conf, sizeof(conf), access, errlog, sizeof(access));
    h_path(examples, sizeof(examples), "examples");
    const char *argv[] = {"-c", conf, "-b", "127.0.0.1:{port}", "app:app", NULL};
    srv = h_start(examples, argv);
    /* the server's own output goes to errlog: watch that file */
    srv_t elog = {.pid = -1, .port = srv->port};
    snprintf(elog.log, sizeof(elog.log), "%s", errlog);
    long workers = sysconf(_SC_NPROCESSORS_ONLN) * 2 + 1;
    if (!h_wait_log(&elog, "Booting worker with pid", (int)workers, 60000)) {
        char *log = h_log(&elog), *out = h_log(srv);
        fprintf(stderr, "error log:\n%s\noutput:\n%s\n", log ? log : "", out ? out : "");
        free(log);
        free(out);
        fail();
    }
    assert_true(h_wait_children(srv->pid, (int)workers, NULL, 10000));
    assert_int_equal(h_log_count(&elog, "[INFO] Using worker: gevent"), 1);
    char body[256];
    long long end = now_ms() + 10000;
    int st;
    while ((st = h_get(srv->port, "/hello", body, sizeof(body))) != 200 && now_ms() < end)
        usleep(50000);
    assert_int_equal(st, 200);
    assert_string_equal(body, "Hello World!");
    assert_int_equal(h_get(srv->port, "/", body, sizeof(body)), 200);
    assert_string_equal(body, "nihao!");
    /* '%(t)s %(p)s %(h)s "%(r)s" %(s)s %(L)s %(b)s %(f)s" "%(a)s"' */
    srv_t alog = {.pid = -1};
    snprintf(alog.log, sizeof(alog.log), "%s", access);
    assert_true(h_wait_log(&alog, "\"GET /hello HTTP/1.1\"", 1, 5000));
    char *log = h_log(&alog);
    fprintf(stderr, "access log:\n%s", log);
    regex_t re;
    assert_int_equal(
        regcomp(&re,
                "^\\[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}\\] "
                "<[0-9]+> 127\\.0\\.0\\.1 \"GET /hello HTTP/1\\.1\" 200 [0-9]+\\.[0-9]{6} 12 "
                "-\" \"cg-test\"$",
                REG_EXTENDED | REG_NEWLINE),
        0);
    bool match = regexec(&re, log, 0, NULL, 0) == 0;
    regfree(&re);
    free(log);
    assert_true(match);
    /* nothing went to the server's stdout/stderr but what gunicorn prints
     * there with an errorlog (nothing) */
    char *out = h_log(srv);
    assert_null(strstr(out, "Traceback"));
    free(out);
    h_signal(srv, SIGTERM);
    assert_int_equal(h_wait_exit(srv, 15000), 0);
    assert_true(h_wait_log(&elog, "Shutting down: Master", 1, 2000));
}

/* ---------------------------------------------------------------- 4 */

/* wsgi.multithread False, wsgi.multiprocess as gunicorn (workers > 1),
 * and the modules were patched before the app was imported. */
static void test_wsgi_flags(void **state)
{
    const char *kind = *state;
    const char *extra[] = {"-w", "2", NULL};
    start(kind, extra);
    char body[2048];
    assert_int_equal(h_get(srv->port, "/env", body, sizeof(body)), 200);
    fprintf(stderr, "%s\n", body);
    assert_non_null(strstr(body, "\"multithread\": false"));
    /* gunicorn's base environ: wsgi.multiprocess = workers > 1 */
    assert_non_null(strstr(body, "\"multiprocess\": true"));
    assert_non_null(strstr(body, "\"run_once\": false"));
    assert_non_null(strstr(body, "\"has_file_wrapper\": true"));
    if (strcmp(kind, "gevent") == 0)
        assert_non_null(
            strstr(body, "\"gevent\": {\"socket\": true, \"threading\": true, \"time\": true}"));
    else
        assert_non_null(
            strstr(body, "\"eventlet\": {\"socket\": true, \"thread\": true, \"time\": true}"));
    teardown(NULL);
    /* one worker: multiprocess False, as gunicorn */
    const char *one[] = {"-w", "1", NULL};
    start(kind, one);
    assert_int_equal(h_get(srv->port, "/env", body, sizeof(body)), 200);
    assert_non_null(strstr(body, "\"multiprocess\": false"));
    assert_non_null(strstr(body, "\"multithread\": false"));
}

/* Keep-alive: several requests on one connection, one worker pid. */
static void test_keepalive(void **state)
{
    const char *kind = *state;
    start(kind, NULL);
    cl_t c;
    resp_t r;
    char first[32] = "";
    cl_open(&c, srv->port);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cl_get(&c, "/pid", NULL, &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.connection, "keep-alive");
        if (i == 0)
            snprintf(first, sizeof(first), "%s", r.body);
        assert_string_equal(r.body, first);
        resp_free(&r);
    }
    assert_int_equal(cl_get(&c, "/pid", "Connection: close\r\n", &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.connection, "close");
    resp_free(&r);
    assert_true(cl_closed(&c, 3000));
    cl_close(&c);
}

static void expect_echo(cl_t *c, const char *method, const char *path, const char *body)
{
    resp_t r;
    char want[256];
    assert_int_equal(cl_response(c, &r, false, 10000), 0);
    assert_int_equal(r.status, 200);
    snprintf(want, sizeof(want), "{\"body\": \"%s\", \"method\": \"%s\", \"path\": \"%s\"}", body,
             method, path);
    if (strcmp(r.body, want) != 0)
        fprintf(stderr, "expected %s\n     got %s\n", want, r.body);
    assert_string_equal(r.body, want);
    resp_free(&r);
}

/* Pipelined requests in one write: answered in order, the connection kept;
 * a sleeping request first does not let the later ones overtake it. */
static void test_pipelining(void **state)
{
    const char *kind = *state;
    start(kind, NULL);
    cl_t c;
    cl_open(&c, srv->port);
    assert_true(cl_sends(&c, "GET /p1 HTTP/1.1\r\nHost: x\r\n\r\n"
                             "POST /p2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                             "GET /p3 HTTP/1.1\r\nHost: x\r\n\r\n"));
    expect_echo(&c, "GET", "/p1", "");
    expect_echo(&c, "POST", "/p2", "hello");
    expect_echo(&c, "GET", "/p3", "");
    assert_true(cl_open_still(&c, 200));
    assert_true(cl_sends(&c, "GET /sleep?secs=0.5 HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /p4 HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /p5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    resp_t r;
    assert_int_equal(cl_response(&c, &r, false, 10000), 0);
    assert_string_equal(r.body, "slept 0.5");
    resp_free(&r);
    expect_echo(&c, "GET", "/p4", "");
    expect_echo(&c, "GET", "/p5", "");
    assert_true(cl_closed(&c, 3000));
    cl_close(&c);
}

/* A POST body of 1.5 MiB + 1: half of it sent, then another request is
 * answered while the app's wsgi.input.read() waits for the rest; then the
 * rest, checked byte by byte by the app. */
static void test_large_post_cooperative(void **state)
{
    const char *kind = *state;
    const char *extra[] = {"-w", "1", NULL};
    start(kind, extra);
    size_t total = 1536 * 1024 + 1, half = total / 2;
    unsigned char *buf = malloc(total);
    for (size_t i = 0; i < total; i++)
        buf[i] = pat(i);
    cl_t c;
    char head[256];
    cl_open(&c, srv->port);
    snprintf(head, sizeof(head), "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
             total);
    assert_true(cl_sends(&c, head));
    assert_true(cl_send(&c, buf, half));
    usleep(300000); /* the app is inside read() by now */
    char body[128];
    for (int i = 0; i < 3; i++)
        assert_int_equal(h_get(srv->port, "/pid", body, sizeof(body)), 200);
    assert_true(cl_send(&c, buf + half, total - half));
    resp_t r;
    assert_int_equal(cl_response(&c, &r, false, 20000), 0);
    char want[128];
    snprintf(want, sizeof(want), "ok %zu", total);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, want);
    resp_free(&r);
    /* chunked, and readline() */
    assert_true(cl_sends(&c, "POST /upload_readline HTTP/1.1\r\nHost: x\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"
                             "6\r\nab\ncd\n\r\n"));
    usleep(200000);
    assert_int_equal(h_get(srv->port, "/pid", body, sizeof(body)), 200);
    assert_true(cl_sends(&c, "4\r\n\nef\n\r\n0\r\n\r\n"));
    assert_int_equal(cl_response(&c, &r, false, 10000), 0);
    assert_string_equal(r.body, "lines 4 10");
    resp_free(&r);
    cl_close(&c);
    free(buf);
}

/* Read a whole Content-Length response from c; its body length, checking
 * the pattern when check. */
static size_t read_body_checked(cl_t *c, bool check, const char *what)
{
    resp_t r;
    long long t0 = now_ms();
    int rc = cl_response(c, &r, false, 30000);
    if (rc != 0)
        fprintf(stderr, "%s: no whole response after %lld ms (%s, %zu bytes of the body)\n", what,
                now_ms() - t0, c->eof ? "closed" : "still open", c->len);
    assert_int_equal(rc, 0);
    assert_int_equal(r.status, 200);
    size_t n = r.body_len;
    if (check)
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)r.body[i] != pat(i)) {
                fprintf(stderr, "byte %zu is %d, want %d\n", i, (unsigned char)r.body[i], pat(i));
                fail();
            }
    resp_free(&r);
    return n;
}

/* wsgi.file_wrapper: a real file and a file-like object, whole and
 * correct; a client that stops reading a file (or a big streamed answer)
 * half-way does not stop the worker from answering others. */
static void test_file_wrapper(void **state)
{
    const char *kind = *state;
    const char *extra[] = {"-w", "1", NULL};
    start(kind, extra);
    cl_t c;
    cl_open(&c, srv->port);
    assert_true(cl_sends(&c, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_int_equal(read_body_checked(&c, true, "/file"), 3 * 1024 * 1024 + 5);
    assert_true(cl_sends(&c, "GET /fileobj HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_int_equal(read_body_checked(&c, true, "/fileobj"), 300000);
    cl_close(&c);

    static const char *paths[] = {"/file", "/big"};
    for (int i = 0; i < 2; i++) {
        cl_t slow;
        char req[128], body[64];
        /* a small receive buffer, set before connecting (shrinking it on
         * an established connection stalls TCP for a minute) */
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)srv->port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int small = 4096;
        memset(&slow, 0, sizeof(slow));
        slow.fd = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(slow.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
        assert_int_equal(connect(slow.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
        assert_true(cl_sends(&slow, req));
        usleep(300000); /* the response fills the socket buffers */
        for (int k = 0; k < 3; k++)
            assert_int_equal(h_get(srv->port, "/pid", body, sizeof(body)), 200);
        size_t n = read_body_checked(&slow, i == 0, paths[i]);
        assert_int_equal(n, i == 0 ? 3 * 1024 * 1024 + 5 : 8 * 1024 * 1024);
        cl_close(&slow);
    }
}

/* ---------------------------------------------------------------- 5 */

/* --timeout 3: a request sleeping 7 s in patched sleep is not a stuck
 * worker (the hub beats); a CPU-bound one is: WORKER TIMEOUT, new worker.
 * (As in gunicorn, the worker's boot counts towards its timeout too:
 * importing eventlet alone takes seconds on a loaded machine, so the
 * sleeping part only counts timeouts after the app answered.) */
static void test_timeout(void **state)
{
    const char *kind = *state;
    const char *extra[] = {"-w", "1", "--timeout", "3", NULL};
    start(kind, extra);
    char body[128];
    long long end = now_ms() + 20000;
    int st;
    while ((st = h_get(srv->port, "/pid", body, sizeof(body))) != 200 && now_ms() < end)
        usleep(50000);
    assert_int_equal(st, 200);
    pid_t w = atoi(body);
    int before = h_log_count(srv, "WORKER TIMEOUT");
    if (before)
        fprintf(stderr, "a worker timed out while booting\n");
    assert_int_equal(h_get(srv->port, "/sleep?secs=7", body, sizeof(body)), 200);
    assert_string_equal(body, "slept 7.0");
    assert_int_equal(h_log_count(srv, "WORKER TIMEOUT"), before);
    assert_int_equal(h_get(srv->port, "/pid", body, sizeof(body)), 200);
    assert_int_equal(atoi(body), w);

    int fd = send_get(srv->port, "/busy?secs=8");
    assert_true(fd >= 0);
    assert_true(h_wait_log(srv, "green busy: start", 1, 5000));
    char want[64];
    snprintf(want, sizeof(want), "WORKER TIMEOUT (pid:%d)", (int)w);
    assert_true(h_wait_log(srv, want, 1, 15000));
    /* as for the sync worker (test_lifecycle's test_timeout_abort): the
     * SIGABRT's SystemExit ends the request with a 500, or the connection
     * just closes */
    st = read_response(fd, body, sizeof(body), now_ms() + 10000);
    assert_true(st == -1 || st == 500);
    close(fd);
    pid_t now = w;
    end = now_ms() + 15000;
    while (now == w && now_ms() < end) {
        pid_t kids[MAX_KIDS];
        if (h_children(srv->pid, kids, MAX_KIDS) == 1)
            now = kids[0];
        usleep(50000);
    }
    assert_int_not_equal(now, w);
    assert_true(h_wait_gone(w, 5000));
    end = now_ms() + 15000;
    while ((st = h_get(srv->port, "/pid", body, sizeof(body))) != 200 && now_ms() < end)
        usleep(50000);
    assert_int_equal(st, 200);
    assert_int_equal(atoi(body), now);
}

/* ---------------------------------------------------------------- 6 */

/* TERM with a sleeping request in flight: it completes, exit 0. */
static void test_term_graceful(void **state)
{
    const char *kind = *state;
    start(kind, NULL);
    pid_t w = the_worker();
    int fd = send_get(srv->port, "/sleep?secs=2");
    assert_true(h_wait_log(srv, "green sleep: start", 1, 5000));
    h_signal(srv, SIGTERM);
    char body[128];
    assert_int_equal(read_response(fd, body, sizeof(body), now_ms() + 15000), 200);
    close(fd);
    assert_string_equal(body, "slept 2.0");
    assert_int_equal(h_wait_exit(srv, 15000), 0);
    assert_true(h_wait_gone(w, 2000));
    char want[64];
    snprintf(want, sizeof(want), "Worker exiting (pid: %d)", (int)w);
    assert_int_equal(h_log_count(srv, want), 1);
    assert_int_equal(h_log_count(srv, "Shutting down: Master"), 1);
}

/* INT or QUIT with a long request in flight: the server is out quickly
 * (well before the request would end) and the request is not answered. */
static void quick_stop(const char *kind, int sig)
{
    start(kind, NULL);
    pid_t w = the_worker();
    int fd = send_get(srv->port, "/sleep?secs=30");
    assert_true(h_wait_log(srv, "green sleep: start", 1, 5000));
    long long t0 = now_ms();
    h_signal(srv, sig);
    int rc = h_wait_exit(srv, 10000);
    fprintf(stderr, "%s: exit %d after %lld ms\n", sig == SIGINT ? "INT" : "QUIT", rc,
            now_ms() - t0);
    assert_int_equal(rc, 0);
    assert_true(h_wait_gone(w, 2000));
    char body[128];
    assert_int_equal(read_response(fd, body, sizeof(body), now_ms() + 3000), -1);
    close(fd);
}

static void test_int_quick(void **state)
{
    quick_stop(*state, SIGINT);
}

static void test_quit_quick(void **state)
{
    quick_stop(*state, SIGQUIT);
}

/* HUP: new workers (new pids) that serve. */
static void test_hup(void **state)
{
    const char *kind = *state;
    const char *extra[] = {"-w", "2", NULL};
    start(kind, extra);
    pid_t old[2], now[2];
    assert_true(h_wait_children(srv->pid, 2, old, 10000));
    h_signal(srv, SIGHUP);
    assert_true(h_wait_log(srv, "Handling signal: hup", 1, 5000));
    assert_true(h_wait_gone(old[0], 15000));
    assert_true(h_wait_gone(old[1], 15000));
    assert_true(h_wait_children(srv->pid, 2, now, 15000));
    for (int i = 0; i < 2; i++)
        assert_true(now[i] != old[0] && now[i] != old[1]);
    assert_true(h_wait_log(srv, "Booting worker with pid", 4, 15000));
    char body[64];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(h_get(srv->port, "/pid", body, sizeof(body)), 200);
        assert_true(atoi(body) == now[0] || atoi(body) == now[1]);
    }
    assert_int_equal(fanout(srv->port, "/sleep?secs=0.2", 20, "slept 0.2", 20000), 20);
}

/* TTIN adds a worker, TTOU removes one. */
static void test_ttin_ttou(void **state)
{
    const char *kind = *state;
    start(kind, NULL);
    pid_t kids[MAX_KIDS];
    the_worker();
    h_signal(srv, SIGTTIN);
    assert_true(h_wait_children(srv->pid, 2, kids, 15000));
    assert_true(h_wait_log(srv, "Booting worker with pid", 2, 15000));
    h_signal(srv, SIGTTOU);
    assert_true(h_wait_children(srv->pid, 1, kids, 15000));
    char body[64];
    assert_int_equal(h_get(srv->port, "/pid", body, sizeof(body)), 200);
    assert_int_equal(atoi(body), kids[0]);
}

/* --max-requests 5 under a steady load: the worker is replaced, and no
 * request fails across the replacements. */
static void test_max_requests(void **state)
{
    const char *kind = *state;
    const char *extra[] = {"-w", "1", "--max-requests", "5", NULL};
    start(kind, extra);
    pid_t first = the_worker();
    h_load_t l;
    assert_true(h_load_start(&l, srv->port, "/pid", NULL, 40, 30000));
    /* the load stops by itself after 40 requests */
    long long end = now_ms() + 30000;
    while (h_log_count(srv, "Autorestarting worker after current request.") < 4 && now_ms() < end)
        usleep(50000);
    int ok, failed;
    assert_true(h_load_stop(&l, &ok, &failed));
    fprintf(stderr, "max_requests: %d ok, %d failed, %d restarts\n", ok, failed,
            h_log_count(srv, "Autorestarting worker after current request."));
    assert_int_equal(failed, 0);
    assert_true(ok > 10);
    assert_true(h_log_count(srv, "Autorestarting worker after current request.") >= 2);
    assert_true(h_wait_gone(first, 5000));
}

/* ---------------------------------------------------------------- 7 */

/* A client sending its head one byte per 100 ms, then its body the same
 * way: other requests are answered meanwhile; it is answered at the end. */
static void test_slow_client(void **state)
{
    const char *kind = *state;
    const char *extra[] = {"-w", "1", NULL};
    start(kind, extra);
    const char *req = "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n0123";
    size_t n = strlen(req), served = 0;
    cl_t c;
    cl_open(&c, srv->port);
    for (size_t i = 0; i < n; i++) {
        assert_true(cl_send(&c, req + i, 1));
        usleep(100000);
        if (i % 10 == 5) {
            char body[64];
            assert_int_equal(h_get(srv->port, "/pid", body, sizeof(body)), 200);
            served++;
        }
    }
    assert_true(served >= 3);
    expect_echo(&c, "POST", "/slow", "0123");
    cl_close(&c);
}

/* ---------------------------------------------------------------- */

#define BOTH(f)                                                                                    \
    {#f "[gevent]", f, setup, teardown, (void *)"gevent"},                                         \
    {                                                                                              \
#f "[eventlet]", f, setup, teardown, (void *)"eventlet"                                    \
    }

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IONBF, 0); /* cmocka's lines in order with ours */
    snprintf(file_path, sizeof(file_path), "/tmp/cg-green-file-%d", (int)getpid());
    setenv("GREEN_FILE", file_path, 1);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cg-green-%d", (int)getpid());
    if (mkdir(tmpdir, 0700) != 0 && errno != EEXIST)
        return 1;
    atexit(remove_tmp);
    /* the server under test is chosen by each test; not by the re-run
     * variable */
    unsetenv("CG_TEST_WORKER_ARGS");
    /* CG_TEST_FILTER='test_timeout*': run only the matching tests */
    if (getenv("CG_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CG_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        BOTH(test_barrier),
        BOTH(test_sleep_fanout),
        BOTH(test_outbound),
        cmocka_unit_test_setup_teardown(test_tutorial_config, setup, teardown),
        BOTH(test_wsgi_flags),
        BOTH(test_keepalive),
        BOTH(test_pipelining),
        BOTH(test_large_post_cooperative),
        BOTH(test_file_wrapper),
        BOTH(test_timeout),
        BOTH(test_term_graceful),
        BOTH(test_int_quick),
        BOTH(test_quit_quick),
        BOTH(test_hup),
        BOTH(test_ttin_ttou),
        BOTH(test_max_requests),
        BOTH(test_slow_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
