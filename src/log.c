/* log.c - gunicorn's error log and access log (gunicorn/glogging.py).
 *
 * Error log: one record = "[%Y-%m-%d %H:%M:%S %z] [PID] [LEVEL] message\n",
 * written with a single write(2) on an O_APPEND descriptor, so records from
 * the master and every worker never interleave in a shared file.
 *
 * Access log: gunicorn formats `access_log_format % SafeAtoms(atoms)`.  Here
 * the format is compiled once (cg_access_format_new) into literal and atom
 * parts; rendering walks the parts and writes straight into the caller's
 * buffer: no malloc, no strftime, no locale lookups per line.
 *
 * Reopen (SIGUSR1): a new descriptor is opened on the same path and dup3()'d
 * over the old descriptor number, so the number never changes - see
 * cg_log_reopen() for why.
 *
 * State: one small static struct (g_log) per process, plus a per-thread cache
 * of the two formatted timestamps (one per second).  The fd numbers only
 * change in cg_log_open_error/cg_log_open_access/cg_log_close, which run at
 * startup or in the single-threaded master; writers in gthread threads only
 * read them, and reopen keeps them stable. */
#include "cgunicorn/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* logger state                                                        */

/* One destination: a file we own (path set, reopened on USR1), or one of
 * the standard streams (not owned), or none (fd -1). */
typedef struct {
    int fd;
    bool owned;
    char *path;
} log_sink;

static struct {
    log_sink err; /* error log: fd 2 for "-" */
    log_sink acc; /* access log: -1 = none, 1 = "-" */
    cg_log_level level;
    bool capture; /* error log dup2()'d onto fds 1 and 2 (capture_output) */
    cg_log_observer observer;
    void *observer_ctx;
} g_log = {
    .err = {STDERR_FILENO, false, NULL},
    .acc = {-1, false, NULL},
    .level = CG_LOG_INFO,
};

/* Formatted local time for one second; one per thread so gthread workers
 * never share (or lock) it. */
typedef struct {
    bool valid;
    time_t sec;
    size_t len;
    char text[48];
} time_cache;

static _Thread_local time_cache t_clf_time; /* access log %(t)s */
static _Thread_local time_cache t_err_time; /* error log asctime */

/* Error-log records up to this size are built on the stack. */
#define ERR_STACK_LINE 2048
/* Access lines up to this size are rendered on the stack; longer ones are
 * re-rendered into a heap buffer of up to ACC_MAX_LINE bytes. */
#define ACC_STACK_LINE 4096
#define ACC_MAX_LINE (1024 * 1024)

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static char ascii_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Write all of buf to fd: retries EINTR and short writes, gives up on any
 * other error (a log line must never block the server forever). */
static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

/* Open a log file as Python's open(path, "a") does: O_APPEND, created with
 * 0666 & ~umask, not inherited across exec.  The descriptor is kept above 2
 * so capture_output's dup2() onto stdout/stderr can never clobber it. */
static int open_log_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd >= 0 && fd <= STDERR_FILENO) {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
        int saved = errno;
        close(fd);
        errno = saved;
        fd = high;
    }
    return fd;
}

/* Make `to` refer to the file of `from`, keeping close-on-exec. */
static int dup_over(int from, int to)
{
#ifdef __linux__
    int rc;
    do
        rc = dup3(from, to, O_CLOEXEC);
    while (rc < 0 && (errno == EINTR || errno == EBUSY));
    return rc;
#else
    if (dup2(from, to) < 0)
        return -1;
    return fcntl(to, F_SETFD, FD_CLOEXEC);
#endif
}

/* Python's exception class for an errno from open() (PEP 3151), so the
 * message reads as gunicorn's "[FileNotFoundError(2, '...')]". */
static const char *py_oserror_name(int err)
{
    switch (err) {
    case ENOENT:
        return "FileNotFoundError";
    case EACCES:
    case EPERM:
        return "PermissionError";
    case EISDIR:
        return "IsADirectoryError";
    case ENOTDIR:
        return "NotADirectoryError";
    case EEXIST:
        return "FileExistsError";
    case EINTR:
        return "InterruptedError";
    default:
        return "OSError";
    }
}

/* Fill err as gunicorn's util.check_is_writable() words it. */
static void open_error(char *err, size_t errlen, const char *path, int e)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "Error: '%s' isn't writable [%s(%d, '%s')]", path, py_oserror_name(e),
                 e, strerror(e));
}

/* Point a sink at a freshly opened file (takes fd and path).  If the sink
 * already owns a descriptor, the new file is dup'd over it so the number
 * stays the same for everyone holding it. */
static void sink_install_file(log_sink *s, int fd, char *path)
{
    if (s->owned && dup_over(fd, s->fd) == 0) {
        close(fd);
    } else {
        if (s->owned)
            close(s->fd);
        s->fd = fd;
        s->owned = true;
    }
    free(s->path);
    s->path = path;
}

/* Point a sink at a standard stream (or -1 = none), closing an owned file. */
static void sink_set_fd(log_sink *s, int fd)
{
    if (s->owned)
        close(s->fd);
    s->fd = fd;
    s->owned = false;
    free(s->path);
    s->path = NULL;
}

/* Open path into a sink, filling err on failure. */
static int sink_open_file(log_sink *s, const char *path, char *err, size_t errlen)
{
    int fd = open_log_file(path);
    if (fd < 0) {
        open_error(err, errlen, path, errno);
        return -1;
    }
    char *copy = strdup(path);
    if (copy == NULL) {
        close(fd);
        open_error(err, errlen, path, ENOMEM);
        return -1;
    }
    sink_install_file(s, fd, copy);
    return 0;
}

/* Reopen an owned file sink on its path and dup it over the old fd. */
static int sink_reopen(log_sink *s, const char *what)
{
    if (!s->owned || s->path == NULL)
        return 0;
    int fd = open_log_file(s->path);
    if (fd < 0) {
        cg_log(CG_LOG_ERROR, "Could not reopen %s log '%s': %s", what, s->path, strerror(errno));
        return -1;
    }
    int rc = dup_over(fd, s->fd);
    int saved = errno;
    close(fd);
    if (rc < 0) {
        cg_log(CG_LOG_ERROR, "Could not reopen %s log '%s': %s", what, s->path, strerror(saved));
        return -1;
    }
    return 0;
}

/* dup2() the error log onto stdout and stderr (gunicorn's capture_output). */
static int redirect_stdio(void)
{
    fflush(stdout);
    fflush(stderr);
    if (dup2(g_log.err.fd, STDOUT_FILENO) < 0 || dup2(g_log.err.fd, STDERR_FILENO) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* time formatting (no strftime: fixed C-locale month names, as Python's
 * time.strftime gives with LC_TIME untouched)                          */

static const char k_months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* strftime's %z: "+HHMM" from the UTC offset in seconds. */
static void format_tz(char out[6], long gmtoff)
{
    char sign = '+';
    if (gmtoff < 0) {
        sign = '-';
        gmtoff = -gmtoff;
    }
    long minutes = gmtoff / 60;
    int hh = (int)((minutes / 60) % 100), mm = (int)(minutes % 60);
    out[0] = sign;
    out[1] = (char)('0' + hh / 10);
    out[2] = (char)('0' + hh % 10);
    out[3] = (char)('0' + mm / 10);
    out[4] = (char)('0' + mm % 10);
    out[5] = '\0';
}

/* Access log `t`: "[27/Nov/2026:12:07:05 +0000]" (time.strftime
 * '[%d/%b/%Y:%H:%M:%S %z]'). */
static size_t format_clf(char *out, size_t outlen, const struct tm *tm)
{
    char tz[6];
    format_tz(tz, tm->tm_gmtoff);
    int n = snprintf(out, outlen, "[%02d/%s/%d:%02d:%02d:%02d %s]", tm->tm_mday,
                     k_months[tm->tm_mon % 12], tm->tm_year + 1900, tm->tm_hour, tm->tm_min,
                     tm->tm_sec, tz);
    return n < 0 ? 0 : (size_t)n;
}

/* Error log asctime: "[2026-11-27 12:06:19 +0000]" (datefmt
 * '[%Y-%m-%d %H:%M:%S %z]'). */
static size_t format_err_time(char *out, size_t outlen, const struct tm *tm)
{
    char tz[6];
    format_tz(tz, tm->tm_gmtoff);
    int n = snprintf(out, outlen, "[%d-%02d-%02d %02d:%02d:%02d %s]", tm->tm_year + 1900,
                     tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec, tz);
    return n < 0 ? 0 : (size_t)n;
}

/* The text for `sec` from a per-second cache, reformatted only when the
 * second changes.  Local time as of the last tzset(): a TZ change is seen
 * from the next second on. */
static const char *cached_time(time_cache *c, time_t sec,
                               size_t (*fmt)(char *, size_t, const struct tm *), size_t *len)
{
    if (!c->valid || c->sec != sec) {
        struct tm tm;
        if (localtime_r(&sec, &tm) == NULL)
            memset(&tm, 0, sizeof(tm));
        c->len = fmt(c->text, sizeof(c->text), &tm);
        c->sec = sec;
        c->valid = true;
    }
    *len = c->len;
    return c->text;
}

/* ------------------------------------------------------------------ */
/* levels and the error log                                            */

static const char *level_name(cg_log_level level)
{
    switch (level) {
    case CG_LOG_DEBUG:
        return "DEBUG";
    case CG_LOG_INFO:
        return "INFO";
    case CG_LOG_WARNING:
        return "WARNING";
    case CG_LOG_ERROR:
        return "ERROR";
    case CG_LOG_CRITICAL:
        return "CRITICAL";
    }
    return "INFO";
}

/* Parse a --log-level value (debug, info, warning, error, critical; any
 * case); -1 if unknown. */
int cg_log_level_parse(const char *name)
{
    static const cg_log_level levels[] = {CG_LOG_DEBUG, CG_LOG_INFO, CG_LOG_WARNING, CG_LOG_ERROR,
                                          CG_LOG_CRITICAL};
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        const char *want = level_name(levels[i]);
        size_t j = 0;
        while (want[j] != '\0' && ascii_upper(name[j]) == want[j])
            j++;
        if (want[j] == '\0' && name[j] == '\0')
            return (int)levels[i];
    }
    return -1;
}

/* Open the error log ("-"/NULL = stderr) and set the level.  On failure the
 * previous destination stays and err reads as gunicorn's
 * "Error: '<path>' isn't writable [FileNotFoundError(2, '...')]" (gunicorn
 * prints it as "\nError: <err>\n").  Switching a file log back to "-"
 * closes the file and ends capture_output, as gunicorn's setup() does. */
int cg_log_open_error(const char *path, cg_log_level level, char *err, size_t errlen)
{
    g_log.level = level;
    if (path == NULL || strcmp(path, "-") == 0) {
        sink_set_fd(&g_log.err, STDERR_FILENO);
        g_log.capture = false;
        return 0;
    }
    if (sink_open_file(&g_log.err, path, err, errlen) < 0)
        return -1;
    if (g_log.capture && redirect_stdio() < 0)
        return -1;
    return 0;
}

/* Open the access log: NULL = none, "-" = stdout, else a file (errors as
 * cg_log_open_error). */
int cg_log_open_access(const char *path, char *err, size_t errlen)
{
    if (path == NULL) {
        sink_set_fd(&g_log.acc, -1);
        return 0;
    }
    if (strcmp(path, "-") == 0) {
        sink_set_fd(&g_log.acc, STDOUT_FILENO);
        return 0;
    }
    return sink_open_file(&g_log.acc, path, err, errlen);
}

/* Reopen the error and access log files (SIGUSR1 / logrotate); stderr and
 * stdout are left alone.
 *
 * How: open(path, O_APPEND|O_CREAT) gives a descriptor on the new file, which
 * is dup3()'d over the old descriptor *number*, then closed.  Why not just
 * swap the int:
 *   - the number never changes, so a gthread worker writing concurrently
 *     never sees a closed or recycled descriptor - the kernel switches the
 *     file atomically and each write(2) lands whole in the old or new file;
 *   - whoever copied cg_log_error_fd() (wsgi.errors) keeps writing to the
 *     current file.
 * What it cannot fix: descriptors that are *copies* of the old file, such as
 * fds 1 and 2 after capture_output's dup2().  Those still point at the
 * rotated file, which is why cg_log_capture_output() is remembered here and
 * redone after the reopen (gunicorn's reopen_files() does the same dup2s).
 * Each process has its own descriptors: the master reopens, then signals
 * its workers, which reopen their own (gunicorn's USR1 handling).
 * If a file cannot be opened the old one is kept, an error is logged and -1
 * returned; nothing is lost. */
int cg_log_reopen(void)
{
    int rc = 0;
    if (sink_reopen(&g_log.err, "error") < 0)
        rc = -1;
    if (sink_reopen(&g_log.acc, "access") < 0)
        rc = -1;
    if (g_log.capture && g_log.err.owned && redirect_stdio() < 0)
        rc = -1;
    return rc;
}

/* Send stdout and stderr (fds 1 and 2: print(), C stdio, faulthandler) to
 * the error log file, as gunicorn's capture_output does; cg_log_reopen()
 * repeats it.  A no-op when the error log is stderr ("-"), as in gunicorn.
 * Call it after cg_log_open_error() instead of dup2()-ing cg_log_error_fd()
 * yourself.  Returns 0 or -1 (errno set). */
int cg_log_capture_output(void)
{
    if (!g_log.err.owned)
        return 0;
    if (redirect_stdio() < 0)
        return -1;
    g_log.capture = true;
    return 0;
}

/* Close the log files and return to the initial state: error log on stderr
 * at INFO, no access log, no observer, no capture.  fds 1 and 2 are left as
 * they are. */
void cg_log_close(void)
{
    sink_set_fd(&g_log.err, STDERR_FILENO);
    sink_set_fd(&g_log.acc, -1);
    g_log.level = CG_LOG_INFO;
    g_log.capture = false;
    g_log.observer = NULL;
    g_log.observer_ctx = NULL;
}

/* Raw text to the error log, as it is (worker output in dashboard mode). */
void cg_log_write_raw(const char *text, size_t len)
{
    write_all(g_log.err.fd, text, len);
}

/* The error log's descriptor (stable across cg_log_reopen). */
int cg_log_error_fd(void)
{
    return g_log.err.fd;
}

/* Would a record at this level be written? */
bool cg_log_enabled(cg_log_level level)
{
    return level >= g_log.level;
}

/* Would cg_log_access() do anything: an access log is open, or an observer
 * wants the lines. */
bool cg_log_access_enabled(void)
{
    return g_log.acc.fd >= 0 || g_log.observer != NULL;
}

/* Set the error log level (--log-level). */
void cg_log_set_level(cg_log_level level)
{
    g_log.level = level;
}

/* Install the observer (NULL to remove).  It is called synchronously from
 * whichever thread logs, so it must be thread-safe in a gthread worker; a
 * forked worker inherits it and should remove it if the observer lives in
 * the master. */
void cg_log_set_observer(cg_log_observer fn, void *ctx)
{
    g_log.observer = fn;
    g_log.observer_ctx = ctx;
}

/* Write one error-log record: the prefix, the message as-is (newlines
 * included), "\n"; one write(2).  A message longer than the stack buffer is
 * formatted again into a heap buffer; only if that malloc fails is it cut,
 * and then it ends in "[truncated]".  errno is preserved. */
static void (*level_counter)(cg_log_level level, bool exception);
static _Thread_local bool t_next_is_exception;

void cg_log_set_level_counter(void (*fn)(cg_log_level level, bool exception))
{
    level_counter = fn;
}

void cg_log_mark_exception(void)
{
    t_next_is_exception = true;
}

void cg_log(cg_log_level level, const char *fmt, ...)
{
    bool exception = t_next_is_exception;
    t_next_is_exception = false;
    if (level_counter && level >= CG_LOG_WARNING)
        level_counter(level, exception); /* statsd's gunicorn.log.* counters */
    if (!cg_log_enabled(level))
        return;

    int saved_errno = errno;
    char stack[ERR_STACK_LINE];
    char *buf = stack;
    struct timespec now;
    size_t tlen;
    clock_gettime(CLOCK_REALTIME, &now);
    const char *ts = cached_time(&t_err_time, now.tv_sec, format_err_time, &tlen);
    int plen = snprintf(stack, sizeof(stack), "%.*s [%d] [%s] ", (int)tlen, ts, (int)getpid(),
                        level_name(level));
    size_t pre = plen < 0 ? 0 : (size_t)plen;

    va_list ap;
    va_start(ap, fmt);
    int mlen = vsnprintf(stack + pre, sizeof(stack) - pre, fmt, ap);
    va_end(ap);
    size_t msg = mlen < 0 ? 0 : (size_t)mlen;

    if (pre + msg + 1 >= sizeof(stack)) { /* +1 for the newline */
        char *heap = malloc(pre + msg + 2);
        if (heap != NULL) {
            memcpy(heap, stack, pre);
            va_start(ap, fmt);
            vsnprintf(heap + pre, msg + 1, fmt, ap);
            va_end(ap);
            buf = heap;
        } else {
            static const char cut[] = "[truncated]";
            msg = sizeof(stack) - 2 - pre;
            memcpy(stack + sizeof(stack) - 2 - (sizeof(cut) - 1), cut, sizeof(cut) - 1);
        }
    }
    buf[pre + msg] = '\n';
    write_all(g_log.err.fd, buf, pre + msg + 1);
    if (g_log.observer != NULL)
        g_log.observer(g_log.observer_ctx, false, buf, pre + msg);
    if (buf != stack)
        free(buf);
    errno = saved_errno;
}

/* ------------------------------------------------------------------ */
/* access log format: compilation                                      */

typedef enum {
    PART_LITERAL,     /* text[off, len) as-is */
    PART_ATOM,        /* one of h l u t r m U q H s B b f a T M D L p */
    PART_DASH,        /* an unknown atom: gunicorn's SafeAtoms gives '-' */
    PART_REQ_HEADER,  /* {name}i */
    PART_RESP_HEADER, /* {name}o */
    PART_ENVIRON,     /* {name}e */
} part_kind;

enum { FLAG_LEFT = 1, FLAG_ZERO = 2, FLAG_PLUS = 4, FLAG_SPACE = 8 };

typedef struct {
    uint8_t kind;  /* part_kind */
    char atom;     /* PART_ATOM: the letter */
    char conv;     /* 's' or 'd' */
    uint8_t flags; /* FLAG_* */
    int width;     /* -1 = none */
    int prec;      /* -1 = none */
    uint32_t off;  /* literal bytes, or the lower-case NUL-terminated name */
    uint32_t len;
    uint32_t alt[2]; /* PART_ENVIRON: offsets of the name as written and
                        upper-cased (UINT32_MAX = same as the lower one) */
} fmt_part;

struct cg_access_format {
    size_t nparts;
    bool uses_environ;
    bool has_error;
    char error[128]; /* first problem found, see cg_access_format_error */
    fmt_part *parts;
    char *text; /* literals and names */
    size_t text_len;
};

static const char k_atoms[] = "hlutrmUqHsBbfaTMDLp";

/* Append bytes to the format's text area (sized at compile start). */
static uint32_t text_add(cg_access_format *f, const char *s, size_t n)
{
    uint32_t off = (uint32_t)f->text_len;
    memcpy(f->text + f->text_len, s, n);
    f->text_len += n;
    return off;
}

/* Append literal bytes, merging with a preceding literal part. */
static void add_literal(cg_access_format *f, const char *s, size_t n)
{
    if (n == 0)
        return;
    fmt_part *last = f->nparts ? &f->parts[f->nparts - 1] : NULL;
    uint32_t off = text_add(f, s, n);
    if (last != NULL && last->kind == PART_LITERAL && last->off + last->len == off) {
        last->len += (uint32_t)n;
        return;
    }
    fmt_part *p = &f->parts[f->nparts++];
    memset(p, 0, sizeof(*p));
    p->kind = PART_LITERAL;
    p->off = off;
    p->len = (uint32_t)n;
}

/* Remember the first problem (gunicorn would fail, or we differ). */
static void set_error(cg_access_format *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_error(cg_access_format *f, const char *fmt, ...)
{
    if (f->has_error)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->error, sizeof(f->error), fmt, ap);
    va_end(ap);
    f->has_error = true;
}

/* Store a {name}x name in three spellings for the environ lookup. */
static void add_environ_names(cg_access_format *f, fmt_part *p, const char *name, size_t n)
{
    const char *lower = f->text + p->off;
    p->alt[0] = p->alt[1] = UINT32_MAX;
    if (memcmp(name, lower, n) != 0) {
        p->alt[0] = text_add(f, name, n);
        text_add(f, "", 1);
    }
    uint32_t up = (uint32_t)f->text_len;
    for (size_t i = 0; i < n; i++)
        f->text[f->text_len++] = ascii_upper(name[i]);
    f->text[f->text_len++] = '\0';
    if (memcmp(f->text + up, lower, n) != 0 &&
        (p->alt[0] == UINT32_MAX || memcmp(f->text + up, f->text + p->alt[0], n) != 0))
        p->alt[1] = up;
    else
        f->text_len = up; /* same as a spelling we already try */
}

/* Classify the mapping key of %(key)x as gunicorn's SafeAtoms would look it
 * up: "{...}" keys are lower-cased and end in i/o/e; one-letter keys are
 * case-sensitive atoms; anything else is missing -> '-'. */
static void classify_key(cg_access_format *f, fmt_part *p, const char *key, size_t n)
{
    p->kind = PART_DASH;
    if (n == 1 && key[0] != '\0' && strchr(k_atoms, key[0]) != NULL) {
        p->kind = PART_ATOM;
        p->atom = key[0];
        return;
    }
    if (n < 3 || key[0] != '{' || key[n - 2] != '}')
        return;
    char suffix = ascii_lower(key[n - 1]);
    if (suffix == 'i')
        p->kind = PART_REQ_HEADER;
    else if (suffix == 'o')
        p->kind = PART_RESP_HEADER;
    else if (suffix == 'e')
        p->kind = PART_ENVIRON;
    else
        return;
    const char *name = key + 1;
    size_t nlen = n - 3;
    p->off = (uint32_t)f->text_len;
    p->len = (uint32_t)nlen;
    for (size_t i = 0; i < nlen; i++)
        f->text[f->text_len++] = ascii_lower(name[i]);
    f->text[f->text_len++] = '\0';
    if (p->kind == PART_ENVIRON) {
        f->uses_environ = true;
        add_environ_names(f, p, name, nlen);
    }
}

/* Parse a run of decimal digits (clamped), or '*' (error).  Returns the
 * index after it; *val = -1 when there are none. */
static size_t parse_number(const char *s, size_t i, int *val, bool *star)
{
    *val = -1;
    *star = false;
    if (s[i] == '*') {
        *star = true;
        return i + 1;
    }
    if (s[i] < '0' || s[i] > '9')
        return i;
    long v = 0;
    while (s[i] >= '0' && s[i] <= '9') {
        if (v < 1000000)
            v = v * 10 + (s[i] - '0');
        i++;
    }
    *val = (int)v;
    return i;
}

/* Parse one "%(key)[flags][width][.prec]conv" starting at fmt[i] == '%' and
 * fmt[i + 1] == '('.  On success adds an atom part and returns the index
 * after it; on a spec Python rejects returns 0 (the caller then keeps the
 * '%' as a literal, having recorded the error). */
static size_t parse_spec(cg_access_format *f, const char *fmt, size_t i)
{
    size_t j = i + 2, depth = 1;
    size_t key = j;
    while (fmt[j] != '\0' && depth > 0) { /* Python counts nested parens */
        if (fmt[j] == '(')
            depth++;
        else if (fmt[j] == ')')
            depth--;
        j++;
    }
    if (depth > 0) {
        set_error(f, "incomplete format key at index %zu", i);
        return 0;
    }
    size_t keylen = j - 1 - key;

    uint8_t flags = 0;
    for (;; j++) {
        if (fmt[j] == '-')
            flags |= FLAG_LEFT;
        else if (fmt[j] == '0')
            flags |= FLAG_ZERO;
        else if (fmt[j] == '+')
            flags |= FLAG_PLUS;
        else if (fmt[j] == ' ')
            flags |= FLAG_SPACE;
        else if (fmt[j] != '#')
            break;
    }
    int width, prec = -1;
    bool star, star2 = false;
    j = parse_number(fmt, j, &width, &star);
    if (fmt[j] == '.') {
        j = parse_number(fmt, j + 1, &prec, &star2);
        if (prec < 0 && !star2)
            prec = 0; /* "%.s" means precision 0 */
    }
    if (star || star2) {
        set_error(f, "* wants int (at index %zu)", i);
        return 0;
    }
    char c = fmt[j];
    if (c == '\0') {
        set_error(f, "incomplete format at index %zu", i);
        return 0;
    }
    char conv;
    if (c == 's') {
        conv = 's';
    } else if (c == 'd' || c == 'i' || c == 'u') {
        conv = 'd';
    } else if (c != '\0' && strchr("raoxXeEfFgGc", c) != NULL) {
        set_error(f, "conversion '%%%c' at index %zu is rendered as %%s", c, j);
        conv = 's';
    } else {
        set_error(f, "unsupported format character '%c' (0x%x) at index %zu", c,
                  (unsigned)(unsigned char)c, j);
        return 0;
    }

    fmt_part *p = &f->parts[f->nparts++];
    memset(p, 0, sizeof(*p));
    p->conv = conv;
    p->flags = flags;
    p->width = width;
    p->prec = prec;
    classify_key(f, p, fmt + key, keylen);
    return j + 1;
}

/* Compile a gunicorn access_log_format.  Python %-format with a mapping:
 *   %(key)s   any atom; flags "-0+ #", width and .precision as Python
 *             (width/precision count characters, i.e. UTF-8 code points);
 *   %(key)d   (also i, u) integers for s T M D B b; on other atoms gunicorn
 *             raises TypeError and drops the line - here they render as %s;
 *   %%        a literal '%'.
 * Specs Python rejects (unknown conversion, "%(a" , a trailing '%', '*'
 * widths) and positional specs ("%s", which Python fills with the whole
 * atoms dict) are kept as literal text; r a o x X e E f F g G c are
 * rendered as %s.  All of these are reported by cg_access_format_error().
 * NULL on out of memory; fmt NULL is treated as "". */
cg_access_format *cg_access_format_new(const char *fmt)
{
    if (fmt == NULL)
        fmt = "";
    size_t n = strlen(fmt);
    if (n > UINT32_MAX / 4)
        return NULL;
    cg_access_format *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    /* every part consumes at least one format byte; a name is stored at most
     * three times plus NULs */
    f->parts = calloc(n + 1, sizeof(fmt_part));
    f->text = malloc(3 * n + 16);
    if (f->parts == NULL || f->text == NULL) {
        cg_access_format_free(f);
        return NULL;
    }

    size_t i = 0;
    while (fmt[i] != '\0') {
        if (fmt[i] != '%') {
            size_t start = i;
            while (fmt[i] != '\0' && fmt[i] != '%')
                i++;
            add_literal(f, fmt + start, i - start);
            continue;
        }
        if (fmt[i + 1] == '%') {
            add_literal(f, "%", 1);
            i += 2;
            continue;
        }
        size_t next = 0;
        if (fmt[i + 1] == '(')
            next = parse_spec(f, fmt, i);
        else if (fmt[i + 1] == '\0')
            set_error(f, "incomplete format at index %zu", i);
        else
            set_error(f, "positional conversion at index %zu needs a %%(name)", i);
        if (next == 0) {
            add_literal(f, "%", 1);
            i++;
        } else {
            i = next;
        }
    }
    return f;
}

/* Free a compiled format (NULL is fine). */
void cg_access_format_free(cg_access_format *f)
{
    if (f == NULL)
        return;
    free(f->parts);
    free(f->text);
    free(f);
}

/* Does the format use {name}e? */
bool cg_access_format_uses_environ(const cg_access_format *f)
{
    return f != NULL && f->uses_environ;
}

/* NULL if the format renders exactly as gunicorn would; otherwise a
 * description of the first spec that gunicorn rejects at every request or
 * that cgunicorn renders differently (see cg_access_format_new). */
const char *cg_access_format_error(const cg_access_format *f)
{
    return (f != NULL && f->has_error) ? f->error : NULL;
}

/* ------------------------------------------------------------------ */
/* access log rendering                                                */

/* Output buffer: cap usable bytes (one more is kept for the NUL). */
typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    bool full; /* something did not fit */
} wbuf;

static void put(wbuf *w, const char *s, size_t n)
{
    size_t room = w->cap - w->len;
    if (n > room) {
        n = room;
        w->full = true;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put_c(wbuf *w, char c)
{
    if (w->len < w->cap)
        w->buf[w->len++] = c;
    else
        w->full = true;
}

static void put_str(wbuf *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_dash(wbuf *w)
{
    put_c(w, '-');
}

/* Decimal digits of v, at least min_digits (zero-padded); no snprintf on
 * the hot path. */
static void put_uint(wbuf *w, unsigned long long v, int min_digits)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
        min_digits--;
    } while ((v != 0 || min_digits > 0) && i > 0);
    put(w, tmp + i, sizeof(tmp) - i);
}

static void put_int(wbuf *w, long long v)
{
    if (v < 0) {
        put_c(w, '-');
        put_uint(w, 0ULL - (unsigned long long)v, 1);
    } else {
        put_uint(w, (unsigned long long)v, 1);
    }
}

/* SERVER_PROTOCOL: "HTTP/1.<minor>". */
static void put_protocol(wbuf *w, int minor)
{
    put(w, "HTTP/1.", 7);
    put_int(w, minor);
}

/* A string atom as gunicorn writes it.  SafeAtoms escapes '"' as '\"' (and
 * nothing else: backslashes and control bytes go out as they are).  With
 * latin1 set the bytes are gunicorn's latin-1-decoded native strings
 * (headers, URI, PATH_INFO), which the log file's UTF-8 encoding turns
 * into two bytes each for 0x80-0xFF; otherwise they are UTF-8 already. */
static void put_text(wbuf *w, const char *s, size_t n, bool latin1)
{
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && s[run] != '"' && (!latin1 || (unsigned char)s[run] < 0x80))
            run++;
        put(w, s + i, run - i);
        if (run == n)
            break;
        unsigned char c = (unsigned char)s[run];
        if (c == '"') {
            put(w, "\\\"", 2);
        } else {
            char two[2] = {(char)(0xC0 | (c >> 6)), (char)(0x80 | (c & 0x3F))};
            put(w, two, 2);
        }
        i = run + 1;
    }
}

static bool header_is(const cg_log_header *h, const char *lname, size_t llen)
{
    if (h->name == NULL || h->name_len != llen)
        return false;
    for (size_t i = 0; i < llen; i++)
        if (ascii_lower(h->name[i]) != lname[i])
            return false;
    return true;
}

/* {name}i / {name}o: gunicorn builds a dict from the header list, so the
 * last header of that name wins. */
static const cg_log_header *last_header(const cg_log_header *h, size_t n, const char *lname,
                                        size_t llen)
{
    if (h == NULL)
        return NULL;
    for (size_t i = n; i-- > 0;)
        if (header_is(&h[i], lname, llen))
            return &h[i];
    return NULL;
}

/* The bytes of environ["HTTP_<NAME>"]: every header of that name joined
 * with ',' (gunicorn's wsgi.create), read one byte at a time. */
typedef struct {
    const cg_log_header *h;
    size_t n;
    const char *lname;
    size_t llen;
    size_t hi; /* current header, n = done */
    size_t ci; /* offset in its value */
} joined_header;

static size_t next_match(const joined_header *j, size_t from)
{
    while (from < j->n && !header_is(&j->h[from], j->lname, j->llen))
        from++;
    return from;
}

static bool joined_init(joined_header *j, const cg_log_header *h, size_t n, const char *lname)
{
    j->h = h;
    j->n = h != NULL ? n : 0;
    j->lname = lname;
    j->llen = strlen(lname);
    j->ci = 0;
    j->hi = next_match(j, 0);
    return j->hi < j->n;
}

/* Next byte, or -1 at the end. */
static int joined_next(joined_header *j)
{
    while (j->hi < j->n) {
        const cg_log_header *h = &j->h[j->hi];
        if (j->ci < h->value_len && h->value != NULL)
            return (unsigned char)h->value[j->ci++];
        j->hi = next_match(j, j->hi + 1);
        j->ci = 0;
        if (j->hi < j->n)
            return ',';
    }
    return -1;
}

/* f and a: environ.get('HTTP_REFERER' / 'HTTP_USER_AGENT', '-'). */
static void put_joined(wbuf *w, const cg_access_entry *e, const char *lname)
{
    joined_header j;
    if (!joined_init(&j, e->req_headers, e->num_req_headers, lname)) {
        put_dash(w);
        return;
    }
    for (bool first = true; j.hi < j.n; first = false) {
        const cg_log_header *h = &j.h[j.hi];
        if (!first)
            put_c(w, ',');
        put_text(w, h->value, h->value != NULL ? h->value_len : 0, true);
        j.hi = next_match(&j, j.hi + 1);
    }
}

/* Incremental strict UTF-8 check (Python's bytes.decode('UTF-8')). */
typedef struct {
    int need;
    unsigned char lo, hi;
} utf8_check;

static bool utf8_feed(utf8_check *u, unsigned char c)
{
    if (u->need > 0) {
        if (c < u->lo || c > u->hi)
            return false;
        u->need--;
        u->lo = 0x80;
        u->hi = 0xBF;
        return true;
    }
    u->lo = 0x80;
    u->hi = 0xBF;
    if (c < 0x80)
        return true;
    if (c >= 0xC2 && c <= 0xDF)
        u->need = 1;
    else if (c == 0xE0)
        u->need = 2, u->lo = 0xA0;
    else if (c == 0xED)
        u->need = 2, u->hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF)
        u->need = 2;
    else if (c == 0xF0)
        u->need = 3, u->lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
        u->need = 3;
    else if (c == 0xF4)
        u->need = 3, u->hi = 0x8F;
    else
        return false;
    return true;
}

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* gunicorn 26's Logger._get_user():
 *     http_auth = environ.get("HTTP_AUTHORIZATION")
 *     if http_auth and http_auth.lower().startswith('basic'):
 *         auth = http_auth.split(" ", 1)
 *         if len(auth) == 2:
 *             auth = base64.b64decode(auth[1].strip().encode('utf-8'))
 *             user = auth.split(b":", 1)[0].decode("UTF-8")
 * with any exception -> None, and then `or '-'`.  b64decode is
 * binascii.a2b_base64 in non-strict mode, reproduced here: bytes outside the
 * alphabet are skipped, '=' after two or three data characters ends the
 * input, a leftover 1..3 characters is an error.  The user is everything
 * before the first ':' (all of it if there is none) and must be valid UTF-8.
 * Returns whether a non-empty user was found; emits it through w if set. */
static bool basic_auth_user(const cg_access_entry *e, wbuf *w)
{
    joined_header j;
    if (!joined_init(&j, e->req_headers, e->num_req_headers, "authorization"))
        return false;
    for (const char *p = "basic"; *p != '\0'; p++) {
        int c = joined_next(&j);
        if (c < 0 || ascii_lower((char)c) != *p)
            return false;
    }
    int c;
    while ((c = joined_next(&j)) != ' ')
        if (c < 0)
            return false;

    int quad = 0, pads = 0;
    unsigned left = 0;
    bool in_user = true;
    size_t user_len = 0;
    utf8_check u = {0, 0x80, 0xBF};
    while ((c = joined_next(&j)) >= 0) {
        if (c == '=') {
            if (quad >= 2 && quad + ++pads >= 4)
                break; /* padding complete: the rest is ignored */
            continue;
        }
        int v = b64_value(c);
        if (v < 0)
            continue;
        pads = 0;
        int out = -1;
        switch (quad) {
        case 0:
            left = (unsigned)v;
            break;
        case 1:
            out = (int)(((left << 2) | ((unsigned)v >> 4)) & 0xFF);
            left = (unsigned)v & 0x0F;
            break;
        case 2:
            out = (int)(((left << 4) | ((unsigned)v >> 2)) & 0xFF);
            left = (unsigned)v & 0x03;
            break;
        default:
            out = (int)(((left << 6) | (unsigned)v) & 0xFF);
            left = 0;
            break;
        }
        quad = (quad + 1) % 4;
        if (out < 0 || !in_user)
            continue;
        if (out == ':') {
            in_user = false;
            continue;
        }
        if (!utf8_feed(&u, (unsigned char)out))
            return false;
        user_len++;
        if (w != NULL) {
            char ch = (char)out;
            put_text(w, &ch, 1, false);
        }
    }
    if (c < 0 && quad != 0)
        return false; /* "Incorrect padding" / 1 more than a multiple of 4 */
    return u.need == 0 && user_len > 0;
}

/* u: validate first, then decode again into the line. */
static void put_user(wbuf *w, const cg_access_entry *e)
{
    if (basic_auth_user(e, NULL))
        basic_auth_user(e, w);
    else
        put_dash(w);
}

/* The request time as gunicorn's timedelta: .seconds drops whole days. */
static void split_duration(int64_t us, long long *secs, long long *usecs)
{
    if (us < 0)
        us = 0;
    *secs = (long long)((us / 1000000) % 86400);
    *usecs = (long long)(us % 1000000);
}

/* t: gunicorn calls time.strftime() when it logs, i.e. at the end of the
 * request: start_wall + duration_us (now if start_wall is zero). */
static void put_time(wbuf *w, const cg_access_entry *e)
{
    time_t sec;
    if (e->start_wall.tv_sec == 0 && e->start_wall.tv_nsec == 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        sec = now.tv_sec;
    } else {
        int64_t us = e->duration_us > 0 ? e->duration_us : 0;
        sec = e->start_wall.tv_sec + (time_t)((e->start_wall.tv_nsec / 1000 + us) / 1000000);
    }
    size_t len;
    const char *text = cached_time(&t_clf_time, sec, format_clf, &len);
    put(w, text, len);
}

/* The integer value of an atom that has one (for %d), else false. */
static bool atom_int(char atom, const cg_access_entry *e, long long *v)
{
    long long secs, usecs;
    split_duration(e->duration_us, &secs, &usecs);
    switch (atom) {
    case 's':
        *v = e->status;
        return true;
    case 'B':
    case 'b':
        *v = e->sent;
        return e->sent >= 0;
    case 'T':
        *v = secs;
        return true;
    case 'M':
        *v = secs * 1000 + usecs / 1000;
        return true;
    case 'D':
        *v = secs * 1000000 + usecs;
        return true;
    default:
        return false;
    }
}

/* One atom's value, unpadded.  Sources are gunicorn 26's Logger.atoms(). */
static void put_atom(wbuf *w, char atom, const cg_access_entry *e)
{
    long long v, secs, usecs;
    switch (atom) {
    case 'h': /* environ.get('REMOTE_ADDR', '-') */
        if (e->remote_addr != NULL)
            put_text(w, e->remote_addr, strlen(e->remote_addr), true);
        else
            put_dash(w);
        break;
    case 'l': /* '-' */
        put_dash(w);
        break;
    case 'u': /* self._get_user(environ) or '-' */
        put_user(w, e);
        break;
    case 't': /* self.now() */
        put_time(w, e);
        break;
    case 'r': /* "%s %s %s" % (REQUEST_METHOD, RAW_URI, SERVER_PROTOCOL) */
        put_text(w, e->method, e->method ? e->method_len : 0, true);
        put_c(w, ' ');
        put_text(w, e->raw_uri, e->raw_uri ? e->raw_uri_len : 0, true);
        put_c(w, ' ');
        put_protocol(w, e->version_minor);
        break;
    case 'm': /* environ.get('REQUEST_METHOD') */
        put_text(w, e->method, e->method ? e->method_len : 0, true);
        break;
    case 'U': /* environ.get('PATH_INFO') */
        put_text(w, e->path, e->path ? e->path_len : 0, true);
        break;
    case 'q': /* environ.get('QUERY_STRING'): '' without a query */
        put_text(w, e->query, e->query ? e->query_len : 0, true);
        break;
    case 'H': /* environ.get('SERVER_PROTOCOL') */
        put_protocol(w, e->version_minor);
        break;
    case 'b': /* resp.sent is not None and str(resp.sent) or '-' */
        if (e->sent >= 0)
            put_int(w, e->sent);
        else
            put_dash(w);
        break;
    case 'B': /* resp.sent (an int, or None) */
        if (e->sent >= 0)
            put_int(w, e->sent);
        else
            put_str(w, "None");
        break;
    case 'f': /* environ.get('HTTP_REFERER', '-') */
        put_joined(w, e, "referer");
        break;
    case 'a': /* environ.get('HTTP_USER_AGENT', '-') */
        put_joined(w, e, "user-agent");
        break;
    case 'L': /* "%d.%06d" % (request_time.seconds, request_time.microseconds) */
        split_duration(e->duration_us, &secs, &usecs);
        put_int(w, secs);
        put_c(w, '.');
        put_uint(w, (unsigned long long)usecs, 6);
        break;
    case 'p': /* "<%s>" % os.getpid() */
        put_c(w, '<');
        put_int(w, e->pid != 0 ? e->pid : getpid());
        put_c(w, '>');
        break;
    default: /* s T M D: ints */
        if (atom_int(atom, e, &v))
            put_int(w, v);
        else
            put_dash(w);
        break;
    }
}

/* {name}e: the callback may be exact-case (a PyDict lookup), while gunicorn
 * matches case-insensitively; try the name as written, lower-cased
 * (gunicorn's key) and upper-cased - that covers REMOTE_ADDR, HTTP_* and
 * wsgi.* however they are spelled in the format. */
static void put_environ(wbuf *w, const cg_access_format *f, const fmt_part *p,
                        const cg_access_entry *e)
{
    const uint32_t tries[3] = {p->alt[0], p->off, p->alt[1]};
    const char *v = NULL;
    for (int k = 0; k < 3 && v == NULL && e->environ_get != NULL; k++)
        if (tries[k] != UINT32_MAX)
            v = e->environ_get(e->environ_ctx, f->text + tries[k]);
    if (v != NULL)
        put_text(w, v, strlen(v), false);
    else
        put_dash(w);
}

/* A part's value, unpadded. */
static void put_value(wbuf *w, const cg_access_format *f, const fmt_part *p,
                      const cg_access_entry *e)
{
    const cg_log_header *h;
    switch (p->kind) {
    case PART_ATOM:
        put_atom(w, p->atom, e);
        break;
    case PART_REQ_HEADER:
    case PART_RESP_HEADER:
        if (p->kind == PART_REQ_HEADER)
            h = last_header(e->req_headers, e->num_req_headers, f->text + p->off, p->len);
        else
            h = last_header(e->resp_headers, e->num_resp_headers, f->text + p->off, p->len);
        if (h != NULL)
            put_text(w, h->value, h->value != NULL ? h->value_len : 0, true);
        else
            put_dash(w);
        break;
    case PART_ENVIRON:
        put_environ(w, f, p, e);
        break;
    default:
        put_dash(w);
        break;
    }
}

/* Python's %d with flags, width and precision (minimum digits). */
static void put_int_spec(wbuf *w, long long v, const fmt_part *p)
{
    char digits[24];
    unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    int nd = snprintf(digits, sizeof(digits), "%llu", mag);
    const char *sign = v < 0                     ? "-"
                       : (p->flags & FLAG_PLUS)  ? "+"
                       : (p->flags & FLAG_SPACE) ? " "
                                                 : "";
    long zeros = p->prec > nd ? p->prec - nd : 0;
    long body = (long)strlen(sign) + zeros + nd;
    long pad = p->width > body ? p->width - body : 0;

    if (!(p->flags & FLAG_LEFT) && !(p->flags & FLAG_ZERO))
        for (long k = 0; k < pad; k++)
            put_c(w, ' ');
    put_str(w, sign);
    if (!(p->flags & FLAG_LEFT) && (p->flags & FLAG_ZERO))
        zeros += pad;
    for (long k = 0; k < zeros; k++)
        put_c(w, '0');
    put(w, digits, (size_t)nd);
    if (p->flags & FLAG_LEFT)
        for (long k = 0; k < pad; k++)
            put_c(w, ' ');
}

/* Apply %s precision (truncate) and width (pad with spaces) to the value
 * rendered at w->buf[start..len), counting UTF-8 code points as Python
 * counts characters. */
static void apply_str_spec(wbuf *w, size_t start, const fmt_part *p)
{
    size_t chars = 0;
    for (size_t i = start; i < w->len; i++) {
        if (((unsigned char)w->buf[i] & 0xC0) == 0x80)
            continue;
        if (p->prec >= 0 && chars == (size_t)p->prec) {
            w->len = i;
            break;
        }
        chars++;
    }
    if (p->width < 0 || (size_t)p->width <= chars)
        return;
    size_t pad = (size_t)p->width - chars;
    if (p->flags & FLAG_LEFT) {
        for (size_t k = 0; k < pad; k++)
            put_c(w, ' ');
        return;
    }
    size_t n = w->len - start, avail = w->cap - start;
    size_t padn = pad < avail ? pad : avail;
    size_t keep = n < avail - padn ? n : avail - padn;
    if (padn < pad || keep < n)
        w->full = true;
    memmove(w->buf + start + padn, w->buf + start, keep);
    memset(w->buf + start, ' ', padn);
    w->len = start + padn + keep;
}

/* One non-literal part with its conversion spec. */
static void put_part(wbuf *w, const cg_access_format *f, const fmt_part *p,
                     const cg_access_entry *e)
{
    long long v;
    bool spec = p->width >= 0 || p->prec >= 0 || (p->flags & (FLAG_PLUS | FLAG_SPACE));
    if (!spec) {
        put_value(w, f, p, e);
        return;
    }
    if (p->conv == 'd' && p->kind == PART_ATOM && atom_int(p->atom, e, &v)) {
        put_int_spec(w, v, p);
        return;
    }
    size_t start = w->len;
    put_value(w, f, p, e);
    apply_str_spec(w, start, p);
}

/* Render into out[0..outlen-1); *truncated tells whether it all fit. */
static size_t render(const cg_access_format *f, const cg_access_entry *e, char *out, size_t outlen,
                     bool *truncated)
{
    *truncated = false;
    if (out == NULL || outlen == 0)
        return 0;
    wbuf w = {out, outlen - 1, 0, false};
    if (f != NULL && e != NULL) {
        for (size_t i = 0; i < f->nparts && !w.full; i++) {
            const fmt_part *p = &f->parts[i];
            if (p->kind == PART_LITERAL)
                put(&w, f->text + p->off, p->len);
            else
                put_part(&w, f, p, e);
        }
    }
    out[w.len] = '\0';
    *truncated = w.full;
    return w.len;
}

/* Render one access-log line (no newline) into out: at most outlen - 1
 * bytes, always NUL-terminated; returns the length.  A line that does not
 * fit is cut at outlen - 1 bytes (possibly inside a UTF-8 sequence). */
size_t cg_access_render(const cg_access_format *f, const cg_access_entry *e, char *out,
                        size_t outlen)
{
    bool truncated;
    return render(f, e, out, outlen, &truncated);
}

/* Render and write one line plus "\n" to the access log with one write(2),
 * and show it to the observer.  Lines longer than the stack buffer are
 * rendered again on the heap (up to 1 MiB, beyond which they are cut).
 * errno is preserved. */
static bool (*access_sampler)(const cg_access_entry *e);

void cg_log_set_access_sampler(bool (*want)(const cg_access_entry *e))
{
    access_sampler = want;
}

void cg_log_access(const cg_access_format *f, const cg_access_entry *e)
{
    if (f == NULL || e == NULL || !cg_log_access_enabled())
        return;
    /* only the observer would see this line: it may take a sample */
    if (g_log.acc.fd < 0 && access_sampler != NULL && !access_sampler(e))
        return;
    int saved_errno = errno;
    char stack[ACC_STACK_LINE];
    char *buf = stack, *heap = NULL;
    size_t cap = sizeof(stack);
    bool truncated;
    size_t n = render(f, e, buf, cap - 1, &truncated); /* keep a byte for '\n' */
    while (truncated && cap < ACC_MAX_LINE) {
        char *bigger = realloc(heap, cap * 4);
        if (bigger == NULL)
            break;
        heap = buf = bigger;
        cap *= 4;
        n = render(f, e, buf, cap - 1, &truncated);
    }
    buf[n] = '\n';
    if (g_log.acc.fd >= 0)
        write_all(g_log.acc.fd, buf, n + 1);
    if (g_log.observer != NULL)
        g_log.observer(g_log.observer_ctx, true, buf, n);
    free(heap);
    errno = saved_errno;
}
