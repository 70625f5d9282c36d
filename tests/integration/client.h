/* client.h - a small keep-alive HTTP/1.1 client for the integration tests.
 *
 * A cl_t is one connection with a receive buffer; responses are parsed off
 * the front of the buffer, so pipelined responses come out in order.  The
 * functions that allocate or connect fail the running cmocka test (assert)
 * when that fails. */
#ifndef CG_CLIENT_H
#define CG_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    int fd;
    char *in; /* bytes received, not yet consumed */
    size_t len, cap;
    bool eof;
} cl_t;

typedef struct {
    int status;
    char head[8192]; /* status line and headers */
    char *body;      /* malloc'd, NUL-terminated */
    size_t body_len;
    bool chunked;
    long long clen;
    char connection[32];
} resp_t;

/* A TCP connection to 127.0.0.1:port; the fd, or -1. */
int connect_to(int port);

/* Connect c to 127.0.0.1:port (asserts that it connected). */
void cl_open(cl_t *c, int port);
/* Close c's socket and free its buffer. */
void cl_close(cl_t *c);

/* Send all n bytes at p; false if the connection failed. */
bool cl_send(cl_t *c, const void *p, size_t n);
/* cl_send of the string s. */
bool cl_sends(cl_t *c, const char *s);

/* Read what arrives within timeout_ms: >0 bytes, 0 at EOF (or reset), -1
 * on timeout. */
int cl_fill(cl_t *c, int timeout_ms);
/* Until n bytes are buffered; false at EOF or the deadline (CLOCK_MONOTONIC
 * ms). */
bool cl_want(cl_t *c, size_t n, long long deadline);
/* Offset of the first CRLF at or after from (waiting for it until the
 * deadline), or -1. */
long cl_line(cl_t *c, size_t from, long long deadline);
/* Drop the first n buffered bytes. */
void cl_consume(cl_t *c, size_t n);

/* The value of header name in a response head into out ("" if absent);
 * returns out. */
const char *resp_header(const resp_t *r, const char *name, char *out, size_t cap);
/* Free r's body. */
void resp_free(resp_t *r);

/* Read one response into r (free it with resp_free).  no_body: the request
 * was HEAD.  0, or -1 when the connection ended (or timed out) before a
 * whole response. */
int cl_response(cl_t *c, resp_t *r, bool no_body, int timeout_ms);
/* The server closes c within timeout_ms (nothing more arrives). */
bool cl_closed(cl_t *c, int timeout_ms);
/* The connection is still open: nothing readable, no EOF, for wait_ms. */
bool cl_open_still(cl_t *c, int wait_ms);
/* GET path on c (keep-alive unless the extra header lines, each ending in
 * CRLF, say otherwise); the response in r, 0 or -1 as cl_response. */
int cl_get(cl_t *c, const char *path, const char *extra, resp_t *r);

#endif
