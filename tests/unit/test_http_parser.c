/* test_http_parser.c - cmocka tests for src/http_parser.c.
 *
 * Every input is first copied so that it ends exactly where a PROT_NONE
 * page starts (picohttpparser's test.c idiom): a read past the end of what
 * the parser was given faults at once, with or without ASan.  The expected
 * messages in the rejection table were produced with Python's own repr()
 * from gunicorn 26's format strings (errors.py __str__, base.py
 * handle_error), independently of the C code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "http_parser.h"

/* ------------------------------------------------------------------ */
/* Guard pages                                                         */

typedef struct {
    char *map;
    size_t maplen;
    char *p; /* the copy: p[n] is the first byte of the PROT_NONE page */
} guarded;

/* Copy s[0..n) to end right before a PROT_NONE page.  Returns the copy. */
static char *gcopy(guarded *g, const char *s, size_t n)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (n + ps - 1) / ps + 1;

    g->maplen = pages * ps;
    g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->map != MAP_FAILED);
    assert_int_equal(mprotect(g->map + (pages - 1) * ps, ps, PROT_NONE), 0);
    g->p = g->map + (pages - 1) * ps - n;
    if (n)
        memcpy(g->p, s, n);
    return g->p;
}

/* Release a gcopy() buffer (no-op when none). */
static void gfree(guarded *g)
{
    if (g->map)
        munmap(g->map, g->maplen);
    memset(g, 0, sizeof(*g));
}

/* ------------------------------------------------------------------ */
/* Request fixture                                                     */

#define NHDRS 128

static cg_http_limits L;
static cg_http_header H[NHDRS];
static cg_http_request R;
static cg_http_error E;
static guarded G;

/* Reset the limits to gunicorn's defaults (4094, 100, 8190). */
static int setup(void **state)
{
    (void)state;
    cg_http_limits_from_settings(&L, 4094, 100, 8190);
    memset(&E, 0, sizeof(E));
    return 0;
}

/* Drop the guarded input of the last parse. */
static int teardown(void **state)
{
    (void)state;
    gfree(&G);
    return 0;
}

/* Parse s[0..n) (guarded) into R/H/E with the limits L. */
static ssize_t parse_n(const char *s, size_t n)
{
    gfree(&G);
    return cg_http_parse_request(gcopy(&G, s, n), n, &L, &R, H, NHDRS, &E);
}

#define PARSE(lit) parse_n(lit, sizeof(lit) - 1)

/* The span p[0..n) is the C string want. */
static void assert_span(const char *p, size_t n, const char *want)
{
    if (n != strlen(want) || (n && memcmp(p, want, n) != 0))
        fail_msg("got '%.*s' (%zu), want '%s'", (int)n, p ? p : "", n, want);
}

/* Header i is name: value. */
static void assert_header(size_t i, const char *name, const char *value)
{
    assert_true(i < R.num_headers);
    assert_span(H[i].name, H[i].name_len, name);
    assert_span(H[i].value, H[i].value_len, value);
}

/* The last parse failed with this status and message, and the rest of the
 * error is consistent (reason phrase, detail span inside msg). */
static void assert_error(int status, const char *msg)
{
    assert_int_equal(E.status, status);
    if (strcmp(E.msg, msg) != 0)
        fail_msg("msg\n got: %s\nwant: %s", E.msg, msg);
    assert_non_null(E.reason);
    assert_string_equal(E.reason, cg_http_reason(status));
    assert_true(E.detail_off + E.detail_len <= strlen(E.msg));
    assert_true(E.detail_len > 0);
}

/* ------------------------------------------------------------------ */
/* Valid requests                                                      */

static void test_http_parser_simple_get(void **state)
{
    static const char in[] = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    (void)state;
    assert_int_equal(PARSE(in), sizeof(in) - 1);
    assert_span(R.method, R.method_len, "GET");
    assert_span(R.target, R.target_len, "/");
    assert_span(R.path, R.path_len, "/");
    assert_int_equal(R.query_len, 0);
    assert_int_equal(R.fragment_len, 0);
    assert_int_equal(R.version_major, 1);
    assert_int_equal(R.version_minor, 1);
    assert_int_equal(R.num_headers, 1);
    assert_ptr_equal(R.headers, H);
    assert_header(0, "Host", "example.com");
    assert_int_equal(R.content_length, -1);
    assert_false(R.chunked);
    assert_true(R.keep_alive);
    assert_false(R.expect_continue);
    assert_false(R.upgrade);
    assert_false(R.must_close);
    assert_false(R.obs_fold);
    assert_false(R.method_casefold);
}

static void test_http_parser_post_with_body(void **state)
{
    static const char head[] = "POST /submit/x?a=1&b=%20#frag HTTP/1.1\r\n"
                               "Host: x\r\n"
                               "Content-Length: 5\r\n"
                               "Content-Type: text/plain\r\n"
                               "X-Empty:\r\n"
                               "X-Ows: \t a b \t \r\n"
                               "X-Obs-Text: caf\xe9\r\n"
                               "\r\n";
    char in[sizeof(head) + 5];
    (void)state;
    memcpy(in, head, sizeof(head) - 1);
    memcpy(in + sizeof(head) - 1, "hello", 5);
    assert_int_equal(parse_n(in, sizeof(head) - 1 + 5), sizeof(head) - 1);
    assert_span(R.method, R.method_len, "POST");
    assert_span(R.target, R.target_len, "/submit/x?a=1&b=%20#frag");
    assert_span(R.path, R.path_len, "/submit/x");
    assert_span(R.query, R.query_len, "a=1&b=%20");
    assert_span(R.fragment, R.fragment_len, "frag");
    assert_int_equal(R.content_length, 5);
    assert_int_equal(R.num_headers, 6);
    assert_header(1, "Content-Length", "5");
    assert_header(3, "X-Empty", "");
    assert_header(4, "X-Ows", "a b");
    assert_header(5, "X-Obs-Text", "caf\xe9");
}

static void test_http_parser_target_forms(void **state)
{
    (void)state;
    assert_true(PARSE("GET http://example.com:8080/a/b?x=y#z HTTP/1.1\r\n\r\n") > 0);
    assert_span(R.target, R.target_len, "http://example.com:8080/a/b?x=y#z");
    assert_span(R.path, R.path_len, "/a/b");
    assert_span(R.query, R.query_len, "x=y");
    assert_span(R.fragment, R.fragment_len, "z");

    assert_true(PARSE("GET https://example.com?q HTTP/1.1\r\n\r\n") > 0);
    assert_span(R.path, R.path_len, "");
    assert_span(R.query, R.query_len, "q");

    assert_true(PARSE("OPTIONS * HTTP/1.1\r\n\r\n") > 0);
    assert_span(R.method, R.method_len, "OPTIONS");
    assert_span(R.path, R.path_len, "*");

    assert_true(PARSE("CONNECT example.com:443 HTTP/1.1\r\n\r\n") > 0);
    assert_span(R.path, R.path_len, "example.com:443");
    assert_true(PARSE("CONNECT [::1]:443 HTTP/1.1\r\n\r\n") > 0);

    /* gunicorn issue #297: "//" starts a path, not an authority */
    assert_true(PARSE("GET //a/b HTTP/1.1\r\n\r\n") > 0);
    assert_span(R.path, R.path_len, "//a/b");

    assert_true(PARSE("GET /a#b?c HTTP/1.1\r\n\r\n") > 0);
    assert_span(R.path, R.path_len, "/a");
    assert_int_equal(R.query_len, 0);
    assert_span(R.fragment, R.fragment_len, "b?c");

    assert_true(PARSE("GET /?#x HTTP/1.1\r\n\r\n") > 0);
    assert_span(R.path, R.path_len, "/");
    assert_int_equal(R.query_len, 0);
    assert_span(R.fragment, R.fragment_len, "x");

    /* obs-text in the target is passed through, like gunicorn */
    assert_true(PARSE("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n") > 0);
    assert_span(R.path, R.path_len, "/caf\xc3\xa9");
}

static void test_http_parser_http10_and_connection(void **state)
{
    (void)state;
    assert_true(PARSE("GET /x HTTP/1.0\r\n\r\n") > 0);
    assert_int_equal(R.version_minor, 0);
    assert_false(R.keep_alive);

    assert_true(PARSE("GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") > 0);
    assert_true(R.keep_alive);

    assert_true(PARSE("GET / HTTP/1.1\r\nConnection: close\r\n\r\n") > 0);
    assert_false(R.keep_alive);

    assert_true(PARSE("GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n") > 0);
    assert_false(R.keep_alive);

    assert_true(PARSE("GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                      "Upgrade: websocket\r\n\r\n") > 0);
    assert_true(R.upgrade);
    assert_true(R.keep_alive);

    assert_true(PARSE("GET / HTTP/1.1\r\nConnection: foo,,  UPGRADE ,\r\n\r\n") > 0);
    assert_true(R.upgrade);
}

static void test_http_parser_framing_ok(void **state)
{
    (void)state;
    assert_true(PARSE("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") > 0);
    assert_true(R.chunked);
    assert_int_equal(R.content_length, -1);
    assert_false(R.must_close);

    assert_true(PARSE("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n") > 0);
    assert_true(R.chunked);
    assert_true(R.must_close);

    assert_true(PARSE("POST / HTTP/1.1\r\nTransfer-Encoding: x-gzip\r\n"
                      "Transfer-Encoding:\tidentity , chunked\r\n\r\n") > 0);
    assert_true(R.chunked);
    assert_true(R.must_close);

    assert_true(PARSE("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n") > 0);
    assert_int_equal(R.content_length, 0);

    /* OWS around the value is not part of it (RFC 9112 5.1), as in gunicorn */
    assert_true(PARSE("POST / HTTP/1.1\r\nContent-Length:  5 \t\r\n\r\n") > 0);
    assert_int_equal(R.content_length, 5);

    assert_true(PARSE("POST / HTTP/1.1\r\nContent-Length: 007\r\n\r\n") > 0);
    assert_int_equal(R.content_length, 7);

    assert_true(PARSE("POST / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n") > 0);
    assert_int_equal(R.content_length, INT64_MAX);

    /* a Content_Length is dropped (header_map drop): no framing meaning */
    assert_true(PARSE("POST / HTTP/1.1\r\nContent_Length: 5\r\n\r\n") > 0);
    assert_int_equal(R.content_length, -1);
    assert_int_equal(R.num_headers, 0);
}

static void test_http_parser_expect(void **state)
{
    (void)state;
    assert_true(PARSE("PUT / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n") > 0);
    assert_true(R.expect_continue);

    /* RFC 9110 10.1.1: ignored on HTTP/1.0 */
    assert_true(PARSE("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n") > 0);
    assert_false(R.expect_continue);
}

static void test_http_parser_underscore_names(void **state)
{
    static const char in[] = "GET / HTTP/1.1\r\nX_Foo: a\r\nHost: h\r\nSCRIPT_NAME: /app\r\n\r\n";
    static const char *const fwd[] = {"script_name", "PATH_INFO"};
    static const char *const all[] = {"*"};
    (void)state;

    assert_true(PARSE(in) > 0); /* drop */
    assert_int_equal(R.num_headers, 1);
    assert_header(0, "Host", "h");

    L.header_map = 2; /* dangerous */
    assert_true(PARSE(in) > 0);
    assert_int_equal(R.num_headers, 3);
    assert_header(0, "X_Foo", "a");

    L.header_map = 0; /* drop, but SCRIPT_NAME comes from a trusted forwarder */
    L.forwarder_headers = fwd;
    L.n_forwarder_headers = 2;
    assert_true(PARSE(in) > 0);
    assert_int_equal(R.num_headers, 2);
    assert_header(1, "SCRIPT_NAME", "/app");

    L.header_map = 1; /* refuse: forwarders still pass, others fail */
    assert_int_equal(PARSE(in), CG_HTTP_ERROR);
    assert_error(400, "Invalid HTTP header name: 'X_FOO'");
    L.forwarder_headers = all;
    L.n_forwarder_headers = 1;
    assert_true(PARSE(in) > 0);
    assert_int_equal(R.num_headers, 3);
}

static void test_http_parser_lenient_switches(void **state)
{
    char v[32];
    (void)state;

    L.strip_header_spaces = true;
    assert_true(PARSE("GET / HTTP/1.1\r\nHost \t: x\r\n\r\n") > 0);
    assert_header(0, "Host", "x");
    L.strip_header_spaces = false;

    L.permit_obsolete_folding = true;
    assert_true(PARSE("GET / HTTP/1.1\r\nX: a \r\n  b\r\n\tc  \r\nY: d\r\n\r\n") > 0);
    assert_true(R.obs_fold);
    assert_int_equal(R.num_headers, 2);
    assert_span(H[0].value, H[0].value_len, "a \r\n  b\r\n\tc");
    assert_int_equal(cg_http_unfold(v, H[0].value, H[0].value_len), 5);
    assert_memory_equal(v, "a b c", 5);
    assert_header(1, "Y", "d");
    /* a folded Content-Length is judged on its joined value, "5 6" */
    assert_int_equal(PARSE("POST / HTTP/1.1\r\nContent-Length: 5\r\n 6\r\n\r\n"), CG_HTTP_ERROR);
    assert_error(400, "Invalid HTTP Header: 'CONTENT-LENGTH'");
    L.permit_obsolete_folding = false;

    L.permit_unconventional_method = true;
    assert_true(PARSE("get / HTTP/1.1\r\n\r\n") > 0);
    assert_false(R.method_casefold);
    assert_true(PARSE("M / HTTP/1.1\r\n\r\n") > 0);
    assert_span(R.method, R.method_len, "M");
    assert_true(PARSE("ABCDEFGHIJKLMNOPQRSTUVWXYZ / HTTP/1.1\r\n\r\n") > 0);
    L.casefold_method = true;
    assert_true(PARSE("get / HTTP/1.1\r\n\r\n") > 0);
    assert_true(R.method_casefold);
    assert_true(PARSE("options * HTTP/1.1\r\n\r\n") > 0);
    assert_true(PARSE("GET / HTTP/1.1\r\n\r\n") > 0);
    assert_false(R.method_casefold);

    L.permit_unconventional_version = true;
    assert_true(PARSE("GET / HTTP/2.0\r\n\r\n") > 0);
    assert_int_equal(R.version_major, 2);
    assert_true(R.keep_alive);
    assert_true(PARSE("GET / HTTP/0.9\r\n\r\n") > 0);
    assert_false(R.keep_alive);
}

static void test_http_parser_pipelined_and_methods(void **state)
{
    static const char in[] = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
    (void)state;
    assert_int_equal(PARSE(in), 19);
    assert_true(PARSE("ABCDEFGHIJKLMNOPQRST / HTTP/1.1\r\n\r\n") > 0);  /* 20 */
    assert_true(PARSE("M-SEARCH * HTTP/1.1\r\n\r\n") == CG_HTTP_ERROR); /* '*' OPTIONS only */
    assert_true(PARSE("M-SEARCH / HTTP/1.1\r\n\r\n") > 0);
    assert_true(PARSE("GE'T / HTTP/1.1\r\n\r\n") > 0); /* ' is a tchar */
    assert_true(PARSE("PUT / HTTP/1.1\r\n\r\n") > 0);
}

static void test_http_parser_partial_target(void **state)
{
    /* a target that cannot become valid fails before the line ends */
    static const char *const bad[] = {
        "GET *",        "GET *x",       "GET x*",       "GET 1abc", "GET http:x",
        "GET http:/x",  "GET http:///", "GET http://?", "GET :",    "OPTIONS **",
        "CONNECT h:1/", "CONNECT a@b",  "GET /\x01",
    };
    static const char *const ok[] = {
        "GET ",        "GET /",        "GET h",     "GET http", "GET http:",  "GET http:/",
        "GET http://", "GET http://h", "OPTIONS *", "CONNECT ", "CONNECT h:", "GET /a H",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_n(bad[i], strlen(bad[i])) != CG_HTTP_ERROR)
            fail_msg("'%s' should fail", bad[i]);
        assert_int_equal(E.status, 400);
        assert_int_equal(strncmp(E.msg, "Invalid Request Line '", 22), 0);
    }
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (parse_n(ok[i], strlen(ok[i])) != CG_HTTP_INCOMPLETE)
            fail_msg("'%s' should be incomplete: %s", ok[i], E.msg);
}

static void test_http_parser_value_bytes(void **state)
{
    /* every byte value at every offset of a long value: CTLs but HTAB and
     * DEL fail, the rest (obs-text included) passes */
    static const char pre[] = "GET / HTTP/1.1\r\nX: ";
    char in[sizeof(pre) - 1 + 40 + 4];
    (void)state;

    for (int c = 0; c < 256; c++) {
        bool bad = (c < 0x20 && c != '\t') || c == 0x7f;

        if (c == '\r' || c == '\n')
            continue;
        for (size_t i = 1; i < 39; i += 1 + (c & 3)) {
            memcpy(in, pre, sizeof(pre) - 1);
            memset(in + sizeof(pre) - 1, 'v', 40);
            in[sizeof(pre) - 1 + i] = (char)c;
            memcpy(in + sizeof(pre) - 1 + 40, "\r\n\r\n", 4);
            ssize_t r = parse_n(in, sizeof(in));
            if (bad ? r != CG_HTTP_ERROR : r != (ssize_t)sizeof(in))
                fail_msg("byte 0x%02x at %zu: %zd", c, i, r);
            if (bad)
                assert_error(400, "Invalid HTTP Header: 'X'");
        }
    }
}

/* Every proper prefix of these is incomplete, the whole head parses. */
enum {
    T_NONE,
    T_PERMIT,
    T_STRIP,
    T_REFUSE,
    T_LINE20,
    T_FIELDS3,
    T_FS20,
    T_FS20_FOLD,
    T_BUF,
    T_FOLD,
    T_F2
};

/* Apply the limits variant t to L. */
static void tweak(int t)
{
    switch (t) {
    case T_PERMIT:
        L.permit_unconventional_method = true;
        break;
    case T_STRIP:
        L.strip_header_spaces = true;
        break;
    case T_REFUSE:
        L.header_map = 1;
        break;
    case T_LINE20:
        L.max_line = 20;
        break;
    case T_FIELDS3:
        L.max_fields = 3;
        break;
    case T_F2:
        L.max_fields = 2;
        break;
    case T_FS20:
        L.max_field_size = 20;
        break;
    case T_FS20_FOLD:
        L.max_field_size = 20;
        L.permit_obsolete_folding = true;
        break;
    case T_FOLD:
        L.permit_obsolete_folding = true;
        break;
    case T_BUF:
        L.max_fields = 2;
        L.max_field_size = 10;
        break;
    default:
        break;
    }
}

typedef struct {
    const char *in;
    size_t len;  /* whole input */
    size_t head; /* expected head length */
    int tweak;
} split_case;

#define SPLIT(s, t)                                                                                \
    {                                                                                              \
        s, sizeof(s) - 1, sizeof(s) - 1, t                                                         \
    }
#define SPLIT_BODY(s, body, t)                                                                     \
    {                                                                                              \
        s body, sizeof(s body) - 1, sizeof(s) - 1, t                                               \
    }

static const split_case split_cases[] = {
    SPLIT("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", T_NONE),
    SPLIT("GET / HTTP/1.1\r\n\r\n", T_NONE),
    SPLIT_BODY("POST /submit?a=1#f HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
               "Content-Type: text/plain\r\nX-Empty:\r\nX-Ows:  a  \r\n\r\n",
               "hello", T_NONE),
    SPLIT("GET http://example.com:8080/a/b?x=y HTTP/1.1\r\nHost: example.com\r\n\r\n", T_NONE),
    SPLIT("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", T_NONE),
    SPLIT("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", T_NONE),
    SPLIT("GET /x HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n\r\n", T_NONE),
    SPLIT_BODY(
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nExpect: 100-continue\r\n\r\n",
        "5\r\nhello\r\n0\r\n\r\n", T_NONE),
    SPLIT("GET / HTTP/1.1\r\nX_Dropped: 1\r\nHost: h\r\n\r\n", T_NONE),
    SPLIT("GET / HTTP/1.1\r\nX: a\r\n b\r\n\tc\r\nHost: h\r\n\r\n", T_FOLD),
    SPLIT("GET / HTTP/1.1\r\nHost : h\r\n\r\n", T_STRIP),
    SPLIT("get / HTTP/1.1\r\nHost: h\r\n\r\n", T_PERMIT),
    SPLIT("GET /aaaaaa HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", T_LINE20),
    SPLIT("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nX: 3\r\n\r\n", T_FIELDS3),
    SPLIT("GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaa\r\n\r\n", T_FS20),
};

static void test_http_parser_incomplete_at_every_split(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(split_cases) / sizeof(split_cases[0]); c++) {
        const split_case *sc = &split_cases[c];

        setup(NULL);
        tweak(sc->tweak);
        for (size_t k = 0; k < sc->head; k++) {
            ssize_t r = parse_n(sc->in, k);
            if (r != CG_HTTP_INCOMPLETE)
                fail_msg("case %zu prefix %zu: %zd (%s)", c, k, r, r == -1 ? E.msg : "");
        }
        for (size_t k = sc->head; k <= sc->len; k++) {
            ssize_t r = parse_n(sc->in, k);
            if (r != (ssize_t)sc->head)
                fail_msg("case %zu length %zu: %zd, want %zu (%s)", c, k, r, sc->head,
                         r == -1 ? E.msg : "");
        }
    }
}

/* ------------------------------------------------------------------ */
/* Rejections                                                          */

typedef struct {
    const char *name;
    const char *in;
    size_t len;
    int status;
    const char *msg;
    int tweak;
} reject_case;

#define RJ(n, s, st, m)                                                                            \
    {                                                                                              \
        n, s, sizeof(s) - 1, st, m, T_NONE                                                         \
    }
#define RJT(n, s, st, m, t)                                                                        \
    {                                                                                              \
        n, s, sizeof(s) - 1, st, m, t                                                              \
    }

static const reject_case reject_cases[] = {
    RJ("bare_lf_line", "GET / HTTP/1.1\nHost: x\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: 'GET / HTTP/1.1\\n''"),
    RJ("bare_cr_line", "GET / HTTP/1.1\rHost: x\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: 'GET / HTTP/1.1\\r''"),
    RJ("bare_lf_in_target", "GET /a\nb HTTP/1.1\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: 'GET /a\\n''"),
    RJ("leading_crlf", "\r\nGET / HTTP/1.1\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: '''"),
    RJ("two_parts", "GET /\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: 'GET /''"),
    RJ("one_part", "GET\r\n\r\n", 400, "Invalid Request Line 'Invalid HTTP request line: 'GET''"),
    RJ("lower_method", "get / HTTP/1.1\r\n\r\n", 400,
       "Invalid Method 'Invalid HTTP method: 'get''"),
    RJ("mixed_method", "Get / HTTP/1.1\r\n\r\n", 400,
       "Invalid Method 'Invalid HTTP method: 'Get''"),
    RJ("short_method", "GE / HTTP/1.1\r\n\r\n", 400, "Invalid Method 'Invalid HTTP method: 'GE''"),
    RJ("long_method", "AAAAAAAAAAAAAAAAAAAAA / HTTP/1.1\r\n\r\n", 400,
       "Invalid Method 'Invalid HTTP method: 'AAAAAAAAAAAAAAAAAAAAA''"),
    RJ("hash_method", "G#T / HTTP/1.1\r\n\r\n", 400, "Invalid Method 'Invalid HTTP method: 'G#T''"),
    RJ("nontoken_method", "GE@T / HTTP/1.1\r\n\r\n", 400,
       "Invalid Method 'Invalid HTTP method: 'GE@T''"),
    RJ("latin1_method", "G\351T / HTTP/1.1\r\n\r\n", 400,
       "Invalid Method 'Invalid HTTP method: 'G\351T''"),
    RJ("nbsp_method", "G\240T / HTTP/1.1\r\n\r\n", 400,
       "Invalid Method 'Invalid HTTP method: 'G\\xa0T''"),
    RJT("lower_permitted_nontoken", "g@t / HTTP/1.1\r\n\r\n", 400,
        "Invalid Method 'Invalid HTTP method: 'g@t''", T_PERMIT),
    RJT("empty_method_permitted", " / HTTP/1.1\r\n\r\n", 400,
        "Invalid Method 'Invalid HTTP method: '''", T_PERMIT),
    RJ("tab_separator", "GET\t/ HTTP/1.1\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: 'GET\\t/ HTTP/1.1''"),
    RJ("double_space", "GET  / HTTP/1.1\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: 'GET  / HTTP/1.1''"),
    RJ("empty_target", "GET  HTTP/1.1\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: 'GET  HTTP/1.1''"),
    RJ("trailing_space", "GET / HTTP/1.1 \r\n\r\n", 400,
       "Invalid HTTP Version 'Invalid HTTP Version: 'HTTP/1.1 ''"),
    RJ("http20", "GET / HTTP/2.0\r\n\r\n", 400,
       "Invalid HTTP Version 'Invalid HTTP Version: (2, 0)'"),
    RJ("http12", "GET / HTTP/1.2\r\n\r\n", 400,
       "Invalid HTTP Version 'Invalid HTTP Version: (1, 2)'"),
    RJ("http09", "GET / HTTP/0.9\r\n\r\n", 400,
       "Invalid HTTP Version 'Invalid HTTP Version: (0, 9)'"),
    RJ("lower_http", "GET / http/1.1\r\n\r\n", 400,
       "Invalid HTTP Version 'Invalid HTTP Version: 'http/1.1''"),
    RJ("version_long", "GET / HTTP/1.10\r\n\r\n", 400,
       "Invalid HTTP Version 'Invalid HTTP Version: 'HTTP/1.10''"),
    RJ("version_short", "GET / HTTP/1\r\n\r\n", 400,
       "Invalid HTTP Version 'Invalid HTTP Version: 'HTTP/1''"),
    RJ("version_missing", "GET / \r\n\r\n", 400, "Invalid HTTP Version 'Invalid HTTP Version: '''"),
    RJ("star_with_get", "GET * HTTP/1.1\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: 'GET * HTTP/1.1''"),
    RJ("authority_with_get", "GET example.com:80 HTTP/1.1\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: 'GET example.com:80 HTTP/1.1''"),
    RJ("connect_origin", "CONNECT / HTTP/1.1\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: 'CONNECT / HTTP/1.1''"),
    RJ("connect_no_port", "CONNECT example.com HTTP/1.1\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: 'CONNECT example.com HTTP/1.1''"),
    RJ("ctl_in_target", "GET /a\001b HTTP/1.1\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: 'GET /a\\x01b HTTP/1.1''"),
    RJ("quote_in_target", "GET /a'b\177 HTTP/1.1\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: \"GET /a'b\\x7f HTTP/1.1\"'"),
    RJ("empty_authority", "GET http:///x HTTP/1.1\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: 'GET http:///x HTTP/1.1''"),
    RJ("relative_target", "GET foo HTTP/1.1\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: 'GET foo HTTP/1.1''"),
    RJ("proxy_line_when_off", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nGET / HTTP/1.1\r\n\r\n", 400,
       "Invalid Request Line 'Invalid HTTP request line: 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2''"),
    RJ("space_before_colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400,
       "Invalid HTTP header name: 'Host '"),
    RJ("tab_before_colon", "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400,
       "Invalid HTTP header name: 'Host\\t'"),
    RJT("strip_spaces_inner", "GET / HTTP/1.1\r\nHo st : x\r\n\r\n", 400,
        "Invalid HTTP header name: 'Ho st'", T_STRIP),
    RJ("no_colon", "GET / HTTP/1.1\r\nFoo\r\n\r\n", 400, "Invalid HTTP Header: 'Foo'"),
    RJ("colon_first", "GET / HTTP/1.1\r\n: x\r\n\r\n", 400, "Invalid HTTP Header: ': x'"),
    RJ("nontoken_name", "GET / HTTP/1.1\r\nX(Y): z\r\n\r\n", 400,
       "Invalid HTTP header name: 'X(Y)'"),
    RJ("obs_fold_sp", "GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", 400,
       "Obsolete line folding is unacceptable: 'X-A'"),
    RJ("obs_fold_tab", "GET / HTTP/1.1\r\nx-a: a\r\n\tb\r\n\r\n", 400,
       "Obsolete line folding is unacceptable: 'X-A'"),
    RJ("leading_ws_first_header", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400,
       "Invalid HTTP header name: ' Host'"),
    RJ("nul_in_value", "GET / HTTP/1.1\r\nX: a\000b\r\n\r\n", 400, "Invalid HTTP Header: 'X'"),
    RJ("bare_cr_in_value", "GET / HTTP/1.1\r\nx-y: a\rb\r\n\r\n", 400,
       "Invalid HTTP Header: 'X-Y'"),
    RJ("bare_lf_in_value", "GET / HTTP/1.1\r\nX: a\nb\r\n\r\n", 400, "Invalid HTTP Header: 'X'"),
    RJ("bare_lf_line_end", "GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400,
       "Invalid HTTP Header: 'HOST'"),
    RJ("ctl_in_value", "GET / HTTP/1.1\r\nX: a\001\r\n\r\n", 400, "Invalid HTTP Header: 'X'"),
    RJ("del_in_value", "GET / HTTP/1.1\r\nX: a\177\r\n\r\n", 400, "Invalid HTTP Header: 'X'"),
    RJ("bare_lf_head_end", "GET / HTTP/1.1\r\nHost: x\r\n\n", 400,
       "Invalid HTTP header name: '\\n'"),
    RJ("duplicate_host", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400,
       "Invalid HTTP Header: 'HOST'"),
    RJ("duplicate_content_type", "GET / HTTP/1.1\r\nContent-Type: a\r\nContent-type: b\r\n\r\n",
       400, "Invalid HTTP Header: 'CONTENT-TYPE'"),
    RJT("underscore_refused", "GET / HTTP/1.1\r\nX_Foo: a\r\n\r\n", 400,
        "Invalid HTTP header name: 'X_FOO'", T_REFUSE),
    RJ("cl_duplicate_equal",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400,
       "Invalid HTTP Header: 'CONTENT-LENGTH'"),
    RJ("cl_duplicate_differ",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
       "Invalid HTTP Header: 'CONTENT-LENGTH'"),
    RJ("cl_plus", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", 400,
       "Invalid HTTP Header: 'CONTENT-LENGTH'"),
    RJ("cl_minus", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400,
       "Invalid HTTP Header: 'CONTENT-LENGTH'"),
    RJ("cl_hex", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\n", 400,
       "Invalid HTTP Header: 'CONTENT-LENGTH'"),
    RJ("cl_inner_space", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5 5\r\n\r\n", 400,
       "Invalid HTTP Header: 'CONTENT-LENGTH'"),
    RJ("cl_empty", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400,
       "Invalid HTTP Header: 'CONTENT-LENGTH'"),
    RJ("cl_list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5,5\r\n\r\n", 400,
       "Invalid HTTP Header: 'CONTENT-LENGTH'"),
    RJ("cl_superscript", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \262\r\n\r\n", 400,
       "Invalid HTTP Header: 'CONTENT-LENGTH'"),
    RJ("cl_overflow", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\n",
       400, "Invalid HTTP Header: 'CONTENT-LENGTH'"),
    RJ("cl_te",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
       "Invalid HTTP Header: 'CONTENT-LENGTH'"),
    RJ("te_cl",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
       "Invalid HTTP Header: 'CONTENT-LENGTH'"),
    RJ("te_cl_not_chunked",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n", 400,
       "Invalid HTTP Header: 'TRANSFER-ENCODING'"),
    RJ("te_chunked_twice",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400,
       "Invalid HTTP Header: 'TRANSFER-ENCODING'"),
    RJ("te_two_headers",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
       "chunked\r\n\r\n",
       400, "Invalid HTTP Header: 'TRANSFER-ENCODING'"),
    RJ("te_chunked_gzip", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
       400, "Invalid HTTP Header: 'TRANSFER-ENCODING'"),
    RJ("te_chunked_then_gzip_header",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
       "gzip\r\n\r\n",
       400, "Invalid HTTP Header: 'TRANSFER-ENCODING'"),
    RJ("te_chunked_identity",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400,
       "Invalid HTTP Header: 'TRANSFER-ENCODING'"),
    RJ("te_gzip_only", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400,
       "Invalid HTTP Header: 'TRANSFER-ENCODING'"),
    RJ("te_identity_only", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", 400,
       "Invalid HTTP Header: 'TRANSFER-ENCODING'"),
    RJ("te_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
       "Invalid HTTP Header: 'TRANSFER-ENCODING'"),
    RJ("te_unknown", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n", 501,
       "Unsupported transfer coding: 'foo'"),
    RJ("te_unknown_in_list",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, foo, chunked\r\n\r\n", 501,
       "Unsupported transfer coding: 'gzip, foo, chunked'"),
    RJ("te_xchunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", 501,
       "Unsupported transfer coding: 'xchunked'"),
    RJ("te_empty_element", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked,\r\n\r\n", 501,
       "Unsupported transfer coding: 'chunked,'"),
    RJ("te_nbsp", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\240\r\n\r\n", 501,
       "Unsupported transfer coding: 'chunked\\xa0'"),
    RJ("te_space_before_colon", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n",
       400, "Invalid HTTP header name: 'Transfer-Encoding '"),
    RJ("te_before_bad_header",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\nBad Name: x\r\n\r\n", 400,
       "Invalid HTTP header name: 'Bad Name'"),
    RJ("expect_unknown", "GET / HTTP/1.1\r\nExpect: foo\r\n\r\n", 417,
       "Unable to comply with expectation: 'foo'"),
    RJ("expect_unknown_http10", "GET / HTTP/1.0\r\nExpect: 100-continue, foo\r\n\r\n", 417,
       "Unable to comply with expectation: '100-continue, foo'"),
    RJT("line_21_of_20", "GET /aaaaaaa HTTP/1.1\r\n\r\n", 400,
        "Request Line is too large (21 > 20)", T_LINE20),
    RJT("line_partial_21_of_20", "GET /aaaaaaaaaaaaaaaaa", 400,
        "Request Line is too large (22 > 20)", T_LINE20),
    RJT("line_limit_before_bad_char", "get /aaaaaaa HTTP/1.1\r\n\r\n", 400,
        "Request Line is too large (21 > 20)", T_LINE20),
    RJT("fields_4_of_3", "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431,
        "Error parsing headers: 'limit request headers fields'", T_FIELDS3),
    RJT("fields_dropped_still_need_room",
        "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nX_Y: 4\r\n\r\n", 431,
        "Error parsing headers: 'limit request headers fields'", T_FIELDS3),
    RJT("field_21_of_20", "GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaaa\r\n\r\n", 431,
        "Error parsing headers: 'limit request headers fields size'", T_FS20),
    RJT("field_partial_21_of_20", "GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaaa", 431,
        "Error parsing headers: 'limit request headers fields size'", T_FS20),
    RJT("field_bad_value_before_size", "GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaa\000\r\n\r\n", 400,
        "Invalid HTTP Header: 'X'", T_FS20),
    RJT("field_fold_size", "GET / HTTP/1.1\r\nX: aaaaaaaa\r\n bbbbbbbb\r\n\r\n", 431,
        "Error parsing headers: 'limit request headers fields size'", T_FS20_FOLD),
    RJT("max_buffer_headers",
        "GET / HTTP/1.1\r\nX_A: 1\r\nX_A: 1\r\nX_A: 1\r\nX_A: 1\r\nX_A: 1\r\n", 431,
        "Error parsing headers: 'max buffer headers'", T_BUF),
    RJT("max_buffer_over_bad_header",
        "GET / HTTP/1.1\r\nBad Name: 1\r\nBad Name: 1\r\nBad Name: 1\r\n", 431,
        "Error parsing headers: 'max buffer headers'", T_BUF),
};

static void test_http_parser_rejections(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(reject_cases) / sizeof(reject_cases[0]); c++) {
        const reject_case *rc = &reject_cases[c];
        ssize_t r;

        setup(NULL);
        tweak(rc->tweak);
        r = parse_n(rc->in, rc->len);
        if (r != CG_HTTP_ERROR)
            fail_msg("%s: %zd, want an error", rc->name, r);
        if (E.status != rc->status || strcmp(E.msg, rc->msg) != 0)
            fail_msg("%s:\n got: %d %s\nwant: %d %s", rc->name, E.status, E.msg, rc->status,
                     rc->msg);
        assert_error(rc->status, rc->msg);
        /* No prefix of a bad request may be taken for a good one. */
        for (size_t k = 0; k < rc->len; k++) {
            r = parse_n(rc->in, k);
            if (r != CG_HTTP_INCOMPLETE && r != CG_HTTP_ERROR)
                fail_msg("%s: prefix %zu parsed as %zd", rc->name, k, r);
        }
    }
}

static void test_http_parser_error_detail(void **state)
{
    (void)state;
    assert_int_equal(PARSE("get / HTTP/1.1\r\n\r\n"), CG_HTTP_ERROR);
    /* the page says "Invalid Method '...'", the log line str(exc) */
    assert_int_equal(E.detail_off, strlen("Invalid Method '"));
    assert_int_equal(E.detail_len, strlen("Invalid HTTP method: 'get'"));
    assert_memory_equal(E.msg + E.detail_off, "Invalid HTTP method: 'get'", E.detail_len);

    assert_int_equal(PARSE("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), CG_HTTP_ERROR);
    assert_int_equal(E.detail_off, 0);
    assert_int_equal(E.detail_len, strlen(E.msg));
}

static void test_http_parser_long_message_is_cut(void **state)
{
    char in[2000];
    (void)state;
    memset(in, 'a', sizeof(in));
    memcpy(in, "GET /", 5);
    memcpy(in + 1000, "\x01 HTTP/1.1\r\n\r\n", 15);
    assert_int_equal(parse_n(in, 1015), CG_HTTP_ERROR);
    assert_int_equal(E.status, 400);
    assert_true(strlen(E.msg) < sizeof(E.msg));
    assert_non_null(strstr(E.msg, "...'"));
    assert_int_equal(
        strncmp(E.msg, "Invalid Request Line 'Invalid HTTP request line: 'GET /aaa", 58), 0);
    assert_int_equal(E.msg[strlen(E.msg) - 1], '\'');
}

/* ------------------------------------------------------------------ */
/* Limits at their boundaries                                          */

static void test_http_parser_request_line_limit(void **state)
{
    (void)state;
    L.max_line = 20;
    assert_true(PARSE("GET /aaaaaa HTTP/1.1\r\n\r\n") > 0); /* 20 */
    assert_int_equal(PARSE("GET /aaaaaaa HTTP/1.1\r\n\r\n"), CG_HTTP_ERROR);
    assert_error(400, "Request Line is too large (21 > 20)");
    /* without waiting for the CRLF */
    assert_int_equal(PARSE("GET /aaaaaa HTTP/1.1"), CG_HTTP_INCOMPLETE);   /* 20 */
    assert_int_equal(PARSE("GET /aaaaaa HTTP/1.1\r"), CG_HTTP_INCOMPLETE); /* 20 + CR */
    assert_int_equal(PARSE("GET /aaaaaaaaaaaaaaaa"), CG_HTTP_ERROR);       /* 21 */
    assert_error(400, "Request Line is too large (21 > 20)");
    L.max_line = 0; /* unlimited */
    assert_true(PARSE("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n") >
                0);
}

static void test_http_parser_request_line_limit_default(void **state)
{
    char in[5014 + 4];
    (void)state;
    memset(in, 'a', sizeof(in));
    memcpy(in, "GET /", 5);
    memcpy(in + 5005, " HTTP/1.1\r\n\r\n", 13);
    assert_int_equal(parse_n(in, sizeof(in) - 4 + 4), CG_HTTP_ERROR);
    assert_error(400, "Request Line is too large (5014 > 4094)");
    assert_int_equal(E.detail_off, 0);
}

static void test_http_parser_field_limits(void **state)
{
    (void)state;
    L.max_fields = 3;
    assert_true(PARSE("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n") > 0);
    assert_int_equal(PARSE("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"),
                     CG_HTTP_ERROR);
    assert_error(431, "Error parsing headers: 'limit request headers fields'");
    /* dropped names do not count (gunicorn's drop "continue"s) */
    assert_true(PARSE("GET / HTTP/1.1\r\nA: 1\r\nX_1: 1\r\nB: 2\r\nX_2: 2\r\nC: 3\r\n\r\n") > 0);
    assert_int_equal(R.num_headers, 3);

    setup(NULL);
    L.max_field_size = 20; /* the line with its CRLF */
    assert_true(PARSE("GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaa\r\n\r\n") > 0);
    assert_int_equal(PARSE("GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaaa\r\n\r\n"), CG_HTTP_ERROR);
    assert_error(431, "Error parsing headers: 'limit request headers fields size'");
    assert_int_equal(PARSE("GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaa"), CG_HTTP_INCOMPLETE);
    assert_int_equal(PARSE("GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaa\r"), CG_HTTP_INCOMPLETE);
    assert_int_equal(PARSE("GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaaa"), CG_HTTP_ERROR);
    assert_error(431, "Error parsing headers: 'limit request headers fields size'");
    assert_int_equal(PARSE("GET / HTTP/1.1\r\nXXXXXXXXXXXXXXXXXXX"), CG_HTTP_ERROR);
    assert_int_equal(PARSE("GET / HTTP/1.1\r\nXXXXXXXXXXXXXXXXXX"), CG_HTTP_INCOMPLETE);

    setup(NULL);
    L.max_fields = 2;
    L.max_field_size = 10; /* max buffer headers: 2 * 12 + 4 = 28 */
    assert_int_equal(PARSE("GET / HTTP/1.1\r\nX_A: 1\r\nX_A: 1\r\nX_A: 1\r\nX_A:"),
                     CG_HTTP_INCOMPLETE); /* 28 */
    assert_int_equal(PARSE("GET / HTTP/1.1\r\nX_A: 1\r\nX_A: 1\r\nX_A: 1\r\nX_A: "),
                     CG_HTTP_ERROR); /* 29 */
    assert_error(431, "Error parsing headers: 'max buffer headers'");
    /* a whole head is judged by its lines, as gunicorn does once it found
     * the end: dropped names add up past the buffer limit */
    assert_true(PARSE("GET / HTTP/1.1\r\nX_A: 1\r\nX_A: 1\r\nX_A: 1\r\nX_A: 1\r\nX_A: 1\r\n\r\n") >
                0);
    assert_int_equal(R.num_headers, 0);
}

static void test_http_parser_caller_array_limit(void **state)
{
    cg_http_header two[2];
    (void)state;
    gfree(&G);
    static const char in[] = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    assert_int_equal(
        cg_http_parse_request(gcopy(&G, in, sizeof(in) - 1), sizeof(in) - 1, &L, &R, two, 2, &E),
        CG_HTTP_ERROR);
    assert_error(431, "Error parsing headers: 'limit request headers fields'");
}

static void test_http_parser_limits_from_settings(void **state)
{
    cg_http_limits lim;
    (void)state;
    memset(&lim, 0xff, sizeof(lim));
    cg_http_limits_from_settings(&lim, 4094, 100, 8190);
    assert_int_equal(lim.max_line, 4094);
    assert_int_equal(lim.max_fields, 100);
    assert_int_equal(lim.max_field_size, 8190);
    assert_false(lim.permit_obsolete_folding);
    assert_false(lim.strip_header_spaces);
    assert_false(lim.permit_unconventional_method);
    assert_false(lim.permit_unconventional_version);
    assert_false(lim.casefold_method);
    assert_int_equal(lim.header_map, 0);
    assert_null(lim.forwarder_headers);
    assert_int_equal(lim.n_forwarder_headers, 0);

    cg_http_limits_from_settings(&lim, 0, 0, 0);
    assert_int_equal(lim.max_line, 0);
    assert_int_equal(lim.max_fields, 32768);
    assert_int_equal(lim.max_field_size, 8190);
    cg_http_limits_from_settings(&lim, 8189, 32768, 100000);
    assert_int_equal(lim.max_line, 8189);
    assert_int_equal(lim.max_fields, 32768);
    assert_int_equal(lim.max_field_size, 100000);
    cg_http_limits_from_settings(&lim, 8190, 32769, -1);
    assert_int_equal(lim.max_line, 8190);
    assert_int_equal(lim.max_fields, 32768);
    assert_int_equal(lim.max_field_size, 8190);
    cg_http_limits_from_settings(&lim, -5, -5, -5);
    assert_int_equal(lim.max_line, 8190);
    assert_int_equal(lim.max_fields, 32768);
}

/* ------------------------------------------------------------------ */
/* Chunked decoder                                                     */

typedef struct {
    ssize_t rc;     /* > 0 consumed, or INCOMPLETE / ERROR */
    char out[8192]; /* decoded payload */
    size_t outlen;
    cg_http_error err;
} decoded;

/* Decode in[0..n) through one decoder, fed in pieces that end at the
 * offsets cuts[0..ncuts) (then n), each piece guarded.  Stops at the first
 * result other than INCOMPLETE; rc > 0 is then relative to in. */
static void decode_pieces(const char *in, size_t n, const size_t *cuts, size_t ncuts,
                          const cg_http_limits *lim, decoded *d)
{
    cg_http_chunked dec;
    size_t start = 0;

    memset(d, 0, sizeof(*d));
    cg_http_chunked_init(&dec);
    d->rc = CG_HTTP_INCOMPLETE;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t stop = i < ncuts ? cuts[i] : n;
        guarded g = {0};
        size_t len = stop - start;
        char *p = gcopy(&g, in + start, len);
        ssize_t r = cg_http_chunked_decode(&dec, p, &len, lim, &d->err);

        assert_true(len <= stop - start);
        assert_true(d->outlen + len <= sizeof(d->out));
        memcpy(d->out + d->outlen, p, len);
        d->outlen += len;
        gfree(&g);
        if (r > 0)
            r += (ssize_t)start;
        d->rc = r;
        if (r != CG_HTTP_INCOMPLETE)
            return;
        start = stop;
    }
}

typedef struct {
    const char *name;
    const char *in;
    size_t len;
    ssize_t rc; /* consumed (> 0), INCOMPLETE or ERROR */
    const char *payload;
    int status;
    const char *msg;
    int tweak;
} chunk_case;

#define CK_OK(n, s, rc, pl)                                                                        \
    {                                                                                              \
        n, s, sizeof(s) - 1, rc, pl, 0, NULL, T_NONE                                               \
    }
#define CK_OKT(n, s, rc, pl, t)                                                                    \
    {                                                                                              \
        n, s, sizeof(s) - 1, rc, pl, 0, NULL, t                                                    \
    }
#define CK_BAD(n, s, st, m)                                                                        \
    {                                                                                              \
        n, s, sizeof(s) - 1, CG_HTTP_ERROR, NULL, st, m, T_NONE                                    \
    }
#define CK_BADT(n, s, st, m, t)                                                                    \
    {                                                                                              \
        n, s, sizeof(s) - 1, CG_HTTP_ERROR, NULL, st, m, t                                         \
    }

static const chunk_case chunk_cases[] = {
    CK_OK("simple", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 26, "hello world"),
    CK_OK("empty body", "0\r\n\r\n", 5, ""),
    CK_OK("hex and zeros", "A\r\n0123456789\r\n0005\r\nabcde\r\n000\r\n\r\n", 35,
          "0123456789abcde"),
    CK_OK("extensions", "5;a=b;c=\"d;e\"\r\nhello\r\n0;last\r\n\r\n", 32, "hello"),
    CK_OK("bws before ext", "5 \t;x\r\nhello\r\n0\r\n\r\n", 19, "hello"),
    CK_OK("crlf inside data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", 14, "\r\n\r\n"),
    CK_OK("trailers", "3\r\nabc\r\n0\r\nX-Sum: 1\r\nY:\r\nZ:  z z \r\n\r\n", 37, "abc"),
    CK_OK("leftover", "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", 13, "abc"),
    CK_OK("trailer underscore dropped", "0\r\nX_A: 1\r\nB: 2\r\n\r\n", 19, ""),
    CK_OKT("dropped trailers do not count", "0\r\nA: 1\r\nX_A: 1\r\nB: 2\r\n\r\n", 25, "", T_F2),
    CK_OKT("trailer fold permitted", "0\r\nX: a\r\n b\r\n\r\n", 15, "", T_FOLD),
    CK_OKT("trailer strip spaces", "0\r\nX : a\r\n\r\n", 12, "", T_STRIP),
    CK_OKT("trailer field size 20", "0\r\nX: aaaaaaaaaaaaaaa\r\n\r\n", 25, "", T_FS20),
    CK_OK("truncated data", "5\r\nhel", CG_HTTP_INCOMPLETE, "hel"),
    CK_OK("truncated trailer", "0\r\nX: 1\r\n\r", CG_HTTP_INCOMPLETE, ""),
    CK_OK("largest size", "7fffffffffffffff\r\nab", CG_HTTP_INCOMPLETE, "ab"),
    CK_BAD("size not hex", "g\r\n", 400, "Invalid chunk size: b'g'"),
    CK_BAD("size signed", "-5\r\nhello\r\n", 400, "Invalid chunk size: b'-'"),
    CK_BAD("size plus", "+5\r\nhello\r\n", 400, "Invalid chunk size: b'+'"),
    CK_BAD("size 0x", "0x5\r\nhello\r\n", 400, "Invalid chunk size: b'x'"),
    CK_BAD("blank before size", " 5\r\nhello\r\n", 400, "Invalid chunk size: b' '"),
    CK_BAD("blank after size", "5 \r\nhello\r\n", 400, "Invalid chunk size: b'\\r'"),
    CK_BAD("empty size", "\r\nhello\r\n", 400, "Invalid chunk size: b'\\r'"),
    CK_BAD("size overflow", "8000000000000000\r\n", 400, "Invalid chunk size: larger than 2**63-1"),
    CK_BAD("size overflow long", "10000000000000000\r\n", 400,
           "Invalid chunk size: larger than 2**63-1"),
    CK_BAD("bad ext byte", "1;a\001\r\nx\r\n0\r\n\r\n", 400, "Invalid chunk extension: b'\\x01'"),
    CK_BAD("bare LF after size", "5\nhello\r\n0\r\n\r\n", 400, "Bare LF in chunked framing"),
    CK_BAD("bare CR after size", "5\rhello\r\n0\r\n\r\n", 400, "Bare CR in chunked framing"),
    CK_BAD("bare CR in ext", "5;a\rb\r\nhello\r\n0\r\n\r\n", 400, "Bare CR in chunked framing"),
    CK_BAD("bare LF in ext", "5;a\nb\r\nhello\r\n0\r\n\r\n", 400, "Bare LF in chunked framing"),
    CK_BAD("data too long", "5\r\nhelloX\r\n0\r\n\r\n", 400,
           "Invalid chunk terminator is not '\\r\\n': b'X'"),
    CK_BAD("data CR then junk", "5\r\nhello\rX0\r\n\r\n", 400,
           "Invalid chunk terminator is not '\\r\\n': b'\\rX'"),
    CK_BAD("data bare LF", "5\r\nhello\n0\r\n\r\n", 400,
           "Invalid chunk terminator is not '\\r\\n': b'\\n'"),
    CK_BAD("final bare LF", "0\r\n\n", 400, "Bare LF in chunked framing"),
    CK_BAD("final bare CR", "0\r\n\rX", 400, "Bare CR in chunked framing"),
    CK_BAD("trailer host", "0\r\nHost: x\r\n\r\n", 400, "Invalid HTTP header name: 'HOST'"),
    CK_BAD("trailer content-length", "0\r\ncontent-length: 5\r\n\r\n", 400,
           "Invalid HTTP header name: 'CONTENT-LENGTH'"),
    CK_BAD("trailer transfer-encoding", "0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
           "Invalid HTTP header name: 'TRANSFER-ENCODING'"),
    CK_BAD("trailer trailer", "0\r\nTrailer: X\r\n\r\n", 400,
           "Invalid HTTP header name: 'TRAILER'"),
    CK_BAD("trailer authorization", "0\r\nAuthorization: x\r\n\r\n", 400,
           "Invalid HTTP header name: 'AUTHORIZATION'"),
    CK_BAD("trailer te", "0\r\nte: x\r\n\r\n", 400, "Invalid HTTP header name: 'TE'"),
    CK_BAD("trailer fold", "0\r\nX: a\r\n b\r\n\r\n", 400,
           "Obsolete line folding is unacceptable: 'X'"),
    CK_BAD("trailer leading blank", "0\r\n X: a\r\n\r\n", 400, "Invalid HTTP header name: ' '"),
    CK_BAD("trailer no colon", "0\r\nFoo\r\n\r\n", 400, "Invalid HTTP Header: 'Foo'"),
    CK_BAD("trailer space before colon", "0\r\nFoo : a\r\n\r\n", 400,
           "Invalid HTTP header name: 'Foo'"),
    CK_BAD("trailer ctl in value", "0\r\nX-A: a\001\r\n\r\n", 400, "Invalid HTTP Header: 'X-A'"),
    CK_BAD("trailer NUL in value", "0\r\nX: a\0b\r\n\r\n", 400, "Invalid HTTP Header: 'X'"),
    CK_BAD("trailer bare CR", "0\r\nx: a\rb\r\n\r\n", 400, "Invalid HTTP Header: 'X'"),
    CK_BAD("trailer bare LF", "0\r\nX: a\nb\r\n\r\n", 400, "Invalid HTTP Header: 'X'"),
    CK_BAD("trailer bad name", "0\r\n(X): a\r\n\r\n", 400, "Invalid HTTP header name: '('"),
    CK_BADT("trailer underscore refused", "0\r\nX_A: 1\r\n\r\n", 400,
            "Invalid HTTP header name: 'X_A'", T_REFUSE),
    CK_BADT("trailer count", "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431,
            "Error parsing headers: 'limit request headers fields'", T_F2),
    CK_BADT("trailer field size", "0\r\nX: aaaaaaaaaaaaaaaa\r\n\r\n", 431,
            "Error parsing headers: 'limit request headers fields size'", T_FS20),
    CK_BADT("trailer fold size", "0\r\nX: aaaaaaaa\r\n bbbbbbbb\r\n\r\n", 431,
            "Error parsing headers: 'limit request headers fields size'", T_FS20_FOLD),
    CK_BADT("trailer buffer", "0\r\nX_A: 1\r\nX_A: 1\r\nX_A: 1\r\nX_A: 1\r\n\r\n", 431,
            "Error parsing headers: 'max buffer headers'", T_BUF),
};

/* Check one decoding of case cc against its expectation. */
static void check_decoded(const chunk_case *cc, const decoded *d, const char *how)
{
    if (d->rc != cc->rc)
        fail_msg("%s (%s): rc %zd, want %zd (%s)", cc->name, how, d->rc, cc->rc,
                 d->rc == CG_HTTP_ERROR ? d->err.msg : "");
    if (cc->rc == CG_HTTP_ERROR) {
        if (d->err.status != cc->status || strcmp(d->err.msg, cc->msg) != 0)
            fail_msg("%s (%s):\n got: %d %s\nwant: %d %s", cc->name, how, d->err.status, d->err.msg,
                     cc->status, cc->msg);
        assert_string_equal(d->err.reason, cg_http_reason(cc->status));
        return;
    }
    if (d->outlen != strlen(cc->payload) || memcmp(d->out, cc->payload, d->outlen) != 0)
        fail_msg("%s (%s): payload '%.*s', want '%s'", cc->name, how, (int)d->outlen, d->out,
                 cc->payload);
}

static void test_http_parser_chunked_table(void **state)
{
    static decoded d;
    size_t cuts[4096];
    (void)state;

    for (size_t c = 0; c < sizeof(chunk_cases) / sizeof(chunk_cases[0]); c++) {
        const chunk_case *cc = &chunk_cases[c];

        setup(NULL);
        tweak(cc->tweak);
        decode_pieces(cc->in, cc->len, NULL, 0, &L, &d);
        check_decoded(cc, &d, "whole");
        for (size_t k = 1; k < cc->len; k++)
            cuts[k - 1] = k;
        decode_pieces(cc->in, cc->len, cuts, cc->len - 1, &L, &d);
        check_decoded(cc, &d, "byte by byte");
        for (size_t k = 0; k <= cc->len; k++) {
            char how[32];
            snprintf(how, sizeof(how), "split at %zu", k);
            decode_pieces(cc->in, cc->len, &k, 1, &L, &d);
            check_decoded(cc, &d, how);
        }
    }
}

static void test_http_parser_chunked_extension_limit(void **state)
{
    static char in[4200];
    static decoded d;
    size_t n;
    (void)state;

    /* "1;" + extension: the size line may be 4096 bytes */
    memset(in, 'a', sizeof(in));
    memcpy(in, "1;", 2);
    memcpy(in + 4096, "\r\nx\r\n0\r\n\r\n", 10);
    n = 4106;
    decode_pieces(in, n, NULL, 0, &L, &d);
    assert_int_equal(d.rc, (ssize_t)n);
    assert_int_equal(d.outlen, 1);
    memset(in, 'a', sizeof(in));
    memcpy(in, "1;", 2);
    memcpy(in + 4097, "\r\nx\r\n0\r\n\r\n", 10);
    n = 4107;
    decode_pieces(in, n, NULL, 0, &L, &d);
    assert_int_equal(d.rc, CG_HTTP_ERROR);
    assert_string_equal(d.err.msg, "Chunk size line is too large (> 4096 bytes)");
    assert_int_equal(d.err.status, 400);
    /* fails before the CR arrives */
    decode_pieces(in, 4097, NULL, 0, &L, &d);
    assert_int_equal(d.rc, CG_HTTP_ERROR);
}

static void test_http_parser_chunked_state(void **state)
{
    static char body[] = "3\r\nabc\r\n0\r\n\r\nnext";
    cg_http_chunked dec;
    cg_http_error err;
    size_t len = sizeof(body) - 1;
    char more[] = "xyz";
    (void)state;

    /* lim NULL: gunicorn's defaults */
    cg_http_chunked_init(&dec);
    assert_int_equal(cg_http_chunked_decode(&dec, body, &len, NULL, &err), 13);
    assert_int_equal(len, 3);
    assert_memory_equal(body, "abc", 3);
    /* a finished decoder consumes nothing more */
    len = 3;
    assert_int_equal(cg_http_chunked_decode(&dec, more, &len, NULL, &err), 0);
    assert_int_equal(len, 0);

    /* a failed one stays failed */
    char bad[] = "z\r\n", again[] = "0\r\n\r\n";
    cg_http_chunked_init(&dec);
    len = 3;
    assert_int_equal(cg_http_chunked_decode(&dec, bad, &len, NULL, &err), CG_HTTP_ERROR);
    len = 5;
    assert_int_equal(cg_http_chunked_decode(&dec, again, &len, NULL, &err), CG_HTTP_ERROR);
    assert_int_equal(len, 0);
    assert_int_equal(err.status, 400);

    /* default trailer limit: 100 fields */
    static char many[3 + 101 * 6 + 2 + 1];
    size_t n = 0;
    memcpy(many, "0\r\n", 3);
    n = 3;
    for (int i = 0; i < 101; i++) {
        memcpy(many + n, "A: 1\r\n", 6);
        n += 6;
    }
    memcpy(many + n, "\r\n", 2);
    n += 2;
    cg_http_chunked_init(&dec);
    assert_int_equal(cg_http_chunked_decode(&dec, many, &n, NULL, &err), CG_HTTP_ERROR);
    assert_int_equal(err.status, 431);
}

/* ------------------------------------------------------------------ */
/* Responses and helpers                                               */

static void test_http_parser_error_page_exact(void **state)
{
    /* gunicorn 26.1's page for this error (GUNICORN.md 6.4, observed) */
    static const char want[] = "HTTP/1.1 400 Bad Request\r\n"
                               "Connection: close\r\n"
                               "Content-Type: text/html\r\n"
                               "Content-Length: 163\r\n"
                               "\r\n"
                               "<html>\n"
                               "  <head>\n"
                               "    <title>Bad Request</title>\n"
                               "  </head>\n"
                               "  <body>\n"
                               "    <h1><p>Bad Request</p></h1>\n"
                               "    Request Line is too large (5014 &gt; 4094)\n"
                               "  </body>\n"
                               "</html>\n";
    char out[1024];
    char in[5014 + 4];
    ssize_t n;
    (void)state;

    memset(in, 'a', sizeof(in));
    memcpy(in, "GET /", 5);
    memcpy(in + 5005, " HTTP/1.1\r\n\r\n", 13);
    assert_int_equal(parse_n(in, sizeof(in)), CG_HTTP_ERROR);
    n = cg_http_error_response(&E, out, sizeof(out));
    assert_int_equal(n, sizeof(want) - 1);
    assert_memory_equal(out, want, sizeof(want) - 1);
    /* exactly enough room, then one byte short */
    assert_int_equal(cg_http_error_response(&E, out, sizeof(want) - 1), sizeof(want) - 1);
    assert_int_equal(cg_http_error_response(&E, out, sizeof(want) - 2), -1);
}

static void test_http_parser_error_page_escaping(void **state)
{
    static const char want_body[] = "<html>\n"
                                    "  <head>\n"
                                    "    <title>Expectation Failed</title>\n"
                                    "  </head>\n"
                                    "  <body>\n"
                                    "    <h1><p>Expectation Failed</p></h1>\n"
                                    "    Unable to comply with expectation: "
                                    "&quot;&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;\n"
                                    "  </body>\n"
                                    "</html>\n";
    char out[1024], want[1024];
    ssize_t n;
    (void)state;

    assert_int_equal(PARSE("GET / HTTP/1.1\r\nExpect: <a href='x'>&\r\n\r\n"), CG_HTTP_ERROR);
    n = cg_http_error_response(&E, out, sizeof(out));
    snprintf(want, sizeof(want),
             "HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\n"
             "Content-Type: text/html\r\nContent-Length: %zu\r\n\r\n%s",
             sizeof(want_body) - 1, want_body);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, (size_t)n);

    /* an error built elsewhere: reason from the table, empty message */
    cg_http_error e = {.status = 500};
    n = cg_http_error_response(&e, out, sizeof(out));
    assert_true(n > 0);
    out[n] = '\0';
    assert_non_null(strstr(out, "HTTP/1.1 500 Internal Server Error\r\n"));
    assert_non_null(strstr(out, "<h1><p>Internal Server Error</p></h1>\n    \n  </body>"));

    /* 501 and 431 */
    assert_int_equal(PARSE("POST / HTTP/1.1\r\nTransfer-Encoding: br\r\n\r\n"), CG_HTTP_ERROR);
    n = cg_http_error_response(&E, out, sizeof(out));
    assert_int_equal(memcmp(out, "HTTP/1.1 501 Not Implemented\r\n", 30), 0);
    L.max_fields = 1;
    assert_int_equal(PARSE("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n"), CG_HTTP_ERROR);
    n = cg_http_error_response(&E, out, sizeof(out));
    assert_int_equal(memcmp(out, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 46), 0);
}

static void test_http_parser_reason(void **state)
{
    (void)state;
    assert_string_equal(cg_http_reason(100), "Continue");
    assert_string_equal(cg_http_reason(200), "OK");
    assert_string_equal(cg_http_reason(404), "Not Found");
    assert_string_equal(cg_http_reason(413), "Request Entity Too Large");
    assert_string_equal(cg_http_reason(418), "I'm a Teapot");
    assert_string_equal(cg_http_reason(431), "Request Header Fields Too Large");
    assert_string_equal(cg_http_reason(511), "Network Authentication Required");
    assert_null(cg_http_reason(299));
    assert_null(cg_http_reason(0));
    assert_null(cg_http_reason(-1));
}

static void test_http_parser_unfold(void **state)
{
    char buf[64];
    static const char in[] = "a  \r\n   b\r\n\t\r\n c";
    (void)state;
    /* gunicorn: parts stripped of " \t", joined with " "; the span the
     * parser returns is already trimmed at both ends */
    memcpy(buf, in, sizeof(in) - 1);
    size_t n = cg_http_unfold(buf, buf, sizeof(in) - 1);
    assert_int_equal(n, 6);
    assert_memory_equal(buf, "a b  c", 6);
    assert_int_equal(cg_http_unfold(buf, "plain", 5), 5);
    assert_int_equal(cg_http_unfold(buf, "x\r\n", 3), 2);
    assert_memory_equal(buf, "x ", 2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_http_parser_simple_get),
        T(test_http_parser_post_with_body),
        T(test_http_parser_target_forms),
        T(test_http_parser_http10_and_connection),
        T(test_http_parser_framing_ok),
        T(test_http_parser_expect),
        T(test_http_parser_underscore_names),
        T(test_http_parser_lenient_switches),
        T(test_http_parser_pipelined_and_methods),
        T(test_http_parser_value_bytes),
        T(test_http_parser_partial_target),
        T(test_http_parser_incomplete_at_every_split),
        T(test_http_parser_rejections),
        T(test_http_parser_error_detail),
        T(test_http_parser_long_message_is_cut),
        T(test_http_parser_request_line_limit),
        T(test_http_parser_request_line_limit_default),
        T(test_http_parser_field_limits),
        T(test_http_parser_caller_array_limit),
        T(test_http_parser_limits_from_settings),
        T(test_http_parser_chunked_table),
        T(test_http_parser_chunked_extension_limit),
        T(test_http_parser_chunked_state),
        T(test_http_parser_error_page_exact),
        T(test_http_parser_error_page_escaping),
        T(test_http_parser_reason),
        T(test_http_parser_unfold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
