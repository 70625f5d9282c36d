/* arbiter.h - the master process: listening sockets, workers, signals.
 *
 * The arbiter owns every signal handler (they only write the signal number
 * to a pipe).  A front end drives it with cg_arbiter_step() from its own
 * loop, polling cg_arbiter_fd() next to its input, and acts on it only
 * through the functions below. */
#ifndef CGUNICORN_ARBITER_H
#define CGUNICORN_ARBITER_H

#include <stdbool.h>
#include <signal.h>
#include <sys/types.h>

#include "cgunicorn/config.h"
#include "cgunicorn/scoreboard.h"

typedef struct cg_arbiter cg_arbiter_t;

/* Re-read the configuration for HUP.  Returns a new config (owned by the
 * caller of the callback) or NULL, having logged why. */
typedef cg_config_t *(*cg_config_reload_fn)(void *ctx);

/* A new arbiter for app_uri, taking ownership of cfg. */
cg_arbiter_t *cg_arbiter_new(cg_config_t *cfg, const char *app_uri, cg_config_reload_fn reload,
                             void *reload_ctx);
void cg_arbiter_free(cg_arbiter_t *a);

/* Bind the listeners, install the signal handlers, log the start-up lines
 * and fork the first workers.  Returns 0, or an exit code (1: cannot bind). */
int cg_arbiter_start(cg_arbiter_t *a);

/* A descriptor that becomes readable when the arbiter has work to do. */
int cg_arbiter_fd(const cg_arbiter_t *a);

/* One pass of the master loop: wait up to timeout_ms for a signal, handle
 * signals, reap and respawn workers.  Returns false once the arbiter has
 * stopped (then cg_arbiter_exit_code() tells how). */
bool cg_arbiter_step(cg_arbiter_t *a, int timeout_ms);
int cg_arbiter_exit_code(const cg_arbiter_t *a);

/* How this program was started (argv, the original environment, the
 * working directory), for USR2's re-execution.  Not copied: keep them. */
void cg_arbiter_set_exec_context(cg_arbiter_t *a, char *const *argv, char *const *envp,
                                 const char *cwd);

/* Headless: step until stopped; returns the exit code. */
int cg_arbiter_run(cg_arbiter_t *a);

/* Actions (what the signals do, for front ends). */
void cg_arbiter_scale(cg_arbiter_t *a, int delta); /* TTIN / TTOU */
void cg_arbiter_reload(cg_arbiter_t *a);           /* HUP */
void cg_arbiter_reopen_logs(cg_arbiter_t *a);      /* USR1 */
int cg_arbiter_kill_worker(cg_arbiter_t *a, pid_t pid, bool graceful);
void cg_arbiter_shutdown(cg_arbiter_t *a, bool graceful); /* TERM / INT */

/* --- for front ends ------------------------------------------------- */

/* What a dashboard header shows. */
typedef struct {
    char app[256]; /* app URI */
    char proc_name[256];
    char listeners[1024]; /* comma-joined URLs, as "Listening at:" */
    char worker_class[32];
    pid_t master_pid;
    int64_t started_ns;  /* CLOCK_MONOTONIC when the arbiter started */
    int workers_running; /* live workers (not being stopped) */
    int workers_target;
    bool stopping;      /* a shutdown is in progress */
    bool graceful;      /* ... and it is a graceful one */
    double stop_left_s; /* seconds before the graceful stop turns to SIGKILL */
} cg_arbiter_info;

void cg_arbiter_get_info(const cg_arbiter_t *a, cg_arbiter_info *out);

/* The shared scoreboard (valid after cg_arbiter_start). */
cg_scoreboard_t *cg_arbiter_scoreboard(const cg_arbiter_t *a);

/* Dashboard mode, set before cg_arbiter_start: nothing may reach the
 * terminal behind the front end.  Workers' stdout/stderr go through a pipe
 * into the master, which puts each line into the scoreboard's log ring (and
 * the error log file, when one is set); log destinations "-" write nowhere
 * but the ring. */
void cg_arbiter_set_capture(cg_arbiter_t *a, bool capture);

/* Things worth a one-line confirmation ("worker 4121 exited", "worker 4188
 * booting").  Called from cg_arbiter_step(). */
typedef void (*cg_arbiter_event_fn)(void *ctx, const char *text);
void cg_arbiter_set_event_cb(cg_arbiter_t *a, cg_arbiter_event_fn fn, void *ctx);

/* Ask worker pid for the Python traceback of all its threads, taken from the
 * live process without stopping it (faulthandler on a real-time signal,
 * written to a pipe only the master reads).  Then poll
 * cg_arbiter_read_traceback, which appends what has arrived to buf (up to
 * cap-1 bytes, NUL-terminated) and returns the total length so far. */
int cg_arbiter_request_traceback(cg_arbiter_t *a, pid_t pid);
size_t cg_arbiter_read_traceback(cg_arbiter_t *a, pid_t pid, char *buf, size_t len, size_t cap);

/* Called from the master's handler of a fatal signal (SEGV, BUS, FPE, ILL,
 * ABRT) before the process dies with it, so a front end can restore the
 * terminal.  fn must be async-signal-safe. */
void cg_arbiter_set_fatal_cb(void (*fn)(void));

/* The signal a worker dumps its traceback on. */
#define CG_SIG_TRACEBACK (SIGRTMIN + 2)

#endif
