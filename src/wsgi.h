/* wsgi.h - PEP 3333 for one parsed request: environ, start_response,
 * wsgi.input, the response iterable, and the response on the wire.
 * The worker (C only) calls in here with the GIL released. */
#ifndef CG_WSGI_H
#define CG_WSGI_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>

#include "cgunicorn/config.h"
#include "http_body.h"
#include "http_parser.h"
#include "sock.h"

/* Response bytes the client was not ready for (gthread): the event loop
 * writes them out later, so a client that stops reading costs memory, not a
 * thread.  Once a response iterable has filled it to max, the request is
 * parked (cg_wsgi_job) until the client has read it down to
 * CG_WSGI_RESUME_AT; the write() callable instead waits for room (up to
 * client_timeout), as PEP 3333 has it block. */
typedef struct {
    char *buf;
    size_t len, cap, max;
} cg_outq;

#define CG_WSGI_RESUME_AT (256 * 1024)

/* A request parked while its client reads (see cg_wsgi_handle). */
typedef struct cg_wsgi_job cg_wsgi_job;

/* Write what q holds to fd without blocking.  1: all sent, 0: some left,
 * -1: the client is gone. */
int cg_outq_flush(cg_outq *q, int fd);

/* Where a response head is built.  One per thread (or greenlet) serving
 * requests: the access log reads the response headers from it after the
 * body went out, and another request may run in between. */
typedef struct {
    char *buf;
    size_t cap;
} cg_headbuf;

/* One connection with one parsed request head. */
typedef struct {
    int fd;
    const cg_listener *listener;
    char remote_addr[64];        /* "" for unix sockets, as gunicorn */
    int remote_port;             /* -1 when there is none */
    const struct sockaddr *peer; /* the socket's real peer (for trust checks) */
    unsigned peer_len;
    cg_outq *outq;              /* NULL: write synchronously (sync worker) */
    const char *proxy_protocol; /* PROXY header seen: "TCP4", ...; else NULL */
    char proxy_addr[64];
    int proxy_port;
    char *buf; /* bytes read so far (head first) */
    size_t len;
    size_t head_len; /* bytes of the request head in buf */
    cg_http_request *req;
    const cg_http_limits *lim; /* for the chunked body's trailers */
    cg_body body;              /* set up by cg_wsgi_handle */
    cg_headbuf *head;          /* the caller's scratch for the response head */
    char *body_buf;            /* worker-owned scratch for the body reader */
    size_t body_cap;
    bool keep_alive_allowed; /* the worker's policy (false for sync) */
    bool close;              /* out: close the connection after this request */
    long long requests;      /* out: incremented per request handled */
    int status;              /* out: the status sent (0 if none) */
    bool write_failed;       /* out: the client stopped reading or went away */
    long long sent;          /* out: body bytes sent */
    long long duration_us;   /* out: from the head parsed to the response done */
    cg_wsgi_job *job;        /* out with CG_WSGI_WAITING; in after cg_wsgi_restore */
    bool client_gone;        /* in, resuming: the client left or stopped reading */
    bool may_park;           /* gthread: a full output queue parks the request;
                                else (gevent, eventlet) the caller waits for room */
} cg_wsgi_conn;

typedef enum {
    CG_WSGI_DONE,    /* the request is over (outputs set) */
    CG_WSGI_WAITING, /* parked in c->job until the client reads (gthread) */
} cg_wsgi_state;

/* Build the per-worker WSGI state (constant environ entries, types).  Needs
 * the GIL; call once in each worker after the app is loaded. */
int cg_wsgi_setup(const cg_config_t *cfg, char *err, size_t errlen);

/* Serve the request in c: call the app, write the response, log access.
 * Called without the GIL; returns without it.  Never fails the worker:
 * app exceptions become a 500 (or a closed connection once headers went
 * out).  Sets c->close when the connection cannot be reused.
 *
 * With an output queue (gthread), CG_WSGI_WAITING means the queue filled
 * up while the response iterable (or a file through sendfile) was written:
 * c->job holds the request - Response, iterator, environ, where the body
 * stands - and the calling thread is free.  When the client has read the
 * queue down to CG_WSGI_RESUME_AT bytes, or is gone (set client_gone), any
 * pool thread calls cg_wsgi_restore and then cg_wsgi_handle again to carry
 * on; the access log, the post_request hook and close() come at the real
 * end, with the whole duration. */
cg_wsgi_state cg_wsgi_handle(cg_wsgi_conn *c);

/* Put a parked request back into c, whose req, hdrs (room for
 * lim->max_fields + 1 headers) and body_buf are the calling thread's
 * scratch; everything else in c is taken from the job. */
void cg_wsgi_restore(cg_wsgi_conn *c, cg_wsgi_job *job, cg_http_header *hdrs);

/* A flag that, once set, makes every response from then on close its
 * connection (the worker is stopping gracefully). */
void cg_wsgi_set_stop_flag(volatile const sig_atomic_t *flag);

/* Write an error page for a request that could not be parsed and log
 * "Invalid request from ip=..." (no app call, no GIL needed). */
void cg_wsgi_reject(cg_wsgi_conn *c, const cg_http_error *err);

#endif
