/* http_parser.c - strict HTTP/1.x request parser (RFC 9112) and incremental
 * chunked decoder.
 *
 * The request parser is stateless in the manner of picohttpparser: it is
 * run again over the grown buffer, never allocates and never writes to it.
 * The rules and the texts of the errors are gunicorn 26.1's:
 *   gunicorn/http/message.py   what is rejected, and in which order;
 *   gunicorn/http/errors.py    str(exc) of each error (the "detail");
 *   gunicorn/workers/base.py   handle_error: status, reason, and the page
 *                              text, which wraps str(exc) for some errors;
 *   gunicorn/util.py           write_error: the HTML page.
 * Python's %r is reproduced (repr of a latin-1 str) so that messages match
 * byte for byte.  Where this parser is stricter than gunicorn the rule says
 * "stricter". */
#include "http_parser.h"

#include <string.h>

#define MAX_REQUEST_LINE 8190   /* gunicorn message.py MAX_REQUEST_LINE */
#define MAX_HEADERS 32768       /* MAX_HEADERS */
#define DEFAULT_FIELD_SIZE 8190 /* DEFAULT_MAX_HEADERFIELD_SIZE */
#define DEFAULT_FIELDS 100      /* limit_request_fields default */
#define CHUNK_LINE_MAX 4096     /* chunk-size line with its extensions */

/* Character classes, one table lookup per byte. */
enum {
    C_TOKEN = 0x01,  /* RFC 9110 tchar */
    C_METHOD = 0x02, /* tchar but not a-z or '#': gunicorn's METHOD_BADCHAR_RE */
    C_TARGET = 0x04, /* request-target byte: no CTL, SP or DEL; obs-text allowed */
    C_VALUE = 0x08,  /* field-value byte: VCHAR, obs-text, SP, HTAB */
    C_HEX = 0x10,
};

#define IS_LOWER(c) ((c) >= 'a' && (c) <= 'z')
#define IS_UPPER(c) ((c) >= 'A' && (c) <= 'Z')
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_TSPECIAL(c)                                                                             \
    ((c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' || (c) == '&' || (c) == '\'' ||          \
     (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' || (c) == '^' || (c) == '_' ||           \
     (c) == '`' || (c) == '|' || (c) == '~')
#define IS_TCHAR(c) (IS_LOWER(c) || IS_UPPER(c) || IS_DIGIT(c) || IS_TSPECIAL(c))
#define CLS(c)                                                                                     \
    ((IS_TCHAR(c) ? C_TOKEN : 0) | (IS_TCHAR(c) && !IS_LOWER(c) && (c) != '#' ? C_METHOD : 0) |    \
     ((c) > 0x20 && (c) != 0x7f ? C_TARGET : 0) |                                                  \
     (((c) >= 0x20 && (c) != 0x7f) || (c) == '\t' ? C_VALUE : 0) |                                 \
     (IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F') ? C_HEX : 0))
#define CLS4(c) CLS(c), CLS((c) + 1), CLS((c) + 2), CLS((c) + 3)
#define CLS16(c) CLS4(c), CLS4((c) + 4), CLS4((c) + 8), CLS4((c) + 12)
#define CLS64(c) CLS16(c), CLS16((c) + 16), CLS16((c) + 32), CLS16((c) + 48)
/* The C_* bits of every byte value, built at compile time. */
static const unsigned char cls[256] = {CLS64(0), CLS64(64), CLS64(128), CLS64(192)};
#undef CLS64
#undef CLS16
#undef CLS4
#undef CLS
#undef IS_TCHAR
#undef IS_TSPECIAL

/* Class bits of byte c. */
static inline unsigned char cl(char c)
{
    return cls[(unsigned char)c];
}

/* ASCII lower case of c; other bytes unchanged. */
static inline char lower(char c)
{
    return IS_UPPER(c) ? (char)(c + 32) : c;
}

/* s[0..n) equals the lower-case literal lit, ignoring ASCII case. */
static bool ieq(const char *s, size_t n, const char *lit)
{
    size_t i;

    for (i = 0; i < n && lit[i]; i++)
        if (lower(s[i]) != lit[i])
            return false;
    return i == n && lit[i] == '\0';
}

/* First CRLF in [p, e), or NULL.  A CR at e - 1 is not one yet. */
static const char *find_crlf(const char *p, const char *e)
{
    while (p < e) {
        const char *r = memchr(p, '\r', (size_t)(e - p));
        if (r == NULL || r + 1 >= e)
            return NULL;
        if (r[1] == '\n')
            return r;
        p = r + 1;
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Error messages                                                      */

/* Bounded writer into cg_http_error.msg. */
typedef struct {
    char *buf;
    size_t len;
    size_t cap; /* usable bytes, the NUL excluded */
} mwriter;

/* Append s[0..n), cut at the capacity. */
static void mw_put(mwriter *w, const char *s, size_t n)
{
    if (n > w->cap - w->len)
        n = w->cap - w->len;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

/* Append the C string s. */
static void mw_str(mwriter *w, const char *s)
{
    mw_put(w, s, strlen(s));
}

/* Append v in decimal. */
static void mw_uint(mwriter *w, unsigned long long v)
{
    char tmp[24];
    size_t i = sizeof(tmp);

    do
        tmp[--i] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    mw_put(w, tmp + i, sizeof(tmp) - i);
}

enum { R_UPPER = 1, R_BYTES = 2 };

/* Append Python's repr() of s[0..n) read as latin-1 (str), or with R_BYTES
 * of the bytes object; R_UPPER upper-cases ASCII first, as name.upper().
 * The text is cut with "..." so that reserve bytes stay free after it. */
static void mw_repr(mwriter *w, const char *s, size_t n, int flags, size_t reserve)
{
    static const char hex[] = "0123456789abcdef";
    size_t limit = w->cap > reserve ? w->cap - reserve : 0;
    char q = '\'';

    if (memchr(s, '\'', n) && !memchr(s, '"', n))
        q = '"';
    if (flags & R_BYTES)
        mw_put(w, "b", 1);
    mw_put(w, &q, 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char piece[4];
        size_t k = 0;

        if ((flags & R_UPPER) && IS_LOWER(c))
            c = (unsigned char)(c - 32);
        if (c == '\\' || c == (unsigned char)q) {
            piece[k++] = '\\';
            piece[k++] = (char)c;
        } else if (c == '\t' || c == '\n' || c == '\r') {
            piece[k++] = '\\';
            piece[k++] = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
        } else if (c < 0x20 || c == 0x7f ||
                   ((flags & R_BYTES) ? c >= 0x80 : (c >= 0x80 && c <= 0xa0) || c == 0xad)) {
            /* str.isprintable() is false for C1 controls, NBSP and SHY */
            piece[k++] = '\\';
            piece[k++] = 'x';
            piece[k++] = hex[c >> 4];
            piece[k++] = hex[c & 15];
        } else {
            piece[k++] = (char)c;
        }
        if (w->len + k + 4 > limit) {
            mw_str(w, "...");
            break;
        }
        mw_put(w, piece, k);
    }
    mw_put(w, &q, 1);
}

/* The gunicorn exceptions this parser raises. */
enum ekind {
    E_LINE,        /* InvalidRequestLine */
    E_METHOD,      /* InvalidRequestMethod */
    E_VERSION,     /* InvalidHTTPVersion(str) */
    E_VERSION_NUM, /* InvalidHTTPVersion((major, minor)) */
    E_HEADER,      /* InvalidHeader */
    E_HEADER_NAME, /* InvalidHeaderName */
    E_FOLD,        /* ObsoleteFolding */
    E_LIMIT_LINE,  /* LimitRequestLine */
    E_LIMIT_HDRS,  /* LimitRequestHeaders */
    E_CODING,      /* UnsupportedTransferCoding */
    E_EXPECT,      /* ExpectationFailed */
    E_CHUNK,       /* chunked framing: cgunicorn's own text in s (gunicorn answers none) */
};

/* Fill *err as gunicorn's handle_error would for the exception kind raised
 * with argument s[0..n) (or the numbers a, b), and return CG_HTTP_ERROR.
 * rflags are mw_repr flags for s. */
static ssize_t fail(cg_http_error *err, enum ekind kind, const char *s, size_t n, int rflags,
                    size_t a, size_t b)
{
    mwriter w = {err->msg, 0, sizeof(err->msg) - 1};
    const char *wrap = NULL; /* handle_error's "Invalid X '%s'" % str(exc) */

    err->status = 400;
    err->reason = "Bad Request";
    switch (kind) {
    case E_LINE:
        wrap = "Invalid Request Line '";
        break;
    case E_METHOD:
        wrap = "Invalid Method '";
        break;
    case E_VERSION:
    case E_VERSION_NUM:
        wrap = "Invalid HTTP Version '";
        break;
    case E_LIMIT_HDRS:
        wrap = "Error parsing headers: '";
        err->status = 431;
        err->reason = "Request Header Fields Too Large";
        break;
    case E_CODING:
        /* gunicorn 26.1 keeps reason "Bad Request" here (status line "501
         * Bad Request"); cgunicorn sends the real phrase. */
        err->status = 501;
        err->reason = "Not Implemented";
        break;
    case E_EXPECT:
        err->status = 417;
        err->reason = "Expectation Failed";
        break;
    default:
        break;
    }
    if (wrap)
        mw_str(&w, wrap);
    err->detail_off = w.len;
    switch (kind) {
    case E_LINE:
        mw_str(&w, "Invalid HTTP request line: ");
        break;
    case E_METHOD:
        mw_str(&w, "Invalid HTTP method: ");
        break;
    case E_VERSION:
    case E_VERSION_NUM:
        mw_str(&w, "Invalid HTTP Version: ");
        break;
    case E_HEADER:
        mw_str(&w, "Invalid HTTP Header: ");
        break;
    case E_HEADER_NAME:
        mw_str(&w, "Invalid HTTP header name: ");
        break;
    case E_FOLD:
        mw_str(&w, "Obsolete line folding is unacceptable: ");
        break;
    case E_CODING:
        mw_str(&w, "Unsupported transfer coding: ");
        break;
    case E_EXPECT:
        mw_str(&w, "Unable to comply with expectation: ");
        break;
    default:
        break;
    }
    switch (kind) {
    case E_VERSION_NUM:
        mw_str(&w, "(");
        mw_uint(&w, a);
        mw_str(&w, ", ");
        mw_uint(&w, b);
        mw_str(&w, ")");
        break;
    case E_LIMIT_LINE:
        mw_str(&w, "Request Line is too large (");
        mw_uint(&w, a);
        mw_str(&w, " > ");
        mw_uint(&w, b);
        mw_str(&w, ")");
        break;
    case E_LIMIT_HDRS:
    case E_CHUNK:
        mw_put(&w, s, n);
        break;
    default:
        mw_repr(&w, s, n, rflags, wrap ? 2 : 1);
        break;
    }
    err->detail_len = w.len - err->detail_off;
    if (wrap)
        mw_put(&w, "'", 1);
    err->msg[w.len] = '\0';
    return CG_HTTP_ERROR;
}

/* LimitRequestHeaders(msg). */
static ssize_t fail_limit(cg_http_error *err, const char *msg)
{
    return fail(err, E_LIMIT_HDRS, msg, strlen(msg), 0, 0, 0);
}

/* ------------------------------------------------------------------ */
/* Limits                                                              */

/* Contract in http_parser.h. */
void cg_http_limits_from_settings(cg_http_limits *lim, long line, long fields, long field_size)
{
    memset(lim, 0, sizeof(*lim));
    if (line < 0 || line >= MAX_REQUEST_LINE)
        line = MAX_REQUEST_LINE;
    if (fields <= 0 || fields > MAX_HEADERS)
        fields = MAX_HEADERS;
    if (field_size <= 0)
        field_size = DEFAULT_FIELD_SIZE;
    lim->max_line = (size_t)line;
    lim->max_fields = (size_t)fields;
    lim->max_field_size = (size_t)field_size;
    lim->header_map = 0;
}

/* gunicorn's max_buffer_headers: fields * (field_size + 2) + 4, saturated. */
static size_t max_buffer_headers(size_t fields, size_t field_size)
{
    size_t per = (field_size ? field_size : DEFAULT_FIELD_SIZE);

    if (per > (SIZE_MAX - 4) / (fields ? fields : 1) - 2)
        return SIZE_MAX;
    return fields * (per + 2) + 4;
}

/* ------------------------------------------------------------------ */
/* Request line                                                        */

/* m[0..n) is the method lit (upper case), ignoring case when fold. */
static bool method_is(const char *m, size_t n, const char *lit, bool fold)
{
    size_t i;

    for (i = 0; i < n && lit[i]; i++)
        if ((fold ? (IS_LOWER(m[i]) ? m[i] - 32 : m[i]) : m[i]) != lit[i])
            return false;
    return i == n && lit[i] == '\0';
}

/* Check the form of the request-target t[0..n) (n > 0) against the method
 * and split it into path, query and fragment.  RFC 9112 3.2: origin-form
 * ("/..."), absolute-form ("scheme://authority/..."), asterisk-form ("*",
 * OPTIONS only) and authority-form ("host:port", CONNECT only, and the
 * only form CONNECT takes).  Returns false when it is none of them. */
static bool split_target(const char *t, size_t n, const char *m, size_t mlen, bool fold,
                         cg_http_request *req)
{
    const char *e = t + n, *p, *q;

    req->query = req->fragment = e;
    req->query_len = req->fragment_len = 0;
    if (method_is(m, mlen, "CONNECT", fold)) {
        const char *colon = NULL;

        for (p = t; p < e; p++) {
            if (*p == '/' || *p == '?' || *p == '#' || *p == '@')
                return false;
            if (*p == ':')
                colon = p;
        }
        if (colon == NULL || colon == t || colon + 1 == e)
            return false;
        for (p = colon + 1; p < e; p++)
            if (!IS_DIGIT(*p))
                return false;
        req->path = t;
        req->path_len = n;
        return true;
    }
    if (*t == '/') {
        p = t;
    } else if (n == 1 && *t == '*') {
        if (!method_is(m, mlen, "OPTIONS", fold))
            return false;
        p = t;
    } else {
        /* absolute-form: scheme "://" authority [path] */
        const char *a;

        if (!IS_LOWER(*t) && !IS_UPPER(*t))
            return false;
        for (p = t + 1; p < e; p++)
            if (!IS_LOWER(*p) && !IS_UPPER(*p) && !IS_DIGIT(*p) && *p != '+' && *p != '-' &&
                *p != '.')
                break;
        if (e - p < 3 || memcmp(p, "://", 3) != 0)
            return false;
        a = p += 3;
        while (p < e && *p != '/' && *p != '?' && *p != '#')
            p++;
        if (p == a)
            return false;
    }
    for (q = p; q < e && *q != '?' && *q != '#'; q++)
        ;
    req->path = p;
    req->path_len = (size_t)(q - p);
    if (q < e && *q == '?') {
        const char *f = memchr(q + 1, '#', (size_t)(e - q - 1));
        req->query = q + 1;
        req->query_len = (size_t)((f ? f : e) - (q + 1));
        q = f ? f : e;
    }
    if (q < e) {
        req->fragment = q + 1;
        req->fragment_len = (size_t)(e - q - 1);
    }
    return true;
}

/* The partial request-target t[0..n) can still grow into one that
 * split_target() accepts. */
static bool target_prefix_ok(const char *t, size_t n, const char *m, size_t mlen, bool fold)
{
    const char *e = t + n, *p;
    size_t i;

    if (n == 0)
        return true;
    if (method_is(m, mlen, "CONNECT", fold)) {
        for (p = t; p < e; p++)
            if (*p == '/' || *p == '?' || *p == '#' || *p == '@')
                return false;
        return true;
    }
    if (*t == '/')
        return true;
    if (*t == '*')
        return n == 1 && method_is(m, mlen, "OPTIONS", fold);
    if (!IS_LOWER(*t) && !IS_UPPER(*t))
        return false;
    for (p = t + 1; p < e; p++)
        if (!IS_LOWER(*p) && !IS_UPPER(*p) && !IS_DIGIT(*p) && *p != '+' && *p != '-' && *p != '.')
            break;
    for (i = 0; i < 3 && p < e; i++, p++)
        if (*p != "://"[i])
            return false;
    return i < 3 || p == e || (*p != '/' && *p != '?' && *p != '#');
}

/* Check the request line line[0..len), CRLF excluded, in gunicorn's order:
 * three parts split on single spaces, method, target, version.  When the
 * line is not complete yet, fail only on what is already certain to be
 * wrong.  Fills the request-line fields of *req.  Returns 0 or
 * CG_HTTP_ERROR. */
static ssize_t request_line(const char *line, size_t len, bool complete, const cg_http_limits *lim,
                            cg_http_request *req, cg_http_error *err)
{
    const char *end = line + len, *p;
    const char *sp1 = memchr(line, ' ', len);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
    const char *me = sp1 ? sp1 : end, *t, *te, *v;
    size_t mlen = (size_t)(me - line), vlen, i;
    unsigned char need = lim->permit_unconventional_method ? C_TOKEN : C_METHOD;
    bool lc = false;

    if (complete && sp2 == NULL)
        return fail(err, E_LINE, line, len, 0, 0, 0);

    /* Method: an RFC 9110 token; by default also 3-20 bytes without a-z
     * or '#' (gunicorn's permit_unconventional_http_method lifts that). */
    for (p = line; p < me; p++) {
        if (!(cl(*p) & need))
            return fail(err, E_METHOD, line, mlen, 0, 0, 0);
        lc |= IS_LOWER(*p);
    }
    if (!lim->permit_unconventional_method && (mlen > 20 || (sp1 && mlen < 3)))
        return fail(err, E_METHOD, line, mlen, 0, 0, 0);
    if (sp1 && mlen == 0)
        return fail(err, E_METHOD, line, 0, 0, 0, 0);
    req->method = line;
    req->method_len = mlen;
    req->method_casefold = lim->casefold_method && lc;
    if (sp1 == NULL)
        return 0;

    /* Target: no CTL, SP or DEL (stricter: gunicorn lets urlsplit drop
     * TAB/CR/LF); never empty; one of the four RFC 9112 forms. */
    t = sp1 + 1;
    te = sp2 ? sp2 : end;
    for (p = t; p < te; p++)
        if (!(cl(*p) & C_TARGET))
            return fail(err, E_LINE, line, len, 0, 0, 0);
    if (sp2 == NULL) {
        if (!target_prefix_ok(t, (size_t)(te - t), line, mlen, lim->casefold_method))
            return fail(err, E_LINE, line, len, 0, 0, 0);
        return 0;
    }
    if (te == t || !split_target(t, (size_t)(te - t), line, mlen, lim->casefold_method, req))
        return fail(err, E_LINE, line, len, 0, 0, 0);
    req->target = t;
    req->target_len = (size_t)(te - t);

    /* Version: VERSION_RE "HTTP/(\d)\.(\d)" in full; then 1.0 or 1.1 unless
     * permit_unconventional_http_version (stricter: gunicorn takes any
     * HTTP/1.x). */
    v = sp2 + 1;
    vlen = (size_t)(end - v);
    for (i = 0; i < vlen && i < 8; i++) {
        char c = v[i];
        if (i == 5 || i == 7 ? !IS_DIGIT(c) : c != "HTTP/d.d"[i])
            break;
    }
    if (i < vlen || (complete && vlen != 8))
        return fail(err, E_VERSION, v, vlen, 0, 0, 0);
    if (!complete)
        return 0;
    req->version_major = v[5] - '0';
    req->version_minor = v[7] - '0';
    if (!(req->version_major == 1 && req->version_minor <= 1) &&
        !lim->permit_unconventional_version)
        return fail(err, E_VERSION_NUM, NULL, 0, 0, (size_t)req->version_major,
                    (size_t)req->version_minor);
    return 0;
}

/* Find and check the request line at buf[0..len).  On success *next is the
 * offset just past its CRLF.  Returns 0, CG_HTTP_INCOMPLETE or
 * CG_HTTP_ERROR. */
static ssize_t parse_request_line(const char *buf, size_t len, const cg_http_limits *lim,
                                  cg_http_request *req, cg_http_error *err, size_t *next)
{
    const char *cr = memchr(buf, '\r', len);
    size_t scan = cr ? (size_t)(cr - buf) : len;
    const char *bad = memchr(buf, '\n', scan);
    bool complete = false;
    size_t n;
    ssize_t r;

    if (bad == NULL && cr && (size_t)(cr - buf) + 1 < len) {
        if (cr[1] == '\n')
            complete = true;
        else
            bad = cr;
    }
    n = bad ? (size_t)(bad - buf) : scan;
    /* LimitRequestLine first, as gunicorn's read_line; it also fires before
     * the CRLF is there once the line cannot fit any more.  N is the line
     * length, or all bytes read while no CRLF was seen (gunicorn's
     * len(data)). */
    if (lim->max_line && n > lim->max_line)
        return fail(err, E_LIMIT_LINE, NULL, 0, 0, complete ? n : len, lim->max_line);
    /* A bare CR or LF in the request line (stricter: gunicorn keeps such a
     * byte inside the line, so it may pass as part of the target). */
    if (bad)
        return fail(err, E_LINE, buf, n + 1, 0, 0, 0);
    /* A CRLF before the request line: RFC 9112 2.2 says a server SHOULD
     * ignore one, but gunicorn 26 reads it as an empty request line and
     * answers 400; cgunicorn does the same (request_line() on ""). */
    r = request_line(buf, n, complete, lim, req, err);
    if (r != 0)
        return r;
    if (!complete)
        return CG_HTTP_INCOMPLETE;
    *next = n + 2;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Header section                                                      */

/* Framing errors found in header order, raised only once the header
 * section parsed cleanly (gunicorn's set_body_reader runs after
 * parse_headers). */
enum { SEQ_NONE, SEQ_CL, SEQ_TE, SEQ_CODING };

typedef struct {
    const cg_http_limits *lim;
    cg_http_request *req;
    cg_http_header *hdrs;
    size_t cap; /* min(max_fields, max_hdrs) */
    size_t n;   /* headers kept */
    bool host, ctype, cl, cl_bad, te, chunked;
    bool close, keep, upgrade, expect, must_close, fold;
    int64_t cl_val;
    int seq;
    const char *seq_val; /* the Transfer-Encoding value for SEQ_CODING */
    size_t seq_len;
} hstate;

/* The request is older than HTTP/1.1. */
static bool old_version(const cg_http_request *req)
{
    return req->version_major < 1 || (req->version_major == 1 && req->version_minor == 0);
}

/* Next comma-separated element of [*pp, e), trimmed of blanks (and of the
 * CR LF a permitted fold leaves): *s, *n.  Like Python's split(','), ","
 * has two empty elements and "" one.  *pp becomes NULL after the last;
 * returns false then. */
static bool next_element(const char **pp, const char *e, const char **s, size_t *n)
{
    const char *p = *pp, *a, *b;

    if (p == NULL)
        return false;
    a = p;
    while (p < e && *p != ',')
        p++;
    b = p;
    *pp = p < e ? p + 1 : NULL;
    while (a < b && (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r' || b[-1] == '\n'))
        b--;
    *s = a;
    *n = (size_t)(b - a);
    return true;
}

/* Content-Length: 1*DIGIT, at most INT64_MAX.  gunicorn takes
 * str.isnumeric() then int(), which comes to ASCII digits; so "+5",
 * "0x5", "5 5" and "" fail.  OWS around the value is not part of it
 * (RFC 9112 5.1), so "Content-Length:  5 " is 5, as in gunicorn. */
static bool parse_length(const char *v, size_t n, int64_t *out)
{
    uint64_t x = 0;

    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(v[i] - '0');
        if (!IS_DIGIT(v[i]) || x > ((uint64_t)INT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *out = (int64_t)x;
    return true;
}

/* Transfer-Encoding, in gunicorn's set_body_reader order: chunked once,
 * nothing but gzip/deflate/compress (force close) or identity before it,
 * nothing after it; an unknown coding is a 501.  Stricter: only SP/HTAB
 * are trimmed from the elements (gunicorn's str.strip() also drops
 * \x85 and \xa0), and x-gzip counts as gzip (RFC 9112 7.2). */
static void transfer_encoding(hstate *st, const char *v, size_t n)
{
    const char *p = v, *e = v + n, *s;
    size_t k;

    st->te = true;
    while (st->seq == SEQ_NONE && next_element(&p, e, &s, &k)) {
        if (ieq(s, k, "chunked")) {
            if (st->chunked)
                st->seq = SEQ_TE; /* stacked chunking */
            st->chunked = true;
        } else if (ieq(s, k, "identity")) {
            if (st->chunked)
                st->seq = SEQ_TE;
        } else if (ieq(s, k, "gzip") || ieq(s, k, "x-gzip") || ieq(s, k, "deflate") ||
                   ieq(s, k, "compress")) {
            if (st->chunked)
                st->seq = SEQ_TE; /* chunked must be the last coding */
            st->must_close = true;
        } else {
            st->seq = SEQ_CODING;
            st->seq_val = v;
            st->seq_len = n;
        }
    }
}

/* Connection: the tokens close, keep-alive and upgrade, any case. */
static void connection(hstate *st, const char *v, size_t n)
{
    const char *p = v, *e = v + n, *s;
    size_t k;

    while (next_element(&p, e, &s, &k)) {
        if (ieq(s, k, "close"))
            st->close = true;
        else if (ieq(s, k, "keep-alive"))
            st->keep = true;
        else if (ieq(s, k, "upgrade"))
            st->upgrade = true;
    }
}

/* The name is in gunicorn's forwarder_headers for this peer. */
static bool forwarder(const cg_http_limits *lim, const char *name, size_t n)
{
    for (size_t i = 0; i < lim->n_forwarder_headers; i++) {
        const char *f = lim->forwarder_headers[i];
        size_t j;

        if (f == NULL)
            continue;
        if (f[0] == '*' && f[1] == '\0')
            return true;
        for (j = 0; j < n && f[j] && lower(f[j]) == lower(name[j]); j++)
            ;
        if (j == n && f[j] == '\0')
            return true;
    }
    return false;
}

/* What gunicorn does with one header once its line(s) passed the syntax
 * and size checks: Expect, duplicate Host/Content-Type (26.1,
 * _apply_header_policy), names with '_' (header_map), then keep it and
 * note its framing meaning.  Returns 0 or CG_HTTP_ERROR. */
static ssize_t header_semantics(hstate *st, const char *name, size_t nlen, bool underscore,
                                const char *v, size_t vlen, cg_http_error *err)
{
    const cg_http_limits *lim = st->lim;
    cg_http_header *h;

    switch (nlen) {
    case 4:
        if (ieq(name, nlen, "host")) {
            if (st->host)
                return fail(err, E_HEADER, name, nlen, R_UPPER, 0, 0);
            st->host = true;
            st->req->has_host = true;
        }
        break;
    case 6:
        /* RFC 9110 10.1.1: 100-continue is ignored on HTTP/1.0; any other
         * expectation is refused, on HTTP/1.0 too (as gunicorn). */
        if (ieq(name, nlen, "expect")) {
            if (!ieq(v, vlen, "100-continue"))
                return fail(err, E_EXPECT, v, vlen, 0, 0, 0);
            if (!old_version(st->req))
                st->expect = true;
        }
        break;
    case 12:
        if (ieq(name, nlen, "content-type")) {
            if (st->ctype)
                return fail(err, E_HEADER, name, nlen, R_UPPER, 0, 0);
            st->ctype = true;
        }
        break;
    default:
        break;
    }
    /* An ambiguous mapping to HTTP_X_Y; gunicorn: "drop" acts as if the
     * header never was there (it does not count against max_fields). */
    if (underscore && lim->header_map != 2 && !forwarder(lim, name, nlen)) {
        if (lim->header_map == 0)
            return 0;
        return fail(err, E_HEADER_NAME, name, nlen, R_UPPER, 0, 0);
    }
    h = &st->hdrs[st->n++];
    h->name = name;
    h->name_len = nlen;
    h->value = v;
    h->value_len = vlen;
    switch (nlen) {
    case 10:
        if (ieq(name, nlen, "connection"))
            connection(st, v, vlen);
        break;
    case 14:
        if (ieq(name, nlen, "content-length")) {
            if (st->cl) {
                if (st->seq == SEQ_NONE)
                    st->seq = SEQ_CL; /* even when equal */
            } else {
                st->cl = true;
                st->cl_bad = !parse_length(v, vlen, &st->cl_val);
            }
        }
        break;
    case 17:
        if (ieq(name, nlen, "transfer-encoding"))
            transfer_encoding(st, v, vlen);
        break;
    default:
        break;
    }
    return 0;
}

/* The header line p[0..le) has no valid "name:" start.  Reproduce
 * gunicorn's choice: no colon (or one in first place) is InvalidHeader of
 * the whole line, otherwise InvalidHeaderName of what precedes the colon.
 * For a line not complete yet (lc false) the error is certain but its kind
 * may not be: guess InvalidHeaderName. */
static ssize_t name_error(const cg_http_limits *lim, const char *p, const char *le, bool lc,
                          cg_http_error *err)
{
    const char *colon = memchr(p, ':', (size_t)(le - p));
    const char *ne;

    if (colon == p || (colon == NULL && lc))
        return fail(err, E_HEADER, p, (size_t)(le - p), 0, 0, 0);
    ne = colon ? colon : le;
    if (lim->strip_header_spaces && colon)
        while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t'))
            ne--;
    return fail(err, E_HEADER_NAME, p, (size_t)(ne - p), 0, 0, 0);
}

/* First byte of [v, e) that may not appear in a field value, or NULL.
 * gunicorn refuses only NUL, CR and LF (RFC9110_5_5_INVALID_AND_DANGEROUS);
 * stricter: every CTL but HTAB, and DEL.  Eight bytes at a time while they
 * hold no byte < 0x20 and no DEL (obs-text passes; a HTAB only drops to the
 * exact loop). */
static const char *bad_value(const char *v, const char *e)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;

    while (e - v >= 8) {
        uint64_t x, y;
        memcpy(&x, v, 8);
        y = x ^ (0x7f * ones);
        if ((((x - 0x20 * ones) & ~x) | ((y - ones) & ~y)) & high)
            break;
        v += 8;
    }
    for (; v < e; v++)
        if (!(cl(*v) & C_VALUE))
            return v;
    return NULL;
}

/* How much of a header unit (a field line and its obs-fold continuation
 * lines) is there. */
enum {
    U_DONE,    /* all of it: the next line starts with something else */
    U_OPEN,    /* its lines are complete but the data stops after them */
    U_PARTIAL, /* the data stops inside one of its lines */
};

/* e, or e - 1 when the data [a, e) ends with a CR that may yet start a
 * CRLF. */
static const char *cut_cr(const char *a, const char *e)
{
    return e > a && e[-1] == '\r' ? e - 1 : e;
}

/* Check the header unit at p, which ends at uend (the data end for
 * U_PARTIAL), in gunicorn's parse_headers order: "name:" syntax, folding,
 * field size while folding, value bytes, field size; then its meaning
 * (header_semantics) once the value is final.  Returns 0 or
 * CG_HTTP_ERROR. */
static ssize_t header_unit(hstate *st, const char *p, const char *uend, int mode,
                           cg_http_error *err)
{
    const cg_http_limits *lim = st->lim;
    const char *le = find_crlf(p, uend), *q, *nend, *colon, *s, *e, *bad, *vs, *ve;
    bool lc = le != NULL, underscore = false;
    size_t total, maxfs = lim->max_field_size, lines = 1;

    if (!lc)
        le = uend;
    for (q = p; q < le && (cl(*q) & C_TOKEN); q++)
        underscore |= *q == '_';
    nend = q;
    if (lim->strip_header_spaces) /* gunicorn: name.rstrip(" \t") */
        while (q < le && (*q == ' ' || *q == '\t'))
            q++;
    if (q == le && !lc) {
        /* a name still arriving: fine so far unless it is already too long */
        if (maxfs && (size_t)(le - p) + 2 > maxfs)
            return fail_limit(err, "limit request headers fields size");
        return 0;
    }
    if (q == le || *q != ':' || nend == p)
        return name_error(lim, p, le, lc, err);
    colon = q;

    /* continuation lines: refused, or counted into the field size */
    total = (size_t)((lc ? le : cut_cr(p, uend)) - p) + 2;
    for (s = lc ? le + 2 : uend; s < uend; s = e + 2) {
        if (!lim->permit_obsolete_folding)
            return fail(err, E_FOLD, p, (size_t)(nend - p), R_UPPER, 0, 0);
        lines++;
        e = find_crlf(s, uend);
        total += (size_t)((e ? e : cut_cr(s, uend)) - s) + 2;
        if (maxfs && total > maxfs)
            return fail_limit(err, "limit request headers fields size");
        if (e == NULL)
            break;
    }

    /* value bytes */
    bad = bad_value(colon + 1, lc ? le : cut_cr(colon + 1, uend));
    for (s = lc ? le + 2 : uend; bad == NULL && s < uend; s = e + 2) {
        e = find_crlf(s, uend);
        bad = bad_value(s, e ? e : cut_cr(s, uend));
        if (e == NULL)
            break;
    }
    if (bad)
        return fail(err, E_HEADER, p, (size_t)(nend - p), R_UPPER, 0, 0);
    if (maxfs && total > maxfs)
        return fail_limit(err, "limit request headers fields size");

    /* The value is final unless the data stops inside the unit, or after
     * it while a fold could still follow. */
    if (mode == U_PARTIAL || (mode == U_OPEN && lim->permit_obsolete_folding))
        return 0;
    ve = lines > 1 ? uend - 2 : le;
    st->fold |= lines > 1;
    for (vs = colon + 1; vs < ve && (*vs == ' ' || *vs == '\t'); vs++)
        ;
    while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
    return header_semantics(st, p, (size_t)(nend - p), underscore, vs, (size_t)(ve - vs), err);
}

/* gunicorn's set_body_reader checks, after all headers: the first framing
 * error in header order; then chunked on HTTP/1.0, chunked with
 * Content-Length; stricter (RFC 9112 6.3): Transfer-Encoding without a
 * final chunked; last a Content-Length that is not a number.  Returns 0 or
 * CG_HTTP_ERROR. */
static ssize_t framing(const hstate *st, cg_http_error *err)
{
    static const char cl_name[] = "CONTENT-LENGTH", te_name[] = "TRANSFER-ENCODING";

    switch (st->seq) {
    case SEQ_CL:
        return fail(err, E_HEADER, cl_name, sizeof(cl_name) - 1, 0, 0, 0);
    case SEQ_TE:
        return fail(err, E_HEADER, te_name, sizeof(te_name) - 1, 0, 0, 0);
    case SEQ_CODING:
        return fail(err, E_CODING, st->seq_val, st->seq_len, 0, 0, 0);
    default:
        break;
    }
    if (st->chunked && old_version(st->req))
        return fail(err, E_HEADER, te_name, sizeof(te_name) - 1, 0, 0, 0);
    if (st->chunked && st->cl)
        return fail(err, E_HEADER, cl_name, sizeof(cl_name) - 1, 0, 0, 0);
    if (st->te && !st->chunked)
        return fail(err, E_HEADER, te_name, sizeof(te_name) - 1, 0, 0, 0);
    if (st->cl && st->cl_bad)
        return fail(err, E_HEADER, cl_name, sizeof(cl_name) - 1, 0, 0, 0);
    return 0;
}

/* gunicorn's end-of-head test on the data after the request line: it
 * starts with CRLF or holds CRLFCRLF. */
static bool has_head_end(const char *p, const char *e)
{
    if (e - p >= 2 && p[0] == '\r' && p[1] == '\n')
        return true;
    for (const char *r = find_crlf(p, e); r; r = find_crlf(r + 2, e))
        if (e - r >= 4 && r[2] == '\r' && r[3] == '\n')
            return true;
    return false;
}

/* Contract in http_parser.h. */
ssize_t cg_http_parse_request(const char *buf, size_t len, const cg_http_limits *lim,
                              cg_http_request *req, cg_http_header *hdrs, size_t max_hdrs,
                              cg_http_error *err)
{
    const char *end = buf + len, *hs, *p;
    size_t pos = 0;
    ssize_t r;
    hstate st;

    memset(req, 0, sizeof(*req));
    req->content_length = -1;
    req->headers = hdrs;
    if (len == 0)
        return CG_HTTP_INCOMPLETE;
    r = parse_request_line(buf, len, lim, req, err, &pos);
    if (r != 0)
        return r;

    memset(&st, 0, sizeof(st));
    st.lim = lim;
    st.req = req;
    st.hdrs = hdrs;
    st.cap = lim->max_fields < max_hdrs ? lim->max_fields : max_hdrs;
    p = hs = buf + pos;
    /* "max buffer headers" wins while the head has no end yet (gunicorn
     * checks it before parsing any header line). */
    if ((size_t)(end - hs) > max_buffer_headers(lim->max_fields, lim->max_field_size) &&
        !has_head_end(hs, end))
        return fail_limit(err, "max buffer headers");
    for (;;) {
        const char *u = p, *le;
        int mode = U_DONE;

        if (p == end)
            goto incomplete;
        if (*p == '\r') {
            if (p + 1 == end)
                goto incomplete;
            if (p[1] == '\n')
                break;
        }
        if (st.n >= st.cap)
            return fail_limit(err, "limit request headers fields");
        for (;;) { /* the unit: a line and the lines folded into it */
            le = find_crlf(u, end);
            if (le == NULL) {
                mode = U_PARTIAL;
                u = end;
                break;
            }
            u = le + 2;
            if (u == end) {
                mode = U_OPEN;
                break;
            }
            if (*u != ' ' && *u != '\t')
                break;
        }
        r = header_unit(&st, p, u, mode, err);
        if (r != 0)
            return r;
        if (mode != U_DONE)
            goto incomplete;
        p = u;
    }

    r = framing(&st, err);
    if (r != 0)
        return r;
    req->num_headers = st.n;
    req->chunked = st.chunked;
    req->content_length = st.cl && !st.chunked ? st.cl_val : -1;
    req->keep_alive = st.close ? false : st.keep ? true : !old_version(req);
    req->expect_continue = st.expect;
    req->upgrade = st.upgrade;
    req->must_close = st.must_close;
    req->obs_fold = st.fold;
    return p + 2 - buf;

incomplete:
    /* Fail now when no continuation can make the framing valid. */
    if (st.seq != SEQ_NONE || st.cl_bad || (st.te && (st.cl || old_version(req))))
        return framing(&st, err);
    return CG_HTTP_INCOMPLETE;
}

/* Contract in http_parser.h. */
size_t cg_http_unfold(char *dst, const char *src, size_t len)
{
    size_t i = 0, o = 0, part = 0;

    while (i < len) {
        if (src[i] == '\r' && i + 1 < len && src[i + 1] == '\n') {
            /* gunicorn: parts stripped of " \t", joined with " " */
            while (o > part && (dst[o - 1] == ' ' || dst[o - 1] == '\t'))
                o--;
            dst[o++] = ' ';
            for (i += 2; i < len && (src[i] == ' ' || src[i] == '\t'); i++)
                ;
            part = o;
            continue;
        }
        dst[o++] = src[i++];
    }
    return o;
}

/* ------------------------------------------------------------------ */
/* Chunked body                                                        */

enum {
    CH_SIZE0,      /* first hex digit of a chunk-size */
    CH_SIZE,       /* more hex digits */
    CH_SIZE_WS,    /* blanks after the size: only before ';' */
    CH_EXT,        /* chunk extensions, up to CR */
    CH_SIZE_LF,    /* CR of the size line seen */
    CH_DATA,       /* chunk-data */
    CH_DATA_CR,    /* CR after the data */
    CH_DATA_LF,    /* LF after the data */
    CH_TR_START,   /* start of the first trailer line, or the final CRLF */
    CH_TR_NEXT,    /* start of a later trailer line: a blank is a fold */
    CH_TR_NAME,    /* trailer field name */
    CH_TR_NAME_WS, /* blanks after it (strip_header_spaces) */
    CH_TR_VALUE,   /* trailer field value */
    CH_TR_LF,      /* CR of a trailer line seen */
    CH_END_LF,     /* CR of the final CRLF seen */
    CH_DONE,
    CH_FAILED,
};

#define CHF_UNDERSCORE 1u

/* Contract in http_parser.h. */
void cg_http_chunked_init(cg_http_chunked *dec)
{
    memset(dec, 0, sizeof(*dec));
    dec->state = CH_SIZE0;
}

/* Value of the hex digit c. */
static unsigned hexval(char c)
{
    return IS_DIGIT(c) ? (unsigned)(c - '0') : (unsigned)(lower(c) - 'a' + 10);
}

/* Fail the decoder with text prefix followed by the bytes repr of s[0..n)
 * (none when s is NULL). */
static ssize_t chunk_fail(cg_http_chunked *dec, cg_http_error *err, const char *prefix,
                          const char *s, size_t n)
{
    char text[128];
    mwriter w = {text, 0, sizeof(text) - 1};

    mw_str(&w, prefix);
    if (s)
        mw_repr(&w, s, n, R_BYTES, 0);
    dec->state = CH_FAILED;
    return fail(err, E_CHUNK, text, w.len, 0, 0, 0);
}

/* The trailer name just ended (dec->name): forbidden names (RFC 9110
 * 6.5.1; gunicorn raises InvalidHeaderName), names with '_' (header_map;
 * trailers never use forwarder_headers), then count it.  Returns 0 or
 * CG_HTTP_ERROR. */
static ssize_t trailer_name(cg_http_chunked *dec, const cg_http_limits *lim, cg_http_error *err)
{
    static const char *const forbidden[] = {
        "host", "content-length", "transfer-encoding", "trailer", "authorization", "te",
    };
    size_t n = dec->name_len < sizeof(dec->name) ? dec->name_len : sizeof(dec->name);

    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
        if (dec->name_len == n && ieq(dec->name, n, forbidden[i])) {
            dec->state = CH_FAILED;
            return fail(err, E_HEADER_NAME, dec->name, n, R_UPPER, 0, 0);
        }
    if ((dec->flags & CHF_UNDERSCORE) && lim->header_map != 2) {
        if (lim->header_map == 0)
            return 0;
        dec->state = CH_FAILED;
        return fail(err, E_HEADER_NAME, dec->name, n, R_UPPER, 0, 0);
    }
    dec->trailer_fields++;
    return 0;
}

/* Fail the decoder with gunicorn header error kind about the current
 * trailer name. */
static ssize_t trailer_fail(cg_http_chunked *dec, cg_http_error *err, enum ekind kind, int rflags)
{
    size_t n = dec->name_len < sizeof(dec->name) ? dec->name_len : sizeof(dec->name);

    dec->state = CH_FAILED;
    return fail(err, kind, dec->name, n, rflags, 0, 0);
}

/* Contract in http_parser.h. */
ssize_t cg_http_chunked_decode(cg_http_chunked *dec, char *buf, size_t *len,
                               const cg_http_limits *lim, cg_http_error *err)
{
    static const cg_http_limits defaults = {.max_line = MAX_REQUEST_LINE,
                                            .max_fields = DEFAULT_FIELDS,
                                            .max_field_size = DEFAULT_FIELD_SIZE};
    size_t i = 0, o = 0, n = *len, maxfs, maxbuf;

    if (lim == NULL)
        lim = &defaults;
    maxfs = lim->max_field_size;
    maxbuf = max_buffer_headers(lim->max_fields, lim->max_field_size);
    *len = 0;
    if (dec->state == CH_DONE)
        return 0;
    if (dec->state == CH_FAILED)
        return chunk_fail(dec, err, "Invalid chunked body", NULL, 0);
    while (i < n) {
        char c = buf[i];

        if (dec->state == CH_DATA) {
            size_t k = n - i;
            if (k > dec->remaining)
                k = (size_t)dec->remaining;
            if (o != i)
                memmove(buf + o, buf + i, k);
            o += k;
            i += k;
            dec->remaining -= k;
            if (dec->remaining == 0)
                dec->state = CH_DATA_CR;
            continue;
        }
        *len = o;
        if (dec->state >= CH_TR_START && ++dec->trailer_bytes > maxbuf) {
            dec->state = CH_FAILED;
            return fail_limit(err, "max buffer headers");
        }
        switch (dec->state) {
        case CH_SIZE0:
            /* hex digits only: no sign, no "0x", no blank before */
            if (!(cl(c) & C_HEX))
                return chunk_fail(dec, err, "Invalid chunk size: ", &c, 1);
            dec->remaining = hexval(c);
            dec->line_len = 1;
            dec->state = CH_SIZE;
            break;
        case CH_SIZE:
        case CH_SIZE_WS:
        case CH_EXT:
            if (c == '\n')
                return chunk_fail(dec, err, "Bare LF in chunked framing", NULL, 0);
            if (c == '\r' && dec->state != CH_SIZE_WS) {
                dec->state = CH_SIZE_LF;
                break;
            }
            if (++dec->line_len > CHUNK_LINE_MAX)
                return chunk_fail(dec, err, "Chunk size line is too large (> 4096 bytes)", NULL, 0);
            if (dec->state == CH_EXT) {
                if (!(cl(c) & C_VALUE))
                    return chunk_fail(dec, err, "Invalid chunk extension: ", &c, 1);
            } else if (c == ';') {
                dec->state = CH_EXT;
            } else if (c == ' ' || c == '\t') {
                dec->state = CH_SIZE_WS; /* BWS, only before an extension */
            } else if (dec->state == CH_SIZE && (cl(c) & C_HEX)) {
                if (dec->remaining > (uint64_t)INT64_MAX >> 4)
                    return chunk_fail(dec, err, "Invalid chunk size: larger than 2**63-1", NULL, 0);
                dec->remaining = dec->remaining << 4 | hexval(c);
            } else {
                return chunk_fail(dec, err, "Invalid chunk size: ", &c, 1);
            }
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                return chunk_fail(dec, err, "Bare CR in chunked framing", NULL, 0);
            dec->line_len = 0;
            dec->state = dec->remaining ? CH_DATA : CH_TR_START;
            break;
        case CH_DATA_CR:
            if (c != '\r')
                return chunk_fail(dec, err, "Invalid chunk terminator is not '\\r\\n': ", &c, 1);
            dec->state = CH_DATA_LF;
            break;
        case CH_DATA_LF:
            if (c != '\n') {
                char t[2] = {'\r', c};
                return chunk_fail(dec, err, "Invalid chunk terminator is not '\\r\\n': ", t, 2);
            }
            dec->state = CH_SIZE0;
            break;
        case CH_TR_START:
        case CH_TR_NEXT:
            if (c == '\r') {
                dec->state = CH_END_LF;
            } else if (c == ' ' || c == '\t') {
                if (dec->state == CH_TR_START) {
                    dec->state = CH_FAILED;
                    return fail(err, E_HEADER_NAME, &c, 1, 0, 0, 0);
                }
                if (!lim->permit_obsolete_folding)
                    return trailer_fail(dec, err, E_FOLD, R_UPPER);
                dec->line_len += 3; /* the CRLF before, this blank */
                if (maxfs && dec->line_len + 2 > maxfs) {
                    dec->state = CH_FAILED;
                    return fail_limit(err, "limit request headers fields size");
                }
                dec->state = CH_TR_VALUE;
            } else if (c == '\n') {
                return chunk_fail(dec, err, "Bare LF in chunked framing", NULL, 0);
            } else if (!(cl(c) & C_TOKEN)) {
                dec->state = CH_FAILED;
                return fail(err, E_HEADER_NAME, &c, 1, 0, 0, 0);
            } else {
                if (dec->trailer_fields >= lim->max_fields) {
                    dec->state = CH_FAILED;
                    return fail_limit(err, "limit request headers fields");
                }
                dec->name[0] = c;
                dec->name_len = 1;
                dec->flags = c == '_' ? CHF_UNDERSCORE : 0;
                dec->line_len = 1;
                dec->state = CH_TR_NAME;
            }
            break;
        case CH_TR_NAME:
        case CH_TR_NAME_WS:
        case CH_TR_VALUE:
            if (c == '\r' && dec->state == CH_TR_VALUE) {
                dec->state = CH_TR_LF;
                break;
            }
            if (maxfs && ++dec->line_len + 2 > maxfs) {
                dec->state = CH_FAILED;
                return fail_limit(err, "limit request headers fields size");
            }
            if (dec->state == CH_TR_VALUE) {
                if (!(cl(c) & C_VALUE))
                    return trailer_fail(dec, err, E_HEADER, R_UPPER);
            } else if (c == ':') {
                if (trailer_name(dec, lim, err) != 0)
                    return CG_HTTP_ERROR;
                dec->state = CH_TR_VALUE;
            } else if (dec->state == CH_TR_NAME && (cl(c) & C_TOKEN)) {
                if (dec->name_len < sizeof(dec->name))
                    dec->name[dec->name_len] = c;
                if (dec->name_len < 0xffff)
                    dec->name_len++;
                if (c == '_')
                    dec->flags |= CHF_UNDERSCORE;
            } else if ((c == ' ' || c == '\t') && lim->strip_header_spaces) {
                dec->state = CH_TR_NAME_WS;
            } else if (c == '\r' || c == '\n') {
                return trailer_fail(dec, err, E_HEADER, 0); /* a line without a colon */
            } else {
                return trailer_fail(dec, err, E_HEADER_NAME, 0);
            }
            break;
        case CH_TR_LF:
            if (c != '\n')
                return trailer_fail(dec, err, E_HEADER, R_UPPER); /* bare CR */
            dec->state = CH_TR_NEXT;
            break;
        case CH_END_LF:
            if (c != '\n')
                return chunk_fail(dec, err, "Bare CR in chunked framing", NULL, 0);
            dec->state = CH_DONE;
            *len = o;
            return (ssize_t)(i + 1);
        default:
            return chunk_fail(dec, err, "Invalid chunked body", NULL, 0);
        }
        i++;
    }
    *len = o;
    return CG_HTTP_INCOMPLETE;
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */

/* Contract in http_parser.h.  The phrases are Python 3.11's
 * http.client.responses. */
const char *cg_http_reason(int status)
{
    /* clang-format off */
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 207: return "Multi-Status";
    case 208: return "Already Reported";
    case 226: return "IM Used";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Requested Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "I'm a Teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Entity";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 506: return "Variant Also Negotiates";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 510: return "Not Extended";
    case 511: return "Network Authentication Required";
    default: return NULL;
    }
    /* clang-format on */
}

/* Bounded output writer for the error page. */
typedef struct {
    char *p;
    size_t len, cap;
} owriter;

/* Append s[0..n); the caller checked the room. */
static void ow_put(owriter *w, const char *s, size_t n)
{
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

/* Length of s[0..n) after Python's html.escape(s, quote=True). */
static size_t escaped_len(const char *s, size_t n)
{
    size_t k = n;

    for (size_t i = 0; i < n; i++)
        switch (s[i]) {
        case '&':
            k += 4;
            break; /* &amp; */
        case '<':
        case '>':
            k += 3;
            break; /* &lt; &gt; */
        case '"':
            k += 5;
            break; /* &quot; */
        case '\'':
            k += 5;
            break; /* &#x27; */
        default:
            break;
        }
    return k;
}

/* Append html.escape(s[0..n)). */
static void ow_escaped(owriter *w, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        switch (s[i]) {
        case '&':
            ow_put(w, "&amp;", 5);
            break;
        case '<':
            ow_put(w, "&lt;", 4);
            break;
        case '>':
            ow_put(w, "&gt;", 4);
            break;
        case '"':
            ow_put(w, "&quot;", 6);
            break;
        case '\'':
            ow_put(w, "&#x27;", 6);
            break;
        default:
            ow_put(w, s + i, 1);
            break;
        }
}

/* Contract in http_parser.h.  Byte for byte gunicorn's util.write_error:
 * the textwrap.dedent'ed page below, html.escape'd message, Content-Length
 * of the page, status line always HTTP/1.1. */
ssize_t cg_http_error_response(const cg_http_error *err, char *out, size_t outlen)
{
    static const char h1[] = "<html>\n  <head>\n    <title>";
    static const char h2[] = "</title>\n  </head>\n  <body>\n    <h1><p>";
    static const char h3[] = "</p></h1>\n    ";
    static const char h4[] = "\n  </body>\n</html>\n";
    const char *reason = err->reason ? err->reason : cg_http_reason(err->status);
    const char *nul = memchr(err->msg, '\0', sizeof(err->msg));
    size_t mlen = nul ? (size_t)(nul - err->msg) : sizeof(err->msg);
    size_t rlen, body, total;
    char head[160];
    mwriter hw = {head, 0, sizeof(head) - 1};
    owriter w = {out, 0, outlen};

    if (reason == NULL)
        reason = "Unknown";
    rlen = strlen(reason);
    if (rlen > 64)
        rlen = 64;
    body = sizeof(h1) - 1 + rlen + sizeof(h2) - 1 + rlen + sizeof(h3) - 1 +
           escaped_len(err->msg, mlen) + sizeof(h4) - 1;
    mw_str(&hw, "HTTP/1.1 ");
    if (err->status < 0) {
        mw_str(&hw, "-");
        mw_uint(&hw, (unsigned long long)-(long long)err->status);
    } else {
        mw_uint(&hw, (unsigned long long)err->status);
    }
    mw_str(&hw, " ");
    mw_put(&hw, reason, rlen);
    mw_str(&hw, "\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: ");
    mw_uint(&hw, body);
    mw_str(&hw, "\r\n\r\n");
    total = hw.len + body;
    if (total > outlen)
        return -1;
    ow_put(&w, head, hw.len);
    ow_put(&w, h1, sizeof(h1) - 1);
    ow_put(&w, reason, rlen);
    ow_put(&w, h2, sizeof(h2) - 1);
    ow_put(&w, reason, rlen);
    ow_put(&w, h3, sizeof(h3) - 1);
    ow_escaped(&w, err->msg, mlen);
    ow_put(&w, h4, sizeof(h4) - 1);
    return (ssize_t)w.len;
}
