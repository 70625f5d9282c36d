/* http_body.h - reading a request body (Content-Length or chunked) from a
 * blocking socket into a bounded buffer.  No Python: wsgi.input wraps it. */
#ifndef CG_HTTP_BODY_H
#define CG_HTTP_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http_parser.h"

typedef struct {
    int fd;
    char *buf; /* caller's buffer, cap bytes */
    size_t cap;
    size_t start, end; /* decoded body bytes ready for the reader: buf[start..end) */
    int64_t remaining; /* Content-Length mode: bytes still on the wire */
    bool chunked;
    int timeout_ms;      /* longest wait for the client to send more (non-blocking sockets) */
    bool filled;         /* bytes were read from the socket (not only the initial ones) */
    const char *initial; /* body bytes that came with the head, not yet taken */
    size_t initial_len;
    size_t initial_used; /* bytes of the initial segment that were this body's */
    char *extra;         /* chunked: bytes read past the body's end (the next request) */
    size_t extra_len;
    bool done;   /* every body byte has been read from the wire */
    bool failed; /* a read error, a timeout or a malformed chunk */
    cg_http_chunked dec;
    const cg_http_limits *lim;
    cg_http_error err;
    /* Called once before the first read from the wire (100-continue). */
    void (*before_read)(void *ctx);
    void *before_read_ctx;
} cg_body;

/* Set up a body reader.  initial/initial_len are the bytes that arrived
 * after the request head (they must stay valid while the body is read); they
 * are taken before anything is read from the socket, and what follows the
 * body in them is the next request's (see initial_used).
 * content_length < 0 and !chunked means an empty body. */
void cg_body_init(cg_body *b, int fd, char *buf, size_t cap, const char *initial,
                  size_t initial_len, int64_t content_length, bool chunked,
                  const cg_http_limits *lim);

/* Read more body bytes into the buffer (compacting it first).  Returns the
 * number of decoded bytes added (may be 0 for a chunk header alone; call
 * again unless done/failed), 0 when done, -1 on failure (failed set). */
ssize_t cg_body_fill(cg_body *b);

/* Bytes ready to read without touching the socket. */
static inline size_t cg_body_avail(const cg_body *b)
{
    return b->end - b->start;
}

#endif
