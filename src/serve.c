/* serve.c - a worker's connection loop, for every worker class.
 *
 * One epoll loop in the worker's main thread accepts connections and reads
 * request heads in C, without the GIL, so a slow client costs a connection
 * and never the app: only a complete head is handed on.  sync runs each
 * request inline and closes (gunicorn's sync worker, protected from slow
 * clients); gthread hands it to a pool of threads, each with its own Python
 * thread state, and keeps connections alive: idle ones wait in epoll, and
 * pipelined requests are answered in order.  gevent and eventlet hand it to
 * a greenlet instead (green.c), and the loop itself waits on its epoll
 * descriptor through the hub, so it runs as one more greenlet. */
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cgunicorn/log.h"
#include "cgunicorn/scoreboard.h"
#include "http_parser.h"
#include "iowait.h"
#include "ipmatch.h"
#include "proxy_protocol.h"
#include "statsd.h"
#include "wsgi.h"

#define BODY_BUF_SIZE (64 * 1024)
/* Request bodies up to this size are read by the event loop before the
 * request is handed on: a slow upload costs a connection, not a thread. */
#define PREREAD_MAX (256 * 1024)
/* Response bytes queued per connection for a client that reads slowly. */
#define OUTQ_MAX (1024 * 1024)
#define HEAD_BUF_START 4096
#define LISTENER_TAG ((uint64_t)1 << 63) /* epoll data: a listener's index */
#define RELOADER_TAG ((uint64_t)1 << 62)

typedef struct conn conn;
struct conn {
    int fd;
    const cg_listener *l;
    char remote_addr[64];
    int remote_port;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    bool proxy_done;            /* the PROXY header (if any) is behind us */
    const char *proxy_protocol; /* from it: "TCP4", ... */
    char proxy_addr[64];
    int proxy_port;
    char *buf; /* request bytes read so far */
    size_t len, cap;
    int64_t deadline_ns; /* cut off if still waiting then */
    bool busy;           /* a thread owns it */
    bool eof;            /* the client shut down its side */
    size_t want;         /* head + body bytes to have before dispatching, 0 if unknown */
    unsigned long nreq;  /* requests served on it */
    cg_outq out;         /* response bytes the client was not ready for */
    bool writing;        /* the loop is writing out before reading again */
    bool close_after;    /* ... and then closing */
    cg_wsgi_job *job;    /* a request parked until the client reads out (gthread) */
    bool gone;           /* ... and the client left or stopped reading: just end it */
    size_t index;        /* in the loop's table */
    conn *next;          /* work queue */
};

/* What serving one request at a time needs: one per thread, or per
 * greenlet running a request (kept in a free list between them). */
typedef struct scratch scratch;
struct scratch {
    cg_http_request req;
    cg_http_header *hdrs;
    char *body_buf;
    cg_headbuf head;
    int sb_index; /* its request entry in the scoreboard */
    scratch *next_free;
};

/* How requests run: inline (sync), in a thread pool (gthread), or each
 * connection in a greenlet (gevent, eventlet). */
typedef enum { MODE_SYNC, MODE_POOL, MODE_GREEN } serve_mode;

static struct {
    const cg_serve_opts *o;
    serve_mode mode;
    size_t max_head;
    int epfd;
    conn **conns; /* every open connection (main thread; busy ones are the threads') */
    size_t nconns, capconns;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    conn *qhead, *qtail;
    int active; /* threads (or greenlets) running a request */
    atomic_bool stopping;
    atomic_ullong served;
    scratch main_scratch;
    scratch *free_scratch; /* greenlets' scratch not in use */
    int nscratch;          /* greenlets' scratch made so far */
} S = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .work = PTHREAD_COND_INITIALIZER,
       .done = PTHREAD_COND_INITIALIZER};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int scratch_init(scratch *s)
{
    memset(s, 0, sizeof(*s));
    s->hdrs = calloc(S.o->lim.max_fields + 1, sizeof(cg_http_header));
    s->body_buf = malloc(BODY_BUF_SIZE);
    return s->hdrs && s->body_buf ? 0 : -1;
}

/* --- connections ----------------------------------------------------- */

static void describe_peer(conn *c, const struct sockaddr_storage *ss)
{
    c->remote_addr[0] = '\0';
    c->remote_port = -1;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, c->remote_addr, sizeof(c->remote_addr));
        c->remote_port = ntohs(in->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, c->remote_addr, sizeof(c->remote_addr));
        c->remote_port = ntohs(in6->sin6_port);
    }
}

/* A new connection in the table, or NULL (closed) when out of memory. */
static conn *conn_new(int fd, const cg_listener *l, const struct sockaddr_storage *ss, socklen_t sl)
{
    conn *c = calloc(1, sizeof(*c));

    if (c == NULL || (S.nconns == S.capconns && S.capconns > (SIZE_MAX / 2 / sizeof(conn *)))) {
        free(c);
        close(fd);
        return NULL;
    }
    if (S.nconns == S.capconns) {
        size_t cap = S.capconns ? S.capconns * 2 : 64;
        conn **t = realloc(S.conns, cap * sizeof(*t));
        if (t == NULL) {
            free(c);
            close(fd);
            return NULL;
        }
        S.conns = t;
        S.capconns = cap;
    }
    c->fd = fd;
    c->l = l;
    c->peer = *ss;
    c->peer_len = sl;
    c->proxy_done = S.o->proxy_mode == CG_PROXY_OFF;
    describe_peer(c, ss);
    c->deadline_ns = now_ns() + (int64_t)S.o->client_timeout_s * 1000000000LL;
    c->out.max = OUTQ_MAX;
    c->index = S.nconns;
    S.conns[S.nconns++] = c;
    return c;
}

/* Close and forget a connection (main thread, or a thread holding mu). */
static void conn_free(conn *c)
{
    size_t i = c->index;
    S.conns[i] = S.conns[--S.nconns];
    S.conns[i]->index = i;
    close(c->fd);
    free(c->buf);
    free(c->out.buf);
    free(c);
}

/* Watch c for the next bytes, or for room to write what is queued
 * (one-shot: a single owner at a time). */
static int conn_arm(conn *c)
{
    struct epoll_event ev = {
        .events = (c->writing ? EPOLLOUT : EPOLLIN) | EPOLLONESHOT | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(S.epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        return 0;
    return epoll_ctl(S.epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Read what is there.  1: got bytes (or the buffer is full), 0: nothing
 * yet, -1: closed or failed. */
static int conn_read(conn *c)
{
    int got = 0;

    for (;;) {
        size_t limit = c->want > S.max_head ? c->want : S.max_head;
        if (c->len == c->cap) {
            if (c->cap >= limit)
                return 1; /* full: the parser decides (431) */
            size_t cap = c->cap ? c->cap * 2 : HEAD_BUF_START;
            if (cap > limit)
                cap = limit;
            char *b = realloc(c->buf, cap);
            if (b == NULL)
                return -1;
            c->buf = b;
            c->cap = cap;
        }
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n > 0) {
            /* a head must arrive within client_timeout of its first byte */
            if (c->len == 0)
                c->deadline_ns = now_ns() + (int64_t)S.o->client_timeout_s * 1000000000LL;
            c->len += (size_t)n;
            got = 1;
            continue;
        }
        if (n == 0) {
            /* what came before the end may still be a request to answer */
            c->eof = true;
            return got ? 1 : -1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            return got;
        return -1;
    }
}

/* --- requests -------------------------------------------------------- */

typedef enum {
    KEEP,  /* wait for more bytes */
    CLOSE, /* close the connection */
    WAIT,  /* a response is parked in c->job until the client reads */
} fate;

/* The connection's part of a request's cg_wsgi_conn, with the calling
 * thread's scratch. */
static void wsgi_conn_init(cg_wsgi_conn *w, conn *c, scratch *sc)
{
    memset(w, 0, sizeof(*w));
    w->fd = c->fd;
    w->listener = c->l;
    memcpy(w->remote_addr, c->remote_addr, sizeof(w->remote_addr));
    w->remote_port = c->remote_port;
    w->peer = (const struct sockaddr *)&c->peer;
    w->peer_len = c->peer_len;
    w->proxy_protocol = c->proxy_protocol;
    memcpy(w->proxy_addr, c->proxy_addr, sizeof(w->proxy_addr));
    w->proxy_port = c->proxy_port;
    w->buf = c->buf;
    w->len = c->len;
    w->req = &sc->req;
    w->lim = &S.o->lim;
    w->outq = S.mode != MODE_SYNC ? &c->out : NULL;
    w->may_park = S.mode == MODE_POOL;
    w->head = &sc->head;
    w->body_buf = sc->body_buf;
    w->body_cap = BODY_BUF_SIZE;
}

/* Answer a request that cannot be served (CLOSE). */
static fate reject(cg_wsgi_conn *w, int status, const char *reason, const char *msg)
{
    cg_http_error e = {.status = status, .reason = reason};
    snprintf(e.msg, sizeof(e.msg), "%s", msg);
    e.detail_len = strlen(e.msg);
    cg_wsgi_reject(w, &e);
    cg_sb_request_end(w->status, 0, 0);
    return CLOSE;
}

/* Serve every complete request in c->buf, in order (pipelining), with the
 * scratch of the calling thread - first the parked one, if any. */
static fate serve_requests(conn *c, scratch *sc, ssize_t parsed, const cg_http_error *perr)
{
    for (;;) {
        cg_wsgi_conn w;
        bool last = false;

        wsgi_conn_init(&w, c, sc);
        cg_scoreboard_bind_thread(sc->sb_index); /* greenlets share the thread */
        if (c->job) {
            /* a response parked while its client read carries on here */
            cg_wsgi_restore(&w, c->job, sc->hdrs);
            c->job = NULL;
            w.client_gone = c->gone;
            cg_sb_request_start(w.req->method, w.req->method_len, w.req->target, w.req->target_len,
                                c->remote_addr);
        } else {
            cg_http_error err;
            ssize_t head;
            if (parsed != 0) {
                /* the loop just parsed this head into sc (sync) */
                head = parsed;
                if (perr)
                    err = *perr;
                parsed = 0;
            } else {
                head = cg_http_parse_request(c->buf, c->len, &S.o->lim, &sc->req, sc->hdrs,
                                             S.o->lim.max_fields + 1, &err);
            }
            if (head == CG_HTTP_INCOMPLETE) {
                if (c->len < S.max_head)
                    return KEEP;
                return reject(&w, 431, "Request Header Fields Too Large",
                              "Error parsing headers: 'max buffer headers'");
            }
            if (head < 0) {
                cg_wsgi_reject(&w, &err);
                cg_sb_request_end(w.status, 0, 0);
                return CLOSE;
            }
            /* stricter than gunicorn (RFC 9112 3.2): HTTP/1.1 names its Host */
            if (sc->req.version_minor >= 1 && !sc->req.has_host)
                return reject(&w, 400, "Bad Request", "Missing Host header");
            w.head_len = (size_t)head;
            unsigned long long nr = atomic_fetch_add(&S.served, 1) + 1;
            last = nr >= S.o->max_requests;
            if (nr == S.o->max_requests)
                cg_log(CG_LOG_INFO, "Autorestarting worker after current request.");
            w.keep_alive_allowed =
                S.o->keepalive && !last && !atomic_load(&S.stopping) && *S.o->stop_graceful == 0;
            cg_sb_request_start(sc->req.method, sc->req.method_len, sc->req.target,
                                sc->req.target_len, c->remote_addr);
            if (S.o->on_request)
                S.o->on_request();
        }
        cg_wsgi_state st = cg_wsgi_handle(&w);
        cg_scoreboard_bind_thread(sc->sb_index);
        if (last)
            atomic_store(&S.stopping, true);
        if (st == CG_WSGI_WAITING) {
            /* this thread is free; the loop hands the request back later */
            c->job = w.job;
            cg_sb_request_pause();
            return WAIT;
        }
        c->nreq++;
        cg_sb_request_end(w.status, (uint64_t)w.sent, (uint64_t)w.duration_us);
        cg_statsd_request(w.status, (double)w.duration_us / 1000.0);
        if (w.write_failed)
            c->out.len = 0; /* the client is gone or would not read: drop the rest */
        if (w.close)
            return CLOSE;
        /* what is left is the next request (pipelined), or nothing */
        const char *rest = NULL;
        size_t rest_len = 0;
        if (!w.body.filled) {
            size_t used = w.head_len + w.body.initial_used;
            rest = c->buf + used;
            rest_len = c->len - used;
        } else if (w.body.extra) {
            rest = w.body.extra;
            rest_len = w.body.extra_len;
        }
        if (rest_len > c->cap)
            return CLOSE;
        if (rest_len > 0)
            memmove(c->buf, rest, rest_len);
        c->len = rest_len;
        c->deadline_ns = now_ns() + (int64_t)(rest_len ? S.o->client_timeout_s : S.o->keepalive_s) *
                                        1000000000LL;
        if (rest_len == 0)
            return KEEP;
    }
}

/* Queue c for a pool thread (S.mu held). */
static void enqueue_locked(conn *c)
{
    c->next = NULL;
    if (S.qtail)
        S.qtail->next = c;
    else
        S.qhead = c;
    S.qtail = c;
    pthread_cond_signal(&S.work);
}

/* Hand a parked request back to a pool thread (S.mu held, c out of epoll):
 * to carry on, or - gone - to end it without the client, which still
 * calls close() and logs it. */
static void resume_locked(conn *c, bool gone)
{
    c->gone = gone;
    c->writing = false;
    c->busy = true;
    enqueue_locked(c);
}

/* A connection's requests are done, or wait for the client: keep it (back
 * to epoll) or close it.  Called by whoever owns c, with S.mu held. */
static void release_locked(conn *c, fate f)
{
    c->busy = false;
    if (f == WAIT) {
        /* the loop writes out the queue as the client reads, then hands
         * the request back (on_writable); client_timeout without progress
         * ends it (cut_off_slow) */
        c->writing = true;
        c->deadline_ns = now_ns() + (int64_t)S.o->client_timeout_s * 1000000000LL;
        if (conn_arm(c) != 0)
            resume_locked(c, true);
    } else if (c->out.len > 0) {
        /* the loop writes the rest out as the client reads it */
        c->writing = true;
        c->close_after = f == CLOSE || c->eof || atomic_load(&S.stopping);
        c->deadline_ns = now_ns() + (int64_t)S.o->client_timeout_s * 1000000000LL;
        if (conn_arm(c) != 0)
            conn_free(c);
    } else if (f == CLOSE || c->eof || atomic_load(&S.stopping)) {
        conn_free(c);
    } else if (conn_arm(c) != 0) {
        /* (its buffer stays for the next request; cut_off_slow frees
         * those of idle connections) */
        conn_free(c);
    }
}

/* --- the thread pool ------------------------------------------------- */

static void *pool_thread(void *arg)
{
    scratch sc;
    int index = (int)(intptr_t)arg;

    if (scratch_init(&sc) != 0)
        return NULL;
    sc.sb_index = index;
    cg_scoreboard_bind_thread(index);
    S.o->thread_start();
    /* one lock round per request: hand the last connection back and take
     * the next in the same critical section */
    pthread_mutex_lock(&S.mu);
    for (;;) {
        while (S.qhead == NULL && !*S.o->stop_quick)
            pthread_cond_wait(&S.work, &S.mu);
        if (*S.o->stop_quick)
            break;
        conn *c = S.qhead;
        S.qhead = c->next;
        if (S.qhead == NULL)
            S.qtail = NULL;
        S.active++;
        pthread_mutex_unlock(&S.mu);

        fate f = serve_requests(c, &sc, 0, NULL);

        pthread_mutex_lock(&S.mu);
        release_locked(c, f);
        S.active--;
        pthread_cond_broadcast(&S.done);
    }
    pthread_mutex_unlock(&S.mu);
    return NULL;
}

/* --- greenlets ------------------------------------------------------ */

/* A scratch for a greenlet about to serve a request, or NULL. */
static scratch *scratch_get(void)
{
    scratch *sc = S.free_scratch;

    if (sc) {
        S.free_scratch = sc->next_free;
        return sc;
    }
    sc = malloc(sizeof(*sc));
    if (sc == NULL || scratch_init(sc) != 0) {
        if (sc) {
            free(sc->hdrs);
            free(sc->body_buf);
        }
        free(sc);
        return NULL;
    }
    /* the first greenlets get an entry each; the rest share the last */
    sc->sb_index = ++S.nscratch;
    return sc;
}

void cg_serve_green_conn(void *arg)
{
    conn *c = arg;
    scratch *sc = scratch_get();

    /* (one thread: S.mu is not needed; a green request never parks) */
    if (sc == NULL) {
        release_locked(c, CLOSE);
    } else {
        release_locked(c, serve_requests(c, sc, 0, NULL));
        sc->next_free = S.free_scratch;
        S.free_scratch = sc;
    }
    S.active--;
}

/* Wait for events on the loop's descriptors.  Under a hub, the loop waits
 * on the epoll descriptor through it - always, even with events ready, so
 * the greenlets it handed requests to get to run. */
static int loop_wait(struct epoll_event *evs, int nevs, int timeout_ms)
{
    if (S.mode != MODE_GREEN)
        return epoll_wait(S.epfd, evs, nevs, timeout_ms);
    if (cg_io_wait(S.epfd, POLLIN, timeout_ms) < 0)
        return -1;
    return epoll_wait(S.epfd, evs, nevs, 0);
}

/* A complete head arrived on c: serve it now (sync) or queue it. */
static void dispatch(conn *c, ssize_t head, const cg_http_error *err)
{
    c->busy = true;
    if (S.mode == MODE_SYNC) {
        fate f = serve_requests(c, &S.main_scratch, head, err);
        release_locked(c, f); /* (no other thread: S.mu is not needed) */
        return;
    }
    if (S.mode == MODE_GREEN) {
        S.active++;
        if (S.o->spawn(c) != 0) {
            S.active--;
            release_locked(c, CLOSE);
        }
        return;
    }
    pthread_mutex_lock(&S.mu);
    enqueue_locked(c);
    pthread_mutex_unlock(&S.mu);
}

/* Answer a connection whose PROXY header is refused, and close it. */
static void proxy_reject(conn *c, int status, const char *reason, const char *msg)
{
    cg_wsgi_conn w;
    cg_http_error e = {.status = status, .reason = reason};

    memset(&w, 0, sizeof(w));
    w.fd = c->fd;
    w.listener = c->l;
    memcpy(w.remote_addr, c->remote_addr, sizeof(w.remote_addr));
    snprintf(e.msg, sizeof(e.msg), "%s", msg);
    e.detail_len = strlen(e.msg);
    cg_wsgi_reject(&w, &e);
    pthread_mutex_lock(&S.mu);
    conn_free(c);
    pthread_mutex_unlock(&S.mu);
}

/* The PROXY protocol header at the start of a connection (gunicorn's
 * order: spot it, check the peer may send one, then parse).  1: done (or
 * none), 0: need more bytes, -1: refused (c is gone). */
static int proxy_header(conn *c)
{
    char err[256];
    cg_proxy_info info;
    int kind = cg_proxy_detect(c->buf, c->len, S.o->proxy_mode);

    if (kind == CG_PROXY_INCOMPLETE) {
        if (!c->eof)
            return 0;
        pthread_mutex_lock(&S.mu);
        conn_free(c);
        pthread_mutex_unlock(&S.mu);
        return -1;
    }
    if (kind == 0) {
        c->proxy_done = true;
        return 1;
    }
    if (!cg_ipmatch_allows_peer(S.o->proxy_allow, (const struct sockaddr *)&c->peer, c->peer_len)) {
        proxy_reject(c, 403, "Forbidden", "Request forbidden");
        return -1;
    }
    ssize_t n = cg_proxy_parse(c->buf, c->len, S.o->proxy_mode, &info, err, sizeof(err));
    if (n == CG_PROXY_INCOMPLETE)
        return 0;
    if (n < 0) {
        proxy_reject(c, 400, "Bad Request", err);
        return -1;
    }
    if (!info.local) {
        snprintf(c->remote_addr, sizeof(c->remote_addr), "%s", info.client_addr);
        c->remote_port = info.client_port;
        c->proxy_protocol = info.protocol;
        snprintf(c->proxy_addr, sizeof(c->proxy_addr), "%s", info.proxy_addr);
        c->proxy_port = info.proxy_port;
    }
    memmove(c->buf, c->buf + n, c->len - (size_t)n);
    c->len -= (size_t)n;
    c->proxy_done = true;
    return 1;
}

/* Bytes arrived on c (main thread): a whole head goes on, else wait. */
static void on_readable(conn *c)
{
    int r = conn_read(c);
    cg_http_error err;

    if (r == 0 && c->len == 0 && S.mode == MODE_SYNC) {
        /* sync, a connection just accepted whose request is still on its
         * way (a few microseconds, from a client nearby): wait for it a
         * moment, as gunicorn's sync worker would, instead of parking it
         * where a crash of this worker would lose it.  A slow client is
         * parked after 20 ms and costs nothing more. */
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (poll(&p, 1, 20) > 0)
            r = conn_read(c);
    }
    if (r < 0) {
        pthread_mutex_lock(&S.mu);
        conn_free(c);
        pthread_mutex_unlock(&S.mu);
        return;
    }
    if (!c->proxy_done && c->len > 0) {
        int pr = proxy_header(c);
        if (pr < 0)
            return;
        if (pr == 0) {
            if (conn_arm(c) != 0) {
                pthread_mutex_lock(&S.mu);
                conn_free(c);
                pthread_mutex_unlock(&S.mu);
            }
            return;
        }
    }
    ssize_t head = c->len
                       ? cg_http_parse_request(c->buf, c->len, &S.o->lim, &S.main_scratch.req,
                                               S.main_scratch.hdrs, S.o->lim.max_fields + 1, &err)
                       : CG_HTTP_INCOMPLETE;
    if (head == CG_HTTP_INCOMPLETE && c->len < S.max_head) {
        if (c->eof || conn_arm(c) != 0) {
            pthread_mutex_lock(&S.mu);
            conn_free(c);
            pthread_mutex_unlock(&S.mu);
        }
        return;
    }
    /* a small body is read here too, unless the client waits for a 100
     * Continue that only the app's first read sends */
    const cg_http_request *req = &S.main_scratch.req;
    if (head > 0 && !req->expect_continue && req->content_length > 0 &&
        req->content_length <= PREREAD_MAX && c->len < (size_t)head + (size_t)req->content_length &&
        !c->eof) {
        if (c->want == 0) /* and the body within client_timeout of the head */
            c->deadline_ns = now_ns() + (int64_t)S.o->client_timeout_s * 1000000000LL;
        c->want = (size_t)head + (size_t)req->content_length;
        if (conn_arm(c) != 0) {
            pthread_mutex_lock(&S.mu);
            conn_free(c);
            pthread_mutex_unlock(&S.mu);
        }
        return;
    }
    c->want = 0;
    dispatch(c, head, &err); /* complete, or an error the request path answers */
}

/* The client made room (main thread): write more of what is queued. */
static void on_writable(conn *c)
{
    int r = cg_outq_flush(&c->out, c->fd);

    pthread_mutex_lock(&S.mu);
    if (c->job) {
        /* a parked response: more of it once the client has read enough */
        if (r < 0)
            resume_locked(c, true);
        else if (c->out.len <= CG_WSGI_RESUME_AT)
            resume_locked(c, false);
        else if (conn_arm(c) != 0)
            resume_locked(c, true);
        else
            c->deadline_ns = now_ns() + (int64_t)S.o->client_timeout_s * 1000000000LL;
    } else if (r == 1) {
        c->writing = false;
        if (c->close_after) {
            conn_free(c);
        } else {
            c->deadline_ns = now_ns() + (int64_t)S.o->keepalive_s * 1000000000LL;
            if (conn_arm(c) != 0)
                conn_free(c);
        }
    } else if (r < 0 || conn_arm(c) != 0) {
        conn_free(c);
    } else {
        /* progress: the client is reading, give it more time */
        c->deadline_ns = now_ns() + (int64_t)S.o->client_timeout_s * 1000000000LL;
    }
    pthread_mutex_unlock(&S.mu);
}

/* An event on a connection. */
static void on_conn_event(conn *c)
{
    if (c->writing)
        on_writable(c);
    else
        on_readable(c);
}

/* Accept what is waiting on listener i. */
static void on_accept(size_t i)
{
    const cg_listener *l = &S.o->listeners[i];

    while (S.nconns < (size_t)S.o->worker_connections && !atomic_load(&S.stopping)) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (sl == 0 || ss.ss_family == AF_UNIX)
            ss.ss_family = AF_UNIX;
        pthread_mutex_lock(&S.mu);
        conn *c = conn_new(fd, l, &ss, sl);
        pthread_mutex_unlock(&S.mu);
        if (c == NULL)
            continue;
        /* the request usually came with the connection: no epoll round */
        on_readable(c);
    }
}

/* A request is in progress on c: run by a thread, parked, or its response
 * still being written out. */
static bool in_flight(const conn *c)
{
    return c->busy || c->job || c->writing;
}

/* Close connections that waited too long (idle keep-alive, slow heads);
 * drop the buffers of idle ones (10,000 idle connections would hold 40 MB
 * of them; a busy connection keeps its buffer from one request to the
 * next). */
static void cut_off_slow(int64_t now)
{
    pthread_mutex_lock(&S.mu);
    for (size_t i = 0; i < S.nconns;) {
        conn *c = S.conns[i];
        if (!in_flight(c) && c->len == 0 && c->cap > 0) {
            free(c->buf);
            c->buf = NULL;
            c->cap = 0;
        }
        if (!c->busy && c->job && c->deadline_ns <= now) {
            /* stopped reading a parked response: a thread ends it (close()) */
            cg_log(CG_LOG_DEBUG, "Closing slow connection from %s", c->remote_addr);
            epoll_ctl(S.epfd, EPOLL_CTL_DEL, c->fd, NULL);
            resume_locked(c, true);
            i++;
            continue;
        }
        if (!c->busy && c->deadline_ns <= now) {
            if (c->len > 0)
                cg_log(CG_LOG_DEBUG, "Closing slow connection from %s", c->remote_addr);
            conn_free(c); /* the last one moved into slot i */
            continue;
        }
        i++;
    }
    pthread_mutex_unlock(&S.mu);
}

/* Stop listening; close the connections that wait between requests.
 * Connections whose first request is on its way are kept, and those with
 * a request in flight (see drain). */
static void stop_listening(void)
{
    for (size_t i = 0; i < S.o->nlisteners; i++)
        epoll_ctl(S.epfd, EPOLL_CTL_DEL, S.o->listeners[i].fd, NULL);
    pthread_mutex_lock(&S.mu);
    for (size_t i = 0; i < S.nconns;) {
        conn *c = S.conns[i];
        /* a quick stop drops parked responses too: the process exits next */
        if (*S.o->stop_quick ? !c->busy : !in_flight(c) && c->nreq > 0) {
            conn_free(c);
            continue;
        }
        i++;
    }
    pthread_mutex_unlock(&S.mu);
}

/* After a graceful stop (TERM, max_requests): requests in flight finish,
 * parked and queued responses included (their clients are cut off by
 * client_timeout if they stop reading), and connections already accepted
 * still get their first request answered - a client that connected just
 * before the stop must not see its connection closed unanswered - until
 * they are served or time out. */
static void drain(struct epoll_event *evs, int nevs)
{
    int64_t until = now_ns() + (int64_t)S.o->client_timeout_s * 1000000000LL;

    for (;;) {
        size_t waiting = 0, busy = 0;
        int64_t now = now_ns();

        pthread_mutex_lock(&S.mu);
        for (size_t i = 0; i < S.nconns; i++) {
            busy += in_flight(S.conns[i]);
            waiting += !in_flight(S.conns[i]);
        }
        pthread_mutex_unlock(&S.mu);
        if ((busy == 0 && (waiting == 0 || now >= until)) || *S.o->stop_quick)
            break;
        cut_off_slow(now);
        S.o->tick();
        int n = loop_wait(evs, nevs, 100);
        if (n < 0 && errno == EINTR)
            S.o->interrupted();
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (!(tag & (LISTENER_TAG | RELOADER_TAG)))
                on_conn_event(evs[i].data.ptr);
        }
    }
}

int cg_serve(const cg_serve_opts *o)
{
    struct epoll_event evs[256];
    pthread_t *pool = NULL;
    int64_t next_scan = 0;

    S.o = o;
    S.mode = o->spawn ? MODE_GREEN : o->threads > 0 ? MODE_POOL : MODE_SYNC;
    S.max_head = (o->lim.max_line ? o->lim.max_line : 8190) + 2 +
                 o->lim.max_fields * (o->lim.max_field_size + 2) + 4;
    S.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (S.epfd < 0 || scratch_init(&S.main_scratch) != 0)
        return -1;
    for (size_t i = 0; i < o->nlisteners; i++) {
        /* EPOLLEXCLUSIVE: one worker wakes per connection, not all */
        struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.u64 = LISTENER_TAG | i};
        epoll_ctl(S.epfd, EPOLL_CTL_ADD, o->listeners[i].fd, &ev);
    }
    if (o->reloader_fd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = RELOADER_TAG};
        epoll_ctl(S.epfd, EPOLL_CTL_ADD, o->reloader_fd, &ev);
    }
    if (S.mode == MODE_POOL) {
        pool = calloc((size_t)o->threads, sizeof(pthread_t));
        for (int i = 0; pool && i < o->threads; i++)
            pthread_create(&pool[i], NULL, pool_thread, (void *)(intptr_t)(i + 1));
    }

    while (!*o->stop_quick && !atomic_load(&S.stopping) && !*o->stop_graceful) {
        int64_t now = now_ns();
        int n;

        o->tick();
        if (now >= next_scan) {
            cut_off_slow(now);
            next_scan = now + 250000000LL;
        }
        n = loop_wait(evs, 256, 250);
        if (n < 0) {
            if (errno == EINTR)
                o->interrupted();
            continue;
        }
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag & LISTENER_TAG)
                on_accept((size_t)(tag & ~LISTENER_TAG));
            else if (tag == RELOADER_TAG)
                o->reloader_event();
            else
                on_conn_event(evs[i].data.ptr);
        }
    }
    /* graceful: no new connections; the requests in progress finish */
    atomic_store(&S.stopping, true);
    stop_listening();
    drain(evs, 256);
    if (pool) {
        pthread_mutex_lock(&S.mu);
        while ((S.active > 0 || S.qhead != NULL) && !*o->stop_quick) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&S.done, &S.mu, &ts);
            o->tick();
        }
        pthread_mutex_unlock(&S.mu);
    }
    /* greenlets finish the requests they run (the hub runs them while the
     * loop waits) */
    while (S.mode == MODE_GREEN && S.active > 0 && !*o->stop_quick) {
        cg_io_wait(S.epfd, POLLIN, 100);
        o->tick();
    }
    /* threads are not joined: the process exits next */
    return 0;
}
