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
 * err filled as gunicorn's check_is_writable() words it:
 * "Error: '<path>' isn't writable [FileNotFoundError(2, 'No such file or
 * directory')]" (gunicorn prints it as "\nError: <err>\n").  Files are opened
 * O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC, mode 0666 & ~umask, like Python's
 * open(path, 'a'). */
int cg_log_open_error(const char *path, cg_log_level level, char *err, size_t errlen);
/* Open the access log: NULL = none, "-" = stdout. */
int cg_log_open_access(const char *path, char *err, size_t errlen);
/* Reopen both files (SIGUSR1, logrotate).  stderr/stdout are left alone.
 * The new file is dup'd over the old descriptor number, so
 * cg_log_error_fd() never changes; capture_output is redone.  -1 if a file
 * could not be reopened (the old one stays in use). */
int cg_log_reopen(void);
/* gunicorn's capture_output: dup2 the error log file onto fds 1 and 2
 * (no-op when the error log is stderr).  Remembered, so cg_log_reopen()
 * repeats it on the new file.  Returns 0 or -1. */
int cg_log_capture_output(void);
/* Close the log files; back to stderr at INFO, no access log, no observer. */
void cg_log_close(void);
/* The error log's file descriptor (wsgi.errors); stable across reopen.  For
 * capture_output use cg_log_capture_output() rather than dup2-ing it. */
int cg_log_error_fd(void);
bool cg_log_enabled(cg_log_level level);
/* True when cg_log_access() would do anything (an access log is open or an
 * observer is set). */
bool cg_log_access_enabled(void);
void cg_log_set_level(cg_log_level level);

/* One error-log record.  Multi-line messages (tracebacks) are written as one
 * record: the prefix on the first line only, as Python's logging does. */
void cg_log(cg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Called for every record at WARNING or above, written or not (statsd
 * counts them as gunicorn.log.warning|error|critical|exception). */
void cg_log_set_level_counter(void (*fn)(cg_log_level level, bool exception));
/* The next record of this thread is an exception with its traceback
 * (gunicorn's log.exception). */
void cg_log_mark_exception(void);

/* Raw text to the error log, without a prefix (captured worker output). */
void cg_log_write_raw(const char *text, size_t len);

/* Optional observer that sees every error-log and access-log line (already
 * formatted, without the trailing newline; `line` is len bytes, not
 * NUL-terminated) - the dashboard's log pane.  Called synchronously from the
 * logging thread; a forked worker should clear it if it lives in the master. */
typedef void (*cg_log_observer)(void *ctx, bool access, const char *line, size_t len);
void cg_log_set_observer(cg_log_observer fn, void *ctx);

/* --- access log ------------------------------------------------------ */

/* One request as the access log sees it.  Strings are pointer+length, not
 * necessarily NUL-terminated; NULL = absent.  They are the raw bytes from the
 * wire: gunicorn holds them as latin-1 decoded str and its log file is UTF-8,
 * so bytes 0x80-0xFF are written as two UTF-8 bytes each (as gunicorn does).
 * `"` is escaped as `\"` in every string atom. */
typedef struct {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} cg_log_header;

typedef struct {
    const char *remote_addr; /* h (NUL-terminated; NULL = '-') */
    const char *method;      /* m */
    size_t method_len;
    const char *raw_uri; /* part of r */
    size_t raw_uri_len;
    const char *path; /* U (PATH_INFO, percent-decoded) */
    size_t path_len;
    const char *query; /* q (NULL or "" = no query: renders empty) */
    size_t query_len;
    int version_minor; /* H: HTTP/1.<minor> */
    int status;        /* s */
    int64_t sent;      /* B/b: body bytes sent; < 0 = unknown (gunicorn's
                          None: b '-', B "None") */
    /* t: when the request started (wall clock).  `t` renders start_wall +
     * duration_us, the moment gunicorn calls strftime (end of the request);
     * all zero = now. */
    struct timespec start_wall;
    int64_t duration_us; /* T/M/D/L */
    pid_t pid;           /* p (0 = getpid()) */
    /* {x}i (last header of that name wins, as gunicorn's dict), f, a, u
     * (Authorization): these three join duplicates with ',' as the environ
     * does */
    const cg_log_header *req_headers;
    size_t num_req_headers;
    /* {x}o: the headers as gunicorn's resp.headers holds them - the app's,
     * without hop-by-hop ones and without the Server/Date/Connection that
     * gunicorn adds when sending (so {date}o is '-', as in gunicorn) */
    const cg_log_header *resp_headers;
    size_t num_resp_headers;
    /* {x}e: looks up a WSGI environ variable; returns its value as text
     * (UTF-8, NUL-terminated, valid until the next call) or NULL.  The
     * lookup may be exact-case: log.c tries the name as written in the
     * format, lower-cased and upper-cased. */
    const char *(*environ_get)(void *ctx, const char *key);
    void *environ_ctx;
} cg_access_entry;

typedef struct cg_access_format cg_access_format;

/* Compile a gunicorn access_log_format ("%(h)s %(l)s ..." with %(name)s,
 * %({header}i)s, ...).  NULL on out of memory.  Python %-format: %(x)s with
 * flags/width/precision, %(x)d for the integer atoms (s T M D B b), %%.
 * Anything gunicorn would reject is kept as literal text and reported by
 * cg_access_format_error(). */
cg_access_format *cg_access_format_new(const char *fmt);
/* NULL when the format renders exactly as in gunicorn; else a description of
 * the first spec gunicorn rejects on every request ("unsupported format
 * character 'q' (0x71) at index 4", ...) or renders differently. */
const char *cg_access_format_error(const cg_access_format *f);
void cg_access_format_free(cg_access_format *f);
/* Does the format use the environ ({x}e)?  The worker skips the lookup
 * otherwise. */
bool cg_access_format_uses_environ(const cg_access_format *f);

/* Render one access-log line (no trailing newline) into out; returns its
 * length (truncated to outlen - 1, always NUL-terminated). */
size_t cg_access_render(const cg_access_format *f, const cg_access_entry *e, char *out,
                        size_t outlen);
/* When no access log file is open and only the observer would see a line,
 * want(e) decides whether it is rendered at all (the dashboard samples
 * successful requests under heavy load). */
void cg_log_set_access_sampler(bool (*want)(const cg_access_entry *e));

/* Render and write one line to the access log (no-op when none is open). */
void cg_log_access(const cg_access_format *f, const cg_access_entry *e);

#endif
