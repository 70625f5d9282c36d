/* test_gthread.c - the gthread worker against the real binary: keep-alive
 * (GUNICORN.md 6.1), pipelining in order, wsgi.multithread, the thread pool,
 * slow and vanishing clients (--client-timeout), max_requests with
 * keep-alive, graceful and quick shutdown with requests in threads, and the
 * worker timeout.  App: apps/http11apps.py (app routes on PATH_INFO). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"

#define MAX_KIDS 16

static srv_t *srv;

static char file_path[64];

static void remove_file(void)
{
    unlink(file_path);
}

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
    h_load_kill();
    rc = h_stop_checked(srv);
    srv = NULL;
    return rc;
}

/* Start http11apps:app with -b and the given arguments. */
static srv_t *start(const char *const *extra)
{
    const char *argv[32] = {"-b", "127.0.0.1:{port}"};
    int n = 2;
    for (int i = 0; extra && extra[i] && n < 30; i++)
        argv[n++] = extra[i];
    argv[n++] = "http11apps:app";
    argv[n] = NULL;
    srv = h_start_ready(NULL, argv, 20000);
    assert_non_null(srv);
    return srv;
}

/* Stop the server now, failing on a sanitizer report in its output. */
static void stop_checked(void)
{
    int rc = h_stop_checked(srv);
    srv = NULL;
    assert_int_equal(rc, 0);
}

/* The only worker's pid (waits for it to be there). */
static pid_t the_worker(void)
{
    pid_t kids[MAX_KIDS];
    long long end = now_ms() + 10000;
    while (now_ms() < end) {
        if (h_children(srv->pid, kids, MAX_KIDS) == 1)
            return kids[0];
        usleep(20000);
    }
    fail_msg("no single worker");
    return -1;
}

/* GET path (Connection: close) with its wall time in ms; -1 if it failed
 * or took more than 3 s. */
static long long timed_get(const char *path)
{
    char req[256], resp[4096];
    int n =
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    long long t0 = now_ms();
    int got = h_http(srv->port, req, (size_t)n, resp, sizeof(resp), 3000);
    long long ms = now_ms() - t0;
    return got > 0 && strncmp(resp, "HTTP/1.1 200 ", 13) == 0 && ms < 3000 ? ms : -1;
}

/* The state of the server's side of the connection from client_port, from
 * /proc/net/tcp: 1 ESTABLISHED, 4 FIN_WAIT1, ...; 0 when it is gone. */
static int server_side_state(int server_port, int client_port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    char line[512];
    int state = 0;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        unsigned lport, rport, st;
        if (sscanf(line, " %*d: %*x:%x %*x:%x %x", &lport, &rport, &st) == 3 &&
            (int)lport == server_port && (int)rport == client_port)
            state = (int)st;
    }
    fclose(f);
    return state;
}

static int local_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    return ntohs(sa.sin_port);
}

/* --- keep-alive --------------------------------------------------------- */

static void test_keepalive_rules(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "4", NULL};
    start(extra);
    cl_t c;
    resp_t r;
    char path[32], want[64];

    /* several requests on one connection, each answered and kept alive */
    cl_open(&c, srv->port);
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof(path), "/ka%d", i);
        assert_int_equal(cl_get(&c, path, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.connection, "keep-alive");
        snprintf(want, sizeof(want), "\"path\": \"/ka%d\"", i);
        assert_non_null(strstr(r.body, want));
        resp_free(&r);
    }
    /* Connection: close: answered with close, then the server closes */
    assert_int_equal(cl_get(&c, "/last", "Connection: close\r\n", &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.connection, "close");
    assert_non_null(strstr(r.body, "\"path\": \"/last\""));
    resp_free(&r);
    assert_true(cl_closed(&c, 2000));
    cl_close(&c);

    /* HTTP/1.0 without keep-alive: close */
    cl_open(&c, srv->port);
    assert_true(cl_sends(&c, "GET /h10 HTTP/1.0\r\nHost: x\r\n\r\n"));
    assert_int_equal(cl_response(&c, &r, false, 5000), 0);
    assert_ptr_equal(strstr(r.head, "HTTP/1.0 200 OK\r\n"), r.head);
    assert_string_equal(r.connection, "close");
    resp_free(&r);
    assert_true(cl_closed(&c, 2000));
    cl_close(&c);

    /* HTTP/1.0 with Connection: keep-alive stays open */
    cl_open(&c, srv->port);
    for (int i = 0; i < 3; i++) {
        assert_true(
            cl_sends(&c, "GET /h10ka HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"));
        assert_int_equal(cl_response(&c, &r, false, 5000), 0);
        assert_ptr_equal(strstr(r.head, "HTTP/1.0 200 OK\r\n"), r.head);
        assert_string_equal(r.connection, "keep-alive");
        assert_true(r.clen >= 0); /* 1.0 keep-alive needs a length */
        resp_free(&r);
    }
    assert_true(cl_open_still(&c, 300));
    cl_close(&c);

    /* a streamed response (no Content-Length) on keep-alive is chunked and
     * the connection is reusable after it */
    cl_open(&c, srv->port);
    assert_int_equal(cl_get(&c, "/nolength", NULL, &r), 0);
    assert_true(r.chunked);
    assert_string_equal(r.body, "alpha,beta,gamma");
    assert_string_equal(r.connection, "keep-alive");
    resp_free(&r);
    assert_int_equal(cl_get(&c, "/after", NULL, &r), 0);
    assert_non_null(strstr(r.body, "\"path\": \"/after\""));
    resp_free(&r);
    cl_close(&c);
}

/* --keep-alive 1: an idle connection is closed after about a second. */
static void test_keepalive_timeout(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "4", "--keep-alive", "1", NULL};
    start(extra);
    cl_t c;
    resp_t r;
    cl_open(&c, srv->port);
    assert_int_equal(cl_get(&c, "/", NULL, &r), 0);
    assert_string_equal(r.connection, "keep-alive");
    resp_free(&r);
    long long t0 = now_ms();
    assert_true(cl_closed(&c, 4000));
    long long took = now_ms() - t0;
    assert_int_equal(c.len, 0);
    fprintf(stderr, "idle keep-alive connection closed after %lld ms\n", took);
    assert_true(took >= 700);
    assert_true(took < 2500);
    cl_close(&c);
}

/* --keep-alive 0: every response closes. */
static void test_keepalive_disabled(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "4", "--keep-alive", "0", NULL};
    start(extra);
    cl_t c;
    resp_t r;
    cl_open(&c, srv->port);
    assert_int_equal(cl_get(&c, "/", NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.connection, "close");
    resp_free(&r);
    assert_true(cl_closed(&c, 2000));
    cl_close(&c);
}

/* --- pipelining --------------------------------------------------------- */

static void expect_path(cl_t *c, const char *path, const char *body)
{
    resp_t r;
    char want[128];
    assert_int_equal(cl_response(c, &r, false, 10000), 0);
    assert_int_equal(r.status, 200);
    snprintf(want, sizeof(want), "\"path\": \"%s\"", path);
    if (strstr(r.body, want) == NULL)
        fprintf(stderr, "expected %s, got:\n%s\n", want, r.body);
    assert_non_null(strstr(r.body, want));
    if (body) {
        snprintf(want, sizeof(want), "\"body\": \"%s\"", body);
        assert_non_null(strstr(r.body, want));
    }
    resp_free(&r);
}

static void test_pipelining(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "4", NULL};
    start(extra);
    cl_t c;

    /* three GETs in one write */
    cl_open(&c, srv->port);
    assert_true(cl_sends(&c, "GET /p1 HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /p2 HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /p3 HTTP/1.1\r\nHost: x\r\n\r\n"));
    expect_path(&c, "/p1", "");
    expect_path(&c, "/p2", "");
    expect_path(&c, "/p3", "");
    assert_true(cl_open_still(&c, 200));
    cl_close(&c);

    /* a POST with a body between two GETs; the last asks to close */
    cl_open(&c, srv->port);
    assert_true(cl_sends(&c, "GET /g1 HTTP/1.1\r\nHost: x\r\n\r\n"
                             "POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"
                             "hello world"
                             "GET /g2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    expect_path(&c, "/g1", "");
    expect_path(&c, "/post", "hello world");
    expect_path(&c, "/g2", "");
    assert_true(cl_closed(&c, 2000));
    cl_close(&c);

    /* a chunked POST (with an extension and a trailer) followed by a GET */
    cl_open(&c, srv->port);
    assert_true(cl_sends(&c, "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                             "\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
                             "GET /next HTTP/1.1\r\nHost: x\r\n\r\n"));
    expect_path(&c, "/chunked", "hello world");
    expect_path(&c, "/next", "");
    cl_close(&c);

    /* many small pipelined requests, some still arriving while the first
     * are answered */
    cl_open(&c, srv->port);
    char req[64];
    for (int i = 0; i < 40; i++) {
        snprintf(req, sizeof(req), "GET /m%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
        assert_true(cl_sends(&c, req));
        if (i % 10 == 9)
            usleep(20000);
    }
    for (int i = 0; i < 40; i++) {
        snprintf(req, sizeof(req), "/m%d", i);
        expect_path(&c, req, "");
    }
    cl_close(&c);
}

/* --- wsgi.multithread ---------------------------------------------------- */

static void multithread_is(const char *const *extra, const char *want_class, bool want)
{
    char body[16384];
    start(extra);
    char line[64];
    snprintf(line, sizeof(line), "Using worker: %s", want_class);
    assert_true(h_wait_log(srv, line, 1, 2000));
    /* the echo app of wsgiapps is not loaded here: ask ours */
    assert_int_equal(h_get(srv->port, "/mt", body, sizeof(body)), 200);
    assert_non_null(strstr(body, want ? "\"multithread\": true" : "\"multithread\": false"));
    stop_checked();
}

static void test_multithread_flag(void **state)
{
    (void)state;
    const char *gthread[] = {"-k", "gthread", "--threads", "4", NULL};
    const char *sync[] = {"-k", "sync", NULL};
    const char *threads_only[] = {"--threads", "4", NULL};
    const char *gthread1[] = {"-k", "gthread", NULL};
    multithread_is(gthread, "gthread", true);
    multithread_is(sync, "sync", false);
    multithread_is(threads_only, "gthread", true);
    multithread_is(gthread1, "gthread", true); /* gunicorn: True for gthread, even 1 thread */
}

/* wsgiapps:echo (the validator-wrapped app) says the same. */
static void test_multithread_wsgiapps_echo(void **state)
{
    (void)state;
    const char *gthread[] = {"-b", "127.0.0.1:{port}", "-k", "gthread", "--threads",
                             "4",  "wsgiapps:echo",    NULL};
    const char *sync[] = {"-b", "127.0.0.1:{port}", "-k", "sync", "wsgiapps:echo", NULL};
    char body[16384];
    srv = h_start_ready(NULL, gthread, 20000);
    assert_non_null(srv);
    assert_int_equal(h_get(srv->port, "/", body, sizeof(body)), 200);
    assert_non_null(strstr(body, "\"wsgi.multithread\": true"));
    stop_checked();
    srv = h_start_ready(NULL, sync, 20000);
    assert_non_null(srv);
    assert_int_equal(h_get(srv->port, "/", body, sizeof(body)), 200);
    assert_non_null(strstr(body, "\"wsgi.multithread\": false"));
}

/* --- the thread pool ----------------------------------------------------- */

/* n concurrent /sleep?1 requests; the wall time until all are answered. */
static long long concurrent_sleeps(int n)
{
    cl_t c[8];
    long long t0 = now_ms();
    for (int i = 0; i < n; i++) {
        cl_open(&c[i], srv->port);
        assert_true(cl_sends(&c[i], "GET /sleep?1 HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
    for (int i = 0; i < n; i++) {
        resp_t r;
        assert_int_equal(cl_response(&c[i], &r, false, 15000), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "slept 1.0");
        resp_free(&r);
        cl_close(&c[i]);
    }
    return now_ms() - t0;
}

static void test_concurrency(void **state)
{
    (void)state;
    const char *four[] = {"-k", "gthread", "--threads", "4", NULL};
    start(four);
    the_worker();
    long long took = concurrent_sleeps(4);
    fprintf(stderr, "4 x sleep(1) with 4 threads: %lld ms\n", took);
    assert_true(took < 1800);
    stop_checked();

    const char *one[] = {"-k", "gthread", "--threads", "1", NULL};
    start(one);
    took = concurrent_sleeps(4);
    fprintf(stderr, "4 x sleep(1) with 1 thread: %lld ms\n", took);
    assert_true(took >= 3800);
    assert_true(took < 6000);
}

/* --- slow clients -------------------------------------------------------- */

/* A slow client in its own thread: one more byte of raw every 100 ms until
 * the server closes the connection or limit_ms passes. */
typedef struct {
    const char *raw;
    size_t len, first;
    int limit_ms;
    int fd;
    long long cut; /* ms after the first byte when the server cut it off; -1 */
    char got[512]; /* what the server sent it */
} trickler;

static void *trickle_thread(void *arg)
{
    trickler *t = arg;
    size_t off = t->first, got = 0;
    long long t0 = now_ms(), next = t0 + 100;
    t->cut = -1;
    while (now_ms() - t0 < t->limit_ms) {
        if (now_ms() >= next && off < t->len) {
            if (send(t->fd, t->raw + off, 1, MSG_NOSIGNAL) != 1) {
                t->cut = now_ms() - t0;
                break;
            }
            off++;
            next += 100;
        }
        struct pollfd p = {.fd = t->fd, .events = POLLIN};
        if (poll(&p, 1, 10) == 1) {
            ssize_t r = recv(t->fd, t->got + got, sizeof(t->got) - 1 - got, 0);
            if (r <= 0) {
                t->cut = now_ms() - t0;
                break;
            }
            got += (size_t)r;
            t->got[got] = '\0';
        }
    }
    return NULL;
}

/* Run a slow client sending raw (first bytes at once, then one byte every
 * 100 ms) while normal requests are timed.  Returns when the server cut it
 * off (ms after the first byte), -1 if it did not within limit_ms.  *worst
 * gets the slowest normal request (ms; -1 if one failed or took > 3 s). */
static long long trickle(const char *raw, size_t rawlen, size_t first, int limit_ms,
                         long long *worst)
{
    trickler t = {.raw = raw, .len = rawlen, .first = first, .limit_ms = limit_ms};
    pthread_t th;
    t.fd = connect_to(srv->port);
    assert_true(t.fd >= 0);
    assert_int_equal(send(t.fd, raw, first, MSG_NOSIGNAL), (ssize_t)first);
    assert_int_equal(pthread_create(&th, NULL, trickle_thread, &t), 0);
    long long t0 = now_ms();
    int normal = 0;
    *worst = 0;
    usleep(200000);
    while (now_ms() - t0 < 1800) { /* while it is sure to be still trickling */
        long long ms = timed_get("/pid");
        if (ms < 0 || *worst < 0)
            *worst = -1;
        else if (ms > *worst)
            *worst = ms;
        normal++;
        usleep(50000);
    }
    pthread_join(th, NULL);
    close(t.fd);
    assert_true(normal >= 1);
    if (t.got[0])
        fprintf(stderr, "the slow client got: %.120s\n", t.got);
    assert_null(strstr(t.got, " 200 OK"));
    return t.cut;
}

static const char slow_head[] = "GET /slowhead HTTP/1.1\r\nHost: x\r\nX-Padding: "
                                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                "\r\n\r\n";

/* A head one byte every 100 ms: other clients are served meanwhile; cut
 * off after --client-timeout 2. */
static void test_slow_head(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "4", "--client-timeout", "2", NULL};
    start(extra);
    pid_t w = the_worker();
    long long worst;
    long long cut = trickle(slow_head, strlen(slow_head), 1, 6000, &worst);
    fprintf(stderr, "slow head: cut off after %lld ms; slowest normal request %lld ms\n", cut,
            worst);
    assert_true(worst >= 0 && worst < 500);
    assert_true(cut >= 1500 && cut < 4000);
    assert_int_equal(the_worker(), w);
}

/* The same with one thread: the head is read in the loop, not in a thread. */
static void test_slow_head_one_thread(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "1", "--client-timeout", "2", NULL};
    start(extra);
    long long worst;
    long long cut = trickle(slow_head, strlen(slow_head), 1, 6000, &worst);
    fprintf(stderr, "slow head, 1 thread: cut off after %lld ms; slowest normal %lld ms\n", cut,
            worst);
    assert_true(worst >= 0 && worst < 500);
    assert_true(cut >= 1500 && cut < 4000);
}

static char slow_body[512];

static size_t make_slow_body(void)
{
    int n = snprintf(slow_body, sizeof(slow_body),
                     "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n");
    for (int i = 0; i < 200; i++)
        slow_body[n + i] = (char)((i * 7 + 3) % 251);
    return (size_t)n + 200;
}

/* A body one byte every 100 ms (the head at once): other clients are
 * served meanwhile; cut off after --client-timeout 2. */
static void test_slow_body(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "4", "--client-timeout", "2", NULL};
    start(extra);
    size_t len = make_slow_body();
    size_t head = (size_t)(strstr(slow_body, "\r\n\r\n") - slow_body) + 4;
    long long worst;
    long long cut = trickle(slow_body, len, head + 1, 8000, &worst);
    fprintf(stderr, "slow body: cut off after %lld ms; slowest normal request %lld ms\n", cut,
            worst);
    assert_true(worst >= 0 && worst < 500);
    assert_true(cut >= 1500 && cut < 4000);
}

/* A body that stops halfway: cut off after --client-timeout 2 of silence. */
static void test_stalled_body(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "4", "--client-timeout", "2", NULL};
    start(extra);
    cl_t c;
    cl_open(&c, srv->port);
    assert_true(cl_sends(&c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
                             "only twenty bytes..."));
    long long t0 = now_ms();
    assert_true(cl_closed(&c, 6000));
    long long took = now_ms() - t0;
    fprintf(stderr, "stalled body: cut off after %lld ms\n", took);
    assert_true(took >= 1500 && took < 4000);
    assert_null(strstr(c.in ? c.in : "", " 200 OK"));
    cl_close(&c);
    assert_true(timed_get("/pid") >= 0);
}

/* The issue: a slow upload costs a connection, never a thread.  With one
 * thread, a body trickling in must not hold up other clients. */
static void test_slow_body_one_thread(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "1", "--client-timeout", "2", NULL};
    start(extra);
    size_t len = make_slow_body();
    size_t head = (size_t)(strstr(slow_body, "\r\n\r\n") - slow_body) + 4;
    long long worst;
    long long cut = trickle(slow_body, len, head + 1, 8000, &worst);
    fprintf(stderr, "slow body, 1 thread: cut off after %lld ms; slowest normal %lld ms\n", cut,
            worst);
    assert_true(worst >= 0 && worst < 500);
    assert_true(cut >= 1500 && cut < 4000);
}

/* 50 slow clients against one sync worker: the heads are read in C and the
 * slow connections parked, so normal requests are still answered quickly. */
static void test_sync_50_slow_clients(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "sync", "-w", "1", "--client-timeout", "4", NULL};
    start(extra);
    pid_t w = the_worker();
    enum { N = 50 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = connect_to(srv->port);
        assert_true(fds[i] >= 0);
        assert_int_equal(send(fds[i], "GET /slow HTTP/1.1\r\nHo", 22, MSG_NOSIGNAL), 22);
    }
    long long t0 = now_ms(), worst = 0;
    int served = 0;
    while (now_ms() - t0 < 2500) {
        for (int i = 0; i < N; i++) /* one more byte each */
            send(fds[i], "s", 1, MSG_NOSIGNAL);
        long long ms = timed_get("/pid");
        assert_true(ms >= 0);
        if (ms > worst)
            worst = ms;
        served++;
        usleep(100000);
    }
    fprintf(stderr, "sync, 50 slow clients: %d normal requests, slowest %lld ms\n", served, worst);
    assert_true(worst < 500);
    /* the slow ones are cut off by --client-timeout 4 (from their first
     * byte) */
    int cut = 0;
    long long end = now_ms() + 5000;
    for (int i = 0; i < N; i++) {
        char b[256];
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        long long left = end - now_ms();
        if (poll(&p, 1, left > 0 ? (int)left : 0) == 1 && recv(fds[i], b, sizeof(b), 0) <= 0)
            cut++;
        close(fds[i]);
    }
    fprintf(stderr, "sync: %d of %d slow clients cut off\n", cut, N);
    assert_int_equal(cut, N);
    assert_int_equal(the_worker(), w);
    assert_true(timed_get("/pid") >= 0);
}

/* A client that asks for path (a response larger than the socket buffers)
 * and stops reading: cut off after --client-timeout 2 of no progress (the
 * server's side of the connection leaves ESTABLISHED; the client would only
 * see the FIN after draining what is still queued); the worker keeps
 * serving meanwhile. */
static void stop_reading(int threads_arg, const char *path)
{
    char threads[8], req[128];
    snprintf(threads, sizeof(threads), "%d", threads_arg);
    const char *extra[] = {"-k", "gthread", "--threads", threads, "--client-timeout", "2", NULL};
    start(extra);
    pid_t w = the_worker();
    cl_t c;
    cl_open(&c, srv->port);
    int small = 4096;
    setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    int cport = local_port(c.fd);
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    assert_true(cl_sends(&c, req));
    long long t0 = now_ms(), cut = -1, worst = 0;
    assert_int_equal(server_side_state(srv->port, cport), 1);
    while (now_ms() - t0 < 5000) {
        if (cut < 0 && server_side_state(srv->port, cport) != 1)
            cut = now_ms() - t0;
        long long ms = timed_get("/pid");
        if (ms < 0 || worst < 0)
            worst = -1;
        else if (ms > worst)
            worst = ms;
        if (cut >= 0 && now_ms() - t0 > cut + 500)
            break;
        usleep(50000);
    }
    fprintf(stderr,
            "stopped reader of %s, %d thread(s): cut off after %lld ms; slowest normal "
            "request %lld ms\n",
            path, threads_arg, cut, worst);
    cl_close(&c);
    assert_true(cut >= 1500 && cut < 4000);
    assert_int_equal(the_worker(), w);
    assert_true(timed_get("/pid") >= 0);
    assert_true(worst >= 0 && worst < 500);
}

static void test_stopped_reader(void **state)
{
    (void)state;
    stop_reading(4, "/big_cl?104857600");
}

/* The issue: a client that stops reading costs a connection, never a
 * thread.  With one thread, others must not wait for its cut-off: a
 * response the server can hold for it (512 kB) ... */
static void test_stopped_reader_one_thread(void **state)
{
    (void)state;
    stop_reading(1, "/big_cl?524288");
}

/* ... and one larger than what the server holds for a client (100 MB:
 * "responses larger than memory"): the response is parked once the output
 * queue is full, and the thread serves others. */
static void test_stopped_reader_large_one_thread(void **state)
{
    (void)state;
    stop_reading(1, "/big_cl?104857600");
}

/* The same through sendfile (wsgi.file_wrapper over a real file). */
static void test_stopped_reader_file_one_thread(void **state)
{
    (void)state;
    stop_reading(1, "/sparse?104857600");
}

/* A generator response cut off while parked still has close() called, in
 * the context it ran in (its finally block resets a ContextVar). */
static void test_stopped_reader_generator_closed(void **state)
{
    (void)state;
    stop_reading(1, "/ctx_stream?104857600");
    assert_true(h_wait_log(srv, "ctx_stream: end ok", 1, 5000));
    assert_int_equal(h_log_count(srv, "Traceback"), 0);
}

/* c connected with a 4 KiB receive buffer, set before connecting (set
 * after, it makes the transfer crawl on zero-window probes). */
static void cl_open_small(cl_t *c, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int small = 4096;
    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

/* Responses parked for a client that pauses come out whole and in order:
 * each kind of body (generator, chunked or with a length, a list, a file
 * through sendfile), then a pipelined request behind it on the same
 * connection; the access log has the whole length. */
static void test_parked_responses_complete(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "4", "--access-logfile", "-", NULL};
    start(extra);
    static const char *const paths[] = {"/ctx_stream?8388608", "/big?8388608",    "/big_cl?8388608",
                                        "/biglist?8388608",    "/sparse?8388608", "/file"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        cl_t c;
        resp_t r;
        char req[256];
        cl_open_small(&c, srv->port);
        snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: x\r\n\r\nGET /pid HTTP/1.1\r\nHost: x\r\n\r\n",
                 paths[i]);
        assert_true(cl_sends(&c, req));
        usleep(300000); /* the queue fills up and the response is parked */
        assert_int_equal(cl_response(&c, &r, false, 20000), 0);
        assert_int_equal(r.status, 200);
        bool zeros = strncmp(paths[i], "/sparse", 7) == 0;
        size_t want = strcmp(paths[i], "/file") == 0 ? 1024 * 1024 + 17 : 8388608;
        fprintf(stderr, "%s: %zu bytes%s\n", paths[i], r.body_len, r.chunked ? ", chunked" : "");
        assert_int_equal(r.body_len, want);
        size_t bad = want;
        for (size_t k = 0; k < r.body_len && bad == want; k++)
            if ((unsigned char)r.body[k] != (zeros ? 0 : (k * 7 + 3) % 251))
                bad = k;
        assert_int_equal(bad, want);
        resp_free(&r);
        assert_int_equal(cl_response(&c, &r, false, 5000), 0);
        assert_int_equal(r.status, 200);
        resp_free(&r);
        cl_close(&c);
    }
    assert_true(h_wait_log(srv, "\"GET /ctx_stream?8388608 HTTP/1.1\" 200 8388608 ", 1, 3000));
    assert_true(h_wait_log(srv, "\"GET /sparse?8388608 HTTP/1.1\" 200 8388608 ", 1, 3000));
    assert_true(h_wait_log(srv, "ctx_stream: end ok", 1, 3000));
    assert_int_equal(h_log_count(srv, "Traceback"), 0);
}

/* --- clients that disappear mid-response -------------------------------- */

static void test_client_disappears(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "4", NULL};
    start(extra);
    pid_t w = the_worker();
    static const char *paths[] = {"/stream_slow?2", "/big?52428800", "/big_cl?52428800", "/file",
                                  "/fileobj"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        for (int rst = 0; rst < 2; rst++) {
            cl_t c;
            char req[128];
            cl_open(&c, srv->port);
            snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
            assert_true(cl_sends(&c, req));
            assert_true(cl_want(&c, 1000, now_ms() + 5000) || c.eof);
            if (rst) {
                /* an abortive close: RST */
                struct linger lg = {.l_onoff = 1, .l_linger = 0};
                setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
            }
            cl_close(&c);
            usleep(100000);
            char body[64];
            assert_int_equal(h_get(srv->port, "/pid", body, sizeof(body)), 200);
            assert_int_equal(atoi(body), w);
        }
    }
    /* a pipelined request behind the one whose client left is dropped, not
     * answered somewhere else */
    cl_t c;
    cl_open(&c, srv->port);
    assert_true(cl_sends(&c, "GET /stream_slow?1 HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /pid HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_true(cl_want(&c, 1000, now_ms() + 5000));
    cl_close(&c);
    sleep(1);
    assert_int_equal(the_worker(), w);
    assert_int_equal(h_log_count(srv, "Traceback"), 0);
    for (int i = 0; i < 5; i++)
        assert_true(timed_get("/pid") >= 0);
}

/* --- max_requests with keep-alive ---------------------------------------- */

/* One keep-alive client alone: exactly 5 responses per connection, the 5th
 * with Connection: close, then a new worker. */
static void test_max_requests_keepalive(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "4", "--max-requests", "5", NULL};
    start(extra);
    pid_t prev = 0;
    for (int round = 0; round < 3; round++) {
        cl_t c;
        resp_t r;
        pid_t pid = 0;
        cl_open(&c, srv->port);
        for (int i = 1; i <= 5; i++) {
            assert_int_equal(cl_get(&c, "/pid", NULL, &r), 0);
            assert_int_equal(r.status, 200);
            if (i == 1)
                pid = atoi(r.body);
            assert_int_equal(atoi(r.body), pid);
            assert_string_equal(r.connection, i < 5 ? "keep-alive" : "close");
            resp_free(&r);
        }
        assert_true(cl_closed(&c, 3000));
        cl_close(&c);
        assert_int_not_equal(pid, prev);
        prev = pid;
    }
    assert_true(h_wait_log(srv, "Autorestarting worker after current request.", 3, 3000));
}

/* A connection the worker accepted whose request had not arrived yet when
 * the worker reached max_requests is still a request in flight: it is
 * answered (with Connection: close), not dropped unanswered. */
static void test_max_requests_fresh_connection(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "4", "--max-requests", "3", NULL};
    start(extra);
    pid_t w = the_worker();
    cl_t fresh, c;
    resp_t r;
    cl_open(&fresh, srv->port);
    usleep(200000); /* accepted and waiting for its request */
    cl_open(&c, srv->port);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(cl_get(&c, "/pid", NULL, &r), 0);
        assert_int_equal(atoi(r.body), w);
        assert_string_equal(r.connection, i < 3 ? "keep-alive" : "close");
        resp_free(&r);
    }
    cl_close(&c);
    usleep(20000);
    assert_true(cl_sends(&fresh, "GET /pid HTTP/1.1\r\nHost: x\r\n\r\n"));
    int rc = cl_response(&fresh, &r, false, 5000);
    if (rc != 0)
        fprintf(stderr, "the accepted connection was closed unanswered when its worker retired\n");
    assert_int_equal(rc, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.connection, "close");
    resp_free(&r);
    cl_close(&fresh);
}

/* Keep-alive clients and a Connection: close load across many recyclings
 * of two workers: no request fails.  A keep-alive client sees close on the
 * last response its worker gives; a request it sends on a connection the
 * server closed while idle is retried on a new connection (RFC 9112 9.3.1:
 * the server may close an idle connection at any time), counted apart. */
static void test_max_requests_under_load(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread",        "--threads", "4", "-w",
                           "2",  "--max-requests", "5",         NULL};
    start(extra);
    h_load_t l;
    assert_true(h_load_start(&l, srv->port, "/pid", NULL, 0, 20000));
    int ok = 0, failed = 0, closes = 0, retries = 0;
    cl_t c;
    cl_open(&c, srv->port);
    bool fresh = true;
    long long t0 = now_ms();
    while (now_ms() - t0 < 6000) {
        resp_t r;
        if (cl_get(&c, "/pid", NULL, &r) != 0) {
            bool nothing = c.len == 0;
            cl_close(&c);
            cl_open(&c, srv->port);
            if (!fresh && nothing) {
                retries++;
                fresh = true;
                continue;
            }
            fprintf(stderr, "keep-alive client: request failed on a %s connection\n",
                    fresh ? "new" : "reused");
            failed++;
            fresh = true;
            continue;
        }
        fresh = false;
        if (r.status == 200)
            ok++;
        else
            failed++;
        if (strcmp(r.connection, "close") == 0) {
            closes++;
            assert_true(cl_closed(&c, 3000));
            cl_close(&c);
            cl_open(&c, srv->port);
            fresh = true;
        }
        resp_free(&r);
    }
    cl_close(&c);
    int lok, lfailed;
    assert_true(h_load_stop(&l, &lok, &lfailed));
    fprintf(stderr,
            "max_requests under load: keep-alive client %d ok, %d failed, %d closes, %d retried; "
            "load %d ok, %d failed; %d restarts\n",
            ok, failed, closes, retries, lok, lfailed,
            h_log_count(srv, "Autorestarting worker after current request."));
    assert_int_equal(failed, 0);
    assert_int_equal(lfailed, 0);
    assert_true(closes > 0);
    assert_true(h_log_count(srv, "Autorestarting worker after current request.") >= 4);
}

/* --- shutdown ------------------------------------------------------------ */

/* TERM with idle keep-alive connections and one request in flight: the idle
 * ones are closed at once, the request completes, exit 0. */
static void test_graceful_term(void **state)
{
    (void)state;
    const char *extra[] = {
        "-k", "gthread", "--threads", "4", "--keep-alive", "30", "--graceful-timeout", "10", NULL};
    start(extra);
    pid_t w = the_worker();
    cl_t idle[3], busy;
    resp_t r;
    for (int i = 0; i < 3; i++) {
        cl_open(&idle[i], srv->port);
        assert_int_equal(cl_get(&idle[i], "/pid", NULL, &r), 0);
        assert_string_equal(r.connection, "keep-alive");
        resp_free(&r);
    }
    cl_open(&busy, srv->port);
    assert_true(cl_sends(&busy, "GET /sleep?2 HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_true(h_wait_log(srv, "sleep: start", 1, 5000));
    long long t0 = now_ms();
    h_signal(srv, SIGTERM);
    for (int i = 0; i < 3; i++) {
        assert_true(cl_closed(&idle[i], 1500));
        assert_int_equal(idle[i].len, 0);
        cl_close(&idle[i]);
    }
    long long idle_closed = now_ms() - t0;
    assert_int_equal(cl_response(&busy, &r, false, 5000), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "slept 2.0");
    assert_true(cl_closed(&busy, 2000));
    cl_close(&busy);
    assert_int_equal(h_wait_exit(srv, 10000), 0);
    long long took = now_ms() - t0;
    fprintf(stderr, "TERM: idle connections closed after %lld ms, exit after %lld ms\n",
            idle_closed, took);
    assert_true(took < 5000);
    char want[64];
    snprintf(want, sizeof(want), "Worker exiting (pid: %d)", (int)w);
    assert_int_equal(h_log_count(srv, want), 1);
    /* GUNICORN.md 6.1: a response while the worker shuts down closes the
     * connection, and says so */
    if (strcmp(r.connection, "close") != 0)
        fprintf(stderr, "the in-flight response said Connection: %s\n", r.connection);
    assert_string_equal(r.connection, "close");
    resp_free(&r);
}

/* A response parked for a client that pauses (1 thread, 8 MB) when a stop
 * comes: TERM lets it finish, whole, and then the worker exits; QUIT does
 * not wait for it. */
static void stop_while_parked(int sig)
{
    const char *extra[] = {"-k", "gthread", "--threads", "1", "--graceful-timeout", "20", NULL};
    start(extra);
    the_worker();
    cl_t c;
    resp_t r;
    cl_open_small(&c, srv->port);
    assert_true(cl_sends(&c, "GET /ctx_stream?8388608 HTTP/1.1\r\nHost: x\r\n\r\n"));
    usleep(300000); /* parked: the queue is full */
    h_signal(srv, sig);
    if (sig == SIGTERM) {
        assert_int_equal(cl_response(&c, &r, false, 20000), 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, 8388608);
        resp_free(&r);
        assert_true(cl_closed(&c, 2000));
        assert_true(h_wait_log(srv, "ctx_stream: end ok", 1, 3000));
    }
    assert_int_equal(h_wait_exit(srv, 10000), 0);
    cl_close(&c);
}

static void test_term_while_parked(void **state)
{
    (void)state;
    stop_while_parked(SIGTERM);
}

static void test_quit_while_parked(void **state)
{
    (void)state;
    stop_while_parked(SIGQUIT);
}

/* INT or QUIT with a request in flight in a thread: out within ~1 s. */
static void quick_stop(int sig)
{
    const char *extra[] = {"-k", "gthread", "--threads", "4", NULL};
    start(extra);
    the_worker();
    cl_t c;
    cl_open(&c, srv->port);
    assert_true(cl_sends(&c, "GET /sleep?20 HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_true(h_wait_log(srv, "sleep: start", 1, 5000));
    /* an idle keep-alive connection as well */
    cl_t idle;
    resp_t r;
    cl_open(&idle, srv->port);
    assert_int_equal(cl_get(&idle, "/pid", NULL, &r), 0);
    resp_free(&r);
    long long t0 = now_ms();
    h_signal(srv, sig);
    int rc = h_wait_exit(srv, 5000);
    long long took = now_ms() - t0;
    fprintf(stderr, "%s with a request in a thread: exit %d after %lld ms\n",
            sig == SIGINT ? "INT" : "QUIT", rc, took);
    assert_int_equal(rc, 0);
    assert_true(took < 2000);
    assert_true(cl_closed(&c, 2000));
    assert_null(strstr(c.in ? c.in : "", "slept"));
    assert_true(cl_closed(&idle, 2000));
    cl_close(&c);
    cl_close(&idle);
}

static void test_int_in_flight(void **state)
{
    (void)state;
    quick_stop(SIGINT);
}

static void test_quit_in_flight(void **state)
{
    (void)state;
    quick_stop(SIGQUIT);
}

/* --- worker timeout ------------------------------------------------------ */

/* A request stuck past --timeout 2 in a thread: the loop keeps beating, the
 * master sees the stuck request on the scoreboard: WORKER TIMEOUT and a new
 * worker. */
static void test_timeout(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread", "--threads", "4", "--timeout", "2", NULL};
    start(extra);
    pid_t w = the_worker();
    cl_t c;
    cl_open(&c, srv->port);
    assert_true(cl_sends(&c, "GET /sleep?30 HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_true(h_wait_log(srv, "sleep: start", 1, 5000));
    long long t0 = now_ms();
    /* the other threads still answer meanwhile */
    assert_true(timed_get("/pid") >= 0);
    char want[96];
    snprintf(want, sizeof(want), "WORKER TIMEOUT (pid:%d)", (int)w);
    assert_true(h_wait_log(srv, want, 1, 10000));
    long long took = now_ms() - t0;
    fprintf(stderr, "WORKER TIMEOUT after %lld ms\n", took);
    assert_true(took >= 1000 && took < 7000);
    assert_true(cl_closed(&c, 10000));
    assert_null(strstr(c.in ? c.in : "", "slept"));
    cl_close(&c);
    long long end = now_ms() + 10000;
    pid_t now = w;
    while (now_ms() < end) {
        pid_t kids[MAX_KIDS];
        if (h_children(srv->pid, kids, MAX_KIDS) == 1 && kids[0] != w) {
            now = kids[0];
            break;
        }
        usleep(50000);
    }
    assert_int_not_equal(now, w);
    char body[64];
    assert_int_equal(h_get(srv->port, "/pid", body, sizeof(body)), 200);
    assert_int_equal(atoi(body), now);
}

/* An idle gthread worker is not timed out: its loop beats (keep-alive
 * connections open, no request running). */
static void test_idle_not_timed_out(void **state)
{
    (void)state;
    const char *extra[] = {"-k", "gthread",      "--threads", "2", "--timeout",
                           "1",  "--keep-alive", "10",        NULL};
    start(extra);
    pid_t w = the_worker();
    cl_t c;
    resp_t r;
    cl_open(&c, srv->port);
    assert_int_equal(cl_get(&c, "/pid", NULL, &r), 0);
    resp_free(&r);
    sleep(3);
    assert_int_equal(h_log_count(srv, "WORKER TIMEOUT"), 0);
    assert_int_equal(the_worker(), w);
    assert_int_equal(cl_get(&c, "/pid", NULL, &r), 0);
    assert_int_equal(atoi(r.body), w);
    resp_free(&r);
    cl_close(&c);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    /* the file apps/http11apps.py serves through wsgi.file_wrapper */
    snprintf(file_path, sizeof(file_path), "/tmp/cg-http11-file-%d", (int)getpid());
    setenv("CG_HTTP11_FILE", file_path, 1);
    atexit(remove_file);
    /* CG_TEST_FILTER=test_stopped* runs only the tests whose names match */
    if (getenv("CG_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CG_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_keepalive_rules, teardown),
        cmocka_unit_test_teardown(test_keepalive_timeout, teardown),
        cmocka_unit_test_teardown(test_keepalive_disabled, teardown),
        cmocka_unit_test_teardown(test_pipelining, teardown),
        cmocka_unit_test_teardown(test_multithread_flag, teardown),
        cmocka_unit_test_teardown(test_multithread_wsgiapps_echo, teardown),
        cmocka_unit_test_teardown(test_concurrency, teardown),
        cmocka_unit_test_teardown(test_slow_head, teardown),
        cmocka_unit_test_teardown(test_slow_head_one_thread, teardown),
        cmocka_unit_test_teardown(test_slow_body, teardown),
        cmocka_unit_test_teardown(test_stalled_body, teardown),
        cmocka_unit_test_teardown(test_slow_body_one_thread, teardown),
        cmocka_unit_test_teardown(test_sync_50_slow_clients, teardown),
        cmocka_unit_test_teardown(test_stopped_reader, teardown),
        cmocka_unit_test_teardown(test_stopped_reader_one_thread, teardown),
        cmocka_unit_test_teardown(test_stopped_reader_large_one_thread, teardown),
        cmocka_unit_test_teardown(test_stopped_reader_file_one_thread, teardown),
        cmocka_unit_test_teardown(test_stopped_reader_generator_closed, teardown),
        cmocka_unit_test_teardown(test_parked_responses_complete, teardown),
        cmocka_unit_test_teardown(test_client_disappears, teardown),
        cmocka_unit_test_teardown(test_max_requests_keepalive, teardown),
        cmocka_unit_test_teardown(test_max_requests_fresh_connection, teardown),
        cmocka_unit_test_teardown(test_max_requests_under_load, teardown),
        cmocka_unit_test_teardown(test_graceful_term, teardown),
        cmocka_unit_test_teardown(test_int_in_flight, teardown),
        cmocka_unit_test_teardown(test_quit_in_flight, teardown),
        cmocka_unit_test_teardown(test_term_while_parked, teardown),
        cmocka_unit_test_teardown(test_quit_while_parked, teardown),
        cmocka_unit_test_teardown(test_timeout, teardown),
        cmocka_unit_test_teardown(test_idle_not_timed_out, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
