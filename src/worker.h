/* worker.h - a worker process: boot (import the app), then serve. */
#ifndef CG_WORKER_H
#define CG_WORKER_H

#include <stddef.h>
#include <sys/types.h>

#include "cgunicorn/config.h"
#include "cgunicorn/scoreboard.h"
#include "hooks.h"
#include "sock.h"

typedef struct {
    const cg_config_t *cfg;
    const cg_listener *listeners;
    size_t nlisteners;
    const char *app_uri;
    const char *proc_name; /* for the process title */
    pid_t master_pid;
    cg_scoreboard_t *scoreboard; /* may be NULL */
    int slot;                    /* this worker's scoreboard slot */
    int traceback_fd;            /* write end of the traceback pipe, or -1 */
    int output_fd;               /* capture mode: stdout/stderr go here, or -1 */
    unsigned age;                /* spawn order */
    int threads;                 /* 0: sync; else gthread with that many threads */
    cg_hook_server server;       /* what hooks see of the master */
} cg_worker_params;

/* The worker class the settings ask for, as gunicorn resolves it
 * (threads > 1 with sync means gthread; "egg:gunicorn#" prefixes dropped):
 * "sync" (*threads = 0), "gthread" (*threads = the pool size), or a gevent
 * or eventlet class as named (*threads = 0, see green.h); anything else is
 * returned as named, with *threads = -1 (not built). */
const char *cg_worker_class(const cg_config_t *cfg, int *threads);

/* Body of a freshly forked worker (signals already reset by the caller).
 * Never returns: exits 0 after a graceful stop, CG_EXIT_WORKER_BOOT_ERROR or
 * CG_EXIT_APP_LOAD_ERROR when the app cannot be loaded. */
void cg_worker_main(const cg_worker_params *p) __attribute__((noreturn));

#endif
