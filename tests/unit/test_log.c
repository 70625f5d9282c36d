/* test_log.c - unit tests for src/log.c (error log, access log, reopen).
 *
 * Expected access-log strings are what gunicorn 26 prints for the same
 * request: Logger.atoms() + SafeAtoms + `access_log_format % atoms`, written
 * through a UTF-8 log file.  Where a rule is subtle the gunicorn source line
 * is quoted next to the case.  Every test runs with TZ=UTC. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgunicorn/log.h"

/* 2026-11-27 12:07:04 UTC; requests below last 1.234567 s or 583 us, so
 * gunicorn's strftime (at the end of the request) says 12:07:05. */
#define START_SEC 1795781224

/* ------------------------------------------------------------------ */
/* fixture                                                             */

typedef struct {
    char dir[64];
    int saved_out, saved_err; /* for the capture_output test */
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (fx == NULL)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_log.XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    fx->saved_out = fx->saved_err = -1;
    setenv("TZ", "UTC", 1);
    tzset();
    cg_log_close();
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    cg_log_close();
    if (fx->saved_out >= 0) {
        fflush(stdout);
        fflush(stderr);
        dup2(fx->saved_out, STDOUT_FILENO);
        dup2(fx->saved_err, STDERR_FILENO);
        close(fx->saved_out);
        close(fx->saved_err);
    }
    DIR *d = opendir(fx->dir);
    if (d != NULL) {
        struct dirent *de;
        char path[PATH_MAX];
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", fx->dir, de->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(fx->dir);
    setenv("TZ", "UTC", 1);
    tzset();
    free(fx);
    return 0;
}

/* fx->dir + "/" + name in a static buffer (one at a time per slot). */
static const char *tmp_path(const fixture *fx, const char *name, int slot)
{
    static char buf[4][PATH_MAX];
    snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", fx->dir, name);
    return buf[slot];
}

/* Whole file as a malloc'd NUL-terminated string ("" if missing). */
static char *slurp(const char *path, size_t *len_out)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (fp != NULL) {
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
            if (len + n + 1 > cap) {
                cap = (len + n + 1) * 2;
                buf = realloc(buf, cap);
                assert_non_null(buf);
            }
            memcpy(buf + len, chunk, n);
            len += n;
        }
        fclose(fp);
    }
    if (buf == NULL) {
        buf = malloc(1);
        assert_non_null(buf);
    }
    buf[len] = '\0';
    if (len_out != NULL)
        *len_out = len;
    return buf;
}

static void assert_file_eq(const char *path, const char *want)
{
    char *got = slurp(path, NULL);
    assert_string_equal(got, want);
    free(got);
}

/* ------------------------------------------------------------------ */
/* a fixed request                                                      */

static const cg_log_header k_req_headers[] = {
    {"Host", 4, "example.com", 11},
    {"User-Agent", 10, "Mozilla/5.0", 11},
    {"Referer", 7, "http://example.com/", 19},
    {"Authorization", 13, "Basic YWxhZGRpbjpvcGVuc2VzYW1l", 30}, /* aladdin:opensesame */
    {"X-Req", 5, "v1", 2},
};

static const cg_log_header k_resp_headers[] = {
    {"Content-Type", 12, "text/plain", 10},
    {"X-Resp", 6, "r1", 2},
};

static cg_access_entry fixed_entry(void)
{
    cg_access_entry e = {
        .remote_addr = "192.168.0.7",
        .method = "POST",
        .method_len = 4,
        .raw_uri = "/a/b?x=1&y=2",
        .raw_uri_len = 12,
        .path = "/a/b",
        .path_len = 4,
        .query = "x=1&y=2",
        .query_len = 7,
        .version_minor = 1,
        .status = 201,
        .sent = 1234,
        .start_wall = {START_SEC, 0},
        .duration_us = 1234567,
        .pid = 4242,
        .req_headers = k_req_headers,
        .num_req_headers = sizeof(k_req_headers) / sizeof(k_req_headers[0]),
        .resp_headers = k_resp_headers,
        .num_resp_headers = sizeof(k_resp_headers) / sizeof(k_resp_headers[0]),
    };
    return e;
}

/* Render fmt for e into a static buffer. */
static const char *render(const char *fmt, const cg_access_entry *e)
{
    static char out[8192];
    cg_access_format *f = cg_access_format_new(fmt);
    assert_non_null(f);
    size_t n = cg_access_render(f, e, out, sizeof(out));
    assert_int_equal(n, strlen(out));
    cg_access_format_free(f);
    return out;
}

typedef struct {
    const char *fmt;
    const char *want;
} render_case;

static void check_cases(const render_case *c, size_t n, const cg_access_entry *e)
{
    for (size_t i = 0; i < n; i++) {
        const char *got = render(c[i].fmt, e);
        if (strcmp(got, c[i].want) != 0)
            fail_msg("format %s: got \"%s\", want \"%s\"", c[i].fmt, got, c[i].want);
    }
}

/* ------------------------------------------------------------------ */
/* access log: atoms                                                   */

static void test_log_level_parse(void **state)
{
    (void)state;
    assert_int_equal(cg_log_level_parse("debug"), CG_LOG_DEBUG);
    assert_int_equal(cg_log_level_parse("INFO"), CG_LOG_INFO);
    assert_int_equal(cg_log_level_parse("Warning"), CG_LOG_WARNING);
    assert_int_equal(cg_log_level_parse("error"), CG_LOG_ERROR);
    assert_int_equal(cg_log_level_parse("critical"), CG_LOG_CRITICAL);
    assert_int_equal(cg_log_level_parse("warn"), -1);
    assert_int_equal(cg_log_level_parse("infos"), -1);
    assert_int_equal(cg_log_level_parse(""), -1);
    assert_int_equal(cg_log_level_parse(NULL), -1);
}

/* Every atom of gunicorn 26's Logger.atoms(), one at a time. */
static void test_access_every_atom(void **state)
{
    (void)state;
    cg_access_entry e = fixed_entry();
    static const render_case cases[] = {
        {"%(h)s", "192.168.0.7"},                  /* environ.get('REMOTE_ADDR', '-') */
        {"%(l)s", "-"},                            /* '-' */
        {"%(u)s", "aladdin"},                      /* _get_user(): Basic auth user */
        {"%(t)s", "[27/Nov/2026:12:07:05 +0000]"}, /* strftime('[%d/%b/%Y:%H:%M:%S %z]') */
        {"%(r)s", "POST /a/b?x=1&y=2 HTTP/1.1"},   /* METHOD RAW_URI SERVER_PROTOCOL */
        {"%(m)s", "POST"},
        {"%(U)s", "/a/b"},
        {"%(q)s", "x=1&y=2"},
        {"%(H)s", "HTTP/1.1"},
        {"%(s)s", "201"},
        {"%(B)s", "1234"},
        {"%(b)s", "1234"},
        {"%(f)s", "http://example.com/"},
        {"%(a)s", "Mozilla/5.0"},
        {"%(T)s", "1"},         /* request_time.seconds */
        {"%(M)s", "1234"},      /* seconds * 1000 + int(microseconds / 1000) */
        {"%(D)s", "1234567"},   /* seconds * 1000000 + microseconds */
        {"%(L)s", "1.234567"},  /* "%d.%06d" % (seconds, microseconds) */
        {"%(p)s", "<4242>"},    /* "<%s>" % os.getpid() */
        {"%({x-req}i)s", "v1"}, /* request header */
        {"%({X-REQ}I)s", "v1"}, /* SafeAtoms lower-cases "{...}" keys */
        {"%({host}i)s", "example.com"},
        {"%({content-type}o)s", "text/plain"}, /* response header */
        {"%({X-Resp}o)s", "r1"},
        {"%(T)d %(M)d %(D)d %(B)d %(s)d", "1 1234 1234567 1234 201"},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]), &e);
}

/* b is "resp.sent is not None and str(resp.sent) or '-'": 0 is "0"; only an
 * unknown length (None, here sent < 0) gives '-', and B then prints None. */
static void test_access_b_and_B(void **state)
{
    (void)state;
    cg_access_entry e = fixed_entry();
    e.sent = 0;
    assert_string_equal(render("%(b)s %(B)s", &e), "0 0");
    e.sent = -1;
    assert_string_equal(render("%(b)s %(B)s", &e), "- None");
    e.sent = 9876543210LL;
    assert_string_equal(render("%(b)s %(B)d", &e), "9876543210 9876543210");
}

/* Request times come from a timedelta: .seconds drops whole days, M rounds
 * down, L pads the microseconds to six digits. */
static void test_access_durations(void **state)
{
    (void)state;
    cg_access_entry e = fixed_entry();
    e.duration_us = 1999;
    assert_string_equal(render("%(T)s %(M)s %(D)s %(L)s", &e), "0 1 1999 0.001999");
    e.duration_us = 0;
    assert_string_equal(render("%(T)s %(M)s %(D)s %(L)s", &e), "0 0 0 0.000000");
    e.duration_us = 86400LL * 1000000 + 5; /* timedelta(days=1, microseconds=5) */
    assert_string_equal(render("%(T)s %(M)s %(D)s %(L)s", &e), "0 0 5 0.000005");
    e.duration_us = 90061LL * 1000000 + 7; /* 1 day, 1:01:01.000007 */
    assert_string_equal(render("%(T)s %(L)s", &e), "3661 3661.000007");
}

/* A missing atom is '-' (SafeAtoms.__getitem__), as is anything that is not
 * a known letter or a "{name}i|o|e" key; atom letters are case-sensitive. */
static void test_access_unknown_atoms(void **state)
{
    (void)state;
    cg_access_entry e = fixed_entry();
    static const render_case cases[] = {
        {"%(x)s", "-"},        {"%(hh)s", "-"},        {"%()s", "-"},
        {"%(S)s", "-"},        {"%({foo}x)s", "-"},    {"%({x-missing}i)s", "-"},
        {"%({x-req}o)s", "-"}, {"%({x-resp}i)s", "-"}, {"%({host}e)s", "-"},
        {"%({}i)s", "-"},      {"%(a(b)c)s", "-"},     {"[%(x)5s]", "[    -]"},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]), &e);
    /* absent request fields */
    e.remote_addr = NULL;
    e.req_headers = NULL;
    e.num_req_headers = 0;
    e.resp_headers = NULL;
    e.num_resp_headers = 0;
    e.query = NULL;
    e.query_len = 0;
    assert_string_equal(render("%(h)s|%(u)s|%(f)s|%(a)s|%(q)s|%({host}i)s|%({x}o)s", &e),
                        "-|-|-|-||-|-");
}

/* {name}i/o are case-insensitive and, as gunicorn builds a dict from the
 * header list, the last header of a name wins.  f, a and u read the environ,
 * where gunicorn joins repeated headers with ','. */
static void test_access_header_lookup(void **state)
{
    (void)state;
    static const cg_log_header req[] = {
        {"X-Dup", 5, "one", 3},  {"x-dup", 5, "two", 3},      {"Referer", 7, "r1", 2},
        {"REFERER", 7, "r2", 2}, {"User-Agent", 10, "ua", 2}, {"User_Agent", 10, "not-it", 6},
    };
    static const cg_log_header resp[] = {
        {"X-Out", 5, "a\"b", 3},
        {"X-OUT", 5, "second", 6},
    };
    cg_access_entry e = fixed_entry();
    e.req_headers = req;
    e.num_req_headers = sizeof(req) / sizeof(req[0]);
    e.resp_headers = resp;
    e.num_resp_headers = sizeof(resp) / sizeof(resp[0]);
    assert_string_equal(render("%({x-dup}i)s %({X-Out}o)s %(f)s %(a)s", &e), "two second r1,r2 ua");
}

/* {name}e goes through the callback.  gunicorn lower-cases environ keys and
 * the lookup key, so any spelling finds REMOTE_ADDR or wsgi.url_scheme even
 * with an exact-case callback.  Values are UTF-8 already (no latin-1
 * conversion); '"' is still escaped. */
static const char *test_environ_get(void *ctx, const char *key)
{
    static const char *const env[][2] = {
        {"REMOTE_ADDR", "10.0.0.1"},
        {"wsgi.url_scheme", "https"},
        {"HTTP_X_Q", "a\"b"},
        {"x.custom", "caf\xc3\xa9"},
    };
    int *calls = ctx;
    (*calls)++;
    for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
        if (strcmp(env[i][0], key) == 0)
            return env[i][1];
    return NULL;
}

static void test_access_environ(void **state)
{
    (void)state;
    int calls = 0;
    cg_access_entry e = fixed_entry();
    e.environ_get = test_environ_get;
    e.environ_ctx = &calls;
    const char *fmt = "%({remote_addr}e)s %({REMOTE_ADDR}e)s %({Wsgi.Url_Scheme}e)s "
                      "%({http_x_q}e)s %({x.custom}e)s %({missing}e)s";
    assert_string_equal(render(fmt, &e), "10.0.0.1 10.0.0.1 https a\\\"b caf\xc3\xa9 -");
    assert_true(calls > 0);

    cg_access_format *f = cg_access_format_new(fmt);
    assert_true(cg_access_format_uses_environ(f));
    cg_access_format_free(f);
    f = cg_access_format_new("%(h)s %({host}i)s");
    assert_false(cg_access_format_uses_environ(f));
    cg_access_format_free(f);

    e.environ_get = NULL; /* no environ: '-' */
    assert_string_equal(render("%({REMOTE_ADDR}e)s", &e), "-");
}

/* ------------------------------------------------------------------ */
/* access log: whole lines                                             */

/* GUNICORN.md 5.2, observed with gunicorn 26.1.0:
 * 127.0.0.1 - - [27/Nov/2026:12:07:05 +0000] "GET / HTTP/1.1" 200 16 "-" "curl/7.88.1" */
static void test_access_default_format(void **state)
{
    (void)state;
    static const cg_log_header req[] = {
        {"Host", 4, "127.0.0.1:8000", 14},
        {"User-Agent", 10, "curl/7.88.1", 11},
        {"Accept", 6, "*/*", 3},
    };
    cg_access_entry e = {
        .remote_addr = "127.0.0.1",
        .method = "GET",
        .method_len = 3,
        .raw_uri = "/",
        .raw_uri_len = 1,
        .path = "/",
        .path_len = 1,
        .query = "",
        .version_minor = 1,
        .status = 200,
        .sent = 16,
        .start_wall = {START_SEC + 1, 0},
        .duration_us = 583,
        .pid = 14098,
        .req_headers = req,
        .num_req_headers = 3,
    };
    const char *fmt = "%(h)s %(l)s %(u)s %(t)s \"%(r)s\" %(s)s %(b)s \"%(f)s\" \"%(a)s\"";
    assert_string_equal(render(fmt, &e), "127.0.0.1 - - [27/Nov/2026:12:07:05 +0000] \"GET / "
                                         "HTTP/1.1\" 200 16 \"-\" \"curl/7.88.1\"");

    /* The tutorial's gunicorn.conf.py (SEED.md 8):
     *   '%(t)s %(p)s %(h)s "%(r)s" %(s)s %(L)s %(b)s %(f)s" "%(a)s"'
     * gunicorn fills it from atoms(): t "[27/Nov/2026:12:07:05 +0000]",
     * p "<14098>", h "127.0.0.1", r "GET / HTTP/1.1", s "200",
     * L "%d.%06d" % (0, 583) = "0.000583", b str(16), f '-' (no Referer),
     * a "curl/7.88.1".  The format has no opening quote before %(f)s, so the
     * line carries `-"` - gunicorn 20.1 prints the same shape
     * (`200 0.000953 12 -" "curl/7.88.1"`). */
    const char *tutorial = "%(t)s %(p)s %(h)s \"%(r)s\" %(s)s %(L)s %(b)s %(f)s\" \"%(a)s\"";
    assert_string_equal(
        render(tutorial, &e),
        "[27/Nov/2026:12:07:05 +0000] <14098> 127.0.0.1 \"GET / HTTP/1.1\" 200 0.000583 16 -\" "
        "\"curl/7.88.1\"");
}

/* SafeAtoms: value.replace('"', '\\"') for str values - nothing else, so
 * backslashes and control characters are written as they are. */
static void test_access_quote_escaping(void **state)
{
    (void)state;
    static const cg_log_header req[] = {
        {"User-Agent", 10, "Mo\"zilla \\x\t\"", 13},
        {"X-A", 3, "\"\"", 2},
    };
    cg_access_entry e = fixed_entry();
    e.raw_uri = "/q?a=\"b\"";
    e.raw_uri_len = 8;
    e.query = "a=\"b\"";
    e.query_len = 5;
    e.req_headers = req;
    e.num_req_headers = 2;
    assert_string_equal(render("\"%(r)s\" \"%(a)s\" %(q)s %({x-a}i)s", &e),
                        "\"POST /q?a=\\\"b\\\" HTTP/1.1\" \"Mo\\\"zilla \\x\t\\\"\" a=\\\"b\\\" "
                        "\\\"\\\"");
}

/* gunicorn decodes header values, the URI and PATH_INFO as latin-1 and its
 * log file is UTF-8, so each byte 0x80-0xFF becomes two bytes (observed with
 * gunicorn 20.1: a UTF-8 "é" user agent is logged as C3 83 C2 A9). */
static void test_access_latin1_as_utf8(void **state)
{
    (void)state;
    static const cg_log_header req[] = {{"User-Agent", 10, "\xc3\xa9", 2}};
    cg_access_entry e = fixed_entry();
    e.req_headers = req;
    e.num_req_headers = 1;
    e.path = "/caf\xc3\xa9";
    e.path_len = 6;
    e.raw_uri = "/caf%C3%A9";
    e.raw_uri_len = 10;
    assert_string_equal(render("%(a)s %(U)s %(r)s", &e),
                        "\xc3\x83\xc2\xa9 /caf\xc3\x83\xc2\xa9 POST /caf%C3%A9 HTTP/1.1");
    /* width counts characters: two latin-1 characters here */
    assert_string_equal(render("[%(a)4s]", &e), "[  \xc3\x83\xc2\xa9]");
}

/* ------------------------------------------------------------------ */
/* access log: u (Basic auth)                                          */

static const char *render_auth(const char *value)
{
    static const char *fmt = "%(u)s";
    cg_log_header h = {"Authorization", 13, value, strlen(value)};
    cg_access_entry e = fixed_entry();
    e.req_headers = &h;
    e.num_req_headers = 1;
    return render(fmt, &e);
}

/* gunicorn 26 _get_user(): lower().startswith('basic'), split(" ", 1),
 * base64.b64decode (non-strict), user = split(b":", 1)[0].decode("UTF-8"),
 * any error -> None -> '-'.  Each case was checked against CPython 3.11. */
static void test_access_basic_auth(void **state)
{
    (void)state;
    static const render_case cases[] = {
        {"Basic YWxhZGRpbjpvcGVuc2VzYW1l", "aladdin"},     /* aladdin:opensesame */
        {"basic YWxhZGRpbjpvcGVuc2VzYW1l", "aladdin"},     /* scheme any case */
        {"BASIC   YWxhZGRpbjpvcGVuc2VzYW1l  ", "aladdin"}, /* .strip() */
        {"Basic dXNlcg==", "user"},                  /* no colon: 26 takes it all (20.1: '-') */
        {"Basic asO8cmdlbjpwdw==", "j\xc3\xbcrgen"}, /* UTF-8 user stays UTF-8 */
        {"Basic YSJiOnB3", "a\\\"b"},                /* a"b:pw, quote escaped */
        {"Basic OnB3", "-"},                         /* ":pw": empty user */
        {"Basic //46cHc=", "-"},                     /* \xff\xfe:pw: not UTF-8 */
        {"Basic wzpwdw==", "-"},                     /* \xc3:pw: truncated UTF-8 */
        {"Basic dXNlcjpwYXN", "-"},                  /* Incorrect padding */
        {"Basic dXNlc", "-"},                        /* 1 more than a multiple of 4 */
        {"Basic !!dXNl!cjpw=YXNz", "user"},          /* junk skipped, '=' at quad 0 skipped */
        {"Basic dXN=lcg==", "us"},                   /* padding ends the input */
        {"Basic dXNlcg===x", "user"},                /* data after padding ignored */
        {"Basic", "-"},                              /* no space: len(split) == 1 */
        {"Basicfoo dXNlcjpw", "user"},               /* startswith('basic') is enough */
        {"Bearer dXNlcjpw", "-"},
        {"Basic ", "-"}, /* empty -> b'' -> '' -> '-' */
        {"", "-"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = render_auth(cases[i].fmt);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("Authorization: %s -> \"%s\", want \"%s\"", cases[i].fmt, got, cases[i].want);
    }
    /* Two Authorization headers: the environ joins them with ',', which
     * base64 skips: "dXNlcjpwYXNz,Basic eA==" decodes to b"user:pass..." */
    static const cg_log_header two[] = {
        {"Authorization", 13, "Basic dXNlcjpwYXNz", 18},
        {"authorization", 13, "Basic eA==", 10},
    };
    cg_access_entry e = fixed_entry();
    e.req_headers = two;
    e.num_req_headers = 2;
    assert_string_equal(render("%(u)s", &e), "user");
}

/* ------------------------------------------------------------------ */
/* access log: Python %-format details                                 */

static void test_access_percent_and_literals(void **state)
{
    (void)state;
    cg_access_entry e = fixed_entry();
    assert_string_equal(render("100%% %(s)s%%", &e), "100% 201%");
    assert_string_equal(render("no atoms at all", &e), "no atoms at all");
    assert_string_equal(render("", &e), "");
    assert_string_equal(render("%%(h)s", &e), "%(h)s");
    cg_access_format *f = cg_access_format_new("%% plain");
    assert_null(cg_access_format_error(f));
    cg_access_format_free(f);
}

/* Flags, width and precision as Python applies them (checked against
 * gunicorn 20.1: "[%(h)-12s]" -> "[127.0.0.1   ]", "[%(s)5s]" -> "[  200]",
 * "[%(a).4s]" -> "[Mo\"]" - escaping happens before the precision). */
static void test_access_width_precision(void **state)
{
    (void)state;
    static const cg_log_header req[] = {{"User-Agent", 10, "Mo\"zilla", 8}};
    cg_access_entry e = fixed_entry();
    e.req_headers = req;
    e.num_req_headers = 1;
    e.duration_us = 583;
    static const render_case cases[] = {
        {"[%(h)-14s]", "[192.168.0.7   ]"},
        {"[%(s)5s]", "[  201]"},
        {"[%(a).4s]", "[Mo\\\"]"},
        {"[%(h)6.3s]", "[   192]"},
        {"[%(h).0s]", "[]"},
        {"[%(h).s]", "[]"},
        {"[%(h)3s]", "[192.168.0.7]"},
        {"[%(h)05s]", "[192.168.0.7]"},
        {"[%(D)08d]", "[00000583]"},
        {"[%(D)-6d]", "[583   ]"},
        {"[%(D)+d]", "[+583]"},
        {"[%(D) d]", "[ 583]"},
        {"[%(D).5d]", "[00583]"},
        {"[%(D)08.5d]", "[00000583]"}, /* Python zero-fills the width too */
        {"[%(D)8.5d]", "[   00583]"},
        {"[%(D)i %(D)u]", "[583 583]"},
        {"[%(D)5s]", "[  583]"},
        {"[%(h)d]", "[192.168.0.7]"}, /* gunicorn: TypeError; rendered as %s */
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]), &e);
}

/* Specs Python rejects are kept as text and reported. */
static void test_access_format_errors(void **state)
{
    (void)state;
    cg_access_entry e = fixed_entry();
    static const struct {
        const char *fmt, *want, *error;
    } cases[] = {
        {"%(s)q", "%(s)q", "unsupported format character 'q' (0x71) at index 4"},
        {"%(s", "%(s", "incomplete format key at index 0"},
        {"abc%", "abc%", "incomplete format at index 3"},
        {"%(s)", "%(s)", "incomplete format at index 0"},
        {"x %s", "x %s", "positional conversion at index 2 needs a %(name)"},
        {"%(s)*s", "%(s)*s", "* wants int (at index 0)"},
        {"%(s)r %(h)s", "201 192.168.0.7", "conversion '%r' at index 4 is rendered as %s"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cg_access_format *f = cg_access_format_new(cases[i].fmt);
        assert_non_null(f);
        char out[256];
        cg_access_render(f, &e, out, sizeof(out));
        assert_string_equal(out, cases[i].want);
        assert_non_null(cg_access_format_error(f));
        assert_string_equal(cg_access_format_error(f), cases[i].error);
        cg_access_format_free(f);
    }
    cg_access_format *f = cg_access_format_new("%(h)s %(l)s %(u)s %(t)s \"%(r)s\"");
    assert_null(cg_access_format_error(f));
    cg_access_format_free(f);
    f = cg_access_format_new(NULL); /* treated as "" */
    assert_non_null(f);
    assert_null(cg_access_format_error(f));
    cg_access_format_free(f);
    cg_access_format_free(NULL);
}

/* A line longer than the buffer is cut at outlen - 1 and NUL-terminated. */
static void test_access_truncation(void **state)
{
    (void)state;
    cg_access_entry e = fixed_entry();
    const char *fmt = "%(h)s %(l)s %(u)s %(t)s \"%(r)s\" %(s)s %(b)s \"%(f)s\" \"%(a)s\"";
    char full[512];
    cg_access_format *f = cg_access_format_new(fmt);
    size_t n = cg_access_render(f, &e, full, sizeof(full));
    assert_true(n > 40);

    for (size_t outlen = 1; outlen <= n + 1; outlen++) {
        char *out = malloc(outlen); /* exact size: ASan catches any overrun */
        assert_non_null(out);
        size_t m = cg_access_render(f, &e, out, outlen);
        assert_int_equal(m, outlen - 1);
        assert_int_equal(out[m], '\0');
        assert_memory_equal(out, full, m);
        free(out);
    }
    char big[1024];
    assert_int_equal(cg_access_render(f, &e, big, sizeof(big)), n);
    char untouched = 'x';
    assert_int_equal(cg_access_render(f, &e, &untouched, 0), 0);
    assert_int_equal(untouched, 'x');
    cg_access_format_free(f);

    /* right-justified padding running into the end of the buffer */
    f = cg_access_format_new("%(h)40s|%(D)30d");
    char small[10];
    assert_int_equal(cg_access_render(f, &e, small, sizeof(small)), 9);
    assert_string_equal(small, "         ");
    cg_access_format_free(f);
}

/* t is local time with the numeric zone, C-locale month names. */
static void test_access_time_zones(void **state)
{
    (void)state;
    cg_access_entry e = fixed_entry();
    e.duration_us = 0;
    setenv("TZ", "XYZ-8", 1); /* POSIX TZ: UTC+8 */
    tzset();
    e.start_wall.tv_sec = START_SEC + 100; /* a second not cached yet */
    assert_string_equal(render("%(t)s", &e), "[27/Nov/2026:20:08:44 +0800]");
    setenv("TZ", "EST5", 1); /* UTC-5: still the 27th at 07:10 */
    tzset();
    e.start_wall.tv_sec = START_SEC + 200;
    assert_string_equal(render("%(t)s", &e), "[27/Nov/2026:07:10:24 -0500]");
    e.start_wall.tv_sec = START_SEC - 12 * 3600 - 200; /* 26th, 19:03:44 -0500 */
    assert_string_equal(render("%(t)s", &e), "[26/Nov/2026:19:03:44 -0500]");
    setenv("TZ", "UTC", 1);
    tzset();
    e.start_wall.tv_sec = 946684799; /* 1999-12-31 23:59:59 */
    assert_string_equal(render("%(t)s", &e), "[31/Dec/1999:23:59:59 +0000]");
    /* start + duration crosses into the next second */
    e.start_wall.tv_sec = START_SEC;
    e.start_wall.tv_nsec = 999999000;
    e.duration_us = 1;
    assert_string_equal(render("%(t)s", &e), "[27/Nov/2026:12:07:05 +0000]");
}

/* start_wall all zero: the current time. */
static void test_access_time_now(void **state)
{
    (void)state;
    cg_access_entry e = fixed_entry();
    e.start_wall.tv_sec = 0;
    e.start_wall.tv_nsec = 0;
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^\\[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} "
                             "\\+0000\\]$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    const char *got = render("%(t)s", &e);
    assert_int_equal(regexec(&re, got, 0, NULL, 0), 0);
    regfree(&re);
    e.pid = 0; /* p falls back to getpid() */
    char want[32];
    snprintf(want, sizeof(want), "<%d>", (int)getpid());
    assert_string_equal(render("%(p)s", &e), want);
}

/* ------------------------------------------------------------------ */
/* error log                                                           */

static void test_error_log_line_format(void **state)
{
    fixture *fx = *state;
    const char *path = tmp_path(fx, "error.log", 0);
    char err[256] = "";
    assert_int_equal(cg_log_open_error(path, CG_LOG_INFO, err, sizeof(err)), 0);
    assert_int_not_equal(cg_log_error_fd(), STDERR_FILENO);
    cg_log(CG_LOG_INFO, "Starting gunicorn %s", "26.1.0");
    cg_log(CG_LOG_CRITICAL, "WORKER TIMEOUT (pid:%d)", 77);

    char *got = slurp(path, NULL);
    char pattern[256];
    snprintf(pattern, sizeof(pattern),
             "^\\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} \\+0000\\] \\[%d\\] "
             "\\[INFO\\] Starting gunicorn 26\\.1\\.0\n"
             "\\[[^]]*\\] \\[%d\\] \\[CRITICAL\\] WORKER TIMEOUT \\(pid:77\\)\n$",
             (int)getpid(), (int)getpid());
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    if (regexec(&re, got, 0, NULL, 0) != 0)
        fail_msg("error log was: %s", got);
    regfree(&re);
    free(got);
}

/* Only records at or above the level are written; level names as Python's. */
static void test_error_log_levels(void **state)
{
    fixture *fx = *state;
    const char *path = tmp_path(fx, "levels.log", 0);
    assert_int_equal(cg_log_open_error(path, CG_LOG_WARNING, NULL, 0), 0);
    assert_false(cg_log_enabled(CG_LOG_INFO));
    assert_true(cg_log_enabled(CG_LOG_WARNING));
    cg_log(CG_LOG_DEBUG, "d");
    cg_log(CG_LOG_INFO, "i");
    cg_log(CG_LOG_WARNING, "w");
    cg_log(CG_LOG_ERROR, "e");
    cg_log(CG_LOG_CRITICAL, "c");
    cg_log_set_level(CG_LOG_DEBUG);
    cg_log(CG_LOG_DEBUG, "d2");

    char *got = slurp(path, NULL);
    const char *want[] = {"] [WARNING] w\n", "] [ERROR] e\n", "] [CRITICAL] c\n", "] [DEBUG] d2\n"};
    const char *p = got;
    for (size_t i = 0; i < 4; i++) {
        const char *hit = strstr(p, want[i]);
        if (hit == NULL)
            fail_msg("missing %s in: %s", want[i], got);
        p = hit + strlen(want[i]);
    }
    assert_null(strstr(got, "] [INFO] "));
    assert_null(strstr(got, "] [DEBUG] d\n"));
    free(got);
}

/* A traceback: the prefix on the first line only, the rest as-is. */
static void test_error_log_multiline(void **state)
{
    fixture *fx = *state;
    const char *path = tmp_path(fx, "multi.log", 0);
    assert_int_equal(cg_log_open_error(path, CG_LOG_INFO, NULL, 0), 0);
    cg_log(CG_LOG_ERROR, "Error handling request GET /\n%s",
           "Traceback (most recent call last):\n  File \"app.py\", line 1\nValueError: x\n");
    char *got = slurp(path, NULL);
    char *nl = strchr(got, '\n');
    assert_non_null(nl);
    assert_non_null(strstr(got, "] [ERROR] Error handling request GET /\n"));
    assert_string_equal(nl + 1, "Traceback (most recent call last):\n  File \"app.py\", line 1\n"
                                "ValueError: x\n\n");
    free(got);
}

/* A record far beyond the stack buffer is written whole, in one piece. */
static void test_error_log_long_record(void **state)
{
    fixture *fx = *state;
    const char *path = tmp_path(fx, "long.log", 0);
    size_t big = 100000;
    char *msg = malloc(big + 1);
    assert_non_null(msg);
    for (size_t i = 0; i < big; i++)
        msg[i] = (char)('a' + i % 26);
    msg[big] = '\0';
    assert_int_equal(cg_log_open_error(path, CG_LOG_INFO, NULL, 0), 0);
    cg_log(CG_LOG_INFO, "%s", msg);
    size_t len;
    char *got = slurp(path, &len);
    char *start = strstr(got, "] [INFO] ");
    assert_non_null(start);
    start += strlen("] [INFO] ");
    assert_int_equal(strlen(start), big + 1);
    assert_memory_equal(start, msg, big);
    assert_int_equal(start[big], '\n');
    free(got);
    free(msg);
}

/* gunicorn's check_is_writable() wording; the old destination stays. */
static void test_error_log_open_failure(void **state)
{
    fixture *fx = *state;
    char err[256] = "";
    assert_int_equal(cg_log_open_error("/nonexistent-dir/x.log", CG_LOG_INFO, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "Error: '/nonexistent-dir/x.log' isn't writable "
                             "[FileNotFoundError(2, 'No such file or directory')]");
    assert_int_equal(cg_log_error_fd(), STDERR_FILENO);

    assert_int_equal(cg_log_open_error(tmp_path(fx, "ok.log", 0), CG_LOG_INFO, NULL, 0), 0);
    int fd = cg_log_error_fd();
    assert_int_equal(cg_log_open_error(fx->dir, CG_LOG_INFO, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "isn't writable [IsADirectoryError(21, 'Is a directory')]"));
    assert_int_equal(cg_log_error_fd(), fd);
    assert_int_equal(cg_log_open_access("/nonexistent-dir/a.log", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "Error: '/nonexistent-dir/a.log' isn't writable"));
    assert_false(cg_log_access_enabled());
}

/* Files are created 0666 & ~umask, appended to, and close-on-exec. */
static void test_log_file_mode(void **state)
{
    fixture *fx = *state;
    const char *path = tmp_path(fx, "mode.log", 0);
    mode_t old = umask(022);
    assert_int_equal(cg_log_open_error(path, CG_LOG_INFO, NULL, 0), 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    int fd = cg_log_error_fd();
    assert_true(fd > STDERR_FILENO);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_true(fcntl(fd, F_GETFL) & O_APPEND);

    const char *p2 = tmp_path(fx, "mode2.log", 1);
    old = umask(077);
    assert_int_equal(cg_log_open_access(p2, NULL, 0), 0);
    umask(old);
    assert_int_equal(stat(p2, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

/* ------------------------------------------------------------------ */
/* access log file, reopen, observer, capture_output                   */

static void test_log_access_file(void **state)
{
    fixture *fx = *state;
    const char *path = tmp_path(fx, "access.log", 0);
    cg_access_format *f = cg_access_format_new("%(h)s \"%(r)s\" %(s)s");
    cg_access_entry e = fixed_entry();

    assert_false(cg_log_access_enabled());
    cg_log_access(f, &e); /* no access log: nothing happens */
    assert_int_equal(cg_log_open_access(path, NULL, 0), 0);
    assert_true(cg_log_access_enabled());
    cg_log_access(f, &e);
    e.status = 404;
    cg_log_access(f, &e);
    assert_file_eq(path, "192.168.0.7 \"POST /a/b?x=1&y=2 HTTP/1.1\" 201\n"
                         "192.168.0.7 \"POST /a/b?x=1&y=2 HTTP/1.1\" 404\n");
    assert_int_equal(cg_log_open_access(NULL, NULL, 0), 0);
    assert_false(cg_log_access_enabled());
    cg_log_access(f, &e);
    cg_access_format_free(f);
}

/* A line longer than the stack buffer is rendered on the heap, whole. */
static void test_log_access_long_line(void **state)
{
    fixture *fx = *state;
    const char *path = tmp_path(fx, "long-access.log", 0);
    size_t big = 50000;
    char *ua = malloc(big);
    assert_non_null(ua);
    memset(ua, 'u', big);
    cg_log_header h = {"User-Agent", 10, ua, big};
    cg_access_entry e = fixed_entry();
    e.req_headers = &h;
    e.num_req_headers = 1;
    cg_access_format *f = cg_access_format_new("<%(a)s>");
    assert_int_equal(cg_log_open_access(path, NULL, 0), 0);
    cg_log_access(f, &e);
    size_t len;
    char *got = slurp(path, &len);
    assert_int_equal(len, big + 3);
    assert_int_equal(got[0], '<');
    assert_int_equal(got[big + 1], '>');
    assert_int_equal(got[big + 2], '\n');
    free(got);
    free(ua);
    cg_access_format_free(f);
}

/* USR1: rename the files away, reopen, the next lines go to new files at
 * the same descriptor numbers. */
static void test_log_reopen(void **state)
{
    fixture *fx = *state;
    const char *errp = tmp_path(fx, "e.log", 0), *accp = tmp_path(fx, "a.log", 1);
    const char *erro = tmp_path(fx, "e.log.1", 2), *acco = tmp_path(fx, "a.log.1", 3);
    cg_access_format *f = cg_access_format_new("%(s)s");
    cg_access_entry e = fixed_entry();

    assert_int_equal(cg_log_open_error(errp, CG_LOG_INFO, NULL, 0), 0);
    assert_int_equal(cg_log_open_access(accp, NULL, 0), 0);
    int efd = cg_log_error_fd();
    cg_log(CG_LOG_INFO, "before");
    cg_log_access(f, &e);
    assert_int_equal(rename(errp, erro), 0);
    assert_int_equal(rename(accp, acco), 0);
    cg_log(CG_LOG_INFO, "still old"); /* not reopened yet: the old file */

    assert_int_equal(cg_log_reopen(), 0);
    assert_int_equal(cg_log_error_fd(), efd);
    assert_true(fcntl(efd, F_GETFD) & FD_CLOEXEC);
    cg_log(CG_LOG_INFO, "after");
    e.status = 202;
    cg_log_access(f, &e);

    char *old = slurp(erro, NULL), *cur = slurp(errp, NULL);
    assert_non_null(strstr(old, "] before\n"));
    assert_non_null(strstr(old, "] still old\n"));
    assert_null(strstr(old, "after"));
    assert_null(strstr(cur, "before"));
    assert_non_null(strstr(cur, "] [INFO] after\n"));
    free(old);
    free(cur);
    assert_file_eq(acco, "201\n");
    assert_file_eq(accp, "202\n");

    /* a reopen that fails keeps the current file and reports it there */
    assert_int_equal(rename(errp, erro), 0);
    assert_int_equal(chmod(fx->dir, 0500), 0);
    int rc = cg_log_reopen();
    assert_int_equal(chmod(fx->dir, 0700), 0);
    if (geteuid() != 0) { /* root ignores the directory mode */
        assert_int_equal(rc, -1);
        char *kept = slurp(erro, NULL);
        assert_non_null(strstr(kept, "] [ERROR] Could not reopen error log"));
        free(kept);
    }
    cg_access_format_free(f);
}

/* stderr/stdout are never reopened. */
static void test_log_reopen_std_streams(void **state)
{
    (void)state;
    assert_int_equal(cg_log_open_error("-", CG_LOG_INFO, NULL, 0), 0);
    assert_int_equal(cg_log_open_access("-", NULL, 0), 0);
    assert_int_equal(cg_log_reopen(), 0);
    assert_int_equal(cg_log_error_fd(), STDERR_FILENO);
    assert_true(cg_log_access_enabled());
    assert_int_equal(cg_log_capture_output(), 0); /* no-op on stderr */
    assert_int_equal(cg_log_error_fd(), STDERR_FILENO);
}

typedef struct {
    int n;
    bool access[4];
    char line[4][256];
} observed;

static void observer(void *ctx, bool access, const char *line, size_t len)
{
    observed *o = ctx;
    if (o->n < 4) {
        o->access[o->n] = access;
        snprintf(o->line[o->n], sizeof(o->line[0]), "%.*s", (int)len, line);
    }
    o->n++;
}

static void test_log_observer(void **state)
{
    fixture *fx = *state;
    observed o = {0};
    assert_int_equal(cg_log_open_error(tmp_path(fx, "obs.log", 0), CG_LOG_INFO, NULL, 0), 0);
    cg_log_set_observer(observer, &o);
    assert_true(cg_log_access_enabled()); /* lines are rendered for the observer */
    cg_log(CG_LOG_WARNING, "hello %d", 1);
    cg_log(CG_LOG_DEBUG, "filtered");
    cg_access_format *f = cg_access_format_new("%(m)s %(s)s");
    cg_access_entry e = fixed_entry();
    cg_log_access(f, &e);
    cg_access_format_free(f);
    cg_log_set_observer(NULL, NULL);
    cg_log(CG_LOG_INFO, "unobserved");

    assert_int_equal(o.n, 2);
    assert_false(o.access[0]);
    assert_non_null(strstr(o.line[0], "] [WARNING] hello 1"));
    assert_null(strchr(o.line[0], '\n'));
    assert_true(o.access[1]);
    assert_string_equal(o.line[1], "POST 201");
}

/* capture_output: fds 1 and 2 write into the error log, and keep doing so
 * into the new file after a reopen. */
static void test_log_capture_output(void **state)
{
    fixture *fx = *state;
    const char *path = tmp_path(fx, "cap.log", 0), *old = tmp_path(fx, "cap.log.1", 1);
    fflush(stdout);
    fflush(stderr);
    fx->saved_out = dup(STDOUT_FILENO);
    fx->saved_err = dup(STDERR_FILENO);
    assert_true(fx->saved_out >= 0 && fx->saved_err >= 0);

    assert_int_equal(cg_log_open_error(path, CG_LOG_INFO, NULL, 0), 0);
    assert_int_equal(cg_log_capture_output(), 0);
    assert_int_equal(write(STDOUT_FILENO, "out1\n", 5), 5);
    assert_int_equal(write(STDERR_FILENO, "err1\n", 5), 5);
    cg_log(CG_LOG_INFO, "log1");
    assert_int_equal(rename(path, old), 0);
    assert_int_equal(cg_log_reopen(), 0);
    assert_int_equal(write(STDOUT_FILENO, "out2\n", 5), 5);
    assert_int_equal(write(STDERR_FILENO, "err2\n", 5), 5);
    cg_log(CG_LOG_INFO, "log2");

    char *o = slurp(old, NULL), *n = slurp(path, NULL);
    assert_non_null(strstr(o, "out1\nerr1\n"));
    assert_non_null(strstr(o, "] log1\n"));
    assert_null(strstr(o, "2\n"));
    if (strstr(n, "out2\nerr2\n") == NULL)
        fail_msg("new file: %s", n);
    assert_non_null(strstr(n, "] log2\n"));
    assert_null(strstr(n, "1\n"));
    free(o);
    free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_log_level_parse),        T(test_access_every_atom),
        T(test_access_b_and_B),         T(test_access_durations),
        T(test_access_unknown_atoms),   T(test_access_header_lookup),
        T(test_access_environ),         T(test_access_default_format),
        T(test_access_quote_escaping),  T(test_access_latin1_as_utf8),
        T(test_access_basic_auth),      T(test_access_percent_and_literals),
        T(test_access_width_precision), T(test_access_format_errors),
        T(test_access_truncation),      T(test_access_time_zones),
        T(test_access_time_now),        T(test_error_log_line_format),
        T(test_error_log_levels),       T(test_error_log_multiline),
        T(test_error_log_long_record),  T(test_error_log_open_failure),
        T(test_log_file_mode),          T(test_log_access_file),
        T(test_log_access_long_line),   T(test_log_reopen),
        T(test_log_reopen_std_streams), T(test_log_observer),
        T(test_log_capture_output),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
