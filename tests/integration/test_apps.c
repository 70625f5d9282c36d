/* test_apps.c - real framework apps (Django, Falcon, Bottle, Flask) through
 * the real binary, from apps/realapps/: one server per framework
 * (-w 2), several requests on it - text, a POST with Content-Length (form
 * and JSON), query strings, request and response headers, a 404, a view
 * that raises (500, traceback in the error log), a streamed (chunked)
 * response, a static file (wsgi.file_wrapper) - then TERM and exit 0.
 * tests/run.sh re-runs it under the other worker classes
 * ($CG_TEST_WORKER_ARGS). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define RESP_CAP 65536

static char appdir[512];
static srv_t *srv;
static char resp[RESP_CAP];
static const char *body; /* into resp: after the head */

static int teardown(void **state)
{
    (void)state;
    int rc = h_stop_checked(srv);
    srv = NULL;
    return rc;
}

/* cgunicorn -w 2 -b 127.0.0.1:PORT app, in apps/realapps; Django's import
 * under ASan takes a few seconds. */
static srv_t *start_app(const char *app)
{
    const char *argv[] = {"-w", "2", "-b", "127.0.0.1:{port}", app, NULL};
    srv_t *s = h_start_ready(appdir, argv, 60000);
    if (s == NULL)
        return NULL;
    if (!h_wait_log(s, "Booting worker with pid", 2, 60000)) {
        h_stop(s);
        return NULL;
    }
    /* tests/run.sh re-runs this suite under the other classes */
    char using[96];
    snprintf(using, sizeof(using), "[INFO] Using worker: %s",
             h_worker_class()[0] ? h_worker_class() : "sync");
    if (!h_wait_log(s, using, 1, 1000)) {
        fprintf(stderr, "no '%s' in the log\n", using);
        h_stop(s);
        return NULL;
    }
    return s;
}

/* Send raw to srv; the status (0 on no response), the response in resp,
 * its body in body. */
static int call(const char *raw)
{
    body = "";
    resp[0] = '\0';
    if (h_http(srv->port, raw, strlen(raw), resp, sizeof(resp), 15000) <= 0)
        return 0;
    int status = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        return 0;
    char *b = strstr(resp, "\r\n\r\n");
    body = b ? b + 4 : "";
    return status;
}

static int get(const char *path, const char *extra_headers)
{
    char raw[2048];
    snprintf(raw, sizeof(raw),
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: cg-test\r\n%s"
             "Connection: close\r\n\r\n",
             path, extra_headers ? extra_headers : "");
    return call(raw);
}

/* POST data with Content-Length. */
static int post(const char *path, const char *ctype, const char *data)
{
    char raw[4096];
    snprintf(raw, sizeof(raw),
             "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
             path, ctype, strlen(data), data);
    return call(raw);
}

/* The head of resp has the header line "name: value" (name's case
 * ignored, as HTTP does). */
static bool has_header(const char *name, const char *value)
{
    char prefix[256];
    snprintf(prefix, sizeof(prefix), "\r\n%s: ", name);
    const char *end = strstr(resp, "\r\n\r\n");
    for (const char *p = strcasestr(resp, prefix); p && end && p < end;
         p = strcasestr(p + 2, prefix)) {
        const char *v = p + strlen(prefix);
        if (strncmp(v, value, strlen(value)) == 0 && strncmp(v + strlen(value), "\r\n", 2) == 0)
            return true;
    }
    return false;
}

/* body is a whole chunked body: its decoded payload into out; false if it
 * is not chunked correctly (or does not end with the last chunk). */
static bool dechunk(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char *end;
        unsigned long len = strtoul(in, &end, 16);
        if (end == in || strncmp(end, "\r\n", 2) != 0)
            return false;
        in = end + 2;
        if (len == 0)
            break;
        if (strlen(in) < len + 2 || n + len >= cap || strncmp(in + len, "\r\n", 2) != 0)
            return false;
        memcpy(out + n, in, len);
        n += len;
        in += len + 2;
    }
    out[n] = '\0';
    return strcmp(in, "\r\n") == 0;
}

/* The streamed response in resp is chunked and its payload is want. */
static void assert_chunked(const char *want)
{
    char payload[4096];
    assert_true(has_header("Transfer-Encoding", "chunked"));
    assert_null(strcasestr(resp, "\r\nContent-Length:"));
    if (!dechunk(body, payload, sizeof(payload)))
        fail_msg("not a whole chunked body: '%s'", body);
    assert_string_equal(payload, want);
}

/* TERM: a graceful stop, exit 0. */
static void assert_term_exit_0(void)
{
    h_signal(srv, SIGTERM);
    assert_int_equal(h_wait_exit(srv, 15000), 0);
    assert_true(h_wait_log(srv, "Shutting down: Master", 1, 2000));
}

static void test_django(void **state)
{
    (void)state;
    srv = start_app("django_site:app");
    assert_non_null(srv);

    assert_int_equal(get("/", NULL), 200);
    assert_string_equal(body, "Hello from Django");
    assert_true(has_header("X-App", "django"));
    assert_true(has_header("Content-Type", "text/plain"));
    assert_true(has_header("Content-Length", "17"));

    assert_int_equal(post("/echo", "application/x-www-form-urlencoded", "name=ada&lang=c%2B%2B"),
                     200);
    assert_true(has_header("Content-Type", "application/json"));
    assert_string_equal(body, "{\"form\": {\"name\": \"ada\", \"lang\": \"c++\"}, \"length\": 21}");
    assert_int_equal(post("/echo", "application/json", "{\"n\": [1, 2, 3], \"s\": \"\\u00e9\"}"),
                     200);
    assert_string_equal(body, "{\"json\": {\"n\": [1, 2, 3], \"s\": \"\\u00e9\"}, \"length\": 31}");
    assert_int_equal(get("/echo", NULL), 405);

    assert_int_equal(get("/query?a=1&b=x%20y&b=z&empty=", NULL), 200);
    assert_string_equal(body, "{\"a\": [\"1\"], \"b\": [\"x y\", \"z\"], \"empty\": [\"\"]}");

    /* a custom header reaches request.META; one with an underscore is
     * dropped (gunicorn 22+, header_map = drop) */
    assert_int_equal(get("/headers", "X-Test: hello there\r\nX_Under: smuggled\r\n"), 200);
    assert_string_equal(body, "{\"x_test\": \"hello there\", \"underscored\": []}");

    assert_int_equal(get("/missing", NULL), 404);
    assert_non_null(strstr(body, "Not Found"));

    assert_int_equal(get("/boom", NULL), 500);
    assert_non_null(strstr(body, "Server Error (500)"));
    assert_true(h_wait_log(srv, "Internal Server Error: /boom", 1, 5000));
    assert_true(h_wait_log(srv, "RuntimeError: django view failed on purpose", 1, 5000));

    assert_int_equal(get("/stream", NULL), 200);
    assert_chunked("chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");

    /* HTTP/1.0: no chunking, the end of the body is the close */
    assert_int_equal(call("GET /stream HTTP/1.0\r\n\r\n"), 200);
    assert_null(strcasestr(resp, "Transfer-Encoding"));
    assert_string_equal(body, "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");

    assert_term_exit_0();
}

static void test_falcon(void **state)
{
    (void)state;
    srv = start_app("falcon_api:app");
    assert_non_null(srv);

    assert_int_equal(get("/hello?name=cgunicorn", NULL), 200);
    assert_string_equal(body, "Hello from Falcon, cgunicorn");
    assert_true(has_header("X-App", "falcon"));
    assert_true(has_header("Content-Length", "28"));
    assert_int_equal(get("/hello", NULL), 200);
    assert_string_equal(body, "Hello from Falcon, world");

    assert_int_equal(post("/items", "application/json", "{\"name\": \"widget\", \"qty\": 3}"), 201);
    assert_true(has_header("Content-Type", "application/json"));
    assert_string_equal(body, "{\"created\": {\"name\": \"widget\", \"qty\": 3}, \"length\": 28}");

    assert_int_equal(post("/raw", "text/plain", "stressed"), 200);
    assert_string_equal(body, "8:desserts");

    /* a body in two sends: req.bounded_stream waits for the rest */
    {
        const char *head = "POST /raw HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                           "Content-Length: 10\r\nConnection: close\r\n\r\n01234";
        char raw[256];
        snprintf(raw, sizeof(raw), "%s%s", head, "56789");
        assert_int_equal(call(raw), 200);
        assert_string_equal(body, "10:9876543210");
    }

    assert_int_equal(get("/nothing-here", NULL), 404);
    assert_true(has_header("Content-Type", "application/json"));
    assert_non_null(strstr(body, "404 Not Found"));

    assert_int_equal(get("/boom", NULL), 500);
    assert_non_null(strstr(body, "500 Internal Server Error"));
    assert_true(h_wait_log(srv, "falcon resource failed on purpose", 1, 5000));

    assert_int_equal(get("/stream", NULL), 200);
    assert_chunked("part 0\npart 1\npart 2\npart 3\n");

    assert_term_exit_0();
}

static void test_bottle(void **state)
{
    (void)state;
    srv = start_app("bottle_site:app");
    assert_non_null(srv);

    assert_int_equal(get("/", NULL), 200);
    assert_string_equal(body, "Hello from Bottle");
    assert_true(has_header("Content-Length", "17"));

    assert_int_equal(get("/hello/ada?page=3", NULL), 200);
    assert_string_equal(body, "Hello ada, page 3");
    assert_true(has_header("X-App", "bottle"));
    assert_true(has_header("Set-Cookie", "seen=yes"));

    assert_int_equal(post("/form", "application/x-www-form-urlencoded", "name=bob&tag=a&tag=b%20c"),
                     200);
    assert_string_equal(body, "name=bob tags=a,b c");
    assert_int_equal(post("/json", "application/json", "{\"k\": [true, null]}"), 200);
    assert_true(has_header("Content-Type", "application/json"));
    assert_string_equal(body, "{\"json\": {\"k\": [true, null]}, \"length\": 19}");

    /* static_file hands the open file to wsgi.file_wrapper */
    assert_int_equal(get("/static/hello.txt", NULL), 200);
    assert_string_equal(body, "static text for bottle\n");
    assert_true(has_header("Content-Length", "23"));
    assert_true(has_header("Content-Type", "text/plain; charset=UTF-8"));
    assert_non_null(strcasestr(resp, "\r\nLast-Modified: "));
    /* and a range of it (bottle's own iterator) */
    assert_int_equal(get("/static/hello.txt", "Range: bytes=7-10\r\n"), 206);
    assert_string_equal(body, "text");
    assert_true(has_header("Content-Range", "bytes 7-10/23"));
    /* HEAD: the headers, no body */
    assert_int_equal(
        call("HEAD /static/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 200);
    assert_true(has_header("Content-Length", "23"));
    assert_string_equal(body, "");
    assert_int_equal(get("/static/nope.txt", NULL), 404);

    assert_int_equal(get("/secret", NULL), 404);
    assert_non_null(strstr(body, "no such thing"));

    assert_int_equal(get("/boom", NULL), 500);
    assert_true(h_wait_log(srv, "bottle route failed on purpose", 1, 5000));

    assert_int_equal(get("/stream", NULL), 200);
    assert_chunked("line 0\nline 1\nline 2\n");

    assert_term_exit_0();
}

static void test_flask(void **state)
{
    (void)state;
    srv = start_app("flask_site:app");
    assert_non_null(srv);

    assert_int_equal(get("/", NULL), 200);
    assert_string_equal(body, "Hello from Flask");
    assert_true(has_header("X-App", "flask"));
    assert_true(has_header("Content-Length", "16"));

    assert_int_equal(post("/echo", "application/x-www-form-urlencoded", "a=1&b=two"), 200);
    assert_non_null(strstr(body, "\"form\":{\"a\":\"1\",\"b\":\"two\"}"));
    assert_non_null(strstr(body, "\"length\":9"));
    assert_int_equal(post("/echo", "application/json", "{\"x\": [1, 2]}"), 200);
    assert_non_null(strstr(body, "\"json\":{\"x\":[1,2]}"));

    assert_int_equal(get("/query?q=a&q=b%2Fc", NULL), 200);
    assert_non_null(strstr(body, "{\"q\":[\"a\",\"b/c\"]}"));

    assert_int_equal(get("/secret", NULL), 404);
    assert_int_equal(get("/boom", NULL), 500);
    assert_true(h_wait_log(srv, "flask view failed on purpose", 1, 5000));

    assert_int_equal(get("/stream", NULL), 200);
    assert_chunked("row 0\nrow 1\nrow 2\nrow 3\n");

    assert_term_exit_0();
}

int main(void)
{
    h_path(appdir, sizeof(appdir), "tests/integration/apps/realapps");
    struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_django, teardown),
        cmocka_unit_test_teardown(test_falcon, teardown),
        cmocka_unit_test_teardown(test_bottle, teardown),
        cmocka_unit_test_teardown(test_flask, teardown),
    };
    size_t n = h_select_tests(tests, sizeof(tests) / sizeof(tests[0]));
    return _cmocka_run_group_tests("test_apps", tests, n, NULL, NULL);
}
