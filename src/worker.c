/* worker.c - a worker process: signals, privileges, hooks, loading the app;
 * then serve.c's connection loop (sync or gthread). */
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
#include "green.h"
#include "hooks.h"
#include "http_parser.h"
#include "proctitle.h"
#include "reloader.h"
#include "serve.h"
#include "ipmatch.h"
#include "proxy_protocol.h"
#include "statsd.h"
#include "py_embed.h"
#include "wsgi.h"

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

/* INT, QUIT and ABRT are Python-level handlers; Python's C handler only
 * marks them pending, to be run at the next bytecode.  The worker's loop
 * runs no bytecode while idle, so this wrapper also tells it to run them. */
static volatile sig_atomic_t py_signal_pending;
static struct sigaction python_action[NSIG];

static void mark_python_signal(int sig, siginfo_t *info, void *uctx)
{
    py_signal_pending = 1;
    if (python_action[sig].sa_flags & SA_SIGINFO)
        python_action[sig].sa_sigaction(sig, info, uctx);
    else if (python_action[sig].sa_handler != SIG_DFL && python_action[sig].sa_handler != SIG_IGN)
        python_action[sig].sa_handler(sig);
}

/* Put mark_python_signal in front of Python's handlers. */
static void wrap_python_signals(void)
{
    static const int sigs[] = {SIGINT, SIGQUIT, SIGABRT};
    struct sigaction sa;

    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaction(sigs[i], NULL, &python_action[sigs[i]]);
        sa = python_action[sigs[i]];
        sa.sa_flags = (sa.sa_flags | SA_SIGINFO) & ~SA_RESETHAND;
        sa.sa_sigaction = mark_python_signal;
        sigaction(sigs[i], &sa, NULL);
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
                cg_log(CG_LOG_ERROR, "initgroups for uid %d failed: %s", (int)uid, strerror(errno));
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

const char *cg_worker_class(const cg_config_t *cfg, int *threads)
{
    const char *wc = cg_config_str(cfg, CG_SET_worker_class);
    long n = cg_config_int(cfg, CG_SET_threads);

    if (wc == NULL)
        wc = "sync";
    if (strncmp(wc, "egg:gunicorn#", 13) == 0)
        wc += 13;
    if (strcmp(wc, "gunicorn.workers.sync.SyncWorker") == 0)
        wc = "sync";
    if (strcmp(wc, "gunicorn.workers.gthread.ThreadWorker") == 0)
        wc = "gthread";
    if (strcmp(wc, "sync") == 0 && n > 1)
        wc = "gthread"; /* gunicorn's rule */
    if (strcmp(wc, "sync") == 0) {
        *threads = 0;
        return "sync";
    }
    if (strcmp(wc, "gthread") == 0) {
        *threads = n >= 1 ? (int)n : 1;
        return "gthread";
    }
    if (cg_green_kind(wc)) {
        *threads = 0; /* greenlets; --threads is ignored, as gunicorn does */
        return wc;
    }
    *threads = -1;
    return wc;
}

/* The parser's limits and switches from the settings. */
static void limits_from_config(cg_http_limits *lim, const cg_config_t *cfg)
{
    const char *hm = cg_config_str(cfg, CG_SET_header_map);

    cg_http_limits_from_settings(lim, cg_config_int(cfg, CG_SET_limit_request_line),
                                 cg_config_int(cfg, CG_SET_limit_request_fields),
                                 cg_config_int(cfg, CG_SET_limit_request_field_size));
    lim->permit_obsolete_folding = cg_config_bool(cfg, CG_SET_permit_obsolete_folding);
    lim->strip_header_spaces = cg_config_bool(cfg, CG_SET_strip_header_spaces);
    lim->permit_unconventional_method =
        cg_config_bool(cfg, CG_SET_permit_unconventional_http_method);
    lim->permit_unconventional_version =
        cg_config_bool(cfg, CG_SET_permit_unconventional_http_version);
    lim->casefold_method = cg_config_bool(cfg, CG_SET_casefold_http_method);
    lim->header_map = hm && strcmp(hm, "refuse") == 0      ? 1
                      : hm && strcmp(hm, "dangerous") == 0 ? 2
                                                           : 0;
}

static pid_t master_pid;
static cg_reloader_t *reloader;
static const char *const *reload_extra;
static size_t reload_nextra;

/* Each pass of the loop: heartbeat, log reopening, the master still there,
 * new modules to watch. */
static void tick(void)
{
    static time_t last_scan;

    cg_sb_heartbeat();
    if (py_signal_pending) {
        py_signal_pending = 0;
        cg_py_run_pending_signals(); /* INT, QUIT, ABRT that came in between */
    }
    if (reopen_logs) {
        reopen_logs = 0;
        cg_log_reopen();
    }
    if (getppid() != master_pid && !stop_graceful) {
        cg_log(CG_LOG_INFO, "Parent changed, shutting down: <Worker %d>", (int)getpid());
        stop_graceful = 1;
    }
    if (reloader && time(NULL) != last_scan) {
        /* modules imported since the last look are watched too */
        last_scan = time(NULL);
        cg_py_acquire_gil();
        cg_reloader_scan(reloader, reload_extra, reload_nextra);
        cg_py_release_gil();
    }
}

/* A signal woke the loop: run INT/QUIT/ABRT's Python-level handlers. */
static void interrupted(void)
{
    if (py_signal_pending) {
        py_signal_pending = 0;
        cg_py_run_pending_signals();
    }
}

/* Before each request: the count hooks see as worker.nr. */
static void on_request(void)
{
    __atomic_add_fetch(&self_info.nr, 1, __ATOMIC_RELAXED);
}

static void reloader_event(void)
{
    const char *changed = cg_reloader_changed(reloader);
    if (changed) {
        cg_log(CG_LOG_INFO, "Worker reloading: %s modified", changed);
        stop_graceful = 1;
    }
}

void cg_worker_main(const cg_worker_params *p)
{
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
    /* gevent/eventlet patch the process before the app is imported; with
     * --preload the app came with the fork */
    const char *green = cg_green_kind(cg_config_str(p->cfg, CG_SET_worker_class));
    rc = cg_hook_call_server_worker(CG_SET_post_fork, &master_info, &self_info) != 0
             ? CG_EXIT_WORKER_BOOT_ERROR
         : green && cg_green_setup(green) != 0 ? CG_EXIT_WORKER_BOOT_ERROR
         : cg_py_app()                         ? 0
                       : cg_py_load_app(p->app_uri, "Exception in worker process");
    if (rc == 0 && cg_wsgi_setup(p->cfg, err, sizeof(err)) != 0) {
        cg_log(CG_LOG_ERROR, "%s", err);
        rc = CG_EXIT_WORKER_BOOT_ERROR;
    }
    if (rc == 0 && (cg_py_worker_signals(on_python_signal) != 0 ||
                    cg_hook_call_worker(CG_SET_post_worker_init, &self_info) != 0))
        rc = CG_EXIT_WORKER_BOOT_ERROR;
    if (rc == 0)
        wrap_python_signals();
    self_info.booted = rc == 0;
    if (rc != 0) {
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }

    cg_serve_opts o = {
        .listeners = p->listeners,
        .nlisteners = p->nlisteners,
        .threads = p->threads,
        .keepalive = (p->threads > 0 || green) && cg_config_int(p->cfg, CG_SET_keepalive) > 0,
        .keepalive_s = (int)cg_config_int(p->cfg, CG_SET_keepalive),
        .client_timeout_s = (int)cg_config_int(p->cfg, CG_SET_client_timeout),
        .worker_connections = cg_config_int(p->cfg, CG_SET_worker_connections),
        .max_requests = max_requests_share(p->cfg),
        .stop_graceful = &stop_graceful,
        .stop_quick = &stop_quick,
        .reloader_fd = -1,
        .tick = tick,
        .interrupted = interrupted,
        .reloader_event = reloader_event,
        .thread_start = cg_py_thread_attach,
        .on_request = on_request,
        .spawn = green ? cg_green_spawn : NULL,
    };
    limits_from_config(&o.lim, p->cfg);
    const char *pp = cg_config_str(p->cfg, CG_SET_proxy_protocol);
    o.proxy_mode = pp == NULL || strcmp(pp, "off") == 0 ? CG_PROXY_OFF
                   : strcmp(pp, "v1") == 0              ? CG_PROXY_V1
                   : strcmp(pp, "v2") == 0              ? CG_PROXY_V2
                                                        : CG_PROXY_AUTO;
    if (o.proxy_mode != CG_PROXY_OFF) {
        char iperr[256];
        char *allow = cg_config_list_joined(p->cfg, CG_SET_proxy_allow_ips);
        o.proxy_allow = cg_ipmatch_new(allow, iperr, sizeof(iperr));
        free(allow);
        if (o.proxy_allow == NULL) {
            cg_log(CG_LOG_ERROR, "Invalid proxy_allow_ips: %s", iperr);
            _exit(CG_EXIT_WORKER_BOOT_ERROR);
        }
    }
    if (o.client_timeout_s <= 0)
        o.client_timeout_s = 10;
    if (o.worker_connections <= 0)
        o.worker_connections = 1000;
    master_pid = p->master_pid;
    if (cg_config_bool(p->cfg, CG_SET_reload)) {
        reloader = cg_reloader_new();
        reload_nextra = cg_config_list(p->cfg, CG_SET_reload_extra_files, &reload_extra);
        o.reloader_fd = reloader ? cg_reloader_fd(reloader) : -1;
    }
    cg_wsgi_set_stop_flag(&stop_graceful);
    cg_py_release_gil();
    cg_sb_set_state(CG_WS_IDLE);
    if (cg_serve(&o) != 0)
        cg_log(CG_LOG_ERROR, "Exception in worker process\ncannot set up the event loop");
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
