/* statsd.h - `--statsd-host`: the UDP metrics gunicorn emits
 * (gunicorn.requests, gunicorn.request.status.<code>,
 * gunicorn.request.duration, gunicorn.workers), with statsd_prefix and
 * dogstatsd_tags.  Sends never block and failures are ignored. */
#ifndef CG_STATSD_H
#define CG_STATSD_H

#include <stdbool.h>
#include <stddef.h>

/* Open the socket: addr is "host:port" or "unix:PATH" / "unix://PATH".
 * 0, or -1 with err filled.  Inherited by workers across fork. */
int cg_statsd_open(const char *addr, const char *prefix, const char *tags, char *err,
                   size_t errlen);
bool cg_statsd_enabled(void);
/* One served request. */
void cg_statsd_request(int status, double duration_ms);
void cg_statsd_gauge(const char *name, long value);
void cg_statsd_increment(const char *name, long value);

#endif
