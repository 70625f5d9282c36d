/* serve.h - a worker's connection loop (sync, gthread, gevent, eventlet). */
#ifndef CG_SERVE_H
#define CG_SERVE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "http_parser.h"
#include "sock.h"

typedef struct {
    const cg_listener *listeners;
    size_t nlisteners;
    cg_http_limits lim;
    int threads;     /* 0: sync (each request inline, then close), unless spawn */
    bool keepalive;  /* gthread with --keep-alive > 0 */
    int keepalive_s; /* idle time allowed between requests */
    int client_timeout_s;
    long worker_connections;
    unsigned long long max_requests;      /* this worker's share; then it retires */
    volatile sig_atomic_t *stop_graceful; /* set by TERM */
    volatile sig_atomic_t *stop_quick;    /* set by INT/QUIT/ABRT handling */
    int reloader_fd;                      /* -1 if none */
    int proxy_mode;                       /* CG_PROXY_OFF/V1/V2/AUTO */
    const struct cg_ipmatch *proxy_allow; /* proxy_allow_ips */
    void (*tick)(void);                   /* each pass (>= 4 a second): heartbeat, parent check */
    void (*interrupted)(void);            /* a signal interrupted the wait */
    void (*reloader_event)(void);
    void (*thread_start)(void); /* in each pool thread, first */
    void (*on_request)(void);   /* before each request (may be NULL) */
    /* gevent/eventlet: start a greenlet that calls cg_serve_green_conn(arg)
     * (0, or -1 if it could not); the loop then waits through cg_io_wait.
     * NULL for sync and gthread. */
    int (*spawn)(void *arg);
} cg_serve_opts;

/* Serve until a stop is asked for (then, gracefully: stop accepting, let
 * the requests in progress finish) or max_requests is reached.  0, or -1
 * if the loop could not be set up. */
int cg_serve(const cg_serve_opts *o);

/* In the greenlet spawn started: serve the connection's requests until it
 * waits for more or closes.  Called without the GIL; returns without it. */
void cg_serve_green_conn(void *arg);

#endif
