/* fuzz_connection.c - libFuzzer target over a whole connection, as
 * src/serve.c drives one: an optional PROXY header, then request after
 * request (pipelining) - head, Content-Length or chunked body read through
 * the body reader from a real socket, and what is left over becomes the
 * next request - until the bytes run out or a request is refused.
 *
 * Input: byte 0 picks the PROXY mode and limits, byte 1 how many bytes
 * arrive with the first read (the rest comes through the socket, as a
 * slow client's would), then the wire bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_body.h"
#include "http_parser.h"
#include "ipmatch.h"
#include "proxy_protocol.h"

int cg_fuzz_connection(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HDRS 101
#define BODY_CAP 4096
#define MAX_REQUESTS 64

/* Read one body to its end the way wsgi.input does (small and large reads). */
static void drain_body(cg_body *b, unsigned pattern)
{
    for (int guard = 0; guard < 100000; guard++) {
        size_t want = (pattern >> (guard % 8)) & 1 ? 7 : BODY_CAP;
        while (cg_body_avail(b) < want && !b->done && !b->failed) {
            if (b->end == b->cap && b->start == 0)
                break;
            if (cg_body_fill(b) < 0)
                break;
        }
        size_t n = cg_body_avail(b) < want ? cg_body_avail(b) : want;
        b->start += n;
        if (b->failed || (b->done && cg_body_avail(b) == 0))
            return;
        if (n == 0 && b->end == b->cap)
            return; /* cannot happen: the reader took bytes; guard anyway */
    }
    abort(); /* the body reader must always make progress */
}

/* The entry point has its own name so tests/unit/test_fuzz_corpus.c can
 * link every target into one program; libFuzzer calls the weak alias. */
int cg_fuzz_connection(const uint8_t *data, size_t size)
{
    int sv[2];
    cg_http_limits lim;
    cg_http_header hdrs[MAX_HDRS];
    cg_http_request req;
    cg_http_error err;
    static char body_buf[BODY_CAP];

    if (size < 2)
        return 0;
    int mode = data[0] & 3; /* off, v1, v2, auto */
    int tight = data[0];    /* small limits, to reach the 400/431 paths */
    size_t first = data[1];
    data += 2;
    size -= 2;
    if (first > size)
        first = size;

    cg_http_limits_from_settings(&lim, (tight & 4) ? 64 : 4094, (tight & 8) ? 4 : 100,
                                 (tight & 16) ? 64 : 8190);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    /* the rest of the input arrives through the socket */
    size_t later = size - first;
    if (later > 65536)
        later = 65536;
    if (later && write(sv[1], data + first, later) < 0) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    shutdown(sv[1], SHUT_WR);

    /* the connection's buffer, as serve.c keeps it */
    char *buf = malloc(first ? first : 1);
    size_t len = first;
    memcpy(buf, data, first);

    if (mode != CG_PROXY_OFF && len > 0) {
        cg_proxy_info info;
        char perr[128];
        int kind = cg_proxy_detect(buf, len, mode);
        if (kind > 0) {
            ssize_t n = cg_proxy_parse(buf, len, mode, &info, perr, sizeof(perr));
            if (n > 0) {
                if ((size_t)n > len)
                    abort();
                memmove(buf, buf + n, len - (size_t)n);
                len -= (size_t)n;
            } else {
                goto done; /* refused (or incomplete with the first read) */
            }
        }
    }
    for (int r = 0; r < MAX_REQUESTS && len > 0; r++) {
        ssize_t head = cg_http_parse_request(buf, len, &lim, &req, hdrs, MAX_HDRS, &err);
        if (head <= 0)
            break; /* refused, or incomplete: serve.c would wait or close */
        if ((size_t)head > len)
            abort();
        cg_body b;
        cg_body_init(&b, sv[0], body_buf, sizeof(body_buf), buf + head, len - (size_t)head,
                     req.content_length, req.chunked, &lim);
        b.timeout_ms = 1;
        drain_body(&b, (unsigned)r * 2654435761u);
        if (!b.done)
            break; /* serve.c closes a connection whose body was not read to the end */
        /* what is left is the next request (serve.c's rule) */
        const char *rest;
        size_t rest_len;
        if (!b.filled) {
            size_t used = (size_t)head + b.initial_used;
            if (used > len)
                abort();
            rest = buf + used;
            rest_len = len - used;
        } else {
            rest = b.extra;
            rest_len = b.extra_len;
            if (rest_len && (rest < body_buf || rest + rest_len > body_buf + sizeof(body_buf)))
                abort();
        }
        char *next = malloc(rest_len ? rest_len : 1);
        memcpy(next, rest, rest_len);
        free(buf);
        buf = next;
        len = rest_len;
    }
done:
    free(buf);
    close(sv[0]);
    close(sv[1]);
    return 0;
}

__attribute__((weak)) int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return cg_fuzz_connection(data, size);
}
