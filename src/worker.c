/* worker.c - the sync worker: one connection, one request at a time, as
 * gunicorn's sync worker (every response closes the connection). */
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cgunicorn/arbiter.h"
#include "cgunicorn/cgunicorn.h"
#include "cgunicorn/log.h"
#include "hooks.h"
#include "http_parser.h"
#include "proctitle.h"
#include "reloader.h"
#include "statsd.h"
#include "py_embed.h"
#include "wsgi.h"

#define BODY_BUF_SIZE (64 * 1024)
#define HEAD_BUF_START 8192

static volatile sig_atomic_t stop_graceful; /* TERM */
static volatile sig_atomic_t stop_quick;    /* INT, QUIT, ABRT (via Python) */
static volatile sig_atomic_t exit_code;     /* of a quick stop: 0, or 1 for ABRT */
static volatile sig_atomic_t reopen_logs;   /* USR1 */

/* What the hooks see of this worker. */
static cg_hook_worker self_info;
static cg_hook_server master_info;

/* TERM and USR1 only set flags; INT, QUIT and ABRT are Python-level
 * handlers (cg_py_worker_signals) so they interrupt the app as gunicorn's
 * do.  Until those are installed, INT/QUIT still stop the worker here. */
static void on_signal(int sig)
{
    switch (sig) {
    case SIGTERM:
        stop_graceful = 1;
        break;
    case SIGINT:
    case SIGQUIT:
        stop_quick = 1;
        break;
    case SIGUSR1:
        reopen_logs = 1;
        break;
    }
}

/* Runs in Python's signal handler (main thread, GIL held), before the
 * SystemExit that unwinds the app: gunicorn's handle_quit/handle_abort. */
static void on_python_signal(int sig)
{
    stop_quick = 1;
    if (sig == SIGABRT) {
        exit_code = 1;
        cg_hook_call_worker(CG_SET_worker_abort, &self_info);
    } else {
        cg_hook_call_worker(CG_SET_worker_int, &self_info);
    }
}

/* The worker's own dispositions (gunicorn's Worker.init_signals). */
static void init_signals(void)
{
    struct sigaction sa;
    sigset_t none;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: poll() must wake up */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGWINCH, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGTTIN, &sa, NULL);
    sigaction(SIGTTOU, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGABRT, &sa, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Fill c->remote_addr/port from the peer address. */
static void describe_peer(cg_wsgi_conn *c, const struct sockaddr_storage *ss)
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

typedef struct {
    cg_http_limits lim;
    cg_http_header *hdrs;
    size_t max_hdrs;
    char *buf;
    size_t cap, max_cap;
    char *body_buf;
    int io_timeout_s;
    unsigned long long max_requests; /* this worker's share, jitter included */
    bool retire;                     /* max_requests reached */
} worker_state;

/* Read and parse one request head on fd, then serve it. */
static void serve_connection(worker_state *ws, const cg_listener *l, int fd,
                             const struct sockaddr_storage *peer)
{
    cg_wsgi_conn c;
    cg_http_request req;
    cg_http_error err;
    ssize_t head = CG_HTTP_INCOMPLETE;
    struct timeval tv = {.tv_sec = ws->io_timeout_s};

    memset(&c, 0, sizeof(c));
    c.fd = fd;
    c.listener = l;
    c.buf = ws->buf;
    c.body_buf = ws->body_buf;
    c.body_cap = BODY_BUF_SIZE;
    c.req = &req;
    c.lim = &ws->lim;
    describe_peer(&c, peer);
    if (ws->io_timeout_s > 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    for (;;) {
        if (c.len == ws->cap) {
            /* grow toward the largest head the limits allow */
            size_t ncap = ws->cap * 2 > ws->max_cap ? ws->max_cap : ws->cap * 2;
            char *nb = ncap > ws->cap ? realloc(ws->buf, ncap) : NULL;
            if (nb == NULL)
                break;
            ws->buf = c.buf = nb;
            ws->cap = ncap;
        }
        ssize_t n = recv(fd, c.buf + c.len, ws->cap - c.len, 0);
        if (n < 0 && errno == EINTR) {
            if (stop_quick)
                return;
            continue;
        }
        if (n <= 0)
            return; /* closed, reset or timed out before a whole head */
        c.len += (size_t)n;
        head = cg_http_parse_request(c.buf, c.len, &ws->lim, &req, ws->hdrs, ws->max_hdrs, &err);
        if (head != CG_HTTP_INCOMPLETE)
            break;
    }
    if (head == CG_HTTP_INCOMPLETE) {
        cg_http_error e = {.status = 431, .reason = "Request Header Fields Too Large"};
        snprintf(e.msg, sizeof(e.msg), "Error parsing headers: 'max buffer headers'");
        cg_wsgi_reject(&c, &e);
        return;
    }
    if (head < 0) {
        cg_wsgi_reject(&c, &err);
        cg_sb_request_end(c.status, 0, 0);
        return;
    }
    c.head_len = (size_t)head;
    c.keep_alive_allowed = false; /* the sync worker closes after each response */
    if (++self_info.nr >= ws->max_requests && !ws->retire) {
        cg_log(CG_LOG_INFO, "Autorestarting worker after current request.");
        ws->retire = true;
    }
    cg_sb_request_start(req.method, req.method_len, req.target, req.target_len, c.remote_addr);
    cg_wsgi_handle(&c);
    cg_sb_request_end(c.status, (uint64_t)c.sent, (uint64_t)c.duration_us);
    cg_statsd_request(c.status, (double)c.duration_us / 1000.0);
}

/* -u/-g: the worker runs as that user and group (gunicorn's
 * set_owner_process; the master keeps its own identity). */
static int drop_privileges(const cg_config_t *cfg)
{
    uid_t uid = (uid_t)cg_config_int(cfg, CG_SET_user);
    gid_t gid = (gid_t)cg_config_int(cfg, CG_SET_group);

    if (gid != getegid()) {
        if (cg_config_bool(cfg, CG_SET_initgroups)) {
            struct passwd *pw = getpwuid(uid);
            if (pw == NULL || initgroups(pw->pw_name, gid) != 0) {
                cg_log(CG_LOG_ERROR, "initgroups for uid %d failed: %s", (int)uid,
                       strerror(errno));
                return -1;
            }
        } else if (geteuid() == 0 && setgroups(0, NULL) != 0) {
            cg_log(CG_LOG_ERROR, "setgroups failed: %s", strerror(errno));
            return -1;
        }
        if (setgid(gid) != 0) {
            cg_log(CG_LOG_ERROR, "Couldn't change group to %d: %s", (int)gid, strerror(errno));
            return -1;
        }
    }
    if (uid != geteuid() && setuid(uid) != 0) {
        cg_log(CG_LOG_ERROR, "Couldn't change user to %d: %s", (int)uid, strerror(errno));
        return -1;
    }
    return 0;
}

/* gunicorn: max_requests + randint(0, max_requests_jitter); 0 = no limit. */
static unsigned long long max_requests_share(const cg_config_t *cfg)
{
    long mr = cg_config_int(cfg, CG_SET_max_requests);
    long jitter = cg_config_int(cfg, CG_SET_max_requests_jitter);

    if (mr <= 0)
        return ULLONG_MAX;
    if (jitter > 0) {
        srand((unsigned)getpid() ^ (unsigned)time(NULL));
        mr += rand() % (jitter + 1);
    }
    return (unsigned long long)mr;
}

void cg_worker_main(const cg_worker_params *p)
{
    worker_state ws;
    struct pollfd pfds[65]; /* the listeners, and the reloader's inotify fd */
    size_t n = p->nlisteners < 64 ? p->nlisteners : 64;
    char err[512];
    int rc;

    init_signals();
    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
    if (getppid() != p->master_pid)
        _exit(0); /* the master died before we could ask to be told */
    cg_scoreboard_bind(p->scoreboard, p->slot);
    if (p->output_fd >= 0) {
        /* dashboard mode: print() and tracebacks go to the master, never
         * to the terminal; and out of the terminal's foreground process
         * group, so no key on it ever becomes a signal to a worker */
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            close(devnull);
        }
        dup2(p->output_fd, STDOUT_FILENO);
        dup2(p->output_fd, STDERR_FILENO);
        close(p->output_fd);
        setpgid(0, 0);
    }
    if (p->traceback_fd >= 0)
        cg_py_register_traceback(CG_SIG_TRACEBACK, p->traceback_fd);
    cg_proctitle_set("cgunicorn: worker [%s]", p->proc_name);
    cg_log(CG_LOG_INFO, "Booting worker with pid: %d", (int)getpid());

    self_info = (cg_hook_worker){.pid = getpid(),
                                 .ppid = p->master_pid,
                                 .age = p->age,
                                 .max_requests = cg_config_int(p->cfg, CG_SET_max_requests),
                                 .timeout = cg_config_int(p->cfg, CG_SET_timeout)};
    master_info = p->server;
    cg_hooks_set_worker(&self_info);
    /* gunicorn: an exception in post_fork or post_worker_init is a failed boot */
    if (drop_privileges(p->cfg) != 0)
        _exit(CG_EXIT_WORKER_BOOT_ERROR);
    /* with --preload the app came with the fork */
    rc = cg_hook_call_server_worker(CG_SET_post_fork, &master_info, &self_info) != 0
             ? CG_EXIT_WORKER_BOOT_ERROR
         : cg_py_app() ? 0
                       : cg_py_load_app(p->app_uri, "Exception in worker process");
    if (rc == 0 && cg_wsgi_setup(p->cfg, err, sizeof(err)) != 0) {
        cg_log(CG_LOG_ERROR, "%s", err);
        rc = CG_EXIT_WORKER_BOOT_ERROR;
    }
    if (rc == 0 && (cg_py_worker_signals(on_python_signal) != 0 ||
                    cg_hook_call_worker(CG_SET_post_worker_init, &self_info) != 0))
        rc = CG_EXIT_WORKER_BOOT_ERROR;
    self_info.booted = rc == 0;
    if (rc != 0) {
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }

    memset(&ws, 0, sizeof(ws));
    cg_http_limits_from_settings(&ws.lim, cg_config_int(p->cfg, CG_SET_limit_request_line),
                                 cg_config_int(p->cfg, CG_SET_limit_request_fields),
                                 cg_config_int(p->cfg, CG_SET_limit_request_field_size));
    ws.lim.permit_obsolete_folding = cg_config_bool(p->cfg, CG_SET_permit_obsolete_folding);
    ws.lim.strip_header_spaces = cg_config_bool(p->cfg, CG_SET_strip_header_spaces);
    ws.lim.permit_unconventional_method =
        cg_config_bool(p->cfg, CG_SET_permit_unconventional_http_method);
    ws.lim.permit_unconventional_version =
        cg_config_bool(p->cfg, CG_SET_permit_unconventional_http_version);
    ws.lim.casefold_method = cg_config_bool(p->cfg, CG_SET_casefold_http_method);
    {
        const char *hm = cg_config_str(p->cfg, CG_SET_header_map);
        ws.lim.header_map = hm && strcmp(hm, "refuse") == 0 ? 1 : hm && strcmp(hm, "dangerous") == 0 ? 2 : 0;
    }
    ws.max_hdrs = ws.lim.max_fields + 1;
    ws.hdrs = calloc(ws.max_hdrs, sizeof(cg_http_header));
    ws.max_cap = (ws.lim.max_line ? ws.lim.max_line : 8190) + 2 +
                 ws.lim.max_fields * (ws.lim.max_field_size + 2) + 4 + BODY_BUF_SIZE;
    ws.cap = HEAD_BUF_START;
    ws.buf = malloc(ws.cap);
    ws.body_buf = malloc(BODY_BUF_SIZE);
    ws.io_timeout_s = (int)cg_config_int(p->cfg, CG_SET_timeout);
    ws.max_requests = max_requests_share(p->cfg);
    if (ws.hdrs == NULL || ws.buf == NULL || ws.body_buf == NULL) {
        cg_log(CG_LOG_ERROR, "Exception in worker process\nMemoryError");
        _exit(CG_EXIT_WORKER_BOOT_ERROR);
    }
    for (size_t i = 0; i < n; i++) {
        pfds[i].fd = p->listeners[i].fd;
        pfds[i].events = POLLIN;
    }
    cg_reloader_t *reloader = cg_config_bool(p->cfg, CG_SET_reload) ? cg_reloader_new() : NULL;
    const char *const *extra = NULL;
    size_t nextra = cg_config_list(p->cfg, CG_SET_reload_extra_files, &extra);
    time_t last_scan = 0;
    if (reloader) {
        pfds[n].fd = cg_reloader_fd(reloader);
        pfds[n].events = POLLIN;
    }
    cg_py_release_gil();
    cg_sb_set_state(CG_WS_IDLE);

    while (!stop_graceful && !stop_quick && !ws.retire) {
        bool served = false;

        cg_sb_heartbeat();
        if (reopen_logs) {
            reopen_logs = 0;
            cg_log_reopen();
        }
        if (getppid() != p->master_pid) {
            cg_log(CG_LOG_INFO, "Parent changed, shutting down: <Worker %d>", (int)getpid());
            break;
        }
        /* accept first: under load a connection is usually waiting */
        for (size_t i = 0; i < n && !stop_graceful && !stop_quick; i++) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof(ss);
            int fd = accept4(pfds[i].fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
            if (fd < 0)
                continue;
            if (sl == 0 || ss.ss_family == AF_UNIX)
                ss.ss_family = AF_UNIX;
            serve_connection(&ws, &p->listeners[i], fd, &ss);
            close(fd);
            served = true;
        }
        if (reloader && time(NULL) != last_scan) {
            /* modules imported since the last look are watched too */
            last_scan = time(NULL);
            cg_py_acquire_gil();
            cg_reloader_scan(reloader, extra, nextra);
            cg_py_release_gil();
        }
        if (!served && poll(pfds, n + (reloader != NULL), 1000) < 0 && errno == EINTR)
            cg_py_run_pending_signals(); /* INT, QUIT, ABRT while idle */
        if (reloader && (pfds[n].revents & POLLIN)) {
            const char *changed = cg_reloader_changed(reloader);
            if (changed) {
                cg_log(CG_LOG_INFO, "Worker reloading: %s modified", changed);
                break;
            }
        }
    }
    cg_sb_set_state(CG_WS_STOPPING);
    if (reopen_logs)
        cg_log_reopen(); /* a USR1 just before the TERM */
    cg_log(CG_LOG_INFO, "Worker exiting (pid: %d)", (int)getpid());
    cg_py_acquire_gil();
    cg_hook_call_server_worker(CG_SET_worker_exit, &master_info, &self_info);
    fflush(stdout);
    fflush(stderr);
    _exit(stop_quick ? exit_code : 0);
}
