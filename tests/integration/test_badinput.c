/* test_badinput.c - malformed requests against the real server: each gets
 * gunicorn's HTML error page with a 4xx (501 for an unknown transfer
 * coding), an "Invalid request from ip=127.0.0.1: ..." WARNING, and the
 * worker keeps serving (same pid, next request 200).  GUNICORN.md 6.2, 6.4. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bad_cases.h"
#include "harness.h"

#define RESP_CAP 65536

static srv_t *srv;
static pid_t worker;
static char resp[RESP_CAP];

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int teardown(void **state)
{
    (void)state;
    int rc = h_stop_checked(srv);
    srv = NULL;
    return rc;
}

/* Start wsgiapps:echo (one worker) with extra arguments; remember the
 * worker's pid. */
static srv_t *start(const char *const *extra)
{
    const char *argv[16] = {"-b", "127.0.0.1:{port}"};
    int n = 2;
    for (int i = 0; extra && extra[i] && n < 14; i++)
        argv[n++] = extra[i];
    argv[n++] = "wsgiapps:echo";
    argv[n] = NULL;
    srv = h_start_ready(NULL, argv, 20000);
    assert_non_null(srv);
    pid_t kids[4];
    assert_int_equal(h_children(srv->pid, kids, 4), 1);
    worker = kids[0];
    return srv;
}

/* The worker is the same process and still answers. */
static void assert_alive(void)
{
    char body[16384];
    pid_t kids[4];
    assert_int_equal(h_get(srv->port, "/alive", body, sizeof(body)), 200);
    assert_non_null(strstr(body, "\"PATH_INFO\": \"/alive\""));
    assert_int_equal(h_children(srv->pid, kids, 4), 1);
    assert_int_equal(kids[0], worker);
}

/* Send raw bytes (then, if shut, half-close), read until the server closes
 * or timeout_ms.  The response length; -1 if connecting failed. */
static int send_raw(const char *raw, size_t len, bool shut, int timeout_ms)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)srv->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t got = 0;
    long long end = now_ms() + timeout_ms;

    resp[0] = '\0';
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, raw + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server may close before reading it all */
        off += (size_t)w;
    }
    if (shut)
        shutdown(fd, SHUT_WR);
    got = h_read_until_close(fd, resp, sizeof(resp), (int)(end - now_ms()));
    close(fd);
    return (int)got;
}

/* resp is gunicorn's error page (util.write_error) with this status; the
 * page's message contains detail (unescaped text) when given. */
static void assert_error_page(int status, const char *detail)
{
    int st = 0, off = 0;
    char reason[96] = "";
    if (sscanf(resp, "HTTP/1.1 %d %95[^\r]%n", &st, reason, &off) != 2) {
        fprintf(stderr, "not an HTTP/1.1 response:\n%s\n", resp);
        fail();
    }
    if (st != status)
        fprintf(stderr, "expected %d, got:\n%s\n", status, resp);
    assert_int_equal(st, status);
    const char *body = strstr(resp, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    /* exactly these headers, no Server/Date */
    char head[512];
    snprintf(head, sizeof(head),
             "\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: %zu\r\n\r\n",
             strlen(body));
    assert_ptr_equal(strstr(resp, head), resp + off);
    char want[512];
    snprintf(want, sizeof(want),
             "<html>\n  <head>\n    <title>%s</title>\n  </head>\n  <body>\n"
             "    <h1><p>%s</p></h1>\n    ",
             reason, reason);
    assert_memory_equal(body, want, strlen(want));
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

/* The error log has (count times) the WARNING for detail. */
static void assert_logged(const char *detail, int count)
{
    char want[1024];
    snprintf(want, sizeof(want), "[WARNING] Invalid request from ip=127.0.0.1: %s", detail);
    if (!h_wait_log(srv, want, count, 3000)) {
        char *log = h_log(srv);
        fprintf(stderr, "log lacks '%s':\n%s\n", want, log);
        free(log);
        fail();
    }
}

/* --------------------------------------------------------------------- */
/* Table-driven: one request, one status, one message. */

/* clang-format on */

static void test_bad_case(void **state)
{
    const bad_case *c = *state;
    size_t len;
    char *built = NULL;
    const char *raw = c->raw;

    start(c->extra);
    if (c->build) {
        built = c->build(&len);
        raw = built;
    } else {
        len = strlen(raw);
    }
    long long t0 = now_ms();
    int n = send_raw(raw, len, false, 5000);
    free(built);
    assert_true(n > 0);
    assert_true(now_ms() - t0 < 5000);
    assert_error_page(c->status, c->detail);
    assert_logged(c->detail ? c->detail : "", 1);
    assert_alive();
    /* and again: the worker is not left in a bad state */
    if (c->build) {
        built = c->build(&len);
        raw = built;
    }
    assert_true(send_raw(raw, len, false, 5000) > 0);
    free(built);
    assert_error_page(c->status, c->detail);
    assert_alive();
}

/* --------------------------------------------------------------------- */
/* Limits: just under them is served. */

static void test_limits_boundaries(void **state)
{
    (void)state;
    const char *extra[] = {"--limit-request-line",
                           "100",
                           "--limit-request-fields",
                           "5",
                           "--limit-request-field_size",
                           "50",
                           NULL};
    size_t len;
    char *b;

    start(extra);
    b = line_of(100, &len);
    send_raw(b, len, false, 5000);
    free(b);
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    b = headers(5, &len);
    send_raw(b, len, false, 5000);
    free(b);
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    b = field_of(48, &len);
    send_raw(b, len, false, 5000);
    free(b);
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    assert_int_equal(h_log_count(srv, "Invalid request from"), 0);
    assert_alive();
}

/* The default limits: 100 headers and an 8188-byte header line are fine. */
static void test_default_limits_boundaries(void **state)
{
    (void)state;
    size_t len;
    char *b;

    start(NULL);
    b = headers(100, &len);
    send_raw(b, len, false, 5000);
    free(b);
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    b = field_of(8188, &len);
    send_raw(b, len, false, 5000);
    free(b);
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    b = line_of(4094, &len);
    send_raw(b, len, false, 5000);
    free(b);
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    assert_int_equal(h_log_count(srv, "Invalid request from"), 0);
    assert_alive();
}

/* --------------------------------------------------------------------- */
/* Bodies */

/* A bad chunk size is found when the app reads wsgi.input: gunicorn closes
 * without a response; an error status is acceptable too.  Never a hang,
 * never a 200. */
static void test_invalid_chunk_size(void **state)
{
    (void)state;
    start(NULL);
    const char *raw = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "zz\r\nhello\r\n0\r\n\r\n";
    long long t0 = now_ms();
    int n = send_raw(raw, strlen(raw), false, 5000);
    assert_true(now_ms() - t0 < 4000);
    if (n > 0) {
        int st = 0;
        assert_int_equal(sscanf(resp, "HTTP/1.1 %d", &st), 1);
        assert_true(st >= 400 && st <= 599);
    }
    assert_alive();
}

/* A chunked body cut short by the client. */
static void test_chunked_body_truncated(void **state)
{
    (void)state;
    start(NULL);
    const char *raw = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhel";
    long long t0 = now_ms();
    int n = send_raw(raw, strlen(raw), true, 5000);
    assert_true(now_ms() - t0 < 4000);
    assert_null(strstr(resp, " 200 OK"));
    (void)n;
    assert_alive();
}

/* Expect: 100-continue: the client waits for the interim response, then
 * sends the body, then gets the answer. */
static void test_expect_continue(void **state)
{
    (void)state;
    start(NULL);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)srv->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    const char *head = "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                       "Expect: 100-continue\r\n\r\n";
    assert_int_equal(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
    const char *cont = "HTTP/1.1 100 Continue\r\n\r\n";
    char buf[64] = "";
    size_t got = 0;
    while (got < strlen(cont)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 5000), 1);
        ssize_t r = recv(fd, buf + got, strlen(cont) - got, 0);
        assert_true(r > 0);
        got += (size_t)r;
    }
    assert_memory_equal(buf, cont, strlen(cont));
    assert_int_equal(send(fd, "hello", 5, MSG_NOSIGNAL), 5);
    size_t len = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) != 1)
            break;
        ssize_t r = recv(fd, resp + len, sizeof(resp) - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    resp[len] = '\0';
    close(fd);
    assert_ptr_equal(strstr(resp, "HTTP/1.1 200 OK\r\n"), resp);
    assert_non_null(strstr(resp, "\"body\": \"hello\""));
    assert_alive();
}

/* Expect: 100-continue with the body sent at once: a 100 may come first
 * (gunicorn always sends it; RFC 9110 10.1.1 lets a server that already
 * has the content omit it), then the 200. */
static void test_expect_continue_body_at_once(void **state)
{
    (void)state;
    start(NULL);
    const char *raw = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                      "Expect: 100-continue\r\n\r\nhello";
    assert_true(send_raw(raw, strlen(raw), false, 5000) > 0);
    const char *r = resp;
    const char *cont = "HTTP/1.1 100 Continue\r\n\r\n";
    if (strncmp(r, cont, strlen(cont)) == 0)
        r += strlen(cont);
    assert_ptr_equal(strstr(r, "HTTP/1.1 200 OK\r\n"), r);
    assert_non_null(strstr(r, "\"body\": \"hello\""));
    assert_alive();
}

/* Expect is ignored on HTTP/1.0 (no 100, no 417). */
static void test_expect_http10_ignored(void **state)
{
    (void)state;
    start(NULL);
    const char *raw = "POST / HTTP/1.0\r\nHost: x\r\nContent-Length: 5\r\n"
                      "Expect: 100-continue\r\n\r\nhello";
    assert_true(send_raw(raw, strlen(raw), false, 5000) > 0);
    assert_ptr_equal(strstr(resp, "HTTP/1.0 200 OK\r\n"), resp);
    assert_null(strstr(resp, "100 Continue"));
    assert_alive();
}

/* --------------------------------------------------------------------- */
/* Clients that go away */

static void test_connect_and_close(void **state)
{
    (void)state;
    start(NULL);
    for (int i = 0; i < 5; i++)
        assert_int_equal(send_raw("", 0, true, 3000), 0);
    assert_alive();
    assert_int_equal(h_log_count(srv, "Invalid request"), 0);
    assert_int_equal(h_log_count(srv, "Traceback"), 0);
}

static void test_disconnect_mid_head(void **state)
{
    (void)state;
    start(NULL);
    const char *raw = "GET / HTTP/1.1\r\nHost: x\r\nX-Partial: ab";
    long long t0 = now_ms();
    assert_int_equal(send_raw(raw, strlen(raw), true, 5000), 0);
    assert_true(now_ms() - t0 < 4000);
    assert_alive();
}

static void test_disconnect_mid_body(void **state)
{
    (void)state;
    start(NULL);
    const char *raw = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly ten b";
    long long t0 = now_ms();
    send_raw(raw, strlen(raw), true, 5000);
    assert_true(now_ms() - t0 < 4000);
    assert_null(strstr(resp, "\"body\": \"only ten b\""));
    /* a client that closes outright (no half-close) */
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)srv->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_true(send(fd, raw, strlen(raw), MSG_NOSIGNAL) > 0);
    usleep(50000);
    close(fd);
    assert_alive();
    assert_alive();
}

/* --------------------------------------------------------------------- */
/* Garbage */

static uint32_t rng_state;

static uint32_t rnd(void)
{
    /* xorshift32: the same sequence on every run */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* 200 random requests from a fixed seed: random bytes, sometimes ending in
 * CRLFCRLF, sometimes starting like a request.  Each is answered with a 4xx
 * or the connection is closed; the same worker serves throughout. */
static void test_random_garbage(void **state)
{
    (void)state;
    static const char *starts[] = {"", "GET ", "GET /", "POST / HTTP/1.1\r\n", "G", "\r\n"};
    char req[3000];
    int answered = 0;

    start(NULL);
    rng_state = 0x5eed1234u;
    for (int i = 0; i < 200; i++) {
        const char *s = starts[rnd() % 6];
        size_t n = strlen(s), len = n + 1 + rnd() % 2000;
        memcpy(req, s, n);
        for (size_t k = n; k < len; k++)
            req[k] = (char)(rnd() & 0xff);
        if (rnd() % 2) {
            memcpy(req + len, "\r\n\r\n", 4);
            len += 4;
        }
        long long t0 = now_ms();
        int got = send_raw(req, len, true, 5000);
        if (now_ms() - t0 >= 5000) {
            fprintf(stderr, "request %d hung\n", i);
            fail();
        }
        if (got > 0) {
            int st = 0;
            if (sscanf(resp, "HTTP/1.1 %d", &st) != 1 || st < 400 || st > 499) {
                fprintf(stderr, "request %d answered:\n%.300s\n", i, resp);
                fail();
            }
            answered++;
        }
        if (i % 50 == 49)
            assert_alive();
    }
    assert_true(answered > 100);
    assert_true(h_log_count(srv, "[WARNING] Invalid request from ip=127.0.0.1: ") >= answered);
    assert_alive();
}

/* Valid requests with a few random bytes changed: any status or a close,
 * never a hang or a crash. */
static void test_mutated_requests(void **state)
{
    (void)state;
    static const char base[] = "POST /path?q=1 HTTP/1.1\r\nHost: example.com\r\n"
                               "Content-Type: text/plain\r\nContent-Length: 5\r\n"
                               "X-Custom: value\r\n\r\nhello";
    static const char specials[] = "\r\n\0 :;,\t\x7f\x80\xff-_";
    char req[sizeof(base) + 8];

    start(NULL);
    rng_state = 0xc0ffee11u;
    for (int i = 0; i < 200; i++) {
        size_t len = sizeof(base) - 1;
        memcpy(req, base, len);
        int edits = 1 + (int)(rnd() % 3);
        for (int e = 0; e < edits; e++) {
            size_t at = rnd() % len;
            req[at] = rnd() % 2 ? specials[rnd() % (sizeof(specials) - 1)] : (char)(rnd() & 0xff);
        }
        long long t0 = now_ms();
        int got = send_raw(req, len, true, 5000);
        if (now_ms() - t0 >= 5000) {
            fprintf(stderr, "request %d hung: %.*s\n", i, (int)len, req);
            fail();
        }
        if (got > 0) {
            int st = 0;
            if (sscanf(resp, "HTTP/1.%*d %d", &st) != 1 || st < 200 || st > 599) {
                fprintf(stderr, "request %d answered:\n%.300s\n", i, resp);
                fail();
            }
        }
        if (i % 50 == 49)
            assert_alive();
    }
    assert_alive();
}

int main(void)
{
    static const struct {
        const char *name;
        CMUnitTestFunction f;
    } others[] = {
        {"limits_boundaries", test_limits_boundaries},
        {"default_limits_boundaries", test_default_limits_boundaries},
        {"invalid_chunk_size", test_invalid_chunk_size},
        {"chunked_body_truncated", test_chunked_body_truncated},
        {"expect_continue", test_expect_continue},
        {"expect_continue_body_at_once", test_expect_continue_body_at_once},
        {"expect_http10_ignored", test_expect_http10_ignored},
        {"connect_and_close", test_connect_and_close},
        {"disconnect_mid_head", test_disconnect_mid_head},
        {"disconnect_mid_body", test_disconnect_mid_body},
        {"random_garbage", test_random_garbage},
        {"mutated_requests", test_mutated_requests},
    };
    enum { NOTHERS = sizeof(others) / sizeof(others[0]) };
    size_t ncases = cg_nbad_cases;
    struct CMUnitTest *tests = calloc(ncases + NOTHERS, sizeof(*tests));

    for (size_t i = 0; i < ncases; i++)
        tests[i] = (struct CMUnitTest){cg_bad_cases[i].name, test_bad_case, NULL, teardown,
                                       (void *)&cg_bad_cases[i]};
    for (size_t i = 0; i < NOTHERS; i++)
        tests[ncases + i] = (struct CMUnitTest){others[i].name, others[i].f, NULL, teardown, NULL};
    size_t n = h_select_tests(tests, ncases + NOTHERS);
    int rc = _cmocka_run_group_tests("test_badinput", tests, n, NULL, NULL);
    free(tests);
    return rc;
}
