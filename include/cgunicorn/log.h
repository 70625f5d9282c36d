/* log.h - gunicorn's error log and access log.
 *
 * Error log lines: "[%Y-%m-%d %H:%M:%S %z] [PID] [LEVEL] message".
 * The logger is per process (the master and each worker after fork);
 * every line is written with a single write(2) on an O_APPEND descriptor so
 * lines from several processes never interleave. */
#ifndef CGUNICORN_LOG_H
#define CGUNICORN_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

typedef enum {
    CG_LOG_DEBUG = 10,
    CG_LOG_INFO = 20,
    CG_LOG_WARNING = 30,
    CG_LOG_ERROR = 40,
    CG_LOG_CRITICAL = 50,
} cg_log_level;

/* Parse a --log-level value (debug, info, warning, error, critical; any
 * case).  Returns -1 if unknown. */
int cg_log_level_parse(const char *name);

/* Open the error log: path "-" (or NULL) means stderr.  Returns 0 or -1 with
 * err filled ("Error: could not open error log file ..."). */
int cg_log_open_error(const char *path, cg_log_level level, char *err, size_t errlen);
/* Open the access log: NULL = none, "-" = stdout. */
int cg_log_open_access(const char *path, char *err, size_t errlen);
/* Reopen both files (SIGUSR1, logrotate).  stderr/stdout are left alone. */
int cg_log_reopen(void);
/* The error log's file descriptor (for capture_output dup2) */
int cg_log_error_fd(void);
bool cg_log_enabled(cg_log_level level);
bool cg_log_access_enabled(void);
void cg_log_set_level(cg_log_level level);

/* One error-log record.  Multi-line messages (tracebacks) are written as one
 * record: the prefix on the first line only, as Python's logging does. */
void cg_log(cg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Optional observer that sees every error-log and access-log line (already
 * formatted, without the trailing newline) - the dashboard's log pane. */
typedef void (*cg_log_observer)(void *ctx, bool access, const char *line, size_t len);
void cg_log_set_observer(cg_log_observer fn, void *ctx);

/* --- access log ------------------------------------------------------ */

/* One request as the access log sees it.  Strings are pointer+length, not
 * necessarily NUL-terminated; NULL = absent. */
typedef struct {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} cg_log_header;

typedef struct {
    const char *remote_addr; /* h (NUL-terminated) */
    const char *method;      /* m */
    size_t method_len;
    const char *raw_uri; /* part of r */
    size_t raw_uri_len;
    const char *path; /* U (PATH_INFO, percent-decoded) */
    size_t path_len;
    const char *query; /* q */
    size_t query_len;
    int version_minor; /* H: HTTP/1.<minor> */
    int status;        /* s */
    int64_t sent;      /* B/b: body bytes sent */
    struct timespec start_wall; /* t: when the request started (wall clock) */
    int64_t duration_us;        /* T/M/D/L */
    pid_t pid;                  /* p */
    const cg_log_header *req_headers; /* {x}i, f, a, u (Authorization) */
    size_t num_req_headers;
    const cg_log_header *resp_headers; /* {x}o */
    size_t num_resp_headers;
    /* {x}e: looks up a WSGI environ variable; returns its value as text
     * (NUL-terminated, valid until the next call) or NULL. */
    const char *(*environ_get)(void *ctx, const char *key);
    void *environ_ctx;
} cg_access_entry;

typedef struct cg_access_format cg_access_format;

/* Compile a gunicorn access_log_format ("%(h)s %(l)s ..." with %(name)s,
 * %({header}i)s, ...).  NULL on out of memory. */
cg_access_format *cg_access_format_new(const char *fmt);
void cg_access_format_free(cg_access_format *f);
/* Does the format use the environ ({x}e)?  The worker skips the lookup
 * otherwise. */
bool cg_access_format_uses_environ(const cg_access_format *f);

/* Render one access-log line (no trailing newline) into out; returns its
 * length (truncated to outlen - 1, always NUL-terminated). */
size_t cg_access_render(const cg_access_format *f, const cg_access_entry *e, char *out,
                        size_t outlen);
/* Render and write one line to the access log (no-op when none is open). */
void cg_log_access(const cg_access_format *f, const cg_access_entry *e);

#endif
