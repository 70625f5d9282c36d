/* test_wsgi.c - PEP 3333 through the real server, apps checked by
 * wsgiref.validate where PEP 3333 allows it (apps/wsgiapps.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static srv_t *start_app(const char *app)
{
    const char *argv[] = {"-b", "127.0.0.1:{port}", "--access-logfile", "-", app, NULL};
    return h_start_ready(NULL, argv, 20000);
}

static int req(srv_t *s, const char *raw, char *out, size_t cap)
{
    return h_http(s->port, raw, strlen(raw), out, cap, 10000);
}

static void test_wsgi_environ(void **state)
{
    (void)state;
    srv_t *s = start_app("wsgiapps:echo");
    assert_non_null(s);
    char out[16384];
    req(s,
        "POST /a%20b/c?x=1&y=%20 HTTP/1.1\r\nHost: example.com:99\r\nContent-Type: text/plain\r\n"
        "Content-Length: 5\r\nX-Multi: one\r\nX-Multi: two\r\n\r\nhello",
        out, sizeof(out));
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    /* sync closes after every response (gunicorn's SyncWorker always sets
     * Connection: close); gunicorn's async workers (gevent, eventlet) keep
     * an HTTP/1.1 connection alive */
    if (h_green())
        assert_non_null(strstr(out, "\r\nConnection: keep-alive\r\n"));
    else
        assert_non_null(strstr(out, "\r\nConnection: close\r\n"));
    assert_non_null(strstr(out, "\r\nServer: cgunicorn\r\n"));
    assert_non_null(strstr(out, "\r\nDate: "));
    assert_non_null(strstr(out, "\"REQUEST_METHOD\": \"POST\""));
    assert_non_null(strstr(out, "\"PATH_INFO\": \"/a b/c\""));
    assert_non_null(strstr(out, "\"QUERY_STRING\": \"x=1&y=%20\""));
    assert_non_null(strstr(out, "\"RAW_URI\": \"/a%20b/c?x=1&y=%20\""));
    assert_non_null(strstr(out, "\"SERVER_PROTOCOL\": \"HTTP/1.1\""));
    assert_non_null(strstr(out, "\"SERVER_NAME\": \"127.0.0.1\""));
    assert_non_null(strstr(out, "\"REMOTE_ADDR\": \"127.0.0.1\""));
    assert_non_null(strstr(out, "\"CONTENT_TYPE\": \"text/plain\""));
    assert_non_null(strstr(out, "\"CONTENT_LENGTH\": \"5\""));
    assert_non_null(strstr(out, "\"HTTP_X_MULTI\": \"one,two\""));
    assert_non_null(strstr(out, "\"HTTP_HOST\": \"example.com:99\""));
    assert_non_null(strstr(out, "\"body\": \"hello\""));
    assert_non_null(strstr(out, "\"SCRIPT_NAME\": \"\""));
    assert_non_null(strstr(out, "\"wsgi.url_scheme\": \"http\""));
    assert_non_null(strstr(out, "\"wsgi.multithread\": false"));
    assert_non_null(strstr(out, "\"wsgi.multiprocess\": false"));
    assert_non_null(strstr(out, "\"wsgi.input_terminated\": true"));
    assert_non_null(strstr(out, "\"has_file_wrapper\": true"));
    assert_non_null(strstr(out, "\"SERVER_SOFTWARE\": \"cgunicorn/"));
    h_stop(s);
}

/* A chunked request body reaches the app whole. */
static void test_wsgi_chunked_request(void **state)
{
    (void)state;
    srv_t *s = start_app("wsgiapps:echo");
    assert_non_null(s);
    char out[16384];
    req(s,
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
        out, sizeof(out));
    assert_non_null(strstr(out, "HTTP/1.1 200 OK"));
    assert_non_null(strstr(out, "\"body\": \"hello world\""));
    h_stop(s);
}

/* HTTP/1.0 gets an HTTP/1.0 status line. */
static void test_wsgi_http10(void **state)
{
    (void)state;
    srv_t *s = start_app("wsgiapps:echo");
    assert_non_null(s);
    char out[16384];
    req(s, "GET / HTTP/1.0\r\n\r\n", out, sizeof(out));
    assert_non_null(strstr(out, "HTTP/1.0 200 OK\r\n"));
    assert_non_null(strstr(out, "\"SERVER_PROTOCOL\": \"HTTP/1.0\""));
    h_stop(s);
}

static void test_wsgi_readline_readlines(void **state)
{
    (void)state;
    srv_t *s = start_app("wsgiapps:lines");
    assert_non_null(s);
    char out[16384];
    req(s, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\nline1\nabcdef\nl3\nlast", out,
        sizeof(out));
    assert_non_null(strstr(out, "{\"first\": \"line1\\n\", \"limited\": \"abc\", "
                                "\"rest\": [\"def\\n\", \"l3\\n\", \"last\"]}"));
    h_stop(s);
}

static void test_wsgi_input_iteration(void **state)
{
    (void)state;
    srv_t *s = start_app("wsgiapps:iterinput");
    assert_non_null(s);
    char out[16384];
    req(s, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\na\nb\nc\n", out, sizeof(out));
    assert_non_null(strstr(out, "[\"a\\n\", \"b\\n\", \"c\\n\"]"));
    h_stop(s);
}

/* A large body, read in full. */
static void test_wsgi_large_body(void **state)
{
    (void)state;
    srv_t *s = start_app("wsgiapps:echo");
    assert_non_null(s);
    size_t n = 300000;
    char *raw = malloc(n + 200);
    int hl = sprintf(raw, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
    memset(raw + hl, 'z', n);
    char *out = malloc(n + 16384);
    int len = h_http(s->port, raw, (size_t)hl + n, out, n + 16384, 20000);
    assert_true(len > (int)n);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK"));
    free(raw);
    free(out);
    h_stop(s);
}

/* No Content-Length: HTTP/1.1 chunked. */
static void test_wsgi_chunked_response(void **state)
{
    (void)state;
    srv_t *s = start_app("wsgiapps:stream");
    assert_non_null(s);
    char out[4096];
    req(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
    assert_non_null(strstr(out, "Transfer-Encoding: chunked\r\n"));
    assert_non_null(
        strstr(out, "\r\n\r\n6\r\npart0\n\r\n6\r\npart1\n\r\n6\r\npart2\n\r\n0\r\n\r\n"));
    /* HTTP/1.0: no chunks, the close ends the body */
    req(s, "GET / HTTP/1.0\r\n\r\n", out, sizeof(out));
    assert_null(strstr(out, "Transfer-Encoding"));
    assert_non_null(strstr(out, "\r\n\r\npart0\npart1\npart2\n"));
    h_stop(s);
}

static void test_wsgi_write_callable(void **state)
{
    (void)state;
    srv_t *s = start_app("wsgiapps:writer");
    assert_non_null(s);
    char out[4096];
    req(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
    assert_non_null(strstr(out, "Content-Length: 11\r\n"));
    assert_non_null(strstr(out, "\r\n\r\nhello world"));
    h_stop(s);
}

/* close() is called on the iterable. */
static void test_wsgi_close_called(void **state)
{
    (void)state;
    char flag[128];
    snprintf(flag, sizeof(flag), "/tmp/cg-close-%d", (int)getpid());
    unlink(flag);
    setenv("CG_CLOSE_FLAG", flag, 1);
    srv_t *s = start_app("wsgiapps:closing");
    unsetenv("CG_CLOSE_FLAG");
    assert_non_null(s);
    char out[4096];
    req(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
    assert_non_null(strstr(out, "\r\n\r\n1\r\na\r\n1\r\nb\r\n0\r\n\r\n"));
    assert_int_equal(access(flag, F_OK), 0);
    unlink(flag);
    h_stop(s);
}

/* An exception in the app: 500, a traceback in the log, the worker lives. */
static void test_wsgi_app_exception(void **state)
{
    (void)state;
    srv_t *s = start_app("wsgiapps:boom");
    assert_non_null(s);
    char out[4096];
    pid_t before[4], after[4];
    assert_int_equal(h_children(s->pid, before, 4), 1);
    for (int i = 0; i < 3; i++) {
        req(s, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
        assert_non_null(strstr(out, "HTTP/1.1 500 Internal Server Error\r\n"));
    }
    assert_true(h_wait_log(s, "[ERROR] Error handling request GET /x", 3, 5000));
    assert_true(h_wait_log(s, "RuntimeError: boom from the app", 3, 5000));
    assert_true(h_wait_log(s, "\"GET /x HTTP/1.1\" 500 ", 3, 5000));
    assert_int_equal(h_children(s->pid, after, 4), 1);
    assert_int_equal(before[0], after[0]);
    h_stop(s);
}

/* After the headers went out, an exception cuts the connection. */
static void test_wsgi_late_exception(void **state)
{
    (void)state;
    srv_t *s = start_app("wsgiapps:boom_late");
    assert_non_null(s);
    char out[4096];
    req(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
    assert_non_null(strstr(out, "HTTP/1.1 200 OK"));
    assert_null(strstr(out, "0\r\n\r\n")); /* no clean end of the chunks */
    assert_true(h_wait_log(s, "RuntimeError: late boom", 1, 5000));
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    h_stop(s);
}

static void test_wsgi_exc_info(void **state)
{
    (void)state;
    srv_t *s = start_app("wsgiapps:exc_info_app");
    assert_non_null(s);
    char out[4096];
    req(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
    assert_non_null(strstr(out, "HTTP/1.1 500 Internal Server Error\r\n"));
    assert_non_null(strstr(out, "\r\n\r\nhandled"));
    h_stop(s);
}

/* A header value with CRLF never reaches the wire. */
static void test_wsgi_invalid_response_header(void **state)
{
    (void)state;
    srv_t *s = start_app("wsgiapps:bad_header");
    assert_non_null(s);
    char out[4096];
    req(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
    assert_non_null(strstr(out, "HTTP/1.1 500 "));
    assert_null(strstr(out, "Injected"));
    h_stop(s);
}

static void test_wsgi_head_204_304(void **state)
{
    (void)state;
    srv_t *s = start_app("wsgiapps:head204");
    assert_non_null(s);
    char out[4096];
    req(s, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
    assert_non_null(strstr(out, "HTTP/1.1 200 OK"));
    assert_non_null(strstr(out, "Content-Length: 5\r\n"));
    assert_non_null(strstr(out, "\r\n\r\n"));
    assert_string_equal(strstr(out, "\r\n\r\n"), "\r\n\r\n");
    req(s, "GET /204 HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
    assert_non_null(strstr(out, "HTTP/1.1 204 No Content"));
    assert_string_equal(strstr(out, "\r\n\r\n"), "\r\n\r\n");
    assert_null(strstr(out, "Transfer-Encoding"));
    req(s, "GET /304 HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
    assert_string_equal(strstr(out, "\r\n\r\n"), "\r\n\r\n");
    h_stop(s);
}

static void test_wsgi_file_wrapper(void **state)
{
    (void)state;
    srv_t *s = start_app("wsgiapps:filewrap");
    assert_non_null(s);
    char out[4096];
    req(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
    assert_non_null(strstr(out, "Content-Length: 21\r\n"));
    assert_non_null(strstr(out, "\r\n\r\nstatic file contents\n"));
    h_stop(s);
    s = start_app("wsgiapps:filewrap_obj");
    assert_non_null(s);
    char big[32768];
    req(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", big, sizeof(big));
    assert_non_null(strstr(big, "HTTP/1.1 200 OK"));
    assert_non_null(strstr(big, "Transfer-Encoding: chunked"));
    assert_non_null(strstr(big, "3e8\r\nxxxx"));
    h_stop(s);
}

static void test_wsgi_errors_stream(void **state)
{
    (void)state;
    srv_t *s = start_app("wsgiapps:errors");
    assert_non_null(s);
    assert_int_equal(h_get(s->port, "/", NULL, 0), 200);
    assert_true(h_wait_log(s, "message to wsgi.errors", 1, 5000));
    h_stop(s);
}

/* MODULE:factory(args) and MODULE alone (-> application). */
static void test_wsgi_app_uri_forms(void **state)
{
    (void)state;
    char body[256];
    srv_t *s = start_app("wsgiapps:factory('hey')");
    assert_non_null(s);
    assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
    assert_string_equal(body, "hey");
    h_stop(s);
    s = start_app("wsgiapps:factory()");
    assert_non_null(s);
    assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
    assert_string_equal(body, "hi");
    h_stop(s);
    s = start_app("wsgiapps");
    assert_non_null(s);
    assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
    h_stop(s);
}

/* -e KEY=VALUE reaches os.environ before the app loads. */
static void test_wsgi_raw_env(void **state)
{
    (void)state;
    const char *argv[] = {
        "-b", "127.0.0.1:{port}", "-e", "CG_TEST_VAR=from-flag", "wsgiapps:envvar", NULL};
    srv_t *s = h_start_ready(NULL, argv, 20000);
    assert_non_null(s);
    char body[256];
    assert_int_equal(h_get(s->port, "/", body, sizeof(body)), 200);
    assert_string_equal(body, "from-flag");
    h_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wsgi_environ),
        cmocka_unit_test(test_wsgi_chunked_request),
        cmocka_unit_test(test_wsgi_http10),
        cmocka_unit_test(test_wsgi_readline_readlines),
        cmocka_unit_test(test_wsgi_input_iteration),
        cmocka_unit_test(test_wsgi_large_body),
        cmocka_unit_test(test_wsgi_chunked_response),
        cmocka_unit_test(test_wsgi_write_callable),
        cmocka_unit_test(test_wsgi_close_called),
        cmocka_unit_test(test_wsgi_app_exception),
        cmocka_unit_test(test_wsgi_late_exception),
        cmocka_unit_test(test_wsgi_exc_info),
        cmocka_unit_test(test_wsgi_invalid_response_header),
        cmocka_unit_test(test_wsgi_head_204_304),
        cmocka_unit_test(test_wsgi_file_wrapper),
        cmocka_unit_test(test_wsgi_errors_stream),
        cmocka_unit_test(test_wsgi_app_uri_forms),
        cmocka_unit_test(test_wsgi_raw_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
