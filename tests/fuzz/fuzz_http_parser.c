/* fuzz_http_parser.c - libFuzzer target for src/http_parser.c.
 *
 * Input: byte 0 picks a split position, the rest is the wire data.  The
 * request parser runs on the data with gunicorn's default limits and again
 * with tight limits and every lenient switch; when a head parses, the
 * chunked decoder runs on the bytes after it, once whole and once split in
 * two at the picked position, and both runs must agree.  Every buffer is a
 * malloc of the exact size, so ASan sees any over-read.  Invariants that
 * would otherwise go unnoticed abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NHDRS 64

/* A copy of p[0..n) in a heap block of exactly n bytes (1 when n is 0). */
static char *dup_exact(const char *p, size_t n)
{
    char *b = malloc(n ? n : 1);

    if (b == NULL)
        abort();
    if (n)
        memcpy(b, p, n);
    return b;
}

/* The span p[0..n) lies inside [lo, hi). */
static void check_span(const char *p, size_t n, const char *lo, const char *hi)
{
    if (n && (p < lo || p + n > hi))
        abort();
}

/* Check an error the parser or the decoder filled, and render its page. */
static void check_error(const cg_http_error *err)
{
    static char page[4096];
    size_t mlen = strnlen(err->msg, sizeof(err->msg));
    ssize_t n;

    if (mlen == sizeof(err->msg) || err->detail_off + err->detail_len > mlen)
        abort();
    if (err->status != 400 && err->status != 417 && err->status != 431 && err->status != 501)
        abort();
    if (err->reason == NULL || strcmp(err->reason, cg_http_reason(err->status)) != 0)
        abort();
    n = cg_http_error_response(err, page, sizeof(page));
    if (n <= 0 || memcmp(page, "HTTP/1.1 ", 9) != 0)
        abort();
    if (cg_http_error_response(err, page, (size_t)n - 1) != -1)
        abort();
}

/* A prefix of a head that parsed may only be incomplete, or over gunicorn's
 * "max buffer headers" (checked only while the head has no end). */
static void check_prefix(const char *in, size_t n, const cg_http_limits *lim)
{
    cg_http_header hdrs[NHDRS];
    cg_http_request req;
    cg_http_error err;
    char *b = dup_exact(in, n);
    ssize_t r = cg_http_parse_request(b, n, lim, &req, hdrs, NHDRS, &err);

    if (r != CG_HTTP_INCOMPLETE &&
        !(r == CG_HTTP_ERROR &&
          strcmp(err.msg, "Error parsing headers: 'max buffer headers'") == 0))
        abort();
    free(b);
}

typedef struct {
    ssize_t rc; /* consumed (absolute), INCOMPLETE or ERROR */
    char *out;
    size_t outlen;
    cg_http_error err;
} decoded;

/* Decode body[0..n) fed as [0, cut) then [cut, n). */
static void decode(const char *body, size_t n, size_t cut, const cg_http_limits *lim, decoded *d)
{
    cg_http_chunked dec;
    size_t start = 0;

    memset(d, 0, sizeof(*d));
    d->out = malloc(n ? n : 1);
    if (d->out == NULL)
        abort();
    d->rc = CG_HTTP_INCOMPLETE;
    cg_http_chunked_init(&dec);
    for (int piece = 0; piece < 2; piece++) {
        size_t stop = piece == 0 ? cut : n, len = stop - start;
        char *b = dup_exact(body + start, len);
        ssize_t r = cg_http_chunked_decode(&dec, b, &len, lim, &d->err);

        if (len > stop - start)
            abort();
        memcpy(d->out + d->outlen, b, len);
        d->outlen += len;
        free(b);
        if (r == 0 || r > (ssize_t)(stop - start))
            abort();
        if (r > 0)
            r += (ssize_t)start;
        d->rc = r;
        if (r != CG_HTTP_INCOMPLETE)
            break;
        start = stop;
    }
    if (d->rc == CG_HTTP_ERROR)
        check_error(&d->err);
}

/* Run the chunked decoder on body whole and split at cut: same result. */
static void fuzz_chunked(const char *body, size_t n, size_t cut, const cg_http_limits *lim)
{
    decoded a, b;

    decode(body, n, n, lim, &a);
    decode(body, n, cut, lim, &b);
    if (a.rc != b.rc || a.outlen != b.outlen || memcmp(a.out, b.out, a.outlen) != 0)
        abort();
    if (a.rc == CG_HTTP_ERROR &&
        (a.err.status != b.err.status || strcmp(a.err.msg, b.err.msg) != 0))
        abort();
    if (a.outlen > n)
        abort();
    free(a.out);
    free(b.out);
}

/* Parse in[0..n) with lim; on success check the result and fuzz the body. */
static void fuzz_request(const char *in, size_t n, size_t cut, const cg_http_limits *lim)
{
    cg_http_header hdrs[NHDRS];
    cg_http_request req;
    cg_http_error err;
    char *b = dup_exact(in, n);
    const char *end = b + n;
    ssize_t head = cg_http_parse_request(b, n, lim, &req, hdrs, NHDRS, &err);

    if (head == CG_HTTP_ERROR) {
        check_error(&err);
    } else if (head > 0) {
        end = b + head;
        if ((size_t)head > n || req.num_headers > NHDRS || req.num_headers > lim->max_fields)
            abort();
        check_span(req.method, req.method_len, b, end);
        check_span(req.target, req.target_len, b, end);
        check_span(req.path, req.path_len, b, end);
        check_span(req.query, req.query_len, b, end);
        check_span(req.fragment, req.fragment_len, b, end);
        for (size_t i = 0; i < req.num_headers; i++) {
            check_span(hdrs[i].name, hdrs[i].name_len, b, end);
            check_span(hdrs[i].value, hdrs[i].value_len, b, end);
            if (hdrs[i].name_len == 0)
                abort();
        }
        if (req.chunked && req.content_length != -1)
            abort();
        if (req.obs_fold) {
            char *v = dup_exact(hdrs[0].value, hdrs[0].value_len);
            if (cg_http_unfold(v, v, hdrs[0].value_len) > hdrs[0].value_len)
                abort();
            free(v);
        }
        check_prefix(b, (size_t)head - 1, lim);
        if (cut < (size_t)head)
            check_prefix(b, cut, lim);
        fuzz_chunked(b + head, n - (size_t)head, cut > (size_t)head ? cut - (size_t)head : 0, lim);
        fuzz_chunked(b + head, n - (size_t)head, cut > (size_t)head ? cut - (size_t)head : 0, NULL);
    } else if (head != CG_HTTP_INCOMPLETE) {
        abort();
    }
    free(b);
}

/* libFuzzer entry point. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cg_http_limits lim;
    size_t cut;
    uint8_t sel;

    if (size == 0)
        return 0;
    sel = data[0];
    cut = (size_t)sel * (size - 1) / 255;
    data++;
    size--;

    cg_http_limits_from_settings(&lim, 4094, 100, 8190);
    fuzz_request((const char *)data, size, cut, &lim);

    cg_http_limits_from_settings(&lim, 64, 4, 32);
    lim.permit_obsolete_folding = true;
    lim.strip_header_spaces = true;
    lim.permit_unconventional_method = true;
    lim.permit_unconventional_version = true;
    lim.casefold_method = true;
    lim.header_map = (sel & 1) ? 2 : 1;
    fuzz_request((const char *)data, size, cut, &lim);
    return 0;
}
