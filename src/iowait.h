/* iowait.h - waiting for a socket to become readable or writable.
 *
 * The request path (wsgi.c, http_body.c) and the connection loop wait here
 * instead of calling poll(2) themselves, so that under gevent or eventlet
 * (green.c) a wait goes through the hub and lets other greenlets run,
 * while the threaded workers keep a plain poll(2). */
#ifndef CG_IOWAIT_H
#define CG_IOWAIT_H

/* Wait until fd has events (POLLIN / POLLOUT), at most timeout_ms (< 0:
 * no limit).  >0: ready, 0: timed out, <0: failed. */
int cg_io_wait(int fd, short events, int timeout_ms);

/* Route every cg_io_wait through fn from now on (NULL: back to poll). */
typedef int (*cg_io_wait_fn)(int fd, short events, int timeout_ms);
void cg_io_wait_set(cg_io_wait_fn fn);

#endif
