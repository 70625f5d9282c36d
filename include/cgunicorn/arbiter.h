/* arbiter.h - the master process: listening sockets, workers, signals.
 *
 * The arbiter owns every signal handler (they only write the signal number
 * to a pipe).  A front end drives it with cg_arbiter_step() from its own
 * loop, polling cg_arbiter_fd() next to its input, and acts on it only
 * through the functions below. */
#ifndef CGUNICORN_ARBITER_H
#define CGUNICORN_ARBITER_H

#include <stdbool.h>
#include <sys/types.h>

#include "cgunicorn/config.h"

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

/* Headless: step until stopped; returns the exit code. */
int cg_arbiter_run(cg_arbiter_t *a);

/* Actions (what the signals do, for front ends). */
void cg_arbiter_scale(cg_arbiter_t *a, int delta); /* TTIN / TTOU */
void cg_arbiter_reload(cg_arbiter_t *a);           /* HUP */
void cg_arbiter_reopen_logs(cg_arbiter_t *a);      /* USR1 */
int cg_arbiter_kill_worker(cg_arbiter_t *a, pid_t pid, bool graceful);
void cg_arbiter_shutdown(cg_arbiter_t *a, bool graceful); /* TERM / INT */

#endif
