/* client.c - see client.h. */
#include "client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int connect_to(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void cl_open(cl_t *c, int port)
{
    memset(c, 0, sizeof(*c));
    c->fd = connect_to(port);
    assert_true(c->fd >= 0);
}

void cl_close(cl_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->in);
    c->in = NULL;
    c->len = c->cap = 0;
}

bool cl_send(cl_t *c, const void *p, size_t n)
{
    for (size_t off = 0; off < n;) {
        ssize_t w = send(c->fd, (const char *)p + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        off += (size_t)w;
    }
    return true;
}

bool cl_sends(cl_t *c, const char *s)
{
    return cl_send(c, s, strlen(s));
}

/* Read what arrives within timeout_ms: >0 bytes, 0 at EOF (or reset), -1
 * on timeout. */
int cl_fill(cl_t *c, int timeout_ms)
{
    if (c->eof)
        return 0;
    if (c->cap - c->len < 65536) {
        c->cap = c->cap ? c->cap * 2 : 131072;
        c->in = realloc(c->in, c->cap);
        assert_non_null(c->in);
    }
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms) <= 0)
        return -1;
    ssize_t r = recv(c->fd, c->in + c->len, c->cap - c->len - 1, 0);
    if (r <= 0) {
        c->eof = true;
        return 0;
    }
    c->len += (size_t)r;
    c->in[c->len] = '\0';
    return (int)r;
}

/* Until n bytes are buffered; false at EOF or the deadline. */
bool cl_want(cl_t *c, size_t n, long long deadline)
{
    while (c->len < n)
        if (cl_fill(c, (int)(deadline - now_ms())) <= 0)
            return false;
    return true;
}

/* Offset of the first CRLF at or after from (waiting for it), or -1. */
long cl_line(cl_t *c, size_t from, long long deadline)
{
    for (;;) {
        if (c->len >= from + 2) {
            char *p = memmem(c->in + from, c->len - from, "\r\n", 2);
            if (p)
                return p - c->in;
        }
        if (cl_fill(c, (int)(deadline - now_ms())) <= 0)
            return -1;
    }
}

void cl_consume(cl_t *c, size_t n)
{
    memmove(c->in, c->in + n, c->len - n);
    c->len -= n;
    if (c->in)
        c->in[c->len] = '\0';
}

/* The value of header name in a response head ("" if absent). */
const char *resp_header(const resp_t *r, const char *name, char *out, size_t cap)
{
    const char *p = strstr(r->head, "\r\n");
    size_t nl = strlen(name);
    out[0] = '\0';
    while (p && p[2] != '\0') {
        p += 2;
        const char *e = strstr(p, "\r\n");
        if (e == NULL)
            e = p + strlen(p);
        if ((size_t)(e - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(e - v), v);
            return out;
        }
        p = e;
    }
    return out;
}

void resp_free(resp_t *r)
{
    free(r->body);
    r->body = NULL;
}

/* Read one response.  no_body: the request was HEAD.  0, or -1 when the
 * connection ended (or timed out) before a whole response. */
int cl_response(cl_t *c, resp_t *r, bool no_body, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    char v[64];

    memset(r, 0, sizeof(*r));
    r->clen = -1;
    size_t end = 0;
    for (;;) {
        char *p = c->len >= 4 ? memmem(c->in, c->len, "\r\n\r\n", 4) : NULL;
        if (p) {
            end = (size_t)(p - c->in) + 4;
            break;
        }
        if (cl_fill(c, (int)(deadline - now_ms())) <= 0)
            return -1;
    }
    snprintf(r->head, sizeof(r->head), "%.*s", (int)end, c->in);
    cl_consume(c, end);
    if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    resp_header(r, "Connection", r->connection, sizeof(r->connection));
    r->chunked = strcasecmp(resp_header(r, "Transfer-Encoding", v, sizeof(v)), "chunked") == 0;
    if (resp_header(r, "Content-Length", v, sizeof(v))[0])
        r->clen = atoll(v);
    size_t cap = 1024, len = 0;
    r->body = malloc(cap);
    assert_non_null(r->body);
    r->body[0] = '\0';
    if (no_body || r->status < 200 || r->status == 204 || r->status == 304)
        return 0;
    if (r->chunked) {
        for (;;) {
            long e = cl_line(c, 0, deadline);
            if (e < 0)
                return -1;
            unsigned long long size = strtoull(c->in, NULL, 16);
            cl_consume(c, (size_t)e + 2);
            if (size == 0) {
                /* trailers, then the empty line */
                for (;;) {
                    e = cl_line(c, 0, deadline);
                    if (e < 0)
                        return -1;
                    cl_consume(c, (size_t)e + 2);
                    if (e == 0)
                        break;
                }
                break;
            }
            if (!cl_want(c, size + 2, deadline))
                return -1;
            while (len + size + 1 > cap) {
                cap *= 2;
                r->body = realloc(r->body, cap);
                assert_non_null(r->body);
            }
            memcpy(r->body + len, c->in, size);
            len += size;
            cl_consume(c, size + 2);
        }
    } else if (r->clen >= 0) {
        if (!cl_want(c, (size_t)r->clen, deadline))
            return -1;
        if ((size_t)r->clen + 1 > cap) {
            cap = (size_t)r->clen + 1;
            r->body = realloc(r->body, cap);
            assert_non_null(r->body);
        }
        memcpy(r->body, c->in, (size_t)r->clen);
        len = (size_t)r->clen;
        cl_consume(c, len);
    } else {
        /* delimited by the close */
        while (cl_fill(c, (int)(deadline - now_ms())) > 0)
            ;
        if (!c->eof)
            return -1;
        cap = c->len + 1;
        r->body = realloc(r->body, cap);
        memcpy(r->body, c->in, c->len);
        len = c->len;
        cl_consume(c, c->len);
    }
    r->body[len] = '\0';
    r->body_len = len;
    return 0;
}

/* The server closes c within timeout_ms (nothing more arrives). */
bool cl_closed(cl_t *c, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    while (!c->eof) {
        int r = cl_fill(c, (int)(deadline - now_ms()));
        if (r < 0)
            return false;
    }
    return true;
}

/* The connection is still open: nothing readable, no EOF, for wait_ms. */
bool cl_open_still(cl_t *c, int wait_ms)
{
    int r = cl_fill(c, wait_ms);
    return r < 0 && !c->eof;
}

/* GET path on c (keep-alive unless extra says otherwise); the response. */
int cl_get(cl_t *c, const char *path, const char *extra, resp_t *r)
{
    char req[1024];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n", path, extra ? extra : "");
    if (!cl_sends(c, req))
        return -1;
    return cl_response(c, r, false, 10000);
}
