/* bad_cases.c - see bad_cases.h. */
#include "bad_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *build_long_line(size_t *len)
{
    /* 5 + 5000 + 9 = 5014 bytes: gunicorn's own example */
    char *b = malloc(6000);
    size_t n = (size_t)sprintf(b, "GET /");
    memset(b + n, 'a', 5000);
    n += 5000;
    n += (size_t)sprintf(b + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    *len = n;
    return b;
}

/* 100 kB without a line end. */
static char *build_huge_garbage(size_t *len)
{
    char *b = malloc(100000);
    memset(b, 'A', 100000);
    *len = 100000;
    return b;
}

char *headers(int count, size_t *len)
{
    char *b = malloc(64 + (size_t)count * 32);
    size_t n = (size_t)sprintf(b, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 1; i < count; i++)
        n += (size_t)sprintf(b + n, "X-H%d: v\r\n", i);
    n += (size_t)sprintf(b + n, "\r\n");
    *len = n;
    return b;
}

static char *build_101_headers(size_t *len)
{
    return headers(101, len);
}

static char *build_6_headers(size_t *len)
{
    return headers(6, len);
}

static char *build_big_field(size_t *len)
{
    char *b = malloc(10000);
    size_t n = (size_t)sprintf(b, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(b + n, 'b', 9000);
    n += 9000;
    n += (size_t)sprintf(b + n, "\r\n\r\n");
    *len = n;
    return b;
}

/* A request line of exactly len bytes (without CRLF). */
char *line_of(size_t linelen, size_t *len)
{
    char *b = malloc(linelen + 64);
    size_t n = (size_t)sprintf(b, "GET /");
    memset(b + n, 'l', linelen - 14);
    n += linelen - 14;
    n += (size_t)sprintf(b + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    *len = n;
    return b;
}

static char *build_line_101(size_t *len)
{
    return line_of(101, len);
}

/* A header line "X-Pad: ppp..." of linelen bytes (without CRLF). */
char *field_of(size_t linelen, size_t *len)
{
    char *b = malloc(linelen + 64);
    size_t n = (size_t)sprintf(b, "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ");
    memset(b + n, 'p', linelen - 7);
    n += linelen - 7;
    n += (size_t)sprintf(b + n, "\r\n\r\n");
    *len = n;
    return b;
}

/* gunicorn: len(line) + 2 > limit_request_field_size */
static char *build_field_49(size_t *len)
{
    return field_of(49, len);
}

/* clang-format off */

static char *build_nul_value(size_t *len)
{
    static const char nul[] = "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n";
    char *b = malloc(sizeof(nul));
    memcpy(b, nul, sizeof(nul));
    *len = sizeof(nul) - 1;
    return b;
}

const bad_case cg_bad_cases[] = {
    {"request_line_too_long", {NULL}, NULL, build_long_line, 400,
     "Request Line is too large (5014 > 4094)"},
    {"request_line_without_end", {NULL}, NULL, build_huge_garbage, 400,
     "Request Line is too large ("},
    {"too_many_headers", {NULL}, NULL, build_101_headers, 431, "limit request headers fields"},
    {"header_field_too_large", {NULL}, NULL, build_big_field, 431,
     "limit request headers fields size"},
    {"limit_request_line", {"--limit-request-line", "100"}, NULL, build_line_101, 400,
     "Request Line is too large (101 > 100)"},
    {"limit_request_fields", {"--limit-request-fields", "5"}, NULL, build_6_headers, 431,
     "limit request headers fields"},
    {"limit_request_field_size", {"--limit-request-field_size", "50"}, NULL, build_field_49, 431,
     "limit request headers fields size"},
    {"bad_method", {NULL}, "G@T / HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 400,
     "Invalid HTTP method: 'G@T'"},
    {"lowercase_method", {NULL}, "get / HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 400,
     "Invalid HTTP method: 'get'"},
    {"method_too_short", {NULL}, "GE / HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 400,
     "Invalid HTTP method: 'GE'"},
    {"http_2_0", {NULL}, "GET / HTTP/2.0\r\nHost: x\r\n\r\n", NULL, 400,
     "Invalid HTTP Version: (2, 0)"},
    {"http_0_9", {NULL}, "GET /\r\n\r\n", NULL, 400, "Invalid HTTP request line: 'GET /'"},
    {"double_space_in_request_line", {NULL}, "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 400,
     "Invalid HTTP request line: 'GET  / HTTP/1.1'"},
    {"asterisk_target_for_get", {NULL}, "GET * HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 400,
     "Invalid HTTP request line: 'GET * HTTP/1.1'"},
    {"control_char_in_target", {NULL}, "GET /a\x01" "b HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 400,
     "Invalid HTTP request line: 'GET /a\\x01b HTTP/1.1'"},
    {"empty_request_line", {NULL}, "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 400,
     "Invalid HTTP request line: ''"},
    {"bare_lf", {NULL}, "GET / HTTP/1.1\nHost: x\n\n", NULL, 400, "Invalid HTTP request line: "},
    {"proxy_line_when_off", {NULL},
     "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 400, NULL},
    {"obs_fold", {NULL}, "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", NULL, 400,
     "Obsolete line folding is unacceptable: 'X-A'"},
    {"space_before_colon", {NULL}, "GET / HTTP/1.1\r\nHost : x\r\n\r\n", NULL, 400,
     "Invalid HTTP header name: 'Host '"},
    {"header_without_colon", {NULL}, "GET / HTTP/1.1\r\nHost: x\r\nBadHeader\r\n\r\n", NULL, 400,
     "Invalid HTTP Header: 'BadHeader'"},
    {"nul_in_value", {NULL}, NULL, build_nul_value, 400, "Invalid HTTP Header: 'X-A'"},
    {"bare_cr_in_value", {NULL}, "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", NULL, 400,
     "Invalid HTTP Header: 'X-A'"},
    {"duplicate_host", {NULL}, "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", NULL, 400,
     "Invalid HTTP Header: 'HOST'"},
    {"cl_and_te", {NULL},
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\n\r\n", NULL, 400, "Invalid HTTP Header: 'CONTENT-LENGTH'"},
    {"duplicate_content_length", {NULL},
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", NULL,
     400, "Invalid HTTP Header: 'CONTENT-LENGTH'"},
    {"content_length_plus", {NULL},
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", NULL, 400,
     "Invalid HTTP Header: 'CONTENT-LENGTH'"},
    {"negative_content_length", {NULL},
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", NULL, 400,
     "Invalid HTTP Header: 'CONTENT-LENGTH'"},
    {"huge_content_length", {NULL},
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", NULL, 400,
     "Invalid HTTP Header: 'CONTENT-LENGTH'"},
    {"chunked_not_last", {NULL},
     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", NULL, 400,
     "Invalid HTTP Header: 'TRANSFER-ENCODING'"},
    {"chunked_twice", {NULL},
     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
     "\r\n0\r\n\r\n", NULL, 400, "Invalid HTTP Header: 'TRANSFER-ENCODING'"},
    {"identity_transfer_coding", {NULL},
     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", NULL, 400,
     "Invalid HTTP Header: 'TRANSFER-ENCODING'"},
    {"chunked_on_http_1_0", {NULL},
     "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", NULL, 400,
     "Invalid HTTP Header: 'TRANSFER-ENCODING'"},
    /* gunicorn 26 answers "501 Bad Request" (its reason text is not
     * updated); cgunicorn sends "501 Not Implemented": only the status is
     * pinned here */
    {"unknown_transfer_coding", {NULL},
     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n", NULL, 501,
     "Unsupported transfer coding: 'foo'"},
    {"unknown_expect", {NULL},
     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: foo\r\n\r\nhello", NULL, 417,
     "Unable to comply with expectation: 'foo'"},
};


/* html.escape(s, quote=True) into out. */
void html_escape(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        const char *e = NULL;
        switch (*s) {
        case '&':
            e = "&amp;";
            break;
        case '<':
            e = "&lt;";
            break;
        case '>':
            e = "&gt;";
            break;
        case '"':
            e = "&quot;";
            break;
        case '\'':
            e = "&#x27;";
            break;
        }
        if (e) {
            memcpy(out + n, e, strlen(e));
            n += strlen(e);
        } else {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
}

const size_t cg_nbad_cases = sizeof(cg_bad_cases) / sizeof(cg_bad_cases[0]);
