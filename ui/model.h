/* model.h - what the dashboard shows, sampled apart from drawing (htop's
 * Meter updateValues vs draw).
 *
 * Nothing here knows curses: the model turns scoreboard rows and /proc
 * readings into a ui_frame (per-worker req/s, latency, CPU%, RSS, ages,
 * totals, rate history, status counts), orders it and tracks the selected
 * worker by pid.  The log buffer keeps the tail of the scoreboard's log ring
 * and filters it.  All of it is unit-tested with synthetic rows
 * (tests/unit/test_ui_model.c). */
#ifndef UI_MODEL_H
#define UI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgunicorn/scoreboard.h"
#include "cgunicorn/stats.h"

#define UI_SAMPLE_MS 250 /* scoreboard snapshot period */
#define UI_PROC_MS 1000  /* /proc period: CPU% over a second is readable */
#define UI_LAT_WINDOW 60 /* seconds behind the header's p50/p99 */
#define UI_STUCK_DEFAULT_S 5.0

/* Table columns, left to right; also the sort keys. */
typedef enum {
    UI_COL_PID,
    UI_COL_STATE,
    UI_COL_REQS,
    UI_COL_RPS,
    UI_COL_AVG,
    UI_COL_P99,
    UI_COL_CPU,
    UI_COL_RSS,
    UI_COL_AGE,
    UI_COL_REQUEST, /* sorts by how long the request in progress has run */
    UI_COL__COUNT
} ui_column;

/* One worker as the table shows it.  Negative numbers mean "n/a". */
typedef struct {
    pid_t pid;
    int slot;
    cg_worker_state state;
    uint32_t generation;
    uint64_t requests;
    uint64_t bytes_sent;
    uint64_t status[6];
    double rps;     /* requests/s, smoothed over about two seconds */
    double avg_ms;  /* mean latency over the worker's life; < 0: no request yet */
    double p99_ms;  /* 99th percentile, same span; < 0: no request yet */
    double cpu_pct; /* of one core, over the last second; < 0: not known yet */
    int64_t rss;    /* bytes; < 0: not known */
    double age_s;   /* since fork */
    double busy_s;  /* how long the request in progress has run; < 0: none */
    bool stuck;     /* busy for longer than the stuck threshold */
    int nbusy;      /* threads running a request (gthread); the oldest is shown */
    char method[16];
    char path[112];
    char client[48];
} ui_worker;

/* One sample: what a screen is drawn from.  A paused display keeps a copy. */
typedef struct {
    int64_t now_ns; /* CLOCK_MONOTONIC when sampled */
    ui_worker w[CG_SB_MAX_SLOTS];
    size_t n;
    /* totals since the dashboard started (live workers + those gone) */
    uint64_t requests;
    uint64_t status[6];               /* [1]..[5]: 1xx..5xx, [0]: other */
    double rps;                       /* all workers, now */
    double rps_hist[CG_RATE_HISTORY]; /* one value per second, newest last */
    size_t nhist;
    double p50_ms, p99_ms; /* over the last UI_LAT_WINDOW seconds; < 0: n/a */
    double lat_window_s;   /* the span p50/p99 actually cover */
    int nbooting, nidle, nbusy, nstuck, nstopping;
} ui_frame;

/* /proc reading for one pid (cg_procstat_read's result, or ok = false). */
typedef struct {
    bool ok;
    double cpu_s;
    uint64_t rss_bytes;
} ui_proc;

typedef struct ui_model ui_model;

/* A model whose "stuck" threshold is stuck_after_s (<= 0: the default). */
ui_model *ui_model_new(double stuck_after_s);
void ui_model_free(ui_model *m);
double ui_model_stuck_after(const ui_model *m);

/* Take a sample: snapshot sb, read /proc for each pid when UI_PROC_MS has
 * passed since the last reading, and feed both to ui_model_feed. */
void ui_model_sample(ui_model *m, const cg_scoreboard_t *sb, int64_t now_ns);

/* The arithmetic: rows (n of them) as of now_ns, with procs[i] the /proc
 * reading of rows[i].pid, or procs NULL when /proc was not read this time
 * (CPU% and RSS keep their last values).  Rows with pid <= 0 (a slot
 * claimed before fork) are skipped.  A worker that disappears keeps
 * counting in the totals. */
void ui_model_feed(ui_model *m, const cg_worker_row *rows, size_t n, const ui_proc *procs,
                   int64_t now_ns);

/* The latest frame (unsorted: slot order). */
const ui_frame *ui_model_frame(const ui_model *m);
/* Copy a frame (only its n workers). */
void ui_frame_copy(ui_frame *dst, const ui_frame *src);

/* --- ordering and selection --------------------------------------- */

/* The natural direction of a column: true = biggest first. */
bool ui_column_desc_default(ui_column col);
const char *ui_column_name(ui_column col);

/* Order f->w by col (desc: biggest first); ties by pid ascending. */
void ui_frame_sort(ui_frame *f, ui_column col, bool desc);

/* Index of pid in f, or -1. */
long ui_frame_find(const ui_frame *f, pid_t pid);

/* The selected worker: the pid is what counts (actions target it); index
 * is where it was last seen, used only when the pid goes away. */
typedef struct {
    pid_t pid; /* 0: nothing selected (no workers) */
    long index;
} ui_selection;

/* After f changed (new sample, new order): find the pid again; if it is gone,
 * select the row now at its old index (or the last row). */
void ui_select_track(ui_selection *s, const ui_frame *f);
/* Move by delta rows (clamped), or to the first (to_end < 0) / last
 * (to_end > 0) row. */
void ui_select_move(ui_selection *s, const ui_frame *f, long delta);
void ui_select_edge(ui_selection *s, const ui_frame *f, int to_end);

/* --- the rate graph -------------------------------------------------- */

/* Fold a per-second history into at most width columns, newest last: each
 * column is the mean of *secs_per_col seconds, the smallest of 1, 2, 5, 10,
 * 15, 30, 60 that fits the whole history.  Returns the number of columns. */
size_t ui_graph_fold(const double *hist, size_t nhist, size_t width, double *out,
                     unsigned *secs_per_col);
/* The bar height of v on a 0..levels scale where max is full; any v > 0
 * gets at least 1. */
int ui_graph_level(double v, double max, int levels);

/* --- log tail ------------------------------------------------------- */

#define UI_LOG_KEEP 2000 /* lines kept per log */
#define UI_LOG_WIDTH (CG_SB_LINE + 1)

typedef struct {
    char (*line)[UI_LOG_WIDTH];
    size_t cap;
    uint64_t total; /* lines ever pushed; the newest is total - 1 */
} ui_logbuf;

int ui_logbuf_init(ui_logbuf *b, size_t cap);
void ui_logbuf_free(ui_logbuf *b);
void ui_logbuf_push(ui_logbuf *b, const char *text);
/* How many of the newest k kept lines contain filter (case-insensitive;
 * NULL or "" matches every line; k = SIZE_MAX: all kept lines). */
size_t ui_logbuf_count(const ui_logbuf *b, const char *filter, size_t k);
/* The newest matching lines after skipping the newest `skip` matches:
 * out[0] is the newest.  Returns how many were stored (<= max). */
size_t ui_logbuf_tail(const ui_logbuf *b, const char *filter, size_t skip, const char **out,
                      size_t max);

/* Reads the scoreboard's log ring from where it last stopped. */
typedef struct {
    uint64_t pos;   /* next ring line to read */
    unsigned waits; /* ticks spent waiting for a line being written */
    uint64_t lost;  /* lines overwritten before we read them */
} ui_ringtail;

/* Move every new ring line into acc (access lines) or err (the rest).
 * Returns the number of lines moved. */
size_t ui_ringtail_pull(ui_ringtail *t, const cg_scoreboard_t *sb, ui_logbuf *acc, ui_logbuf *err);

/* --- formatting (fixed widths for the table) ----------------------------- */

/* "850ms", "12.3s", "5m03s", "2h05m", "3d04h"; "-" for s < 0. */
void ui_fmt_age(char *out, size_t len, double s);
/* Latency in ms: "0.35ms", "12ms", "1.2s", "95s", "12m"; "-" if ms < 0. */
void ui_fmt_ms(char *out, size_t len, double ms);
/* Bytes: "512K", "48M", "1.2G"; "n/a" if < 0. */
void ui_fmt_bytes(char *out, size_t len, int64_t bytes);
/* Counts: "1234", "12.3k", "456k", "4.5M", "12G". */
void ui_fmt_count(char *out, size_t len, uint64_t n);
/* Rates: "0", "0.4", "12.5", "123", "12.3k". */
void ui_fmt_rate(char *out, size_t len, double r);

#endif
