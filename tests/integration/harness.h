/* harness.h - start the real cgunicorn binary and talk HTTP to it.
 *
 * The binary is $CG_BIN (set by tests/run.sh), the repository root $CG_ROOT.
 * Every server runs in its own process group with its output in a log
 * file; servers still running when the test binary exits are killed. */
#ifndef CG_HARNESS_H
#define CG_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    int port;
    char log[256]; /* stdout + stderr of the server */
} srv_t;

/* A free loopback TCP port. */
int h_free_port(void);

/* Start the server: argv is the argument list after the program name,
 * NULL-terminated; "{port}" in any argument is replaced by a free port.
 * cwd NULL = $CG_ROOT/tests/integration/apps.  Does not wait.
 *
 * The words of $CG_TEST_WORKER_ARGS (e.g. "-k gevent") are appended to
 * every server's arguments (h_start, h_start_ready and h_run): tests/run.sh
 * re-runs suites under the green worker classes that way; a later -k wins,
 * as with gunicorn's argparse. */
srv_t *h_start(const char *cwd, const char *const *argv);
/* Like h_start, and wait until the port accepts connections.  NULL (and the
 * server killed) if it doesn't within timeout_ms. */
srv_t *h_start_ready(const char *cwd, const char *const *argv, int timeout_ms);

/* The -k named by $CG_TEST_WORKER_ARGS ("" when it names none). */
const char *h_worker_class(void);
/* $CG_TEST_WORKER_ARGS asks for gevent (or an alias) or eventlet. */
bool h_green(void);

/* Wait for the server to exit; its exit code, 128+signal, or -1 on
 * timeout. */
int h_wait_exit(srv_t *s, int timeout_ms);
/* Send sig to the server (the master). */
void h_signal(srv_t *s, int sig);
/* Kill the server and its process group, free s. */
void h_stop(srv_t *s);
/* A sanitizer report (ASan, UBSan, LSan) anywhere in a server's output. */
bool h_sanitizer_report(const char *log);
/* A sanitizer report in s's output (printed to stderr); false for NULL. */
bool h_server_dirty(srv_t *s);
/* h_stop, after checking the server's output: -1 (the output printed) if
 * it holds a sanitizer report, else 0.  s may be NULL. */
int h_stop_checked(srv_t *s);

/* Poll the server's log until it contains needle (count times). */
bool h_wait_log(srv_t *s, const char *needle, int count, int timeout_ms);
/* How many times needle appears in the log now. */
int h_log_count(srv_t *s, const char *needle);
/* The whole log (malloc'd). */
char *h_log(srv_t *s);

/* Read fd into out (NUL-terminated) until the server closes it or
 * timeout_ms; the length.  Under a green class (h_green()), whose
 * HTTP/1.1 connections stay open --keep-alive seconds after the answer
 * (gunicorn's async workers; sync closes at once), it also stops once what
 * arrived is whole responses and nothing more came for 300 ms. */
size_t h_read_until_close(int fd, char *out, size_t cap, int timeout_ms);
/* h_read_until_close, then close fd. */
size_t h_read_and_close(int fd, char *out, size_t cap, int timeout_ms);
/* buf[0..len) is one or more whole HTTP/1.x responses and nothing more
 * (a response delimited by the close never is). */
bool h_whole_responses(const char *buf, size_t len);

/* Connect, send raw bytes, read until the server closes (or timeout_ms;
 * see h_read_until_close).
 * Returns the response length (NUL-terminated in out), -1 if connecting
 * failed. */
int h_http(int port, const char *raw, size_t rawlen, char *out, size_t cap, int timeout_ms);
/* GET path with Host and Connection: close; returns status code, body in
 * body (may be NULL). */
int h_get(int port, const char *path, char *body, size_t cap);

/* Run the binary to completion with argv (NULL-terminated, after the
 * program name) in cwd; stdout+stderr into out.  Returns the exit code. */
int h_run(const char *cwd, const char *const *argv, char *out, size_t cap, int timeout_ms);

/* $CG_ROOT/<rel> into buf. */
const char *h_path(char *buf, size_t cap, const char *rel);

/* The process has exited (gone, or a zombie nobody reaps yet). */
bool h_pid_gone(pid_t pid);
/* Poll until h_pid_gone(pid), up to timeout_ms. */
bool h_wait_gone(pid_t pid, int timeout_ms);

/* pids of the master's children (workers). */
int h_children(pid_t master, pid_t *out, int max);
/* Poll until the master has exactly n children (up to timeout_ms); copy
 * their pids into out (may be NULL). */
bool h_wait_children(pid_t master, int n, pid_t *out, int timeout_ms);

/* A load child: a forked process looping h_get(port, path) (Connection:
 * close) until h_load_stop, max_requests (0: no limit) or max_ms,
 * counting ok and failed requests; it reports through a pipe.  At most one
 * runs at a time. */
typedef struct {
    pid_t pid;
    int ctl; /* closing it tells the child to stop */
    int res; /* the child's reports */
} h_load_t;

/* Start the load child and wait (up to 10 s) for its first ok request.  A
 * request is ok when its status is 200 and, with want_body non-NULL, its
 * body equals want_body; failed requests are reported on stderr.  false if
 * it could not start or never succeeded (the child is then killed). */
bool h_load_start(h_load_t *l, int port, const char *path, const char *want_body, int max_requests,
                  int max_ms);
/* Tell the load child to stop, wait for it, and get its counts.  false if
 * they did not arrive within 15 s. */
bool h_load_stop(h_load_t *l, int *ok, int *failed);
/* Kill the running load child, if any (for teardowns). */
void h_load_kill(void);

/* Keep only the tests named in $CG_TEST_ONLY (names separated by spaces;
 * all of them when it is unset), in their order; the new count.  tests/
 * run.sh uses it to re-run a chosen part of a suite under another worker
 * class. */
struct CMUnitTest;
size_t h_select_tests(struct CMUnitTest *tests, size_t n);

#endif
