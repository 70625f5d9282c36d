/* test_http11.c - HTTP/1.1 for both worker classes (each case runs against
 * -k sync and -k gthread --threads 4): Expect, chunked bodies both ways,
 * HEAD, OPTIONS *, absolute-form targets, '_' headers, wsgi.file_wrapper,
 * large bodies both ways, invalid response headers, X-Forwarded-Proto; the
 * request-smuggling table; and test_badinput.c's bad-request table against
 * gthread, on fresh and on kept-alive connections.  GUNICORN.md 6.
 * App: apps/http11apps.py:app (one shared server per class, restarted only
 * when a case needs other settings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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
#include "bad_cases.h"
#include "harness.h"

#define MAX_KIDS 16

enum { SYNC, GTHREAD, NCLASSES };
static const char *const class_name[NCLASSES] = {"sync", "gthread"};

static srv_t *shared[NCLASSES]; /* one server per class, kept across cases */
static pid_t shared_worker[NCLASSES];
static srv_t *own; /* a case's own server (other settings) */
static srv_t *srv; /* the server the current case talks to */
static pid_t worker;

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

static pid_t only_worker(srv_t *s)
{
    pid_t kids[MAX_KIDS];
    long long end = now_ms() + 10000;
    while (now_ms() < end) {
        if (h_children(s->pid, kids, MAX_KIDS) == 1)
            return kids[0];
        usleep(20000);
    }
    return -1;
}

static const char *const *class_args(int k)
{
    static const char *const sync_args[] = {"-k", "sync", NULL};
    static const char *const gthread_args[] = {"-k", "gthread", "--threads", "4", NULL};
    return k == SYNC ? sync_args : gthread_args;
}

/* A server of class k with extra arguments (NULL: the shared one). */
static srv_t *use(int k, const char *const *extra)
{
    const char *argv[40] = {"-b", "127.0.0.1:{port}"};
    int n = 2;
    if (extra == NULL && shared[k] && kill(shared[k]->pid, 0) == 0 &&
        only_worker(shared[k]) == shared_worker[k]) {
        srv = shared[k];
        worker = shared_worker[k];
        return srv;
    }
    for (const char *const *a = class_args(k); *a; a++)
        argv[n++] = *a;
    for (int i = 0; extra && extra[i] && n < 37; i++)
        argv[n++] = extra[i];
    argv[n++] = "http11apps:app";
    argv[n] = NULL;
    srv_t *s = h_start_ready(NULL, argv, 20000);
    assert_non_null(s);
    if (extra == NULL) {
        if (shared[k]) {
            fprintf(stderr, "the shared %s server was gone or its worker changed\n", class_name[k]);
            h_stop(shared[k]);
        }
        shared[k] = s;
        shared_worker[k] = only_worker(s);
    } else {
        h_stop(own);
        own = s;
    }
    srv = s;
    worker = only_worker(s);
    assert_true(worker > 0);
    return srv;
}

static int teardown(void **state)
{
    (void)state;
    bool ok =
        !h_server_dirty(own) && !h_server_dirty(shared[SYNC]) && !h_server_dirty(shared[GTHREAD]);
    h_stop(own);
    own = NULL;
    return ok ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int k = 0; k < NCLASSES; k++) {
        h_stop(shared[k]);
        shared[k] = NULL;
    }
    return 0;
}

/* Connect to the current server. */
static void cl_srv(cl_t *c)
{
    cl_open(c, srv->port);
}

/* Send raw on a new connection, read until the server closes (or
 * timeout_ms); everything received, NUL-terminated, in a malloc'd string. */
static char *exchange(const char *raw, size_t len, int timeout_ms, bool *closed)
{
    cl_t c;
    cl_srv(&c);
    cl_send(&c, raw, len);
    *closed = cl_closed(&c, timeout_ms);
    char *out = strdup(c.in ? c.in : "");
    cl_close(&c);
    return out;
}

/* The same worker still answers. */
static void assert_alive(void)
{
    char body[256];
    pid_t kids[MAX_KIDS];
    assert_int_equal(h_get(srv->port, "/pid", body, sizeof(body)), 200);
    assert_int_equal(atoi(body), worker);
    assert_int_equal(h_children(srv->pid, kids, MAX_KIDS), 1);
}

/* The expected pattern byte at offset i (apps/http11apps.py). */
static inline unsigned char pat(size_t i)
{
    return (unsigned char)((i * 7 + 3) % 251);
}

/* body is the pattern from offset start; -1, or the first wrong offset. */
static long long pattern_mismatch(const char *body, size_t len, size_t start)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)body[i] != pat(start + i))
            return (long long)i;
    return -1;
}

#define K (*(int *)*state)

/* --- Expect ---------------------------------------------------------------- */

/* The app reads the body: 100 Continue comes first, then the body goes up
 * and the answer comes back.  Twice on one connection for gthread. */
static void test_expect_continue_read(void **state)
{
    use(K, NULL);
    cl_t c;
    resp_t r;
    char body[1000];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (char)pat(i);
    cl_srv(&c);
    for (int round = 0; round < (K == GTHREAD ? 2 : 1); round++) {
        assert_true(cl_sends(&c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                                 "Expect: 100-continue\r\n\r\n"));
        assert_int_equal(cl_response(&c, &r, false, 5000), 0);
        assert_int_equal(r.status, 100);
        assert_string_equal(r.head, "HTTP/1.1 100 Continue\r\n\r\n");
        resp_free(&r);
        assert_true(cl_send(&c, body, sizeof(body)));
        assert_int_equal(cl_response(&c, &r, false, 5000), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "ok 1000 1");
        resp_free(&r);
    }
    cl_close(&c);
    assert_alive();
}

/* The app ignores the body: no 100 Continue, the answer comes at once; the
 * Connection header tells the truth about what happens next. */
static void test_expect_continue_ignored(void **state)
{
    use(K, NULL);
    cl_t c;
    resp_t r;
    cl_srv(&c);
    assert_true(cl_sends(&c, "POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                             "Expect: 100-continue\r\n\r\n"));
    long long t0 = now_ms();
    assert_int_equal(cl_response(&c, &r, false, 5000), 0);
    assert_true(now_ms() - t0 < 2000);
    if (r.status == 100)
        fprintf(stderr, "100 Continue sent though the app never read the body\n");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ignored");
    char conn[32];
    snprintf(conn, sizeof(conn), "%s", r.connection);
    resp_free(&r);
    if (strcmp(conn, "close") == 0) {
        assert_true(cl_closed(&c, 2000));
    } else {
        /* keep-alive promised: the body the client owes, then the next
         * request, are both taken */
        assert_int_equal(K, GTHREAD);
        bool sent = cl_sends(&c, "hello");
        sent = sent && cl_sends(&c, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
        int rc = sent ? cl_response(&c, &r, false, 3000) : -1;
        if (rc != 0)
            fprintf(stderr, "the response said keep-alive, then the server closed\n");
        assert_int_equal(rc, 0);
        assert_non_null(strstr(r.body, "\"path\": \"/after\""));
        resp_free(&r);
    }
    cl_close(&c);
    assert_alive();
}

/* The app ignores a large body (1 MB, more than the loop reads ahead):
 * the answer arrives whole (no reset eats it), and the Connection header
 * tells the truth - "close" and the server closes, or "keep-alive" and the
 * next request is answered. */
typedef struct {
    int fd;
    const char *buf;
    size_t len;
    bool ok;
} sender;

static void *send_thread(void *arg)
{
    sender *t = arg;
    size_t off = 0;
    while (off < t->len) {
        ssize_t w = send(t->fd, t->buf + off, t->len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    t->ok = off == t->len;
    return NULL;
}

static void test_ignored_body(void **state)
{
    use(K, NULL);
    enum { SIZE = 1024 * 1024 };
    char *req = malloc(SIZE + 128);
    assert_non_null(req);
    int hl =
        snprintf(req, 128, "POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", SIZE);
    memset(req + hl, 'b', SIZE);
    cl_t c;
    resp_t r;
    cl_srv(&c);
    sender t = {.fd = c.fd, .buf = req, .len = (size_t)hl + SIZE};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, send_thread, &t), 0);
    int rc = cl_response(&c, &r, false, 5000);
    if (rc != 0)
        fprintf(stderr, "no whole response (%s)\n", c.eof ? "closed or reset" : "timeout");
    if (rc != 0)
        shutdown(c.fd, SHUT_RDWR);
    pthread_join(th, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ignored");
    char conn[32];
    snprintf(conn, sizeof(conn), "%s", r.connection);
    resp_free(&r);
    if (strcmp(conn, "close") == 0) {
        assert_true(cl_closed(&c, 3000));
    } else {
        assert_int_equal(K, GTHREAD);
        rc = t.ok && cl_sends(&c, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
                 ? cl_response(&c, &r, false, 3000)
                 : -1;
        if (rc != 0)
            fprintf(stderr, "the response said keep-alive, then the server closed\n");
        assert_int_equal(rc, 0);
        assert_non_null(strstr(r.body, "\"path\": \"/after\""));
        resp_free(&r);
    }
    free(req);
    cl_close(&c);
    assert_alive();
}

/* Head and body in one write: the body is there, a 100 may or may not come
 * first (RFC 9110 10.1.1), then the answer. */
static void test_expect_continue_body_at_once(void **state)
{
    use(K, NULL);
    cl_t c;
    resp_t r;
    cl_srv(&c);
    assert_true(cl_sends(&c, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                             "Expect: 100-continue\r\n\r\nhello"));
    assert_int_equal(cl_response(&c, &r, false, 5000), 0);
    if (r.status == 100) {
        resp_free(&r);
        assert_int_equal(cl_response(&c, &r, false, 5000), 0);
    }
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"body\": \"hello\""));
    resp_free(&r);
    cl_close(&c);
}

/* Other expectations: 417, the app is not called. */
static void test_expect_other_417(void **state)
{
    use(K, NULL);
    bool closed;
    char *out;
    const char *raw =
        "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 200-ok\r\n\r\nhello";
    out = exchange(raw, strlen(raw), 3000, &closed);
    assert_ptr_equal(strstr(out, "HTTP/1.1 417 Expectation Failed\r\n"), out);
    assert_null(strstr(out, "\"path\""));
    assert_true(closed);
    free(out);
    /* HTTP/1.0: Expect is ignored */
    raw = "POST /x HTTP/1.0\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello";
    out = exchange(raw, strlen(raw), 3000, &closed);
    assert_ptr_equal(strstr(out, "HTTP/1.0 200 OK\r\n"), out);
    assert_null(strstr(out, "100 Continue"));
    free(out);
    assert_alive();
}

/* --- chunked ---------------------------------------------------------------- */

/* A chunked request body with extensions and trailers; for gthread the next
 * pipelined request follows it. */
static void test_chunked_request(void **state)
{
    use(K, NULL);
    cl_t c;
    resp_t r;
    cl_srv(&c);
    assert_true(cl_sends(&c, "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "4;name=value\r\nWiki\r\n"
                             "5;a;b=\"quoted;\"\r\npedia\r\n"
                             "E\r\n in\r\n\r\nchunks.\r\n"
                             "0;last\r\nX-Trailer: one\r\nX-Other: two\r\n\r\n"
                             "GET /next HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_int_equal(cl_response(&c, &r, false, 5000), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"body\": \"Wikipedia in\\r\\n\\r\\nchunks.\""));
    assert_null(strstr(r.body, "HTTP_X_TRAILER")); /* trailers are not headers */
    resp_free(&r);
    if (K == GTHREAD) {
        assert_int_equal(cl_response(&c, &r, false, 5000), 0);
        assert_non_null(strstr(r.body, "\"path\": \"/next\""));
        resp_free(&r);
    } else {
        assert_true(cl_closed(&c, 2000));
    }
    cl_close(&c);
    assert_alive();
}

/* No Content-Length from the app: chunked on HTTP/1.1, delimited by the
 * close on HTTP/1.0. */
static void test_chunked_response(void **state)
{
    use(K, NULL);
    cl_t c;
    resp_t r;
    cl_srv(&c);
    assert_true(cl_sends(&c, "GET /nolength HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_int_equal(cl_response(&c, &r, false, 5000), 0);
    assert_int_equal(r.status, 200);
    assert_true(r.chunked);
    assert_int_equal(r.clen, -1);
    assert_string_equal(r.body, "alpha,beta,gamma");
    assert_string_equal(r.connection, K == GTHREAD ? "keep-alive" : "close");
    resp_free(&r);
    cl_close(&c);

    cl_srv(&c);
    assert_true(cl_sends(&c, "GET /nolength HTTP/1.0\r\nHost: x\r\n\r\n"));
    assert_int_equal(cl_response(&c, &r, false, 5000), 0);
    assert_false(r.chunked);
    assert_string_equal(r.connection, "close");
    assert_string_equal(r.body, "alpha,beta,gamma");
    resp_free(&r);
    cl_close(&c);
}

/* --- methods and targets ------------------------------------------------------ */

/* HEAD: the GET's headers, no body, and the connection stays in step. */
static void test_head(void **state)
{
    use(K, NULL);
    cl_t c;
    resp_t r;
    char v[64];
    cl_srv(&c);
    assert_true(cl_sends(&c, "HEAD /head HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_int_equal(cl_response(&c, &r, true, 5000), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_header(&r, "Content-Length", v, sizeof(v)), "10");
    assert_string_equal(resp_header(&r, "X-Head-Test", v, sizeof(v)), "yes");
    resp_free(&r);
    if (K == GTHREAD) {
        /* a body would be taken for the next response */
        assert_true(cl_sends(&c, "HEAD /nolength HTTP/1.1\r\nHost: x\r\n\r\n"
                                 "GET /head HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert_int_equal(cl_response(&c, &r, true, 5000), 0);
        assert_int_equal(r.status, 200);
        resp_free(&r);
        assert_int_equal(cl_response(&c, &r, false, 5000), 0);
        assert_ptr_equal(strstr(r.head, "HTTP/1.1 200 OK\r\n"), r.head);
        assert_string_equal(r.body, "0123456789");
        resp_free(&r);
        assert_true(cl_open_still(&c, 200));
    } else {
        assert_true(cl_closed(&c, 2000));
        assert_int_equal(c.len, 0);
    }
    cl_close(&c);
    /* HEAD of a streamed response: no chunks either */
    cl_srv(&c);
    assert_true(cl_sends(&c, "HEAD /nolength HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    assert_int_equal(cl_response(&c, &r, true, 5000), 0);
    resp_free(&r);
    assert_true(cl_closed(&c, 2000));
    assert_int_equal(c.len, 0);
    cl_close(&c);
}

/* OPTIONS * reaches the app. */
static void test_options_star(void **state)
{
    use(K, NULL);
    bool closed;
    const char *raw = "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char *out = exchange(raw, strlen(raw), 3000, &closed);
    assert_ptr_equal(strstr(out, "HTTP/1.1 200 OK\r\n"), out);
    assert_non_null(strstr(out, "\"method\": \"OPTIONS\""));
    assert_non_null(strstr(out, "\"raw_uri\": \"*\""));
    free(out);
}

/* Absolute-form: PATH_INFO and QUERY_STRING from the target's path. */
static void test_absolute_form(void **state)
{
    use(K, NULL);
    bool closed;
    const char *raw = "GET http://example.com/path?q HTTP/1.1\r\nHost: example.com\r\n"
                      "Connection: close\r\n\r\n";
    char *out = exchange(raw, strlen(raw), 3000, &closed);
    assert_ptr_equal(strstr(out, "HTTP/1.1 200 OK\r\n"), out);
    assert_non_null(strstr(out, "\"path\": \"/path\""));
    assert_non_null(strstr(out, "\"query\": \"q\""));
    assert_non_null(strstr(out, "\"raw_uri\": \"http://example.com/path?q\""));
    free(out);
    raw = "GET http://example.com:8080/a%20b/c?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\n"
          "Connection: close\r\n\r\n";
    out = exchange(raw, strlen(raw), 3000, &closed);
    assert_non_null(strstr(out, "\"path\": \"/a b/c\""));
    assert_non_null(strstr(out, "\"query\": \"x=1&y=2\""));
    free(out);
}

/* Header names with '_' are dropped (gunicorn 22+ header_map=drop). */
static void test_underscore_headers(void **state)
{
    use(K, NULL);
    bool closed;
    const char *raw = "GET /u HTTP/1.1\r\nHost: x\r\nX_Auth_User: admin\r\nX-Auth-User: real\r\n"
                      "Connection: close\r\n\r\n";
    char *out = exchange(raw, strlen(raw), 3000, &closed);
    assert_ptr_equal(strstr(out, "HTTP/1.1 200 OK\r\n"), out);
    assert_non_null(strstr(out, "\"HTTP_X_AUTH_USER\": \"real\""));
    assert_null(strstr(out, "admin"));
    free(out);
}

/* Host (RFC 9112 3.2): an HTTP/1.1 request without one is a 400, HTTP/1.0
 * may omit it, two are a 400; with an absolute-form target the target's
 * authority is what counts, whatever Host says. */
static void test_host_rules(void **state)
{
    use(K, NULL);
    bool closed;
    const char *raw = "GET /nohost HTTP/1.0\r\n\r\n";
    char *out = exchange(raw, strlen(raw), 3000, &closed);
    assert_ptr_equal(strstr(out, "HTTP/1.0 200 OK\r\n"), out);
    free(out);
    raw = "GET /two HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
    out = exchange(raw, strlen(raw), 3000, &closed);
    assert_ptr_equal(strstr(out, "HTTP/1.1 400 Bad Request\r\n"), out);
    free(out);
    raw = "GET http://example.com/abs HTTP/1.1\r\nHost: other.example\r\n"
          "Connection: close\r\n\r\n";
    out = exchange(raw, strlen(raw), 3000, &closed);
    assert_ptr_equal(strstr(out, "HTTP/1.1 200 OK\r\n"), out);
    assert_non_null(strstr(out, "\"path\": \"/abs\""));
    free(out);
    raw = "GET /nohost HTTP/1.1\r\nConnection: close\r\n\r\n";
    out = exchange(raw, strlen(raw), 3000, &closed);
    if (strncmp(out, "HTTP/1.1 400 ", 13) != 0)
        fprintf(stderr, "HTTP/1.1 without Host answered:\n%.200s\n", out);
    assert_ptr_equal(strstr(out, "HTTP/1.1 400 Bad Request\r\n"), out);
    free(out);
    assert_alive();
}

/* --- wsgi.file_wrapper ----------------------------------------------------------- */

#define FILE_SIZE (1024 * 1024 + 17)

/* read(2)-family system calls the worker made so far (/proc/PID/io
 * syscr, all threads): sendfile(2) of a whole file counts once, reading it
 * in 8 kB blocks more than a hundred times. */
static long long syscr(pid_t pid)
{
    char path[64], line[128];
    long long n = -1;
    snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "syscr: %lld", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* GET /file on a new connection: the number of reads the worker made.
 * With sendfile the length is known (Content-Length), without it the file
 * is iterated (chunked). */
static long long get_file_reads(bool sendfile)
{
    cl_t c;
    resp_t r;
    long long before = syscr(worker);
    cl_srv(&c);
    assert_true(cl_sends(&c, "GET /file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    assert_int_equal(cl_response(&c, &r, false, 10000), 0);
    assert_int_equal(r.clen, sendfile ? FILE_SIZE : -1);
    assert_int_equal(r.chunked, !sendfile);
    assert_int_equal(r.body_len, FILE_SIZE);
    assert_int_equal(pattern_mismatch(r.body, r.body_len, 0), -1);
    resp_free(&r);
    assert_true(cl_closed(&c, 2000));
    cl_close(&c);
    return syscr(worker) - before;
}

static void test_file_wrapper_file(void **state)
{
    use(K, NULL);
    cl_t c;
    resp_t r;
    get_file_reads(true); /* the app creates the file on its first call */
    long long reads = get_file_reads(true);
    fprintf(stderr, "%s: a 1 MB file_wrapper response took %lld reads\n", class_name[K], reads);
    if (syscr(worker) >= 0)
        assert_true(reads < 32); /* sendfile(2), not read() in blocks */
    cl_srv(&c);
    for (int i = 0; i < (K == GTHREAD ? 2 : 1); i++) {
        /* from the start, then (kept alive) from an offset */
        size_t off = i == 0 ? 0 : 100;
        char req[128];
        snprintf(req, sizeof(req), "GET /file%s HTTP/1.1\r\nHost: x\r\n\r\n", off ? "?100" : "");
        assert_true(cl_sends(&c, req));
        assert_int_equal(cl_response(&c, &r, false, 10000), 0);
        assert_int_equal(r.status, 200);
        assert_false(r.chunked);
        assert_int_equal(r.clen, FILE_SIZE - (long long)off);
        assert_int_equal(r.body_len, FILE_SIZE - off);
        assert_int_equal(pattern_mismatch(r.body, r.body_len, off), -1);
        resp_free(&r);
    }
    cl_close(&c);
    /* the data on the wire is the file: Content-Length is exact, no more
     * bytes follow it on a closed connection */
    cl_srv(&c);
    assert_true(cl_sends(&c, "GET /file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    assert_int_equal(cl_response(&c, &r, false, 10000), 0);
    resp_free(&r);
    assert_true(cl_closed(&c, 2000));
    assert_int_equal(c.len, 0);
    cl_close(&c);
}

/* --no-sendfile: the same bytes, read in blocks. */
static void test_file_wrapper_no_sendfile(void **state)
{
    const char *extra[] = {"--no-sendfile", NULL};
    use(K, extra);
    get_file_reads(false);
    long long reads = get_file_reads(false);
    fprintf(stderr, "%s --no-sendfile: a 1 MB file_wrapper response took %lld reads\n",
            class_name[K], reads);
    if (syscr(worker) >= 0)
        assert_true(reads > 100);
}

static void test_file_wrapper_object(void **state)
{
    use(K, NULL);
    cl_t c;
    resp_t r;
    cl_srv(&c);
    assert_true(cl_sends(&c, "GET /fileobj HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_int_equal(cl_response(&c, &r, false, 10000), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 100000);
    assert_int_equal(pattern_mismatch(r.body, r.body_len, 0), -1);
    resp_free(&r);
    cl_close(&c);
}

/* --- large bodies ------------------------------------------------------------------ */

static void test_large_response(void **state)
{
    use(K, NULL);
    static const char *const paths[] = {"/big", "/big_cl"};
    cl_t c;
    resp_t r;
    for (int p = 0; p < 2; p++) {
        char req[128];
        cl_srv(&c);
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[p]);
        assert_true(cl_sends(&c, req));
        assert_int_equal(cl_response(&c, &r, false, 20000), 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.chunked, p == 0);
        assert_int_equal(r.body_len, 5 * 1024 * 1024);
        assert_int_equal(pattern_mismatch(r.body, r.body_len, 0), -1);
        resp_free(&r);
        cl_close(&c);
    }
    /* HTTP/1.0: delimited by the close */
    cl_srv(&c);
    assert_true(cl_sends(&c, "GET /big HTTP/1.0\r\n\r\n"));
    assert_int_equal(cl_response(&c, &r, false, 20000), 0);
    assert_int_equal(r.body_len, 5 * 1024 * 1024);
    assert_int_equal(pattern_mismatch(r.body, r.body_len, 0), -1);
    resp_free(&r);
    cl_close(&c);
    assert_alive();
}

/* 5 MB up, read by the app in 64 KiB pieces: with a Content-Length, and
 * chunked in 100 kB chunks. */
static void test_large_upload(void **state)
{
    use(K, NULL);
    enum { SIZE = 5 * 1024 * 1024 };
    char *body = malloc(SIZE);
    assert_non_null(body);
    for (size_t i = 0; i < SIZE; i++)
        body[i] = (char)pat(i);
    cl_t c;
    resp_t r;
    char head[256];

    cl_srv(&c);
    snprintf(head, sizeof(head), "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n",
             SIZE);
    assert_true(cl_sends(&c, head));
    assert_true(cl_send(&c, body, SIZE));
    assert_int_equal(cl_response(&c, &r, false, 20000), 0);
    assert_string_equal(r.body, "ok 5242880 80");
    resp_free(&r);
    cl_close(&c);

    cl_srv(&c);
    assert_true(
        cl_sends(&c, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    for (size_t off = 0; off < SIZE; off += 100000) {
        size_t n = SIZE - off < 100000 ? SIZE - off : 100000;
        char sz[32];
        snprintf(sz, sizeof(sz), "%zx\r\n", n);
        assert_true(cl_sends(&c, sz));
        assert_true(cl_send(&c, body + off, n));
        assert_true(cl_sends(&c, "\r\n"));
    }
    assert_true(cl_sends(&c, "0\r\n\r\n"));
    assert_int_equal(cl_response(&c, &r, false, 20000), 0);
    assert_string_equal(r.body, "ok 5242880 80");
    resp_free(&r);
    cl_close(&c);
    free(body);
    assert_alive();
}

/* --- responses the app gets wrong ------------------------------------------------------- */

/* An invalid header from the app: never on the wire; a 500 and a log line. */
static void test_invalid_response_header(void **state)
{
    use(K, NULL);
    int before = h_log_count(srv, "Invalid response header");
    bool closed;
    const char *raw = "GET /badheader HTTP/1.1\r\nHost: x\r\n\r\n";
    char *out = exchange(raw, strlen(raw), 3000, &closed);
    assert_ptr_equal(strstr(out, "HTTP/1.1 500 Internal Server Error\r\n"), out);
    assert_null(strstr(out, "Injected"));
    assert_null(strstr(out, "should not be sent"));
    assert_true(closed);
    free(out);
    assert_true(h_wait_log(srv, "Invalid response header", before + 1, 3000));
    assert_alive();
}

/* --- X-Forwarded-Proto -------------------------------------------------------------------- */

static void test_forwarded_proto(void **state)
{
    use(K, NULL);
    bool closed;
    const char *raw = "GET /s HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\n"
                      "Connection: close\r\n\r\n";
    char *out = exchange(raw, strlen(raw), 3000, &closed);
    assert_non_null(strstr(out, "\"scheme\": \"https\""));
    free(out);
    const char *plain = "GET /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    out = exchange(plain, strlen(plain), 3000, &closed);
    assert_non_null(strstr(out, "\"scheme\": \"http\""));
    free(out);

    const char *untrusted[] = {"--forwarded-allow-ips", "10.0.0.1", NULL};
    use(K, untrusted);
    out = exchange(raw, strlen(raw), 3000, &closed);
    assert_ptr_equal(strstr(out, "HTTP/1.1 200 OK\r\n"), out);
    assert_non_null(strstr(out, "\"scheme\": \"http\""));
    free(out);
}

/* --- request smuggling ----------------------------------------------------------------------- */

/* Each raw request hides a second request, "GET /smuggled", that one
 * reading of the framing would answer.  Expected: a 4xx (or 5xx when the
 * app's read of the body fails) or a close, never a 200 for the first one
 * when the framing is invalid, never an answer to /smuggled, the connection
 * closed, the worker the same. */
typedef struct {
    const char *name;
    const char *raw; /* NULL: built */
    char *(*build)(size_t *len);
    int status; /* the status when one is sent (0: any 4xx/5xx or none) */
} smuggle_case;

#define SMUGGLED "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

static char *build_nul_in_name(size_t *len)
{
    static const char raw[] =
        "POST / HTTP/1.1\r\nHost: x\r\nContent\0Length: 5\r\n\r\nhello" SMUGGLED;
    char *b = malloc(sizeof(raw));
    memcpy(b, raw, sizeof(raw));
    *len = sizeof(raw) - 1;
    return b;
}

static char *build_nul_in_cl(size_t *len)
{
    static const char raw[] =
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\0 10\r\n\r\nhello" SMUGGLED;
    char *b = malloc(sizeof(raw));
    memcpy(b, raw, sizeof(raw));
    *len = sizeof(raw) - 1;
    return b;
}

static char *build_nul_in_chunk(size_t *len)
{
    static const char raw[] = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "5\0\r\nhello\r\n0\r\n\r\n" SMUGGLED;
    char *b = malloc(sizeof(raw));
    memcpy(b, raw, sizeof(raw));
    *len = sizeof(raw) - 1;
    return b;
}

static char *build_huge_chunk_ext(size_t *len)
{
    size_t n = 0;
    char *b = malloc(40000);
    n += (size_t)sprintf(b, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e=");
    memset(b + n, 'e', 20000);
    n += 20000;
    n += (size_t)sprintf(b + n, "\r\nhello\r\n0\r\n\r\n" SMUGGLED);
    *len = n;
    return b;
}

static char *build_many_chunk_exts(size_t *len)
{
    size_t n = 0;
    char *b = malloc(40000);
    n += (size_t)sprintf(b, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5");
    for (int i = 0; i < 3000; i++)
        n += (size_t)sprintf(b + n, ";a=b");
    n += (size_t)sprintf(b + n, "\r\nhello\r\n0\r\n\r\n" SMUGGLED);
    *len = n;
    return b;
}

/* clang-format off */
static const smuggle_case smuggle_cases[] = {
    {"cl_te", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\n\r\n" SMUGGLED, NULL, 400},
    {"te_cl", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
     "25\r\n" SMUGGLED "\r\n0\r\n\r\n", NULL, 400},
    {"te_cl_obfuscated_te", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
     "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" SMUGGLED, NULL, 0},
    {"te_space_before_colon", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n"
     "0\r\n\r\n" SMUGGLED, NULL, 400},
    {"te_chunked_then_identity", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n"
     "\r\n0\r\n\r\n" SMUGGLED, NULL, 400},
    {"te_twice", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" SMUGGLED, NULL, 400},
    {"te_on_http10", "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
     SMUGGLED, NULL, 400},
    {"te_obs_fold", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"
     "0\r\n\r\n" SMUGGLED, NULL, 400},
    {"te_vertical_tab", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\x0b" "chunked\r\n\r\n"
     "0\r\n\r\n" SMUGGLED, NULL, 400},
    {"duplicate_cl_same", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n"
     "\r\nhello" SMUGGLED, NULL, 400},
    {"duplicate_cl_different", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
     "Content-Length: 40\r\n\r\nhello" SMUGGLED, NULL, 400},
    {"cl_list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello" SMUGGLED, NULL, 400},
    {"cl_plus", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello" SMUGGLED, NULL, 400},
    {"cl_minus", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\nhello" SMUGGLED, NULL, 400},
    {"cl_hex", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello" SMUGGLED, NULL, 400},
    {"cl_inner_space", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5 0\r\n\r\nhello" SMUGGLED,
     NULL, 400},
    {"cl_trailing_junk", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello" SMUGGLED,
     NULL, 400},
    {"cl_empty", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\nhello" SMUGGLED, NULL, 400},
    {"cl_space_before_colon", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello"
     SMUGGLED, NULL, 400},
    {"cl_obs_fold", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n 0\r\n\r\nhello" SMUGGLED,
     NULL, 400},
    {"cl_overflow", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551621\r\n\r\n"
     "hello" SMUGGLED, NULL, 400},
    {"bare_cr_in_header", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\rX: y\r\n\r\nhello"
     SMUGGLED, NULL, 400},
    {"bare_lf_header_end", "POST / HTTP/1.1\r\nHost: x\nContent-Length: 5\r\n\r\nhello" SMUGGLED,
     NULL, 400},
    {"bare_lf_head_end", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\nhello" SMUGGLED,
     NULL, 400},
    {"bare_cr_request_line", "POST / HTTP/1.1\rHost: x\r\nContent-Length: 5\r\n\r\nhello" SMUGGLED,
     NULL, 400},
    {"nul_in_header_name", NULL, build_nul_in_name, 400},
    {"nul_in_content_length", NULL, build_nul_in_cl, 400},
    /* found while the app reads the body: a 5xx from the app's failure, or
     * a close */
    {"chunk_size_not_hex", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "zz\r\nhello\r\n0\r\n\r\n" SMUGGLED, NULL, 0},
    {"chunk_size_negative", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "-5\r\nhello\r\n0\r\n\r\n" SMUGGLED, NULL, 0},
    {"chunk_size_0x", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0x5\r\nhello\r\n0\r\n\r\n" SMUGGLED, NULL, 0},
    {"chunk_size_leading_space", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     " 5\r\nhello\r\n0\r\n\r\n" SMUGGLED, NULL, 0},
    {"chunk_size_empty", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "\r\nhello\r\n0\r\n\r\n" SMUGGLED, NULL, 0},
    {"chunk_size_overflow", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "10000000000000005\r\nhello\r\n0\r\n\r\n" SMUGGLED, NULL, 0},
    {"chunk_data_too_long", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3\r\nhello\r\n0\r\n\r\n" SMUGGLED, NULL, 0},
    {"chunk_bare_lf", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5\nhello\n0\n\n" SMUGGLED, NULL, 0},
    {"chunk_ext_bare_cr", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5;a=b\rc\r\nhello\r\n0\r\n\r\n" SMUGGLED, NULL, 0},
    {"chunk_nul", NULL, build_nul_in_chunk, 0},
    {"chunk_ext_oversized", NULL, build_huge_chunk_ext, 0},
    {"chunk_ext_many", NULL, build_many_chunk_exts, 0},
    {"trailer_content_length", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5\r\nhello\r\n0\r\nContent-Length: 40\r\n\r\n" SMUGGLED, NULL, 0},
    {"trailer_obs_fold", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n" SMUGGLED, NULL, 0},
    {"last_chunk_without_crlf", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5\r\nhello\r\n0\r\n" SMUGGLED, NULL, 0},
};
/* clang-format on */

typedef struct {
    int k;
    const smuggle_case *c;
} smuggle_param;

static void test_smuggle(void **state)
{
    const smuggle_param *p = *state;
    size_t len;
    char *built = NULL;
    const char *raw = p->c->raw;
    use(p->k, NULL);
    if (p->c->build) {
        built = p->c->build(&len);
        raw = built;
    } else {
        len = strlen(raw);
    }
    long long t0 = now_ms();
    bool closed;
    char *out = exchange(raw, len, 5000, &closed);
    free(built);
    if (strstr(out, "\"path\": \"/smuggled\"")) {
        fprintf(stderr, "the smuggled request was answered:\n%s\n", out);
        fail();
    }
    if (!closed)
        fprintf(stderr, "still open after 5 s; got:\n%.300s\n", out);
    assert_true(closed);
    assert_true(now_ms() - t0 < 5000);
    if (out[0]) {
        int st = 0;
        assert_int_equal(sscanf(out, "HTTP/1.1 %d", &st), 1);
        if (p->c->status) {
            if (st != p->c->status)
                fprintf(stderr, "expected %d, got:\n%.300s\n", p->c->status, out);
            assert_int_equal(st, p->c->status);
        } else {
            if (st < 400)
                fprintf(stderr, "answered:\n%.600s\n", out);
            assert_true(st >= 400 && st <= 599);
        }
        /* one response only: nothing after the first one's body */
        const char *body = strstr(out, "\r\n\r\n");
        const char *cl = strstr(out, "\r\nContent-Length: ");
        assert_non_null(body);
        if (cl && cl < body) {
            size_t want = (size_t)(body + 4 - out) + (size_t)atol(cl + 18);
            if (strlen(out) != want)
                fprintf(stderr, "more than one response:\n%s\n", out);
            assert_int_equal(strlen(out), want);
        }
    } else {
        assert_int_equal(p->c->status, 0); /* a parse error always gets its page */
    }
    free(out);
    assert_alive();
}

/* --- test_badinput.c's table against gthread ---------------------------------------------- */

/* resp is gunicorn's error page with this status (see test_badinput.c). */
static void assert_error_page(const char *resp, int status, const char *detail)
{
    int st = 0, off = 0;
    char reason[96] = "";
    if (sscanf(resp, "HTTP/1.1 %d %95[^\r]%n", &st, reason, &off) != 2) {
        fprintf(stderr, "not an HTTP/1.1 response:\n%.300s\n", resp);
        fail();
    }
    if (st != status)
        fprintf(stderr, "expected %d, got:\n%.300s\n", status, resp);
    assert_int_equal(st, status);
    const char *body = strstr(resp, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    char head[512];
    snprintf(head, sizeof(head),
             "\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: %zu\r\n\r\n",
             strlen(body));
    assert_ptr_equal(strstr(resp, head), resp + off);
    const char *tail = "\n  </body>\n</html>\n";
    assert_true(strlen(body) > strlen(tail));
    assert_string_equal(body + strlen(body) - strlen(tail), tail);
    if (detail) {
        char esc[1024];
        html_escape(detail, esc, sizeof(esc));
        if (strstr(body, esc) == NULL)
            fprintf(stderr, "page lacks '%s':\n%s\n", esc, body);
        assert_non_null(strstr(body, esc));
    }
}

/* The bad request on a fresh connection, then after a good request on a
 * kept-alive one: the error page, the WARNING, the close, the same worker. */
static void test_bad_case(void **state)
{
    const bad_case *c = *state;
    size_t len;
    char *built = NULL;
    const char *raw = c->raw;
    char want[1024];

    use(GTHREAD, c->extra[0] ? c->extra : NULL);
    snprintf(want, sizeof(want), "[WARNING] Invalid request from ip=127.0.0.1: %s",
             c->detail ? c->detail : "");
    int before = h_log_count(srv, want);
    for (int round = 0; round < 2; round++) {
        if (c->build) {
            built = c->build(&len);
            raw = built;
        } else {
            len = strlen(raw);
        }
        cl_t cl;
        cl_srv(&cl);
        if (round == 1) {
            resp_t r;
            assert_int_equal(cl_get(&cl, "/first", NULL, &r), 0);
            assert_int_equal(r.status, 200);
            assert_string_equal(r.connection, "keep-alive");
            resp_free(&r);
        }
        long long t0 = now_ms();
        cl_send(&cl, raw, len);
        free(built);
        built = NULL;
        assert_true(cl_closed(&cl, 5000));
        assert_true(now_ms() - t0 < 5000);
        assert_error_page(cl.in ? cl.in : "", c->status, c->detail);
        cl_close(&cl);
        if (!h_wait_log(srv, want, before + round + 1, 3000)) {
            char *log = h_log(srv);
            fprintf(stderr, "log lacks '%s':\n%s\n", want, log);
            free(log);
            fail();
        }
        assert_alive();
    }
}

/* Under the default limits, a request just inside them is served on a
 * kept-alive connection and the connection stays usable. */
static void test_default_limits_keepalive(void **state)
{
    (void)state;
    use(GTHREAD, NULL);
    int before = h_log_count(srv, "Invalid request from");
    cl_t c;
    resp_t r;
    size_t len;
    char *b = headers(100, &len);
    cl_srv(&c);
    for (int i = 0; i < 2; i++) {
        assert_true(cl_send(&c, b, len));
        assert_int_equal(cl_response(&c, &r, false, 5000), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.connection, "keep-alive");
        resp_free(&r);
    }
    free(b);
    /* a head of almost the whole buffer limit, pipelined twice */
    b = malloc(20000);
    size_t n = (size_t)sprintf(b, "GET /big-head HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    memset(b + n, 'p', 8000);
    n += 8000;
    n += (size_t)sprintf(b + n, "\r\n\r\n");
    assert_true(cl_send(&c, b, n));
    assert_true(cl_send(&c, b, n));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(cl_response(&c, &r, false, 5000), 0);
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.body, "\"path\": \"/big-head\""));
        resp_free(&r);
    }
    free(b);
    cl_close(&c);
    assert_int_equal(h_log_count(srv, "Invalid request from"), before);
}

/* Random bytes after a good request on a kept-alive connection: a 4xx or
 * a close, never a hang, the worker the same. */
static uint32_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void test_keepalive_garbage(void **state)
{
    (void)state;
    use(GTHREAD, NULL);
    static const char *starts[] = {"", "GET ", "GET /", "POST / HTTP/1.1\r\n", "G", "\r\n"};
    char req[3000];
    rng_state = 0x7e57ab1eu;
    for (int i = 0; i < 100; i++) {
        cl_t c;
        resp_t r;
        cl_srv(&c);
        assert_int_equal(cl_get(&c, "/ok", NULL, &r), 0);
        assert_int_equal(r.status, 200);
        resp_free(&r);
        const char *s = starts[rnd() % 6];
        size_t n = strlen(s), len = n + 1 + rnd() % 2000;
        memcpy(req, s, n);
        for (size_t k = n; k < len; k++)
            req[k] = (char)(rnd() & 0xff);
        if (rnd() % 2) {
            memcpy(req + len, "\r\n\r\n", 4);
            len += 4;
        }
        cl_send(&c, req, len);
        shutdown(c.fd, SHUT_WR);
        long long t0 = now_ms();
        assert_true(cl_closed(&c, 5000));
        assert_true(now_ms() - t0 < 5000);
        if (c.len > 0) {
            int st = 0;
            if (sscanf(c.in, "HTTP/1.1 %d", &st) != 1 || st < 400 || st > 499) {
                fprintf(stderr, "request %d answered:\n%.300s\n", i, c.in);
                fail();
            }
        }
        cl_close(&c);
        if (i % 25 == 24)
            assert_alive();
    }
    assert_alive();
}

typedef void (*case_fn)(void **);

int main(void)
{
    static const struct {
        const char *name;
        case_fn f;
    } both[] = {
        {"expect_continue_read", test_expect_continue_read},
        {"expect_continue_ignored", test_expect_continue_ignored},
        {"expect_continue_body_at_once", test_expect_continue_body_at_once},
        {"ignored_body", test_ignored_body},
        {"expect_other_417", test_expect_other_417},
        {"chunked_request", test_chunked_request},
        {"chunked_response", test_chunked_response},
        {"head", test_head},
        {"options_star", test_options_star},
        {"absolute_form", test_absolute_form},
        {"underscore_headers", test_underscore_headers},
        {"host_rules", test_host_rules},
        {"file_wrapper_file", test_file_wrapper_file},
        {"file_wrapper_no_sendfile", test_file_wrapper_no_sendfile},
        {"file_wrapper_object", test_file_wrapper_object},
        {"large_response", test_large_response},
        {"large_upload", test_large_upload},
        {"invalid_response_header", test_invalid_response_header},
        {"forwarded_proto", test_forwarded_proto},
    };
    enum {
        NBOTH = sizeof(both) / sizeof(both[0]),
        NSMUGGLE = sizeof(smuggle_cases) / sizeof(smuggle_cases[0]),
        NBAD = CG_NBAD_MAX, /* room for the shared table */
        NTOTAL = NBOTH * NCLASSES + NSMUGGLE * NCLASSES + NBAD + 2,
    };
    static int classes[NCLASSES] = {SYNC, GTHREAD};
    static smuggle_param sp[NSMUGGLE * NCLASSES];
    static char names[NTOTAL][96];
    static struct CMUnitTest tests[NTOTAL];
    size_t n = 0;

    signal(SIGPIPE, SIG_IGN);
    /* the file apps/http11apps.py serves through wsgi.file_wrapper */
    snprintf(file_path, sizeof(file_path), "/tmp/cg-http11-file-%d", (int)getpid());
    setenv("CG_HTTP11_FILE", file_path, 1);
    atexit(remove_file);
    for (int k = 0; k < NCLASSES; k++)
        for (size_t i = 0; i < NBOTH; i++) {
            snprintf(names[n], sizeof(names[n]), "%s: %s", class_name[k], both[i].name);
            tests[n] = (struct CMUnitTest){names[n], both[i].f, NULL, teardown, &classes[k]};
            n++;
        }
    for (int k = 0; k < NCLASSES; k++)
        for (size_t i = 0; i < NSMUGGLE; i++) {
            smuggle_param *p = &sp[k * NSMUGGLE + i];
            p->k = k;
            p->c = &smuggle_cases[i];
            snprintf(names[n], sizeof(names[n]), "%s: smuggle %s", class_name[k],
                     smuggle_cases[i].name);
            tests[n] = (struct CMUnitTest){names[n], test_smuggle, NULL, teardown, p};
            n++;
        }
    for (size_t i = 0; i < cg_nbad_cases && i < NBAD; i++) {
        snprintf(names[n], sizeof(names[n]), "gthread: bad %s", cg_bad_cases[i].name);
        tests[n] =
            (struct CMUnitTest){names[n], test_bad_case, NULL, teardown, (void *)&cg_bad_cases[i]};
        n++;
    }
    tests[n++] = (struct CMUnitTest){"gthread: default_limits_keepalive",
                                     test_default_limits_keepalive, NULL, teardown, NULL};
    tests[n++] = (struct CMUnitTest){"gthread: keepalive_garbage", test_keepalive_garbage, NULL,
                                     teardown, NULL};
    return _cmocka_run_group_tests("test_http11", tests, n, NULL, group_teardown);
}
