/* arbiter.c - the master: pre-fork workers, keep their number, handle
 * signals the way gunicorn's Arbiter does. */
#include "cgunicorn/arbiter.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgunicorn/cgunicorn.h"
#include "cgunicorn/log.h"
#include "hooks.h"
#include "pidfile.h"
#include "statsd.h"
#include "systemd.h"
#include "proctitle.h"
#include "py_embed.h"
#include "sock.h"
#include "worker.h"

#define MAX_LISTENERS 64
#define MAX_HOOK_PIDS CG_SB_MAX_SLOTS

typedef struct {
    pid_t pid;
    unsigned age;        /* spawn order: the oldest are stopped first */
    unsigned generation; /* bumped on HUP: older generations are retired */
    bool stopping;       /* sent TERM/QUIT/KILL already */
    int sb_slot;         /* its scoreboard slot, -1 if none */
    int tb_fd;           /* read end of its traceback pipe, -1 if none */
    double aborted_at;   /* when it was sent SIGABRT for a timeout, 0 if not */
} worker_slot;

typedef enum { RUNNING, STOPPING, STOPPED } arbiter_state;

struct cg_arbiter {
    cg_config_t *cfg;
    char *app_uri;
    char *proc_name;
    cg_config_reload_fn reload_fn;
    void *reload_ctx;
    cg_listener listeners[MAX_LISTENERS];
    size_t nlisteners;
    worker_slot *workers;
    size_t nworkers, capworkers;
    int target;
    unsigned next_age;
    unsigned generation;
    pid_t pid;
    arbiter_state state;
    bool quick;
    struct timespec deadline;
    int exit_code;
    const char *reason;
    pid_t hook_pids[MAX_HOOK_PIDS]; /* scratch for hook_server() */
    size_t hook_npids;
    const char *hook_urls[MAX_LISTENERS];
    int64_t started_ns;
    pid_t parent_master;    /* USR2 child: the old master (GUNICORN_PID), else 0 */
    pid_t reexec_pid;       /* USR2 parent: the new master, else 0 */
    bool systemd;           /* listeners came from systemd socket activation */
    char *pidfile;          /* the pid file in use (with .2 for a USR2 child) */
    char *const *exec_argv; /* for USR2: how we were started */
    char *const *exec_envp;
    char *exec_cwd;
    int last_gauge; /* gunicorn.workers last sent to statsd */
    int epfd;       /* capture mode: readable when signals or output wait */
    cg_scoreboard_t *sb;
    bool capture;      /* dashboard mode: worker output comes to us */
    int out_pipe[2];   /* workers' stdout/stderr in capture mode */
    char outbuf[4096]; /* a partial line from out_pipe */
    size_t outlen;
    cg_arbiter_event_fn event_fn;
    void *event_ctx;
};

static int sigpipe_fds[2] = {-1, -1};

/* Tell the front end (if any) about something worth a confirmation. */
static void event(cg_arbiter_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void event(cg_arbiter_t *a, const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    if (a->event_fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    a->event_fn(a->event_ctx, buf);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const int handled_signals[] = {SIGHUP,  SIGQUIT, SIGINT,  SIGTERM,  SIGTTIN,
                                      SIGTTOU, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD};

/* Every master signal only writes its number to the pipe. */
static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(sigpipe_fds[1], &b, 1) < 0) {
        /* the pipe is full: the loop is already awake */
    }
    errno = saved;
}

static void (*fatal_cb)(void);
static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

/* A fatal signal in the master: let the front end restore the terminal,
 * then die of the same signal. */
static void on_fatal(int sig)
{
    if (fatal_cb)
        fatal_cb();
    signal(sig, SIG_DFL);
    raise(sig);
}

void cg_arbiter_set_fatal_cb(void (*fn)(void))
{
    struct sigaction sa;

    fatal_cb = fn;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn ? on_fatal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
        sigaction(fatal_signals[i], &sa, NULL);
}

static const char *signame(int sig)
{
    switch (sig) {
    case SIGHUP:
        return "hup";
    case SIGQUIT:
        return "quit";
    case SIGINT:
        return "int";
    case SIGTERM:
        return "term";
    case SIGTTIN:
        return "ttin";
    case SIGTTOU:
        return "ttou";
    case SIGUSR1:
        return "usr1";
    case SIGUSR2:
        return "usr2";
    case SIGWINCH:
        return "winch";
    case SIGCHLD:
        return "chld";
    }
    return "?";
}

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_deadline(cg_arbiter_t *a, double seconds)
{
    double t = now_mono() + seconds;
    a->deadline.tv_sec = (time_t)t;
    a->deadline.tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
}

static bool deadline_passed(const cg_arbiter_t *a)
{
    return now_mono() >= (double)a->deadline.tv_sec + (double)a->deadline.tv_nsec / 1e9;
}

cg_arbiter_t *cg_arbiter_new(cg_config_t *cfg, const char *app_uri, cg_config_reload_fn reload,
                             void *reload_ctx)
{
    cg_arbiter_t *a = calloc(1, sizeof(*a));
    const char *name;

    if (a == NULL)
        return NULL;
    a->cfg = cfg;
    a->app_uri = strdup(app_uri);
    name = cg_config_str(cfg, CG_SET_proc_name);
    if (name == NULL)
        name = app_uri; /* gunicorn's default_proc_name is the app URI */
    a->proc_name = strdup(name);
    a->reload_fn = reload;
    a->reload_ctx = reload_ctx;
    a->target = (int)cg_config_int(cfg, CG_SET_workers);
    a->pid = getpid();
    for (size_t i = 0; i < MAX_LISTENERS; i++)
        a->listeners[i].fd = -1;
    a->out_pipe[0] = a->out_pipe[1] = -1;
    a->epfd = -1;
    return a;
}

void cg_arbiter_free(cg_arbiter_t *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->nlisteners; i++)
        cg_listener_close(&a->listeners[i], false);
    for (size_t i = 0; i < a->nworkers; i++)
        if (a->workers[i].tb_fd >= 0)
            close(a->workers[i].tb_fd);
    if (a->out_pipe[0] >= 0)
        close(a->out_pipe[0]);
    if (a->out_pipe[1] >= 0)
        close(a->out_pipe[1]);
    if (a->epfd >= 0)
        close(a->epfd);
    cg_config_free(a->cfg);
    free(a->app_uri);
    free(a->proc_name);
    free(a->pidfile);
    free(a->exec_cwd);
    free(a->workers);
    free(a);
}

int cg_arbiter_fd(const cg_arbiter_t *a)
{
    return a->epfd >= 0 ? a->epfd : sigpipe_fds[0];
}

int cg_arbiter_exit_code(const cg_arbiter_t *a)
{
    return a->exit_code;
}

static int open_listeners(cg_arbiter_t *a);

/* Take over already-listening sockets (systemd, or a USR2 parent). */
static int adopt_listeners(cg_arbiter_t *a, const int *fds, size_t n)
{
    for (size_t i = 0; i < n && i < MAX_LISTENERS; i++) {
        cg_addr addr = {.kind = CG_ADDR_FD, .fd = fds[i]};
        if (cg_listener_open(&a->listeners[i], &addr, 0, 0, false) != 0)
            return -1;
        a->nlisteners = i + 1;
    }
    return 0;
}

/* The sockets gunicorn would start with: systemd's LISTEN_FDS, else those
 * a USR2 parent passed in GUNICORN_FD, else bind every --bind address. */
static int start_listeners(cg_arbiter_t *a)
{
    int fds[MAX_LISTENERS];
    size_t n = 0;
    int sd = cg_systemd_listen_fds();
    const char *inherited = getenv("GUNICORN_FD");

    if (sd > 0) {
        a->systemd = true;
        for (int i = 0; i < sd && n < MAX_LISTENERS; i++)
            fds[n++] = 3 + i;
        return adopt_listeners(a, fds, n);
    }
    if (a->parent_master && inherited) {
        char *copy = strdup(inherited), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t && n < MAX_LISTENERS;
             t = strtok_r(NULL, ",", &save))
            fds[n++] = atoi(t);
        free(copy);
        unsetenv("GUNICORN_FD");
        return adopt_listeners(a, fds, n);
    }
    return open_listeners(a);
}

/* Open every --bind address.  0, or -1 (already logged). */
static int open_listeners(cg_arbiter_t *a)
{
    const char *const *binds;
    size_t n = cg_config_list(a->cfg, CG_SET_bind, &binds);
    int backlog = (int)cg_config_int(a->cfg, CG_SET_backlog);
    int um = (int)cg_config_int(a->cfg, CG_SET_umask);
    char err[256];

    if (n > MAX_LISTENERS)
        n = MAX_LISTENERS;
    for (size_t i = 0; i < n; i++) {
        cg_addr addr;
        if (cg_addr_parse(binds[i], &addr, err, sizeof(err)) != 0) {
            cg_log(CG_LOG_ERROR, "%s", err);
            return -1;
        }
        if (cg_listener_open(&a->listeners[i], &addr, backlog, um,
                             cg_config_bool(a->cfg, CG_SET_reuse_port)) != 0)
            return -1;
        a->nlisteners = i + 1;
    }
    return 0;
}

static void close_listeners(cg_arbiter_t *a, bool unlink_paths)
{
    /* gunicorn keeps unix socket files while a USR2 relative uses them */
    if (a->reexec_pid || a->parent_master || a->systemd ||
        cg_config_bool(a->cfg, CG_SET_reuse_port))
        unlink_paths = false;
    for (size_t i = 0; i < a->nlisteners; i++)
        cg_listener_close(&a->listeners[i], unlink_paths);
    a->nlisteners = 0;
}

static void log_listening(cg_arbiter_t *a)
{
    char urls[4096];
    cg_listeners_urls(a->listeners, a->nlisteners, urls, sizeof(urls));
    cg_log(CG_LOG_INFO, "Listening at: %s (%d)", urls, (int)a->pid);
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < sizeof(handled_signals) / sizeof(handled_signals[0]); i++)
        sigaction(handled_signals[i], &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

/* What the hooks see of the master now.  The arrays live in a. */
static cg_hook_server hook_server(cg_arbiter_t *a)
{
    a->hook_npids = 0;
    for (size_t i = 0; i < a->nworkers && i < MAX_HOOK_PIDS; i++)
        a->hook_pids[a->hook_npids++] = a->workers[i].pid;
    for (size_t i = 0; i < a->nlisteners; i++)
        a->hook_urls[i] = a->listeners[i].url;
    return (cg_hook_server){.pid = a->pid,
                            .app_uri = a->app_uri,
                            .proc_name = a->proc_name,
                            .num_workers = a->target,
                            .worker_pids = a->hook_pids,
                            .nworkers = a->hook_npids,
                            .listeners = a->hook_urls,
                            .nlisteners = a->nlisteners};
}

static void begin_stop(cg_arbiter_t *a, bool graceful);
static void reexec(cg_arbiter_t *a);

/* gunicorn: an exception in a hook the master runs from its main loop is
 * "Unhandled exception in main loop": quick stop, exit -1 (255). */
static void main_loop_failure(cg_arbiter_t *a)
{
    cg_log(CG_LOG_ERROR, "Unhandled exception in main loop");
    begin_stop(a, false);
    a->exit_code = 255;
}

/* Set the target worker count, firing nworkers_changed as gunicorn's
 * num_workers setter does (old < 0: None, the first time). */
static void set_target(cg_arbiter_t *a, int target, int old)
{
    a->target = target;
    if (target != old) {
        cg_log(CG_LOG_DEBUG, "%d workers", target);
        cg_hook_server s = hook_server(a);
        if (cg_hook_call_nworkers_changed(&s, target, old) != 0)
            main_loop_failure(a);
    }
}

/* Fork one worker.  False if none was forked (then stop trying for now). */
static bool spawn_worker(cg_arbiter_t *a)
{
    pid_t pid;

    if (a->nworkers == a->capworkers) {
        size_t cap = a->capworkers ? a->capworkers * 2 : 8;
        worker_slot *w = realloc(a->workers, cap * sizeof(*w));
        if (w == NULL)
            return false;
        a->workers = w;
        a->capworkers = cap;
    }
    cg_hook_server hs = hook_server(a);
    cg_hook_worker hw = {.ppid = a->pid,
                         .age = a->next_age,
                         .max_requests = cg_config_int(a->cfg, CG_SET_max_requests),
                         .timeout = cg_config_int(a->cfg, CG_SET_timeout)};
    if (cg_hook_call_server_worker(CG_SET_pre_fork, &hs, &hw) != 0) {
        main_loop_failure(a);
        return false;
    }
    int slot = a->sb ? cg_scoreboard_claim(a->sb, a->generation) : -1;
    int tb[2] = {-1, -1};
    if (pipe2(tb, O_CLOEXEC) == 0)
        fcntl(tb[0], F_SETFL, O_NONBLOCK);
    /* Block the master's signals across fork: until the child has installed
     * its own handlers (cg_worker_main's init_signals unblocks them), a
     * signal sent to it would run the master's handler there and write to
     * the self-pipe it still shares with the master (a TERM for the new
     * worker read as a TERM for the master), or be lost once the pipe is
     * closed. */
    sigset_t block, saved;
    sigemptyset(&block);
    for (size_t i = 0; i < sizeof(handled_signals) / sizeof(handled_signals[0]); i++)
        sigaddset(&block, handled_signals[i]);
    sigprocmask(SIG_BLOCK, &block, &saved);
    cg_py_before_fork();
    pid = fork();
    if (pid != 0)
        sigprocmask(SIG_SETMASK, &saved, NULL);
    if (pid < 0) {
        cg_py_after_fork_parent();
        cg_log(CG_LOG_ERROR, "fork failed: %s", strerror(errno));
        if (slot >= 0)
            cg_scoreboard_release(a->sb, slot);
        close(tb[0]);
        close(tb[1]);
        return false;
    }
    int threads;
    cg_worker_class(a->cfg, &threads);
    if (pid == 0) {
        cg_worker_params p = {
            .cfg = a->cfg,
            .listeners = a->listeners,
            .nlisteners = a->nlisteners,
            .app_uri = a->app_uri,
            .proc_name = a->proc_name,
            .master_pid = a->pid,
            .scoreboard = a->sb,
            .slot = slot,
            .traceback_fd = tb[1],
            .output_fd = a->capture ? a->out_pipe[1] : -1,
            .age = a->next_age,
            .server = hs,
            .threads = threads,
        };
        cg_py_after_fork_child();
        close(sigpipe_fds[0]);
        close(sigpipe_fds[1]);
        if (tb[0] >= 0)
            close(tb[0]);
        if (a->out_pipe[0] >= 0)
            close(a->out_pipe[0]);
        if (a->epfd >= 0)
            close(a->epfd);
        for (size_t i = 0; i < a->nworkers; i++)
            if (a->workers[i].tb_fd >= 0)
                close(a->workers[i].tb_fd);
        cg_worker_main(&p);
    }
    cg_py_after_fork_parent();
    if (tb[1] >= 0)
        close(tb[1]);
    if (slot >= 0)
        cg_scoreboard_set_pid(a->sb, slot, pid);
    a->workers[a->nworkers++] = (worker_slot){.pid = pid,
                                              .age = a->next_age++,
                                              .generation = a->generation,
                                              .sb_slot = slot,
                                              .tb_fd = tb[0]};
    event(a, "worker %d booting", (int)pid);
    return true;
}

static size_t live_workers(const cg_arbiter_t *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->nworkers; i++)
        n += !a->workers[i].stopping;
    return n;
}

static void signal_worker(worker_slot *w, int sig)
{
    if (kill(w->pid, sig) == 0 || errno == ESRCH)
        w->stopping = true;
}

/* gunicorn's manage_workers: spawn the missing, stop the oldest extras. */
static void manage_workers(cg_arbiter_t *a)
{
    if (a->state != RUNNING)
        return;
    while ((int)live_workers(a) < a->target && a->state == RUNNING)
        if (!spawn_worker(a))
            break; /* the next pass tries again */
    while ((int)live_workers(a) > a->target) {
        worker_slot *oldest = NULL;
        for (size_t i = 0; i < a->nworkers; i++)
            if (!a->workers[i].stopping && (!oldest || a->workers[i].age < oldest->age))
                oldest = &a->workers[i];
        if (oldest == NULL)
            break;
        signal_worker(oldest, SIGTERM);
    }
}

/* Log the Python traceback of a stuck worker, taken through its
 * faulthandler pipe (works even when it is stuck in C code). */
static void log_stuck_traceback(cg_arbiter_t *a, worker_slot *w)
{
    char tb[16384];
    size_t len = 0;
    double until = now_mono() + 0.3;

    if (cg_arbiter_request_traceback(a, w->pid) != 0)
        return;
    do {
        struct pollfd p = {.fd = w->tb_fd, .events = POLLIN};
        size_t before = len;
        poll(&p, 1, 50);
        len = cg_arbiter_read_traceback(a, w->pid, tb, len, sizeof(tb));
        if (len > 0 && len == before)
            break; /* it stopped writing */
    } while (now_mono() < until);
    if (len > 0) {
        while (len > 0 && tb[len - 1] == '\n')
            tb[--len] = '\0';
        cg_log(CG_LOG_ERROR, "Traceback of worker %d at its timeout:\n%s", (int)w->pid, tb);
    }
}

/* gunicorn's murder_workers: a worker silent for longer than timeout gets
 * SIGABRT (its worker_abort hook runs, the request unwinds with a logged
 * traceback), and SIGKILL if it is still there a little later. */
static void murder_workers(cg_arbiter_t *a)
{
    long timeout = cg_config_int(a->cfg, CG_SET_timeout);
    static cg_worker_row rows[CG_SB_MAX_SLOTS]; /* too big for the stack */
    size_t n;
    double now = now_mono();

    if (timeout <= 0 || a->sb == NULL)
        return;
    /* gevent/eventlet: a long request is fine as long as the hub beats */
    int threads;
    cg_worker_class(a->cfg, &threads);
    bool threaded = threads > 0;
    n = cg_scoreboard_snapshot(a->sb, rows, CG_SB_MAX_SLOTS);
    for (size_t i = 0; i < a->nworkers; i++) {
        worker_slot *w = &a->workers[i];
        if (w->aborted_at > 0) {
            if (now - w->aborted_at >= 2.0) {
                kill(w->pid, SIGKILL);
                w->aborted_at = now + 3600; /* once */
            }
            continue;
        }
        for (size_t r = 0; r < n; r++) {
            if (rows[r].slot != w->sb_slot || rows[r].pid != w->pid)
                continue;
            /* silent for too long, or (threaded workers, whose main loop
             * keeps beating) one request running for too long */
            bool silent = now - (double)rows[r].heartbeat_ns / 1e9 > (double)timeout;
            bool stuck = threaded && rows[r].nbusy > 0 &&
                         now - (double)rows[r].req_start_ns / 1e9 > (double)timeout;
            if (!silent && !stuck)
                break;
            cg_log(CG_LOG_CRITICAL, "WORKER TIMEOUT (pid:%d)", (int)w->pid);
            event(a, "worker %d timed out", (int)w->pid);
            log_stuck_traceback(a, w);
            kill(w->pid, SIGABRT);
            w->aborted_at = now;
            break;
        }
    }
}

/* Stop the arbiter now with the given code and reason. */
static void halt(cg_arbiter_t *a, int code, const char *reason)
{
    if (a->state == RUNNING) {
        close_listeners(a, true);
        for (size_t i = 0; i < a->nworkers; i++)
            signal_worker(&a->workers[i], SIGTERM);
        set_deadline(a, (double)cg_config_int(a->cfg, CG_SET_graceful_timeout));
    }
    a->state = STOPPING;
    a->exit_code = code;
    a->reason = reason;
}

/* Reap every exited child (waitpid WNOHANG loop). */
static void reap_workers(cg_arbiter_t *a)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        size_t i;
        for (i = 0; i < a->nworkers; i++)
            if (a->workers[i].pid == pid)
                break;
        if (i == a->nworkers) {
            if (pid == a->reexec_pid)
                a->reexec_pid = 0; /* the USR2 child is gone: USR2 works again */
            else
                cg_log(CG_LOG_DEBUG, "Reaped unknown child (pid:%d)", (int)pid);
            continue;
        }
        if (a->workers[i].sb_slot >= 0)
            cg_scoreboard_release(a->sb, a->workers[i].sb_slot);
        if (a->workers[i].tb_fd >= 0)
            close(a->workers[i].tb_fd);
        cg_hook_worker hw = {.pid = pid,
                             .ppid = a->pid,
                             .age = a->workers[i].age,
                             .max_requests = cg_config_int(a->cfg, CG_SET_max_requests),
                             .timeout = cg_config_int(a->cfg, CG_SET_timeout)};
        a->workers[i] = a->workers[--a->nworkers];
        cg_hook_server hs = hook_server(a);
        if (cg_hook_call_server_worker(CG_SET_child_exit, &hs, &hw) != 0)
            main_loop_failure(a);
        if (WIFEXITED(status))
            event(a, "worker %d exited (code %d)", (int)pid, WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
            event(a, "worker %d exited (%s)", (int)pid,
                  sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "signal");
        if (WIFEXITED(status)) {
            int code = WEXITSTATUS(status);
            if (code != 0)
                cg_log(CG_LOG_ERROR, "Worker (pid:%d) exited with code %d.", (int)pid, code);
            if (code == CG_EXIT_WORKER_BOOT_ERROR && a->state == RUNNING)
                halt(a, code, "Worker failed to boot.");
            else if (code == CG_EXIT_APP_LOAD_ERROR && a->state == RUNNING)
                halt(a, code, "App failed to load.");
        } else if (WIFSIGNALED(status)) {
            int sig = WTERMSIG(status);
            if (sig == SIGKILL)
                cg_log(CG_LOG_ERROR, "Worker (pid:%d) was sent SIGKILL! Perhaps out of memory?",
                       (int)pid);
            else if (sig == SIGTERM)
                cg_log(CG_LOG_INFO, "Worker (pid:%d) was sent SIGTERM!", (int)pid);
            else
                cg_log(CG_LOG_WARNING, "Worker (pid:%d) was sent SIG%s!", (int)pid,
                       sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
        }
    }
}

/* Begin a graceful (TERM) or quick (INT/QUIT) stop. */
static void begin_stop(cg_arbiter_t *a, bool graceful)
{
    if (a->state == STOPPING && !graceful && !a->quick) {
        /* gunicorn 26: INT/QUIT during a graceful stop turns it quick */
        cg_log(CG_LOG_INFO, "Quick shutdown requested");
        a->quick = true;
        for (size_t i = 0; i < a->nworkers; i++)
            kill(a->workers[i].pid, SIGQUIT);
        set_deadline(a, 2.0);
        return;
    }
    if (a->state != RUNNING)
        return;
    close_listeners(a, true);
    a->state = STOPPING;
    a->quick = !graceful;
    for (size_t i = 0; i < a->nworkers; i++)
        signal_worker(&a->workers[i], graceful ? SIGTERM : SIGQUIT);
    set_deadline(a, (double)cg_config_int(a->cfg, CG_SET_graceful_timeout));
}

/* HUP: new config, new workers, the old ones stopped gracefully. */
static void reload(cg_arbiter_t *a)
{
    cg_config_t *ncfg;
    const char *const *ob, *const *nb;
    size_t on, nn;
    bool rebind;

    cg_log(CG_LOG_INFO, "Hang up: Master");
    ncfg = a->reload_fn ? a->reload_fn(a->reload_ctx) : NULL;
    if (ncfg != NULL) {
        on = cg_config_list(a->cfg, CG_SET_bind, &ob);
        nn = cg_config_list(ncfg, CG_SET_bind, &nb);
        rebind = on != nn;
        for (size_t i = 0; !rebind && i < nn; i++)
            rebind = strcmp(ob[i], nb[i]) != 0;
        cg_config_free(a->cfg);
        a->cfg = ncfg;
        cg_hooks_use(ncfg);
        set_target(a, (int)cg_config_int(ncfg, CG_SET_workers), a->target);
        if (rebind) {
            close_listeners(a, true);
            if (open_listeners(a) != 0) {
                halt(a, 1, NULL);
                return;
            }
            log_listening(a);
        }
    }
    cg_log_reopen();
    cg_hook_server hs = hook_server(a);
    if (cg_hook_call_server(CG_SET_on_reload, &hs) != 0) {
        main_loop_failure(a);
        return;
    }
    a->generation++;
    for (int i = 0; i < a->target && a->state == RUNNING; i++)
        if (!spawn_worker(a))
            break;
    for (size_t i = 0; i < a->nworkers; i++)
        if (a->workers[i].generation != a->generation && !a->workers[i].stopping)
            signal_worker(&a->workers[i], SIGTERM);
}

static void handle_signal(cg_arbiter_t *a, int sig)
{
    if (sig == SIGCHLD) {
        cg_log(CG_LOG_DEBUG, "Handling signal: chld");
        reap_workers(a);
        return;
    }
    /* under the dashboard a WINCH is a terminal resize, not news */
    cg_log(sig == SIGWINCH && a->capture ? CG_LOG_DEBUG : CG_LOG_INFO, "Handling signal: %s",
           signame(sig));
    switch (sig) {
    case SIGHUP:
        if (a->state == RUNNING)
            reload(a);
        break;
    case SIGTERM:
        begin_stop(a, true);
        break;
    case SIGINT:
    case SIGQUIT:
        begin_stop(a, false);
        break;
    case SIGTTIN:
        cg_arbiter_scale(a, +1);
        break;
    case SIGTTOU:
        cg_arbiter_scale(a, -1);
        break;
    case SIGUSR1:
        cg_arbiter_reopen_logs(a);
        break;
    case SIGUSR2:
        reexec(a);
        break;
    case SIGWINCH:
        if (cg_config_bool(a->cfg, CG_SET_daemon)) {
            cg_log(CG_LOG_INFO, "graceful stop of workers");
            set_target(a, 0, a->target);
            for (size_t i = 0; i < a->nworkers; i++)
                signal_worker(&a->workers[i], SIGTERM);
        } else {
            cg_log(CG_LOG_DEBUG, "SIGWINCH ignored. Not daemonized");
        }
        break;
    }
}

/* Dashboard mode: every log line (master and workers alike, the observer
 * is inherited across fork) goes to the scoreboard's ring. */
static void ring_observer(void *ctx, bool access, const char *line, size_t len)
{
    cg_scoreboard_t *sb = cg_scoreboard_current();
    (void)ctx;
    if (sb == NULL)
        return;
    /* a traceback is one record but many lines: one ring line each */
    const char *end = line + len, *nl;
    while ((nl = memchr(line, '\n', (size_t)(end - line))) != NULL) {
        cg_sb_ring_push(sb, access, line, (size_t)(nl - line));
        line = nl + 1;
    }
    if (line < end)
        cg_sb_ring_push(sb, access, line, (size_t)(end - line));
}

/* Dashboard mode without an access log file: every error response goes to
 * the ring, successful ones at most about a thousand a second per thread -
 * the pane shows the last few dozen lines, and rendering every line would
 * cost the server a few percent of its CPU under heavy load. */
static bool sample_access(const cg_access_entry *e)
{
    static _Thread_local int64_t last;
    struct timespec ts;

    if (e->status >= 400)
        return true;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if (now - last < 1000000)
        return false;
    last = now;
    return true;
}

/* Dashboard mode: lines the workers printed (print(), tracebacks written to
 * stderr) go to the ring as error-log lines, and to the error log file. */
static void drain_output(cg_arbiter_t *a)
{
    ssize_t n;

    while ((n = read(a->out_pipe[0], a->outbuf + a->outlen, sizeof(a->outbuf) - a->outlen)) > 0) {
        a->outlen += (size_t)n;
        char *start = a->outbuf, *nl;
        while ((nl = memchr(start, '\n', a->outlen - (size_t)(start - a->outbuf))) != NULL) {
            cg_sb_ring_push(a->sb, false, start, (size_t)(nl - start));
            cg_log_write_raw(start, (size_t)(nl - start) + 1);
            start = nl + 1;
        }
        a->outlen -= (size_t)(start - a->outbuf);
        memmove(a->outbuf, start, a->outlen);
        if (a->outlen == sizeof(a->outbuf)) { /* a very long line: cut it */
            cg_sb_ring_push(a->sb, false, a->outbuf, a->outlen);
            a->outlen = 0;
        }
    }
}

static void remove_pidfile(cg_arbiter_t *a)
{
    if (a->pidfile)
        cg_pidfile_unlink(a->pidfile, a->pid);
}

/* USR2: fork a new master from the binary on disk, handing it the
 * listening sockets (gunicorn's Arbiter.reexec). */
static void reexec(cg_arbiter_t *a)
{
    if (a->reexec_pid != 0) {
        cg_log(CG_LOG_WARNING, "USR2 signal ignored. Child exists.");
        return;
    }
    if (a->parent_master != 0) {
        cg_log(CG_LOG_WARNING, "USR2 signal ignored. Parent exists.");
        return;
    }
    if (a->exec_argv == NULL) {
        cg_log(CG_LOG_WARNING, "USR2 signal ignored. No command line to re-execute.");
        return;
    }
    cg_py_before_fork();
    pid_t pid = fork();
    if (pid != 0) {
        cg_py_after_fork_parent();
        if (pid < 0)
            cg_log(CG_LOG_ERROR, "fork failed: %s", strerror(errno));
        else
            a->reexec_pid = pid;
        return;
    }
    cg_py_after_fork_child();
    cg_hook_server hs = hook_server(a);
    cg_hook_call_server(CG_SET_pre_exec, &hs);
    /* the original environment, plus where the sockets are */
    size_t n = 0;
    while (a->exec_envp[n])
        n++;
    char **env = calloc(n + 4, sizeof(char *));
    size_t k = 0;
    char fdlist[1024] = "", buf[64];
    for (size_t i = 0; i < n; i++)
        if (strncmp(a->exec_envp[i], "GUNICORN_PID=", 13) != 0 &&
            strncmp(a->exec_envp[i], "GUNICORN_FD=", 12) != 0 &&
            strncmp(a->exec_envp[i], "LISTEN_PID=", 11) != 0 &&
            strncmp(a->exec_envp[i], "LISTEN_FDS=", 11) != 0)
            env[k++] = a->exec_envp[i];
    snprintf(buf, sizeof(buf), "GUNICORN_PID=%d", (int)a->pid);
    env[k++] = strdup(buf);
    for (size_t i = 0; i < a->nlisteners; i++) {
        int fd = a->listeners[i].fd;
        /* the new program must inherit them */
        fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) & ~FD_CLOEXEC);
        size_t l = strlen(fdlist);
        snprintf(fdlist + l, sizeof(fdlist) - l, "%s%d", i ? "," : "", fd);
    }
    if (a->systemd) {
        snprintf(buf, sizeof(buf), "LISTEN_PID=%d", (int)getpid());
        env[k++] = strdup(buf);
        snprintf(buf, sizeof(buf), "LISTEN_FDS=%zu", a->nlisteners);
        env[k++] = strdup(buf);
    } else {
        char *e = malloc(strlen(fdlist) + 16);
        sprintf(e, "GUNICORN_FD=%s", fdlist);
        env[k++] = e;
    }
    env[k] = NULL;
    if (a->exec_cwd && chdir(a->exec_cwd) != 0)
        _exit(1);
    execvpe(a->exec_argv[0], a->exec_argv, env);
    int err = errno;
    if (strchr(a->exec_argv[0], '/') == NULL) {
        /* a bare name that is not on PATH (a launcher exec'd us by path
         * with a short argv[0]): that name next to the running binary,
         * argv[0] unchanged since it picks the mode (gunicorn re-executes
         * by absolute path, sys.executable) */
        char self[4096], path[4352];
        ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
        char *slash = len > 0 ? memrchr(self, '/', (size_t)len) : NULL;
        if (slash) {
            *slash = '\0';
            snprintf(path, sizeof(path), "%s/%s", self, a->exec_argv[0]);
            execve(path, a->exec_argv, env);
        }
    }
    cg_log(CG_LOG_ERROR, "USR2: cannot execute %s: %s", a->exec_argv[0], strerror(err));
    _exit(1);
}

/* A USR2 child whose old master has exited takes over (gunicorn's
 * maybe_promote_master). */
static void maybe_promote(cg_arbiter_t *a)
{
    if (a->parent_master == 0 || getppid() == a->parent_master)
        return;
    cg_log(CG_LOG_INFO, "Master has been promoted.");
    a->parent_master = 0;
    unsetenv("GUNICORN_PID");
    size_t n = strlen(a->proc_name);
    if (n > 2 && strcmp(a->proc_name + n - 2, ".2") == 0)
        a->proc_name[n - 2] = '\0';
    const char *pf = cg_config_str(a->cfg, CG_SET_pidfile);
    if (a->pidfile && pf) {
        rename(a->pidfile, pf);
        free(a->pidfile);
        a->pidfile = strdup(pf);
    }
    cg_proctitle_set("cgunicorn: master [%s]", a->proc_name);
}

void cg_arbiter_set_exec_context(cg_arbiter_t *a, char *const *argv, char *const *envp,
                                 const char *cwd)
{
    a->exec_argv = argv;
    a->exec_envp = envp;
    free(a->exec_cwd);
    a->exec_cwd = cwd ? strdup(cwd) : NULL;
}

int cg_arbiter_start(cg_arbiter_t *a)
{
    if (sigpipe_fds[0] < 0) {
        if (pipe2(sigpipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) {
            cg_log(CG_LOG_ERROR, "pipe: %s", strerror(errno));
            return 1;
        }
    }
    install_signals();
    a->started_ns = mono_ns();
    a->sb = cg_scoreboard_create(CG_SB_MAX_SLOTS, 1024);
    cg_scoreboard_bind(a->sb, -1);
    if (a->capture) {
        if (pipe2(a->out_pipe, O_CLOEXEC) != 0) {
            cg_log(CG_LOG_ERROR, "pipe: %s", strerror(errno));
            return 1;
        }
        fcntl(a->out_pipe[0], F_SETFL, O_NONBLOCK);
        cg_log_set_observer(ring_observer, a);
        cg_log_set_access_sampler(sample_access);
        /* one descriptor for the front end to poll: signals and output */
        a->epfd = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN};
        ev.data.fd = sigpipe_fds[0];
        epoll_ctl(a->epfd, EPOLL_CTL_ADD, sigpipe_fds[0], &ev);
        ev.data.fd = a->out_pipe[0];
        epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->out_pipe[0], &ev);
    }
    cg_log(CG_LOG_INFO, "Starting " CG_SERVER_NAME " %s", CG_VERSION);
    const char *gp = getenv("GUNICORN_PID");
    if (gp && atoi(gp) > 0 && atoi(gp) == (int)getppid()) {
        /* started by USR2: "Master.2" until the old master exits */
        a->parent_master = (pid_t)atoi(gp);
        char *name = malloc(strlen(a->proc_name) + 3);
        if (name) {
            sprintf(name, "%s.2", a->proc_name);
            free(a->proc_name);
            a->proc_name = name;
        }
    }
    const char *pf = cg_config_str(a->cfg, CG_SET_pidfile);
    if (pf) {
        char err[512];
        a->pidfile = malloc(strlen(pf) + 3);
        sprintf(a->pidfile, "%s%s", pf, a->parent_master ? ".2" : "");
        if (cg_pidfile_create(a->pidfile, a->pid, err, sizeof(err)) != 0) {
            cg_log(CG_LOG_ERROR, "%s", err);
            fprintf(stderr, "\nError: %s\n\n", err);
            free(a->pidfile);
            a->pidfile = NULL;
            return 1;
        }
    }
    cg_hook_server hs = hook_server(a);
    /* gunicorn: an exception in on_starting or when_ready ends the start */
    if (cg_hook_call_server(CG_SET_on_starting, &hs) != 0) {
        remove_pidfile(a);
        return 1;
    }
    if (start_listeners(a) != 0) {
        close_listeners(a, false);
        remove_pidfile(a);
        return 1;
    }
    const char *sh = cg_config_str(a->cfg, CG_SET_statsd_host);
    if (sh) {
        char err[256];
        if (cg_statsd_open(sh, cg_config_str(a->cfg, CG_SET_statsd_prefix),
                           cg_config_str(a->cfg, CG_SET_dogstatsd_tags), err, sizeof(err)) != 0)
            cg_log(CG_LOG_WARNING, "%s", err);
    }
    log_listening(a);
    int threads;
    cg_log(CG_LOG_INFO, "Using worker: %s", cg_worker_class(a->cfg, &threads));
    cg_systemd_notify("READY=1\nSTATUS=cgunicorn arbiter booted");
    int target = a->target;
    set_target(a, target, -1);
    hs = hook_server(a);
    if (cg_hook_call_server(CG_SET_when_ready, &hs) != 0) {
        close_listeners(a, true);
        remove_pidfile(a);
        return 1;
    }
    cg_proctitle_set("cgunicorn: master [%s]", a->proc_name);
    cg_log(CG_LOG_DEBUG, "Arbiter booted");
    manage_workers(a);
    return 0;
}

bool cg_arbiter_step(cg_arbiter_t *a, int timeout_ms)
{
    struct pollfd pfd[2] = {{.fd = sigpipe_fds[0], .events = POLLIN},
                            {.fd = a->out_pipe[0], .events = POLLIN}};
    unsigned char sigs[64];
    ssize_t n;

    if (a->state == STOPPED)
        return false;
    if (poll(pfd, a->out_pipe[0] >= 0 ? 2 : 1, timeout_ms) > 0) {
        while ((n = read(sigpipe_fds[0], sigs, sizeof(sigs))) > 0)
            for (ssize_t i = 0; i < n; i++)
                handle_signal(a, sigs[i]);
        if (a->out_pipe[0] >= 0)
            drain_output(a);
    }
    reap_workers(a);
    if (a->state == RUNNING) {
        maybe_promote(a);
        murder_workers(a);
        manage_workers(a);
        int live = (int)live_workers(a);
        if (live != a->last_gauge) {
            a->last_gauge = live;
            cg_statsd_gauge("gunicorn.workers", live);
        }
        return true;
    }
    /* stopping: wait for the workers, then kill what is left */
    if (a->nworkers > 0 && deadline_passed(a)) {
        for (size_t i = 0; i < a->nworkers; i++)
            kill(a->workers[i].pid, SIGKILL);
        while (a->nworkers > 0) {
            int status;
            pid_t pid = waitpid(-1, &status, 0);
            if (pid < 0)
                break;
            for (size_t i = 0; i < a->nworkers; i++)
                if (a->workers[i].pid == pid) {
                    if (a->workers[i].sb_slot >= 0)
                        cg_scoreboard_release(a->sb, a->workers[i].sb_slot);
                    if (a->workers[i].tb_fd >= 0)
                        close(a->workers[i].tb_fd);
                    a->workers[i] = a->workers[--a->nworkers];
                }
        }
        a->nworkers = 0;
    }
    if (a->nworkers > 0)
        return true;
    cg_hook_server hs = hook_server(a);
    if (cg_hook_call_server(CG_SET_on_exit, &hs) != 0 && a->exit_code == 0)
        a->exit_code = 1;
    remove_pidfile(a);
    cg_log(a->reason ? CG_LOG_ERROR : CG_LOG_INFO, "Shutting down: Master%s",
           a->parent_master ? ".2" : "");
    if (a->reason)
        cg_log(CG_LOG_ERROR, "Reason: %s", a->reason);
    a->state = STOPPED;
    return false;
}

int cg_arbiter_run(cg_arbiter_t *a)
{
    while (cg_arbiter_step(a, 1000)) {
    }
    return a->exit_code;
}

void cg_arbiter_scale(cg_arbiter_t *a, int delta)
{
    int old = a->target;

    int target = old + delta;

    if (a->state != RUNNING)
        return;
    set_target(a, target < 1 ? 1 : target, old);
    manage_workers(a);
}

void cg_arbiter_reload(cg_arbiter_t *a)
{
    if (a->state == RUNNING)
        reload(a);
}

void cg_arbiter_reopen_logs(cg_arbiter_t *a)
{
    cg_log_reopen();
    for (size_t i = 0; i < a->nworkers; i++)
        kill(a->workers[i].pid, SIGUSR1);
}

int cg_arbiter_kill_worker(cg_arbiter_t *a, pid_t pid, bool graceful)
{
    for (size_t i = 0; i < a->nworkers; i++) {
        if (a->workers[i].pid == pid) {
            /* not marked stopping: manage_workers replaces it once reaped */
            return kill(pid, graceful ? SIGTERM : SIGKILL);
        }
    }
    errno = ESRCH;
    return -1;
}

void cg_arbiter_shutdown(cg_arbiter_t *a, bool graceful)
{
    begin_stop(a, graceful);
}

void cg_arbiter_get_info(const cg_arbiter_t *a, cg_arbiter_info *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->app, sizeof(out->app), "%s", a->app_uri);
    snprintf(out->proc_name, sizeof(out->proc_name), "%s", a->proc_name);
    cg_listeners_urls(a->listeners, a->nlisteners, out->listeners, sizeof(out->listeners));
    int threads;
    snprintf(out->worker_class, sizeof(out->worker_class), "%s", cg_worker_class(a->cfg, &threads));
    out->master_pid = a->pid;
    out->started_ns = a->started_ns;
    out->workers_running = (int)live_workers(a);
    out->workers_target = a->target;
    out->stopping = a->state != RUNNING;
    out->graceful = !a->quick;
    if (out->stopping) {
        double left = (double)a->deadline.tv_sec + (double)a->deadline.tv_nsec / 1e9 - now_mono();
        out->stop_left_s = left > 0 ? left : 0;
    }
}

cg_scoreboard_t *cg_arbiter_scoreboard(const cg_arbiter_t *a)
{
    return a->sb;
}

void cg_arbiter_set_capture(cg_arbiter_t *a, bool capture)
{
    char err[256];

    a->capture = capture;
    if (!capture)
        return;
    /* "-" would be the terminal: the dashboard owns it now */
    const char *el = cg_config_str(a->cfg, CG_SET_errorlog);
    const char *al = cg_config_str(a->cfg, CG_SET_accesslog);
    const char *lvl = cg_config_str(a->cfg, CG_SET_loglevel);
    int level = cg_log_level_parse(lvl ? lvl : "info");
    if (el == NULL || strcmp(el, "-") == 0)
        cg_log_open_error("/dev/null", level < 0 ? CG_LOG_INFO : (cg_log_level)level, err,
                          sizeof(err));
    if (al && strcmp(al, "-") == 0)
        cg_log_open_access(NULL, err, sizeof(err)); /* the ring has the lines */
}

void cg_arbiter_set_event_cb(cg_arbiter_t *a, cg_arbiter_event_fn fn, void *ctx)
{
    a->event_fn = fn;
    a->event_ctx = ctx;
}

static worker_slot *find_worker(cg_arbiter_t *a, pid_t pid)
{
    for (size_t i = 0; i < a->nworkers; i++)
        if (a->workers[i].pid == pid)
            return &a->workers[i];
    return NULL;
}

int cg_arbiter_request_traceback(cg_arbiter_t *a, pid_t pid)
{
    worker_slot *w = find_worker(a, pid);
    char junk[4096];

    if (w == NULL || w->tb_fd < 0) {
        errno = ESRCH;
        return -1;
    }
    while (read(w->tb_fd, junk, sizeof(junk)) > 0) {
        /* drop what an earlier request left */
    }
    return kill(pid, CG_SIG_TRACEBACK);
}

size_t cg_arbiter_read_traceback(cg_arbiter_t *a, pid_t pid, char *buf, size_t len, size_t cap)
{
    worker_slot *w = find_worker(a, pid);
    ssize_t n;

    if (cap == 0)
        return 0;
    if (len >= cap)
        len = cap - 1;
    while (w && w->tb_fd >= 0 && len < cap - 1 &&
           (n = read(w->tb_fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    return len;
}
