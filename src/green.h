/* green.h - the gevent and eventlet workers (greenlets over serve.c). */
#ifndef CG_GREEN_H
#define CG_GREEN_H

#include <stddef.h>

/* "gevent" or "eventlet" for a worker class served with greenlets (the
 * names and aliases gunicorn accepts), else NULL. */
const char *cg_green_kind(const char *worker_class);

/* In the master, at start: are kind's packages importable?  -1 with a
 * one-line message naming the Debian package otherwise. */
int cg_green_check(const char *kind, char *err, size_t errlen);

/* In the worker, GIL held, before the app is imported: monkey-patch the
 * process and route cg_io_wait through the hub.  -1 (traceback logged) if
 * the library fails to load. */
int cg_green_setup(const char *kind);

/* cg_serve_opts' spawn, once cg_green_setup succeeded: a pooled greenlet
 * serves conn (cg_serve_green_conn).  Called by the loop without the GIL. */
int cg_green_spawn(void *conn);

#endif
