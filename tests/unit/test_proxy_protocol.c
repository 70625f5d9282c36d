/* test_proxy_protocol.c - cmocka tests for src/proxy_protocol.c.
 *
 * Every input is copied to end exactly where a PROT_NONE page starts, so a
 * read past what the parser was given faults at once.  The expected v1
 * messages of the "gunicorn" table were produced by running gunicorn 26's
 * _parse_proxy_protocol_v1 logic and errors.py __str__ in Python 3.11 on the
 * same lines, independently of the C code under test; the "strict" table
 * holds what gunicorn accepts or words differently and cgunicorn rejects.
 * v2 headers are built byte by byte here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy_protocol.h"

/* ------------------------------------------------------------------ */
/* Guard pages                                                         */

typedef struct {
    char *map;
    size_t maplen;
} guarded;

/* Copy s[0..n) to end right before a PROT_NONE page.  Returns the copy. */
static const char *gcopy(guarded *g, const void *s, size_t n)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (n + ps - 1) / ps + 1;
    char *p;

    g->maplen = pages * ps;
    g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->map != MAP_FAILED);
    assert_int_equal(mprotect(g->map + (pages - 1) * ps, ps, PROT_NONE), 0);
    p = g->map + (pages - 1) * ps - n;
    if (n)
        memcpy(p, s, n);
    return p;
}

/* Release a gcopy() buffer. */
static void gfree(guarded *g)
{
    if (g->map)
        munmap(g->map, g->maplen);
    memset(g, 0, sizeof(*g));
}

static cg_proxy_info I;
static char E[256];

/* Parse s[0..n) (guarded) with mode into I and E. */
static ssize_t parse_n(const void *s, size_t n, int mode)
{
    guarded g = {0};
    ssize_t r;

    memset(&I, 0xA5, sizeof(I));
    memset(E, 'X', sizeof(E));
    r = cg_proxy_parse(gcopy(&g, s, n), n, mode, &I, E, sizeof(E));
    gfree(&g);
    if (r != CG_PROXY_ERROR)
        assert_string_equal(E, ""); /* err is cleared unless there is an error */
    return r;
}

/* cg_proxy_detect on s[0..n) (guarded). */
static int detect_n(const void *s, size_t n, int mode)
{
    guarded g = {0};
    int r = cg_proxy_detect(gcopy(&g, s, n), n, mode);

    gfree(&g);
    return r;
}

/* Every proper prefix of s[0..n) is INCOMPLETE in mode. */
static void assert_prefixes_incomplete(const void *s, size_t n, int mode)
{
    for (size_t k = 0; k < n; k++) {
        ssize_t r = parse_n(s, k, mode);
        if (r != CG_PROXY_INCOMPLETE)
            fail_msg("prefix %zu of %zu (mode %d): %zd, want INCOMPLETE (%s)", k, n, mode, r, E);
    }
}

static const char http_tail[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

/* ------------------------------------------------------------------ */
/* v1 accepted                                                         */

typedef struct {
    const char *line; /* the whole header, CRLF included */
    const char *protocol;
    int family;
    bool local;
    const char *client;
    unsigned cport;
    const char *proxy;
    unsigned pport;
} v1ok;

static const v1ok v1_ok[] = {
    {"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", "TCP4", AF_INET, false, "192.168.0.1",
     56324, "192.168.0.11", 443},
    {"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n", "TCP4", AF_INET, false,
     "255.255.255.255", 65535, "255.255.255.255", 65535},
    {"PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n", "TCP4", AF_INET, false, "0.0.0.0", 0, "0.0.0.0", 0},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n", "TCP4", AF_INET, false, "1.2.3.4", 1111, "5.6.7.8",
     2222},
    {"PROXY TCP6 2001:db8::1 ::1 1 2\r\n", "TCP6", AF_INET6, false, "2001:db8::1", 1, "::1", 2},
    {"PROXY TCP6 FE80::1 ::FFFF:10.0.0.1 10 20\r\n", "TCP6", AF_INET6, false, "FE80::1", 10,
     "::FFFF:10.0.0.1", 20},
    {"PROXY TCP6 ::ffff:1.2.3.4 :: 80 443\r\n", "TCP6", AF_INET6, false, "::ffff:1.2.3.4", 80,
     "::", 443},
    /* the spec's longest TCP6 line (104 bytes) */
    {"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
     "65535 65535\r\n",
     "TCP6", AF_INET6, false, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535},
    /* addresses are kept as written (gunicorn passes them on unchanged) */
    {"PROXY TCP6 0:0:0:0:0:0:0:1 0000::0001 1 2\r\n", "TCP6", AF_INET6, false, "0:0:0:0:0:0:0:1", 1,
     "0000::0001", 2},
    /* UNKNOWN: the rest of the line is ignored, the real peer stays */
    {"PROXY UNKNOWN\r\n", "UNKNOWN", AF_UNSPEC, true, "", 0, "", 0},
    {"PROXY UNKNOWN \r\n", "UNKNOWN", AF_UNSPEC, true, "", 0, "", 0},
    {"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1111 2222\r\n", "UNKNOWN", AF_UNSPEC, true, "", 0, "", 0},
    {"PROXY UNKNOWN whatever it says  here\r\n", "UNKNOWN", AF_UNSPEC, true, "", 0, "", 0},
    /* the spec's worst case: exactly 107 bytes */
    {"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
     "65535 65535\r\n",
     "UNKNOWN", AF_UNSPEC, true, "", 0, "", 0},
};

static void test_proxy_v1_accept(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(v1_ok) / sizeof(v1_ok[0]); i++) {
        const v1ok *c = &v1_ok[i];
        size_t n = strlen(c->line);
        char buf[512];
        static const int modes[] = {CG_PROXY_V1, CG_PROXY_AUTO};

        assert_true(n <= CG_PROXY_V1_MAX);
        memcpy(buf, c->line, n);
        memcpy(buf + n, http_tail, sizeof(http_tail) - 1);
        for (size_t m = 0; m < 2; m++) {
            /* the header alone, then with the request behind it */
            for (size_t extra = 0; extra <= sizeof(http_tail) - 1; extra += sizeof(http_tail) - 1) {
                ssize_t r = parse_n(buf, n + extra, modes[m]);
                if (r != (ssize_t)n)
                    fail_msg("case %zu mode %d: %zd, want %zu (%s)", i, modes[m], r, n, E);
                assert_int_equal(I.version, 1);
                assert_string_equal(I.protocol, c->protocol);
                assert_int_equal(I.family, c->family);
                assert_int_equal(I.local, c->local);
                assert_string_equal(I.client_addr, c->client);
                assert_int_equal(I.client_port, c->cport);
                assert_string_equal(I.proxy_addr, c->proxy);
                assert_int_equal(I.proxy_port, c->pport);
            }
            assert_prefixes_incomplete(buf, n, modes[m]);
            assert_int_equal(detect_n(buf, n, modes[m]), CG_PROXY_V1);
        }
        /* v1 is no v2 header, and nothing when off */
        assert_int_equal(parse_n(buf, n, CG_PROXY_V2), 0);
        assert_int_equal(parse_n(buf, n, CG_PROXY_OFF), 0);
    }
}

/* ------------------------------------------------------------------ */
/* v1 rejected                                                         */

typedef struct {
    const char *line;
    const char *msg;
} v1bad;

/* gunicorn 26 rejects these with the same text. */
static const v1bad v1_gunicorn[] = {
    {"PROXY TCP4 1.2.3.4 5.6.7.8 1111\r\n",
     "Invalid PROXY line: 'PROXY TCP4 1.2.3.4 5.6.7.8 1111'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222 3333\r\n",
     "Invalid PROXY line: 'PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222 3333'"},
    {"PROXY TCP4  1.2.3.4 5.6.7.8 1111 2222\r\n",
     "Invalid PROXY line: 'PROXY TCP4  1.2.3.4 5.6.7.8 1111 2222'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222 \r\n",
     "Invalid PROXY line: 'PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222 '"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8  2222\r\n",
     "Invalid PROXY line: 'invalid port PROXY TCP4 1.2.3.4 5.6.7.8  2222'"},
    {"PROXY  UNKNOWN\r\n", "Invalid PROXY line: 'PROXY  UNKNOWN'"},
    {"PROXY \r\n", "Invalid PROXY line: 'PROXY '"},
    {"PROXY TCP5 1.2.3.4 5.6.7.8 1111 2222\r\n",
     "Invalid PROXY line: \"protocol 'TCP5' not supported\""},
    {"PROXY tcp4 1.2.3.4 5.6.7.8 1111 2222\r\n",
     "Invalid PROXY line: \"protocol 'tcp4' not supported\""},
    {"PROXY UDP4 1.2.3.4 5.6.7.8 1111 2222\r\n",
     "Invalid PROXY line: \"protocol 'UDP4' not supported\""},
    {"PROXY unknown 1.2.3.4 5.6.7.8 1111 2222\r\n",
     "Invalid PROXY line: \"protocol 'unknown' not supported\""},
    {"PROXY TCP\"4 1.2.3.4 5.6.7.8 1111 2222\r\n",
     "Invalid PROXY line: 'protocol \\'TCP\"4\\' not supported'"},
    {"PROXY TCP4 1.2.3 5.6.7.8 1111 2222\r\n",
     "Invalid PROXY line: 'PROXY TCP4 1.2.3 5.6.7.8 1111 2222'"},
    {"PROXY TCP4 256.2.3.4 5.6.7.8 1111 2222\r\n",
     "Invalid PROXY line: 'PROXY TCP4 256.2.3.4 5.6.7.8 1111 2222'"},
    {"PROXY TCP4 01.2.3.4 5.6.7.8 1111 2222\r\n",
     "Invalid PROXY line: 'PROXY TCP4 01.2.3.4 5.6.7.8 1111 2222'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8.9 1111 2222\r\n",
     "Invalid PROXY line: 'PROXY TCP4 1.2.3.4 5.6.7.8.9 1111 2222'"},
    {"PROXY TCP4 ::1 5.6.7.8 1111 2222\r\n",
     "Invalid PROXY line: 'PROXY TCP4 ::1 5.6.7.8 1111 2222'"},
    {"PROXY TCP4 1.2.3.4 ::1 1111 2222\r\n",
     "Invalid PROXY line: 'PROXY TCP4 1.2.3.4 ::1 1111 2222'"},
    {"PROXY TCP6 1.2.3.4 ::1 1111 2222\r\n",
     "Invalid PROXY line: 'PROXY TCP6 1.2.3.4 ::1 1111 2222'"},
    {"PROXY TCP6 ::1 1.2.3.4 1111 2222\r\n",
     "Invalid PROXY line: 'PROXY TCP6 ::1 1.2.3.4 1111 2222'"},
    {"PROXY TCP6 ::1%eth0 ::1 1111 2222\r\n",
     "Invalid PROXY line: 'PROXY TCP6 ::1%eth0 ::1 1111 2222'"},
    {"PROXY TCP6 1::2::3 ::1 1111 2222\r\n",
     "Invalid PROXY line: 'PROXY TCP6 1::2::3 ::1 1111 2222'"},
    {"PROXY TCP6 12345::1 ::1 1111 2222\r\n",
     "Invalid PROXY line: 'PROXY TCP6 12345::1 ::1 1111 2222'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2222\r\n",
     "Invalid PROXY line: 'invalid port PROXY TCP4 1.2.3.4 5.6.7.8 65536 2222'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 1111 65536\r\n",
     "Invalid PROXY line: 'invalid port PROXY TCP4 1.2.3.4 5.6.7.8 1111 65536'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2222\r\n",
     "Invalid PROXY line: 'invalid port PROXY TCP4 1.2.3.4 5.6.7.8 -1 2222'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 1a 2222\r\n",
     "Invalid PROXY line: 'invalid port PROXY TCP4 1.2.3.4 5.6.7.8 1a 2222'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 0x10 2222\r\n",
     "Invalid PROXY line: 'invalid port PROXY TCP4 1.2.3.4 5.6.7.8 0x10 2222'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 123456 2222\r\n",
     "Invalid PROXY line: 'invalid port PROXY TCP4 1.2.3.4 5.6.7.8 123456 2222'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 99999 2222\r\n",
     "Invalid PROXY line: 'invalid port PROXY TCP4 1.2.3.4 5.6.7.8 99999 2222'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 1111 \r\n",
     "Invalid PROXY line: 'invalid port PROXY TCP4 1.2.3.4 5.6.7.8 1111 '"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2'22\r\n",
     "Invalid PROXY line: \"invalid port PROXY TCP4 1.2.3.4 5.6.7.8 1111 2'22\""},
};

/* Stricter than gunicorn: it accepts these (int() takes a sign, leading
 * zeros, underscores; no bound on the line) or would fail later with the
 * whole line; cgunicorn rejects them with gunicorn's wording. */
static const v1bad v1_strict[] = {
    /* gunicorn: ports (80, 2222) */
    {"PROXY TCP4 1.2.3.4 5.6.7.8 +80 2222\r\n",
     "Invalid PROXY line: 'invalid port PROXY TCP4 1.2.3.4 5.6.7.8 +80 2222'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 080 2222\r\n",
     "Invalid PROXY line: 'invalid port PROXY TCP4 1.2.3.4 5.6.7.8 080 2222'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 8_0 2222\r\n",
     "Invalid PROXY line: 'invalid port PROXY TCP4 1.2.3.4 5.6.7.8 8_0 2222'"},
    /* gunicorn: ports (1111, 0) and (0, 2222) */
    {"PROXY TCP4 1.2.3.4 5.6.7.8 1111 00\r\n",
     "Invalid PROXY line: 'invalid port PROXY TCP4 1.2.3.4 5.6.7.8 1111 00'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 -0 2222\r\n",
     "Invalid PROXY line: 'invalid port PROXY TCP4 1.2.3.4 5.6.7.8 -0 2222'"},
    /* int() strips blanks: gunicorn takes "80\t" */
    {"PROXY TCP4 1.2.3.4 5.6.7.8 80\t 2222\r\n",
     "Invalid PROXY line: 'PROXY TCP4 1.2.3.4 5.6.7.8 80\\t'"},
    /* a lone LF or CR, NUL, DEL, 8-bit: rejected at the byte */
    {"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\n\r\n",
     "Invalid PROXY line: 'PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\\n'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\rX\r\n",
     "Invalid PROXY line: 'PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\\rX'"},
    {"PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\r\n",
     "Invalid PROXY line: 'PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\\r\\r'"},
    {"PROXY \x7f", "Invalid PROXY line: 'PROXY \\x7f'"},
    {"PROXY UNKNOWN \x80\r\n", "Invalid PROXY line: 'PROXY UNKNOWN \\x80'"},
    {"PROXY UNKNOWN \x01\r\n", "Invalid PROXY line: 'PROXY UNKNOWN \\x01'"},
    /* 45-character IPv6 texts that inet_pton takes make a 116-byte line:
     * over the spec's 107 (gunicorn would accept it) */
    {"PROXY TCP6 0000:0000:0000:0000:0000:ffff:255.255.255.255 "
     "0000:0000:0000:0000:0000:ffff:255.255.255.255 65535 65535\r\n",
     "Invalid PROXY line: 'PROXY TCP6 0000:0000:0000:0000:0000:ffff:255.255.255.255 "
     "0000:0000:0000:0000:0000:ffff:255.255.255.255 655'"}, /* its first 106 bytes */
    /* the spec's worst case plus one byte */
    {"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
     "65535 655351\r\n",
     "Invalid PROXY line: 'PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 655351'"},
};

/* Each row fails in V1 and AUTO mode with its message, and no shorter input
 * ever succeeds (prefixes are INCOMPLETE or already the same error). */
static void check_v1_rejects(const v1bad *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(t[i].line);
        static const int modes[] = {CG_PROXY_V1, CG_PROXY_AUTO};

        for (size_t m = 0; m < 2; m++) {
            ssize_t r = parse_n(t[i].line, len, modes[m]);
            if (r != CG_PROXY_ERROR)
                fail_msg("case %zu (%s): %zd, want ERROR", i, t[i].line, r);
            if (strcmp(E, t[i].msg) != 0)
                fail_msg("case %zu\n got: %s\nwant: %s", i, E, t[i].msg);
            for (size_t k = 0; k < len; k++) {
                r = parse_n(t[i].line, k, modes[m]);
                if (r == CG_PROXY_ERROR)
                    assert_string_equal(E, t[i].msg);
                else
                    assert_int_equal(r, CG_PROXY_INCOMPLETE);
            }
        }
        assert_int_equal(parse_n(t[i].line, len, CG_PROXY_V2), 0);
    }
}

static void test_proxy_v1_reject_gunicorn(void **state)
{
    (void)state;
    check_v1_rejects(v1_gunicorn, sizeof(v1_gunicorn) / sizeof(v1_gunicorn[0]));
}

static void test_proxy_v1_reject_strict(void **state)
{
    (void)state;
    check_v1_rejects(v1_strict, sizeof(v1_strict) / sizeof(v1_strict[0]));
}

/* The 107-byte bound, byte by byte. */
static void test_proxy_v1_length_bound(void **state)
{
    char buf[300];

    (void)state;
    memcpy(buf, "PROXY ", 6);
    memset(buf + 6, 'A', sizeof(buf) - 6);
    /* no CR among the first 106 bytes: at 105 bytes a CRLF could still end
     * at 107, at 106 it cannot */
    assert_int_equal(parse_n(buf, 105, CG_PROXY_V1), CG_PROXY_INCOMPLETE);
    assert_int_equal(parse_n(buf, 106, CG_PROXY_V1), CG_PROXY_ERROR);
    assert_int_equal(parse_n(buf, 107, CG_PROXY_AUTO), CG_PROXY_ERROR);
    assert_int_equal(parse_n(buf, sizeof(buf), CG_PROXY_AUTO), CG_PROXY_ERROR);
    assert_int_equal(strlen(E), strlen("Invalid PROXY line: ''") + 106);
    /* a CR at 105 waits for its LF at 106 */
    buf[105] = '\r';
    assert_int_equal(parse_n(buf, 106, CG_PROXY_V1), CG_PROXY_INCOMPLETE);
    buf[106] = '\n';
    assert_int_equal(parse_n(buf, 107, CG_PROXY_V1), CG_PROXY_ERROR); /* 2 fields */
    assert_string_equal(E + strlen(E) - 6, "AAAAA'");
    /* a CR at 106 is one byte too far */
    buf[105] = 'A';
    buf[106] = '\r';
    buf[107] = '\n';
    assert_int_equal(parse_n(buf, 108, CG_PROXY_V1), CG_PROXY_ERROR);
    /* UNKNOWN padded to exactly 107 bytes, then 108 */
    memcpy(buf, "PROXY UNKNOWN ", 14);
    memset(buf + 14, 'x', 91);
    memcpy(buf + 105, "\r\n", 2);
    assert_int_equal(parse_n(buf, 107, CG_PROXY_V1), 107);
    assert_true(I.local);
    memset(buf + 14, 'x', 92);
    memcpy(buf + 106, "\r\n", 2);
    assert_int_equal(parse_n(buf, 108, CG_PROXY_V1), CG_PROXY_ERROR);
}

/* ------------------------------------------------------------------ */
/* Detection                                                           */

typedef struct {
    const char *s;
    size_t n;
    int mode;
    int want;
} dcase;

#define D(lit, mode, want)                                                                         \
    {                                                                                              \
        lit, sizeof(lit) - 1, mode, want                                                           \
    }
#define SIG "\r\n\r\n\0\r\nQUIT\n"

static const dcase detect_cases[] = {
    D("", CG_PROXY_AUTO, CG_PROXY_INCOMPLETE),
    D("", CG_PROXY_V1, CG_PROXY_INCOMPLETE),
    D("", CG_PROXY_V2, CG_PROXY_INCOMPLETE),
    D("", CG_PROXY_OFF, 0),
    D("P", CG_PROXY_AUTO, CG_PROXY_INCOMPLETE),
    D("PROXY", CG_PROXY_V1, CG_PROXY_INCOMPLETE),
    D("PROXY", CG_PROXY_V2, 0),
    D("PROXY ", CG_PROXY_V1, CG_PROXY_V1),
    D("PROXY ", CG_PROXY_AUTO, CG_PROXY_V1),
    D("PROXY ", CG_PROXY_V2, 0),
    D("PROXY ", CG_PROXY_OFF, 0),
    D("PROXY\r\n", CG_PROXY_AUTO, 0),
    D("PROXYX", CG_PROXY_AUTO, 0),
    D("proxy ", CG_PROXY_AUTO, 0),
    D("GET / HTTP/1.1\r\n", CG_PROXY_AUTO, 0),
    D("G", CG_PROXY_AUTO, 0),
    D("\r", CG_PROXY_AUTO, CG_PROXY_INCOMPLETE),
    D("\r", CG_PROXY_V1, 0),
    D("\r\n\r\n", CG_PROXY_V2, CG_PROXY_INCOMPLETE),
    D("\r\n\r\n\0\r\nQUIT", CG_PROXY_AUTO, CG_PROXY_INCOMPLETE),
    D("\r\nGET / HTTP/1.1\r\n", CG_PROXY_AUTO, 0),
    D("\r\n\r\n\0\r\nQUIT\r", CG_PROXY_AUTO, 0),
    D(SIG, CG_PROXY_AUTO, CG_PROXY_V2),
    D(SIG, CG_PROXY_V2, CG_PROXY_V2),
    D(SIG, CG_PROXY_V1, 0),
    D(SIG, CG_PROXY_OFF, 0),
    D(SIG "\x21", CG_PROXY_AUTO, CG_PROXY_V2),
};

static void test_proxy_detect(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(detect_cases) / sizeof(detect_cases[0]); i++) {
        const dcase *c = &detect_cases[i];
        int got = detect_n(c->s, c->n, c->mode);
        ssize_t r;

        if (got != c->want)
            fail_msg("case %zu: detect = %d, want %d", i, got, c->want);
        /* parse agrees where there is no header to parse */
        r = parse_n(c->s, c->n, c->mode);
        if (c->want <= 0)
            assert_int_equal(r, c->want);
        else
            assert_true(r == CG_PROXY_INCOMPLETE || r == CG_PROXY_ERROR);
    }
}

/* ------------------------------------------------------------------ */
/* v2                                                                  */

/* Build a v2 header into o: signature, ver_cmd, fam, the 16-bit length
 * field declared (which may disagree with nbody), then body[0..nbody).
 * Returns the bytes written. */
static size_t v2_build(unsigned char *o, unsigned ver_cmd, unsigned fam, unsigned declared,
                       const unsigned char *body, size_t nbody)
{
    static const unsigned char sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                          0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    size_t n = 0;

    for (size_t i = 0; i < sizeof(sig); i++)
        o[n++] = sig[i];
    o[n++] = (unsigned char)ver_cmd;
    o[n++] = (unsigned char)fam;
    o[n++] = (unsigned char)(declared >> 8);
    o[n++] = (unsigned char)(declared & 0xff);
    for (size_t i = 0; i < nbody; i++)
        o[n++] = body[i];
    return n;
}

/* An IPv4 block: 1.2.3.4:1111 -> 5.6.7.8:2222. */
static const unsigned char v4_block[12] = {1, 2, 3, 4, 5, 6, 7, 8, 0x04, 0x57, 0x08, 0xAE};

/* An IPv6 block: 2001:db8::1:51234 -> ::ffff:10.0.0.1:443. */
static const unsigned char v6_block[36] = {
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0,    0,    0,  0, 0, 1, /* 2001:db8::1 */
    0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1, /* ::ffff:10.0.0.1 */
    0xC8, 0x22, 0x01, 0xBB};                                           /* 51234, 443 */

/* Parse the built header h[0..n) (alone, then followed by a request) in V2
 * and AUTO modes; it must be exactly n bytes, every prefix INCOMPLETE; and
 * it is no v1 header. */
static void check_v2_ok(const unsigned char *h, size_t n)
{
    static const int modes[] = {CG_PROXY_V2, CG_PROXY_AUTO};
    unsigned char *buf = malloc(n + sizeof(http_tail));

    assert_non_null(buf);
    memcpy(buf, h, n);
    memcpy(buf + n, http_tail, sizeof(http_tail) - 1);
    for (size_t m = 0; m < 2; m++) {
        ssize_t r = parse_n(buf, n + sizeof(http_tail) - 1, modes[m]);
        if (r != (ssize_t)n)
            fail_msg("mode %d: %zd, want %zu (%s)", modes[m], r, n, E);
        r = parse_n(buf, n, modes[m]);
        assert_int_equal(r, (ssize_t)n);
        assert_int_equal(I.version, 2);
        assert_non_null(I.protocol);
        if (n < 600)
            assert_prefixes_incomplete(buf, n, modes[m]);
    }
    assert_int_equal(parse_n(buf, n, CG_PROXY_V1), 0);
    free(buf);
    parse_n(h, n, CG_PROXY_AUTO); /* leave I filled for the caller */
}

static void test_proxy_v2_tcp(void **state)
{
    unsigned char h[600], body[300];
    size_t n;

    (void)state;
    /* TCP over IPv4 */
    n = v2_build(h, 0x21, 0x11, 12, v4_block, 12);
    assert_int_equal(n, 28);
    check_v2_ok(h, n);
    assert_false(I.local);
    assert_int_equal(I.family, AF_INET);
    assert_string_equal(I.protocol, "TCP4");
    assert_string_equal(I.client_addr, "1.2.3.4");
    assert_int_equal(I.client_port, 1111);
    assert_string_equal(I.proxy_addr, "5.6.7.8");
    assert_int_equal(I.proxy_port, 2222);

    /* TCP over IPv6, a mapped destination */
    n = v2_build(h, 0x21, 0x21, 36, v6_block, 36);
    check_v2_ok(h, n);
    assert_false(I.local);
    assert_int_equal(I.family, AF_INET6);
    assert_string_equal(I.protocol, "TCP6");
    assert_string_equal(I.client_addr, "2001:db8::1");
    assert_int_equal(I.client_port, 51234);
    assert_string_equal(I.proxy_addr, "::ffff:10.0.0.1");
    assert_int_equal(I.proxy_port, 443);

    /* TLVs after the addresses are skipped: NOOP (empty), ALPN "h2",
     * an AWS-style custom 0xEA, UNIQUE_ID of 128 bytes */
    memcpy(body, v4_block, 12);
    n = 12;
    body[n++] = 0x04, body[n++] = 0, body[n++] = 0;
    body[n++] = 0x01, body[n++] = 0, body[n++] = 2, body[n++] = 'h', body[n++] = '2';
    body[n++] = 0xEA, body[n++] = 0, body[n++] = 5;
    memcpy(body + n, "\x01vpce", 5);
    n += 5;
    body[n++] = 0x05, body[n++] = 0, body[n++] = 128;
    memset(body + n, 'u', 128);
    n += 128;
    {
        size_t total = v2_build(h, 0x21, 0x11, (unsigned)n, body, n);
        check_v2_ok(h, total);
        assert_string_equal(I.protocol, "TCP4");
        assert_int_equal(I.client_port, 1111);
    }

    /* an IPv4 block in a longer length: the extra bytes must be TLVs; a
     * zero-length TLV of type 0 is 3 zero bytes */
    memset(body, 0, sizeof(body));
    memcpy(body, v4_block, 12);
    n = v2_build(h, 0x21, 0x11, 15, body, 15);
    check_v2_ok(h, n);

    /* TCP6 with TLVs */
    memcpy(body, v6_block, 36);
    body[36] = 0x02, body[37] = 0, body[38] = 3;
    memcpy(body + 39, "a.b", 3);
    n = v2_build(h, 0x21, 0x21, 42, body, 42);
    check_v2_ok(h, n);
    assert_string_equal(I.protocol, "TCP6");
}

static void test_proxy_v2_local_unspec_unix(void **state)
{
    unsigned char h[600], body[300];
    size_t n;

    (void)state;
    memset(body, 0x5A, sizeof(body));
    /* LOCAL (health check): the real peer stays */
    n = v2_build(h, 0x20, 0x00, 0, NULL, 0);
    assert_int_equal(n, 16);
    check_v2_ok(h, n);
    assert_true(I.local);
    assert_string_equal(I.protocol, "LOCAL");
    assert_int_equal(I.family, AF_UNSPEC);
    assert_string_equal(I.client_addr, "");
    assert_string_equal(I.proxy_addr, "");
    /* LOCAL ignores the whole block, family and protocol included */
    n = v2_build(h, 0x20, 0xFF, 7, body, 7);
    check_v2_ok(h, n);
    assert_true(I.local);
    assert_string_equal(I.protocol, "LOCAL");
    n = v2_build(h, 0x20, 0x11, 12, v4_block, 12);
    check_v2_ok(h, n);
    assert_true(I.local);
    assert_string_equal(I.client_addr, "");

    /* PROXY with UNSPEC family: gunicorn's "UNSPEC", real peer kept */
    n = v2_build(h, 0x21, 0x01, 0, NULL, 0);
    check_v2_ok(h, n);
    assert_true(I.local);
    assert_string_equal(I.protocol, "UNSPEC");
    n = v2_build(h, 0x21, 0x01, 9, body, 9); /* addresses of no known kind: ignored */
    check_v2_ok(h, n);
    assert_string_equal(I.protocol, "UNSPEC");
    /* the spec's \x00 with PROXY (gunicorn: "only TCP protocol is supported") */
    n = v2_build(h, 0x21, 0x00, 0, NULL, 0);
    check_v2_ok(h, n);
    assert_true(I.local);
    assert_string_equal(I.protocol, "UNSPEC");

    /* UNIX stream: 216 bytes of paths; real peer kept (gunicorn: error) */
    memset(body, 0, 216);
    memcpy(body, "/run/haproxy.sock", 17);
    n = v2_build(h, 0x21, 0x31, 216, body, 216);
    check_v2_ok(h, n);
    assert_true(I.local);
    assert_int_equal(I.family, AF_UNIX);
    assert_string_equal(I.protocol, "UNIX");
    body[216] = 0x04, body[217] = 0, body[218] = 0;
    n = v2_build(h, 0x21, 0x31, 219, body, 219);
    check_v2_ok(h, n);
    assert_string_equal(I.protocol, "UNIX");
}

typedef struct {
    unsigned ver_cmd, fam, declared;
    size_t nbody; /* bytes of body present (taken from a 0x5A-filled block) */
    const char *msg;
    size_t fail_at; /* shortest input that already fails */
} v2bad;

static const v2bad v2_bad[] = {
    {0x11, 0x11, 12, 12, "Invalid PROXY header: unsupported version 1", 13},
    {0x31, 0x11, 12, 12, "Invalid PROXY header: unsupported version 3", 13},
    {0x01, 0x11, 12, 12, "Invalid PROXY header: unsupported version 0", 13},
    {0xF1, 0x11, 12, 12, "Invalid PROXY header: unsupported version 15", 13},
    {0x22, 0x11, 12, 12, "Invalid PROXY header: unsupported command 2", 13},
    {0x2F, 0x11, 12, 12, "Invalid PROXY header: unsupported command 15", 13},
    {0x21, 0x12, 12, 12, "Invalid PROXY header: only TCP protocol is supported", 28},
    {0x21, 0x22, 36, 36, "Invalid PROXY header: only TCP protocol is supported", 52},
    {0x21, 0x32, 216, 216, "Invalid PROXY header: only TCP protocol is supported", 232},
    {0x21, 0x02, 0, 0, "Invalid PROXY header: only TCP protocol is supported", 16},
    {0x21, 0x13, 12, 12, "Invalid PROXY header: only TCP protocol is supported", 28},
    {0x21, 0x10, 12, 12, "Invalid PROXY header: only TCP protocol is supported", 28},
    {0x21, 0x41, 12, 12, "Invalid PROXY header: unsupported address family 4", 28},
    {0x21, 0xF1, 0, 0, "Invalid PROXY header: unsupported address family 15", 16},
    {0x21, 0x11, 11, 11, "Invalid PROXY header: insufficient address data for IPv4", 27},
    {0x21, 0x11, 0, 0, "Invalid PROXY header: insufficient address data for IPv4", 16},
    {0x21, 0x21, 35, 35, "Invalid PROXY header: insufficient address data for IPv6", 51},
    {0x21, 0x21, 12, 12, "Invalid PROXY header: insufficient address data for IPv6", 28},
    {0x21, 0x31, 215, 215, "Invalid PROXY header: insufficient address data for UNIX", 231},
    /* cgunicorn's bound on the block, judged from the length field alone */
    {0x21, 0x11, CG_PROXY_V2_MAX_LEN + 1, 0, "Invalid PROXY header: header too long", 16},
    {0x21, 0x11, 0xFFFF, 0, "Invalid PROXY header: header too long", 16},
    {0x20, 0x00, 0xFFFF, 0, "Invalid PROXY header: header too long", 16},
};

static void test_proxy_v2_reject(void **state)
{
    unsigned char h[600], body[300];

    (void)state;
    memset(body, 0x5A, sizeof(body));
    for (size_t i = 0; i < sizeof(v2_bad) / sizeof(v2_bad[0]); i++) {
        const v2bad *c = &v2_bad[i];
        size_t n = v2_build(h, c->ver_cmd, c->fam, c->declared, body, c->nbody);
        static const int modes[] = {CG_PROXY_V2, CG_PROXY_AUTO};

        assert_true(c->fail_at <= n);
        for (size_t m = 0; m < 2; m++) {
            for (size_t k = 0; k <= n; k++) {
                ssize_t r = parse_n(h, k, modes[m]);
                if (k < c->fail_at) {
                    if (r != CG_PROXY_INCOMPLETE)
                        fail_msg("case %zu prefix %zu: %zd, want INCOMPLETE (%s)", i, k, r, E);
                } else {
                    if (r != CG_PROXY_ERROR)
                        fail_msg("case %zu prefix %zu: %zd, want ERROR", i, k, r);
                    if (strcmp(E, c->msg) != 0)
                        fail_msg("case %zu\n got: %s\nwant: %s", i, E, c->msg);
                }
            }
        }
    }
}

/* TLVs that do not fit the block (stricter than gunicorn, like HAProxy). */
static void test_proxy_v2_bad_tlv(void **state)
{
    static const struct {
        unsigned char tlv[8];
        size_t n;
    } bad[] = {
        {{0x04}, 1},                       /* 1 stray byte */
        {{0x04, 0x00}, 2},                 /* 2 stray bytes */
        {{0x04, 0x00, 0x01}, 3},           /* says 1 byte of value, has 0 */
        {{0x01, 0x00, 0x05, 'h', '2'}, 5}, /* says 5, has 2 */
        {{0x01, 0xFF, 0xFF, 'x'}, 4},      /* says 65535 */
        {{0x04, 0x00, 0x00, 0x04}, 4},     /* a good TLV, then a stray byte */
    };
    unsigned char h[600], body[64];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n;

        memcpy(body, v4_block, 12);
        memcpy(body + 12, bad[i].tlv, bad[i].n);
        n = v2_build(h, 0x21, 0x11, (unsigned)(12 + bad[i].n), body, 12 + bad[i].n);
        assert_int_equal(parse_n(h, n, CG_PROXY_AUTO), CG_PROXY_ERROR);
        assert_string_equal(E, "Invalid PROXY header: malformed TLV");
        assert_int_equal(parse_n(h, n - 1, CG_PROXY_AUTO), CG_PROXY_INCOMPLETE);

        memcpy(body, v6_block, 36);
        memcpy(body + 36, bad[i].tlv, bad[i].n);
        n = v2_build(h, 0x21, 0x21, (unsigned)(36 + bad[i].n), body, 36 + bad[i].n);
        assert_int_equal(parse_n(h, n, CG_PROXY_V2), CG_PROXY_ERROR);
        assert_string_equal(E, "Invalid PROXY header: malformed TLV");
    }
}

/* The largest block accepted, and the promise about INCOMPLETE. */
static void test_proxy_v2_length_bound(void **state)
{
    unsigned char *h = malloc(CG_PROXY_MAX_HEADER + 64), *body = malloc(CG_PROXY_V2_MAX_LEN);
    size_t n;

    (void)state;
    assert_non_null(h);
    assert_non_null(body);
    /* IPv4 block + one TLV filling the rest of 4096 bytes */
    memcpy(body, v4_block, 12);
    body[12] = 0x04;
    body[13] = (unsigned char)((CG_PROXY_V2_MAX_LEN - 15) >> 8);
    body[14] = (unsigned char)((CG_PROXY_V2_MAX_LEN - 15) & 0xff);
    memset(body + 15, 0, CG_PROXY_V2_MAX_LEN - 15);
    n = v2_build(h, 0x21, 0x11, CG_PROXY_V2_MAX_LEN, body, CG_PROXY_V2_MAX_LEN);
    assert_int_equal(n, CG_PROXY_MAX_HEADER);
    assert_int_equal(parse_n(h, n, CG_PROXY_AUTO), (ssize_t)n);
    assert_int_equal(parse_n(h, n - 1, CG_PROXY_AUTO), CG_PROXY_INCOMPLETE);
    assert_int_equal(parse_n(h, 16, CG_PROXY_AUTO), CG_PROXY_INCOMPLETE);
    /* the same for LOCAL */
    n = v2_build(h, 0x20, 0x00, CG_PROXY_V2_MAX_LEN, body, CG_PROXY_V2_MAX_LEN);
    assert_int_equal(parse_n(h, n, CG_PROXY_V2), (ssize_t)n);
    free(h);
    free(body);
}

/* Pseudo-random headers: once len reaches the bound nothing is INCOMPLETE;
 * a result on a prefix is the result on the whole; nothing reads past len
 * (guard page). */
static void test_proxy_random_consistency(void **state)
{
    uint32_t x = 12345;
    unsigned char buf[CG_PROXY_MAX_HEADER + 8];

    (void)state;
    for (int iter = 0; iter < 3000; iter++) {
        size_t len, k;
        ssize_t whole, part;
        int mode = 1 + iter % 3;

        for (size_t i = 0; i < sizeof(buf); i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (unsigned char)(x >> 16);
        }
        if (iter % 2) {
            static const char *const lines[] = {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
                                                "PROXY UNKNOWN\r\n", "PROXY TCP6 ::1 ::2 3 4\r\n"};
            const char *l = lines[iter % 3];
            size_t ln = strlen(l);
            memcpy(buf, l, ln);
            if (x % 3 == 0) /* flip one byte */
                buf[(x >> 8) % ln] ^= (unsigned char)(1u << (x % 8));
            len = (x >> 4) % 2 ? ln + (x >> 12) % 64 : CG_PROXY_V1_MAX + (x >> 12) % 64;
        } else {
            unsigned alen = (x >> 3) % 3 == 0 ? (x >> 8) % 64 : (x >> 8) % 5000;
            v2_build(buf, (x >> 20) % 4 ? 0x21 : (x >> 16) & 0xff, (x >> 24) % 2 ? 0x11 : 0x21,
                     alen, NULL, 0);
            len = 16 + (x >> 13) % (alen + 8);
            if (len > sizeof(buf))
                len = sizeof(buf);
        }
        if (len > sizeof(buf))
            len = sizeof(buf);
        whole = parse_n(buf, len, mode);
        assert_true(whole >= CG_PROXY_INCOMPLETE && whole <= (ssize_t)len);
        if (whole == CG_PROXY_INCOMPLETE)
            assert_true(len < CG_PROXY_MAX_HEADER);
        if (whole == CG_PROXY_ERROR)
            assert_true(strlen(E) > 0);
        k = len ? (x >> 5) % len : 0;
        part = parse_n(buf, k, mode);
        if (part != CG_PROXY_INCOMPLETE)
            assert_int_equal(part, whole);
        /* the full bound always decides */
        assert_int_not_equal(parse_n(buf, CG_PROXY_MAX_HEADER, mode), CG_PROXY_INCOMPLETE);
    }
}

/* ------------------------------------------------------------------ */
/* Error buffer                                                        */

static void test_proxy_err_buffer(void **state)
{
    static const char line[] = "PROXY TCP4 1.2.3.4 5.6.7.8 1111\r\n";
    static const unsigned char v2v1[16] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51,
                                           0x55, 0x49, 0x54, 0x0A, 0x11, 0x11, 0x00, 0x00};
    cg_proxy_info info;
    char err[64];

    (void)state;
    /* no buffer at all */
    assert_int_equal(cg_proxy_parse(line, sizeof(line) - 1, CG_PROXY_AUTO, &info, NULL, 0),
                     CG_PROXY_ERROR);
    assert_int_equal(cg_proxy_parse((const char *)v2v1, 16, CG_PROXY_AUTO, &info, NULL, 0),
                     CG_PROXY_ERROR);
    /* a buffer of 0 bytes is not touched, of 1 byte gets the NUL */
    err[0] = 'X';
    assert_int_equal(cg_proxy_parse(line, sizeof(line) - 1, CG_PROXY_AUTO, &info, err, 0),
                     CG_PROXY_ERROR);
    assert_int_equal(err[0], 'X');
    assert_int_equal(cg_proxy_parse(line, sizeof(line) - 1, CG_PROXY_AUTO, &info, err, 1),
                     CG_PROXY_ERROR);
    assert_int_equal(err[0], '\0');
    /* every size: terminated, within the buffer, a prefix of the full text
     * or cut with "..." and the closing quote */
    for (size_t sz = 1; sz <= sizeof(err); sz++) {
        memset(err, 'X', sizeof(err));
        assert_int_equal(cg_proxy_parse(line, sizeof(line) - 1, CG_PROXY_AUTO, &info, err, sz),
                         CG_PROXY_ERROR);
        assert_true(strlen(err) < sz);
        if (sz < sizeof(err))
            assert_int_equal(err[sz], 'X');
        memset(err, 'X', sizeof(err));
        assert_int_equal(cg_proxy_parse((const char *)v2v1, 16, CG_PROXY_AUTO, &info, err, sz),
                         CG_PROXY_ERROR);
        assert_true(strlen(err) < sz);
        assert_memory_equal(err, "Invalid PROXY header: unsupported version 1", strlen(err));
    }
    memset(err, 'X', sizeof(err));
    cg_proxy_parse(line, sizeof(line) - 1, CG_PROXY_AUTO, &info, err, 40);
    assert_string_equal(err, "Invalid PROXY line: 'PROXY TCP4 1.2...'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy_v1_accept),
        cmocka_unit_test(test_proxy_v1_reject_gunicorn),
        cmocka_unit_test(test_proxy_v1_reject_strict),
        cmocka_unit_test(test_proxy_v1_length_bound),
        cmocka_unit_test(test_proxy_detect),
        cmocka_unit_test(test_proxy_v2_tcp),
        cmocka_unit_test(test_proxy_v2_local_unspec_unix),
        cmocka_unit_test(test_proxy_v2_reject),
        cmocka_unit_test(test_proxy_v2_bad_tlv),
        cmocka_unit_test(test_proxy_v2_length_bound),
        cmocka_unit_test(test_proxy_random_consistency),
        cmocka_unit_test(test_proxy_err_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
