/* hooks.h - gunicorn's server hooks (on_starting, post_fork, ...) from a
 * Python config file, called with Python stand-ins for gunicorn's server,
 * worker, req and resp objects (see docs/OPERATIONS.md for what they
 * expose).  Each call returns 0, or -1 when the hook raised (the traceback
 * is logged); the call site decides what that means, hook by hook, as
 * gunicorn does.  A hook left at its default costs nothing. */
#ifndef CG_HOOKS_H
#define CG_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgunicorn/config.h"

/* What the server object shows (the master's state at the call). */
typedef struct {
    pid_t pid;
    const char *app_uri;
    const char *proc_name;
    int num_workers;
    const pid_t *worker_pids;
    size_t nworkers;
    const char *const *listeners; /* URLs */
    size_t nlisteners;
} cg_hook_server;

/* What the worker object shows. */
typedef struct {
    pid_t pid; /* 0 in the master before fork (pre_fork) */
    pid_t ppid;
    unsigned age;
    bool booted;
    unsigned long long nr; /* requests handled */
    long max_requests;
    long timeout;
} cg_hook_worker;

/* Use the hooks of cfg from now on (after loading a config; again on HUP). */
void cg_hooks_use(const cg_config_t *cfg);
/* Is the hook set to something other than gunicorn's default? */
bool cg_hook_set(int id);

/* (server): on_starting, on_reload, when_ready, pre_exec, on_exit */
int cg_hook_call_server(int id, const cg_hook_server *s);
/* (server, worker): pre_fork, post_fork, child_exit, worker_exit */
int cg_hook_call_server_worker(int id, const cg_hook_server *s, const cg_hook_worker *w);
/* (worker): post_worker_init, worker_int, worker_abort */
int cg_hook_call_worker(int id, const cg_hook_worker *w);
/* nworkers_changed(server, new_value, old_value); old < 0 means None */
int cg_hook_call_nworkers_changed(const cg_hook_server *s, int new_value, int old_value);

/* The worker the request hooks (pre_request, post_request) are called
 * with: set once by the worker after fork. */
void cg_hooks_set_worker(const cg_hook_worker *w);
/* pre_request(worker, req) / post_request(worker, req, environ, resp), with
 * req, environ and resp Python objects (borrowed PyObject *). */
int cg_hook_call_request(int id, void *req, void *environ, void *resp);

#endif
