/* http_body.c - request body reader. */
#include "http_body.h"
#include "iowait.h"

#include <errno.h>
#include <poll.h>
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
    b->initial = initial;
    b->initial_len = initial_len;
    if (chunked) {
        cg_http_chunked_init(&b->dec);
    } else if (content_length <= 0) {
        b->done = true;
        return;
    } else {
        b->remaining = content_length;
    }
    if (initial_len > 0)
        cg_body_fill(b); /* what came with the head is there at once */
}

/* n raw bytes were just put at buf[end..]: account for them (decoding
 * chunks in place).  from_initial: they came from the initial segment. */
static ssize_t take_bytes(cg_body *b, size_t n, bool from_initial)
{
    if (!b->chunked) {
        b->end += n;
        b->remaining -= (int64_t)n;
        b->done = b->remaining == 0;
        if (from_initial)
            b->initial_used += n;
        return (ssize_t)n;
    }
    size_t len = n, at = b->end;
    ssize_t r = cg_http_chunked_decode(&b->dec, b->buf + b->end, &len, b->lim, &b->err);
    b->end += len;
    if (r == CG_HTTP_ERROR) {
        b->failed = true;
        return -1;
    }
    if (from_initial)
        b->initial_used += r > 0 ? (size_t)r : n; /* after the last chunk: the next request */
    if (r > 0) {
        b->done = true;
        if (!from_initial) {
            /* raw bytes after the last chunk stay where they were read */
            b->extra = b->buf + at + r;
            b->extra_len = n - (size_t)r;
        }
    }
    return (ssize_t)len;
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
    if (b->initial_len > b->initial_used) {
        /* bytes that came with the head first */
        size_t take = b->initial_len - b->initial_used;
        if (take > room)
            take = room;
        memcpy(b->buf + b->end, b->initial + b->initial_used, take);
        return take_bytes(b, take, true);
    }
    for (;;) {
        n = recv(b->fd, b->buf + b->end, room, 0);
        if (n >= 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            break;
        /* a non-blocking socket (or SO_RCVTIMEO): wait, but not for ever */
        if (cg_io_wait(b->fd, POLLIN, b->timeout_ms > 0 ? b->timeout_ms : 10000) <= 0)
            break;
    }
    if (n <= 0) {
        /* EOF before the declared length, a reset, or a timeout */
        b->failed = true;
        return -1;
    }
    b->filled = true;
    return take_bytes(b, (size_t)n, false);
}
