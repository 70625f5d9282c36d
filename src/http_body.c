/* http_body.c - request body reader. */
#include "http_body.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

void cg_body_init(cg_body *b, int fd, char *buf, size_t cap, const char *initial,
                  size_t initial_len, int64_t content_length, bool chunked,
                  const cg_http_limits *lim)
{
    memset(b, 0, sizeof(*b));
    b->fd = fd;
    b->buf = buf;
    b->cap = cap;
    b->lim = lim;
    b->chunked = chunked;
    if (chunked) {
        cg_http_chunked_init(&b->dec);
        if (initial_len > cap)
            initial_len = cap;
        memcpy(buf, initial, initial_len);
        size_t n = initial_len;
        ssize_t r = cg_http_chunked_decode(&b->dec, buf, &n, lim, &b->err);
        b->end = n;
        if (r == CG_HTTP_ERROR)
            b->failed = true;
        else if (r > 0)
            b->done = true;
        return;
    }
    if (content_length <= 0) {
        b->done = true;
        return;
    }
    if ((int64_t)initial_len > content_length)
        initial_len = (size_t)content_length; /* the rest is not this body's */
    if (initial_len > cap)
        initial_len = cap;
    memcpy(buf, initial, initial_len);
    b->end = initial_len;
    b->remaining = content_length - (int64_t)initial_len;
    b->done = b->remaining == 0;
}

ssize_t cg_body_fill(cg_body *b)
{
    size_t room;
    ssize_t n;

    if (b->failed)
        return -1;
    if (b->done)
        return 0;
    if (b->before_read) {
        b->before_read(b->before_read_ctx);
        b->before_read = NULL;
    }
    if (b->start > 0) {
        memmove(b->buf, b->buf + b->start, b->end - b->start);
        b->end -= b->start;
        b->start = 0;
    }
    room = b->cap - b->end;
    if (room == 0)
        return 0; /* the reader must consume first */
    if (!b->chunked && (int64_t)room > b->remaining)
        room = (size_t)b->remaining;
    do
        n = recv(b->fd, b->buf + b->end, room, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        /* EOF before the declared length, a reset, or SO_RCVTIMEO */
        b->failed = true;
        return -1;
    }
    if (!b->chunked) {
        b->end += (size_t)n;
        b->remaining -= n;
        b->done = b->remaining == 0;
        return n;
    }
    size_t len = (size_t)n;
    ssize_t r = cg_http_chunked_decode(&b->dec, b->buf + b->end, &len, b->lim, &b->err);
    b->end += len;
    if (r == CG_HTTP_ERROR) {
        b->failed = true;
        return -1;
    }
    if (r > 0)
        b->done = true;
    return (ssize_t)len;
}
