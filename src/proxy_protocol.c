/* proxy_protocol.c - PROXY protocol v1/v2 header parser (see
 * proxy_protocol.h).
 *
 * The checks, their order and the error texts follow gunicorn 26
 * (gunicorn/http/message.py _handle_proxy_protocol,
 * _parse_proxy_protocol_v1/_v2; errors.py InvalidProxyLine "Invalid PROXY
 * line: %r", InvalidProxyHeader "Invalid PROXY header: %s").  Where this
 * parser is stricter or follows the spec instead, the rule says so. */
#include "proxy_protocol.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

static const char v1_magic[6] = {'P', 'R', 'O', 'X', 'Y', ' '};
static const unsigned char v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                         0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

enum { V2_LOCAL = 0, V2_PROXY = 1 };
enum { FAM_UNSPEC = 0, FAM_INET = 1, FAM_INET6 = 2, FAM_UNIX = 3 };
enum { PROTO_UNSPEC = 0, PROTO_STREAM = 1 };

/* ------------------------------------------------------------------ */
/* Error text                                                          */

typedef struct {
    char *buf;
    size_t len;
    size_t cap; /* usable bytes, the NUL excluded; 0 when there is no buffer */
} ewriter;

/* A writer over err[0..errlen); writes nothing when err is NULL or errlen 0. */
static ewriter ew_init(char *err, size_t errlen)
{
    ewriter w = {NULL, 0, 0};

    if (err != NULL && errlen > 0) {
        w.buf = err;
        w.cap = errlen - 1;
        err[0] = '\0';
    }
    return w;
}

/* Append s[0..n), cut at the capacity, keeping the text NUL-terminated. */
static void ew_put(ewriter *w, const char *s, size_t n)
{
    if (w->buf == NULL)
        return;
    if (n > w->cap - w->len)
        n = w->cap - w->len;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

/* Append the C string s. */
static void ew_str(ewriter *w, const char *s)
{
    ew_put(w, s, strlen(s));
}

/* Append v in decimal. */
static void ew_uint(ewriter *w, unsigned v)
{
    char tmp[12];
    size_t i = sizeof(tmp);

    do
        tmp[--i] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    ew_put(w, tmp + i, sizeof(tmp) - i);
}

/* Append Python's repr() of s[0..n) read as latin-1 (gunicorn's
 * bytes_to_str), except that bytes >= 0x80 are written \xNN so the text
 * stays ASCII (they only ever end a line cut at its first bad byte).  When
 * the text does not fit, it is cut with "..." and still closed. */
static void ew_repr(ewriter *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char q = '\'';

    if (memchr(s, '\'', n) && !memchr(s, '"', n))
        q = '"';
    ew_put(w, &q, 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char piece[4];
        size_t k = 0;

        if (c == '\\' || c == (unsigned char)q) {
            piece[k++] = '\\';
            piece[k++] = (char)c;
        } else if (c == '\t' || c == '\n' || c == '\r') {
            piece[k++] = '\\';
            piece[k++] = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
        } else if (c < 0x20 || c >= 0x7f) {
            piece[k++] = '\\';
            piece[k++] = 'x';
            piece[k++] = hex[c >> 4];
            piece[k++] = hex[c & 15];
        } else {
            piece[k++] = (char)c;
        }
        if (w->len + k + 4 > w->cap) { /* room for "..." and the quote */
            ew_str(w, "...");
            break;
        }
        ew_put(w, piece, k);
    }
    ew_put(w, &q, 1);
}

/* InvalidProxyLine(s[0..n)): "Invalid PROXY line: " + repr. */
static ssize_t fail_line(char *err, size_t errlen, const char *s, size_t n)
{
    ewriter w = ew_init(err, errlen);

    ew_str(&w, "Invalid PROXY line: ");
    ew_repr(&w, s, n);
    return CG_PROXY_ERROR;
}

/* InvalidProxyLine(head + s[0..n) + tail): the argument is built first, then
 * repr()'d as a whole (so "protocol 'X' not supported" gets double quotes). */
static ssize_t fail_line3(char *err, size_t errlen, const char *head, const char *s, size_t n,
                          const char *tail)
{
    char arg[32 + CG_PROXY_V1_MAX];
    ewriter a = {arg, 0, sizeof(arg) - 1};

    ew_str(&a, head);
    ew_put(&a, s, n);
    ew_str(&a, tail);
    return fail_line(err, errlen, arg, a.len);
}

/* InvalidProxyHeader(msg [+ number]): "Invalid PROXY header: " + msg. */
static ssize_t fail_header(char *err, size_t errlen, const char *msg, int num)
{
    ewriter w = ew_init(err, errlen);

    ew_str(&w, "Invalid PROXY header: ");
    ew_str(&w, msg);
    if (num >= 0)
        ew_uint(&w, (unsigned)num);
    return CG_PROXY_ERROR;
}

/* ------------------------------------------------------------------ */
/* Detection                                                           */

/* How buf[0..len) compares with the magic m[0..mlen): 1 it starts with it,
 * 0 it cannot, -1 it is a proper prefix of it. */
static int starts_with(const char *buf, size_t len, const void *m, size_t mlen)
{
    size_t n = len < mlen ? len : mlen;

    if (memcmp(buf, m, n) != 0)
        return 0;
    return len >= mlen ? 1 : -1;
}

int cg_proxy_detect(const char *buf, size_t len, int mode)
{
    bool more = false;

    if (mode & CG_PROXY_V2) {
        int r = starts_with(buf, len, v2_sig, sizeof(v2_sig));
        if (r > 0)
            return CG_PROXY_V2;
        more |= r < 0;
    }
    if (mode & CG_PROXY_V1) {
        int r = starts_with(buf, len, v1_magic, sizeof(v1_magic));
        if (r > 0)
            return CG_PROXY_V1;
        more |= r < 0;
    }
    return more ? CG_PROXY_INCOMPLETE : 0;
}

/* ------------------------------------------------------------------ */
/* Version 1                                                           */

typedef struct {
    const char *p;
    size_t n;
} span;

/* The span is the C string s. */
static bool span_is(span f, const char *s)
{
    return f.n == strlen(s) && memcmp(f.p, s, f.n) == 0;
}

/* inet_pton(af) on the span; the text goes to out (NUL-terminated) too. */
static bool v1_addr(span f, int af, char out[CG_PROXY_ADDRSTRLEN])
{
    unsigned char bin[16];

    if (f.n >= CG_PROXY_ADDRSTRLEN)
        return false;
    memcpy(out, f.p, f.n);
    out[f.n] = '\0';
    return inet_pton(af, out, bin) == 1;
}

/* A port: 1-5 ASCII digits, no leading zero unless "0", at most 65535.
 * Stricter than gunicorn's int(), which takes "+80", "080", "8_0", " 80"
 * (the spec forbids all of them). */
static bool v1_port(span f, uint16_t *port)
{
    unsigned v = 0;

    if (f.n == 0 || f.n > 5 || (f.n > 1 && f.p[0] == '0'))
        return false;
    for (size_t i = 0; i < f.n; i++) {
        if (f.p[i] < '0' || f.p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(f.p[i] - '0');
    }
    if (v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

/* Parse a v1 line; buf starts with "PROXY ". */
static ssize_t parse_v1(const char *buf, size_t len, cg_proxy_info *out, char *err, size_t errlen)
{
    size_t eol; /* index of the CR of the CRLF */
    span bits[7];
    size_t nbits = 0;

    /* Find the CRLF, which must end within CG_PROXY_V1_MAX bytes.  gunicorn
     * reads to the CRLF however far it is; the spec bounds the line, and
     * stops at the first byte that can never be part of one (stricter:
     * gunicorn would wait for the CRLF and fail on the fields instead). */
    for (eol = sizeof(v1_magic);; eol++) {
        unsigned char c;

        if (eol > CG_PROXY_V1_MAX - 2)
            return fail_line(err, errlen, buf, CG_PROXY_V1_MAX - 1);
        if (eol >= len)
            return CG_PROXY_INCOMPLETE;
        c = (unsigned char)buf[eol];
        if (c == '\r') {
            if (eol + 1 >= len)
                return CG_PROXY_INCOMPLETE;
            if (buf[eol + 1] != '\n')
                return fail_line(err, errlen, buf, eol + 2);
            break;
        }
        if (c < 0x20 || c > 0x7e)
            return fail_line(err, errlen, buf, eol + 1);
    }

    /* line.split(" "), keeping count past 6 */
    for (size_t i = 0, start = 0; i <= eol; i++) {
        if (i == eol || buf[i] == ' ') {
            if (nbits < 7)
                bits[nbits] = (span){buf + start, i - start};
            nbits++;
            start = i + 1;
        }
    }

    memset(out, 0, sizeof(*out));
    out->version = 1;

    /* The spec's UNKNOWN: the rest of the line is ignored and the real
     * endpoints stay.  gunicorn rejects it (not 6 fields / "protocol
     * 'UNKNOWN' not supported"); the spec says receivers should accept. */
    if (span_is(bits[1], "UNKNOWN")) {
        out->local = true;
        out->family = AF_UNSPEC;
        out->protocol = "UNKNOWN";
        return (ssize_t)(eol + 2);
    }

    if (nbits != 6)
        return fail_line(err, errlen, buf, eol);
    if (span_is(bits[1], "TCP4")) {
        out->family = AF_INET;
        out->protocol = "TCP4";
    } else if (span_is(bits[1], "TCP6")) {
        out->family = AF_INET6;
        out->protocol = "TCP6";
    } else {
        return fail_line3(err, errlen, "protocol '", bits[1].p, bits[1].n, "' not supported");
    }
    if (!v1_addr(bits[2], out->family, out->client_addr) ||
        !v1_addr(bits[3], out->family, out->proxy_addr))
        return fail_line(err, errlen, buf, eol);
    if (!v1_port(bits[4], &out->client_port) || !v1_port(bits[5], &out->proxy_port))
        return fail_line3(err, errlen, "invalid port ", buf, eol, "");
    return (ssize_t)(eol + 2);
}

/* ------------------------------------------------------------------ */
/* Version 2                                                           */

/* Big-endian 16-bit value at p. */
static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* Parse a v2 header; buf starts with the 12-byte signature. */
static ssize_t parse_v2(const unsigned char *b, size_t len, cg_proxy_info *out, char *err,
                        size_t errlen)
{
    unsigned ver, cmd, fam, proto, alen;
    size_t total, need;

    /* gunicorn reads 16 bytes first; version and command are judged as soon
     * as their byte is there (the spec: abort as soon as possible). */
    if (len < 13)
        return CG_PROXY_INCOMPLETE;
    ver = b[12] >> 4;
    cmd = b[12] & 0x0f;
    if (ver != 2)
        return fail_header(err, errlen, "unsupported version ", (int)ver);
    if (cmd != V2_LOCAL && cmd != V2_PROXY)
        return fail_header(err, errlen, "unsupported command ", (int)cmd);
    if (len < 16)
        return CG_PROXY_INCOMPLETE;
    alen = be16(b + 14);
    if (alen > CG_PROXY_V2_MAX_LEN) /* cgunicorn's own bound */
        return fail_header(err, errlen, "header too long", -1);
    total = 16 + (size_t)alen;
    if (len < total)
        return CG_PROXY_INCOMPLETE;

    memset(out, 0, sizeof(*out));
    out->version = 2;

    /* LOCAL: the block, family included, is ignored (spec and gunicorn). */
    if (cmd == V2_LOCAL) {
        out->local = true;
        out->family = AF_UNSPEC;
        out->protocol = "LOCAL";
        return (ssize_t)total;
    }

    fam = b[13] >> 4;
    proto = b[13] & 0x0f;
    /* gunicorn: only STREAM.  The spec's \x00 (UNSPEC over UNSPEC) is
     * accepted too, as the spec allows, with the real endpoints kept. */
    if (proto != PROTO_STREAM && !(fam == FAM_UNSPEC && proto == PROTO_UNSPEC))
        return fail_header(err, errlen, "only TCP protocol is supported", -1);

    switch (fam) {
    case FAM_UNSPEC:
        /* no address; TLVs cannot be told from addresses: not checked */
        out->local = true;
        out->family = AF_UNSPEC;
        out->protocol = "UNSPEC";
        return (ssize_t)total;
    case FAM_INET:
        if (alen < 12)
            return fail_header(err, errlen, "insufficient address data for IPv4", -1);
        out->family = AF_INET;
        out->protocol = "TCP4";
        inet_ntop(AF_INET, b + 16, out->client_addr, sizeof(out->client_addr));
        inet_ntop(AF_INET, b + 20, out->proxy_addr, sizeof(out->proxy_addr));
        out->client_port = (uint16_t)be16(b + 24);
        out->proxy_port = (uint16_t)be16(b + 26);
        need = 12;
        break;
    case FAM_INET6:
        if (alen < 36)
            return fail_header(err, errlen, "insufficient address data for IPv6", -1);
        out->family = AF_INET6;
        out->protocol = "TCP6";
        inet_ntop(AF_INET6, b + 16, out->client_addr, sizeof(out->client_addr));
        inet_ntop(AF_INET6, b + 32, out->proxy_addr, sizeof(out->proxy_addr));
        out->client_port = (uint16_t)be16(b + 48);
        out->proxy_port = (uint16_t)be16(b + 50);
        need = 36;
        break;
    case FAM_UNIX:
        /* gunicorn: "unsupported address family 3".  The spec: fall back to
         * the real endpoints for a valid family one does not implement. */
        if (alen < 216)
            return fail_header(err, errlen, "insufficient address data for UNIX", -1);
        out->local = true;
        out->family = AF_UNIX;
        out->protocol = "UNIX";
        need = 216;
        break;
    default:
        return fail_header(err, errlen, "unsupported address family ", (int)fam);
    }

    /* TLVs: type, 16-bit length, value; each must fit in the block.
     * Stricter than gunicorn, which ignores the bytes; HAProxy checks too. */
    for (size_t off = 16 + need; off < total;) {
        if (total - off < 3 || be16(b + off + 1) > total - off - 3)
            return fail_header(err, errlen, "malformed TLV", -1);
        off += 3 + be16(b + off + 1);
    }
    return (ssize_t)total;
}

/* ------------------------------------------------------------------ */

ssize_t cg_proxy_parse(const char *buf, size_t len, int mode, cg_proxy_info *out, char *err,
                       size_t errlen)
{
    int v = cg_proxy_detect(buf, len, mode);

    if (err && errlen)
        err[0] = '\0';
    if (v == CG_PROXY_V1)
        return parse_v1(buf, len, out, err, errlen);
    if (v == CG_PROXY_V2)
        return parse_v2((const unsigned char *)buf, len, out, err, errlen);
    return v; /* 0 or CG_PROXY_INCOMPLETE */
}
