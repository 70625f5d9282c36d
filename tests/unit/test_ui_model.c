/* test_ui_model.c - unit tests for the dashboard's model (ui/model.c,
 * ui/logbuf.c, ui/format.c): rates, CPU%, percentiles, totals that survive
 * workers going away, stuck detection, sort orders, selection tracking by
 * pid, the rate graph, the log tail and filter, number formatting.  Rows
 * are synthetic cg_worker_row values; no curses, no arbiter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ui/model.h"
#include "cgunicorn/scoreboard.h"
#include "cgunicorn/stats.h"

#define SEC 1000000000LL
#define T0 (1000 * SEC) /* "now" at the first sample */

static cg_worker_row row(pid_t pid, cg_worker_state state, uint64_t requests)
{
    cg_worker_row r;

    memset(&r, 0, sizeof(r));
    r.slot = (int)pid % CG_SB_MAX_SLOTS;
    r.pid = pid;
    r.state = state;
    r.boot_ns = T0 - 10 * SEC;
    r.heartbeat_ns = T0;
    r.requests = requests;
    return r;
}

/* Record n requests of us microseconds each, with status code. */
static void serve(cg_worker_row *r, uint64_t n, uint64_t us, int code)
{
    r->requests += n;
    r->status[code / 100] += n;
    r->lat_sum_us += n * us;
    r->lat[cg_sb_lat_bucket(us)] += n;
}

static const ui_worker *by_pid(const ui_frame *f, pid_t pid)
{
    long i = ui_frame_find(f, pid);
    assert_true(i >= 0);
    return &f->w[i];
}

/* ------------------------------------------------------------------ */

static void test_ui_model_rates(void **state)
{
    ui_model *m = ui_model_new(5);
    cg_worker_row rows[2] = {row(100, CG_WS_IDLE, 0), row(101, CG_WS_IDLE, 0)};
    const ui_frame *f = ui_model_frame(m);
    (void)state;

    ui_model_feed(m, rows, 2, NULL, T0);
    assert_int_equal(f->n, 2);
    assert_true(by_pid(f, 100)->rps == 0);
    /* 100 req/s on one, 10 req/s on the other, for 10 s in 250 ms steps */
    for (int i = 1; i <= 40; i++) {
        rows[0].requests += 25;
        rows[1].requests += 2 + (i % 2); /* 2.5 per step on average */
        ui_model_feed(m, rows, 2, NULL, T0 + i * SEC / 4);
    }
    assert_float_equal(by_pid(f, 100)->rps, 100.0, 0.5);
    assert_float_equal(by_pid(f, 101)->rps, 10.0, 2.5);
    assert_int_equal(f->requests, rows[0].requests + rows[1].requests);
    assert_float_equal(f->rps, 110.0, 3.0);
    /* one history point per second */
    assert_int_equal(f->nhist, 10);
    assert_float_equal(f->rps_hist[f->nhist - 1], 110.0, 5.0);
    /* traffic stops: the rate decays towards 0 within a few seconds */
    for (int i = 41; i <= 80; i++)
        ui_model_feed(m, rows, 2, NULL, T0 + i * SEC / 4);
    assert_true(by_pid(f, 100)->rps < 1.0);
    assert_true(f->rps < 1.0);
    ui_model_free(m);
}

static void test_ui_model_cpu_rss(void **state)
{
    ui_model *m = ui_model_new(5);
    cg_worker_row r = row(200, CG_WS_IDLE, 0);
    ui_proc p = {.ok = true, .cpu_s = 1.0, .rss_bytes = 50u << 20};
    const ui_frame *f = ui_model_frame(m);
    (void)state;

    /* first reading: RSS known, CPU% not yet (it needs two) */
    ui_model_feed(m, &r, 1, &p, T0);
    assert_true(f->w[0].cpu_pct < 0);
    assert_int_equal(f->w[0].rss, 50 << 20);
    /* half a second of CPU in one second: 50% */
    p.cpu_s = 1.5;
    ui_model_feed(m, &r, 1, &p, T0 + SEC);
    assert_float_equal(f->w[0].cpu_pct, 50.0, 0.01);
    /* no /proc reading this time: the last values stay */
    ui_model_feed(m, &r, 1, NULL, T0 + SEC + SEC / 4);
    assert_float_equal(f->w[0].cpu_pct, 50.0, 0.01);
    /* two cores' worth over 2 s (threads): 200%, never negative */
    p.cpu_s = 5.5;
    ui_model_feed(m, &r, 1, &p, T0 + 3 * SEC);
    assert_float_equal(f->w[0].cpu_pct, 200.0, 0.01);
    p.cpu_s = 5.0; /* a clock going backwards reads as 0, not negative */
    ui_model_feed(m, &r, 1, &p, T0 + 4 * SEC);
    assert_float_equal(f->w[0].cpu_pct, 0.0, 0.01);
    /* unreadable /proc (the process is gone): n/a, not 0 */
    p.ok = false;
    ui_model_feed(m, &r, 1, &p, T0 + 5 * SEC);
    assert_true(f->w[0].cpu_pct < 0);
    assert_true(f->w[0].rss < 0);
    ui_model_free(m);
}

static void test_ui_model_latency(void **state)
{
    ui_model *m = ui_model_new(5);
    cg_worker_row r = row(300, CG_WS_IDLE, 0);
    const ui_frame *f = ui_model_frame(m);
    (void)state;

    ui_model_feed(m, &r, 1, NULL, T0);
    assert_true(f->w[0].avg_ms < 0); /* no request yet: n/a */
    assert_true(f->w[0].p99_ms < 0);
    assert_true(f->p50_ms < 0);
    /* 98 fast requests (1 ms) and 2 slow ones (100 ms) */
    serve(&r, 98, 1000, 200);
    serve(&r, 2, 100000, 500);
    ui_model_feed(m, &r, 1, NULL, T0 + SEC);
    assert_float_equal(f->w[0].avg_ms, (98 * 1.0 + 2 * 100.0) / 100, 1e-6);
    /* p99 falls in the slow requests' bucket: within a bucket's width */
    assert_true(f->w[0].p99_ms > 64 && f->w[0].p99_ms <= 128);
    assert_true(f->p50_ms > 0.5 && f->p50_ms <= 1.25);
    assert_true(f->p99_ms > 64 && f->p99_ms <= 128);
    assert_int_equal(f->status[2], 98);
    assert_int_equal(f->status[5], 2);
    /* the header's percentiles cover the last UI_LAT_WINDOW seconds only:
     * after a quiet window they are n/a again, the worker's stay */
    for (int s = 2; s <= UI_LAT_WINDOW + 3; s++)
        ui_model_feed(m, &r, 1, NULL, T0 + s * SEC);
    assert_true(f->p50_ms < 0);
    assert_true(f->p99_ms < 0);
    assert_true(f->w[0].p99_ms > 64);
    /* new traffic in the window: only it counts */
    serve(&r, 10, 10000, 200);
    ui_model_feed(m, &r, 1, NULL, T0 + (UI_LAT_WINDOW + 4) * SEC);
    assert_true(f->p99_ms > 8 && f->p99_ms <= 12.5);
    ui_model_free(m);
}

static void test_ui_model_gone_workers_keep_counting(void **state)
{
    ui_model *m = ui_model_new(5);
    cg_worker_row rows[2] = {row(400, CG_WS_IDLE, 0), row(401, CG_WS_IDLE, 0)};
    const ui_frame *f = ui_model_frame(m);
    double rate_before;
    (void)state;

    for (int i = 0; i <= 20; i++) {
        if (i > 0) {
            serve(&rows[0], 10, 500, 200);
            serve(&rows[1], 10, 500, 404);
        }
        ui_model_feed(m, rows, 2, NULL, T0 + i * SEC / 4);
    }
    assert_int_equal(f->requests, 400);
    rate_before = f->rps;
    /* 401 is replaced by 402 (a new pid, counters from zero) */
    rows[1] = row(402, CG_WS_BOOTING, 0);
    ui_model_feed(m, rows, 2, NULL, T0 + 21 * SEC / 4);
    assert_int_equal(f->n, 2);
    assert_int_equal(f->requests, 400); /* not 200: the gone worker's count stays */
    assert_int_equal(f->status[4], 200);
    assert_true(f->rps > rate_before / 2); /* no reset to 0 */
    assert_int_equal(f->nbooting, 1);
    /* a pid reused by a new worker (another boot time) starts afresh */
    rows[0] = row(400, CG_WS_IDLE, 0);
    rows[0].boot_ns = T0 + 5 * SEC;
    ui_model_feed(m, rows, 2, NULL, T0 + 22 * SEC / 4);
    assert_int_equal(f->requests, 400);
    assert_int_equal(by_pid(f, 400)->requests, 0);
    /* a slot claimed before fork (pid 0) is not a row */
    cg_worker_row three[3] = {rows[0], rows[1], row(0, CG_WS_BOOTING, 0)};
    ui_model_feed(m, three, 3, NULL, T0 + 23 * SEC / 4);
    assert_int_equal(f->n, 2);
    ui_model_free(m);
}

static void test_ui_model_busy_and_stuck(void **state)
{
    ui_model *m = ui_model_new(5);
    cg_worker_row rows[3] = {row(500, CG_WS_BUSY, 3), row(501, CG_WS_BUSY, 1),
                             row(502, CG_WS_STOPPING, 0)};
    const ui_frame *f = ui_model_frame(m);
    const ui_worker *w;
    (void)state;

    assert_float_equal(ui_model_stuck_after(m), 5.0, 0);
    rows[0].req_start_ns = T0 - 2 * SEC; /* busy for 2 s */
    rows[1].req_start_ns = T0 - 6 * SEC; /* busy for 6 s: stuck */
    strcpy(rows[1].method, "GET");
    strcpy(rows[1].path, "/sleep?30");
    strcpy(rows[1].client, "127.0.0.1");
    ui_model_feed(m, rows, 3, NULL, T0);
    w = by_pid(f, 500);
    assert_float_equal(w->busy_s, 2.0, 1e-9);
    assert_false(w->stuck);
    w = by_pid(f, 501);
    assert_true(w->stuck);
    assert_string_equal(w->path, "/sleep?30");
    assert_string_equal(w->method, "GET");
    assert_float_equal(w->age_s, 10.0, 1e-9);
    w = by_pid(f, 502);
    assert_true(w->busy_s < 0);
    assert_int_equal(f->nbusy, 2);
    assert_int_equal(f->nstuck, 1);
    assert_int_equal(f->nstopping, 1);
    /* the request ends: no longer busy, nothing shown in progress */
    rows[1].state = CG_WS_IDLE;
    ui_model_feed(m, rows, 3, NULL, T0 + SEC);
    w = by_pid(f, 501);
    assert_false(w->stuck);
    assert_true(w->busy_s < 0);
    assert_string_equal(w->path, "");
    assert_int_equal(f->nstuck, 0);
    ui_model_free(m);
    /* the threshold is the model's */
    m = ui_model_new(1.5);
    ui_model_feed(m, rows, 3, NULL, T0);
    assert_true(by_pid(ui_model_frame(m), 500)->stuck);
    ui_model_free(m);
}

/* A frame of four workers with distinct numbers in every column. */
static ui_frame *sample_frame(void)
{
    ui_frame *f = calloc(1, sizeof(*f));
    static const struct {
        pid_t pid;
        cg_worker_state st;
        uint64_t req;
        double rps, avg, p99, cpu;
        int64_t rss;
        double age, busy;
    } d[] = {
        {30, CG_WS_IDLE, 500, 5, 2.0, 9, 1.0, 40 << 20, 100, -1},
        {10, CG_WS_BUSY, 100, 50, 1.0, 20, 30.0, 60 << 20, 50, 2},
        {40, CG_WS_BOOTING, 0, 0, -1, -1, -1, -1, 1, -1},
        {20, CG_WS_BUSY, 300, 20, 3.0, 5, 10.0, 30 << 20, 200, 8},
    };
    for (size_t i = 0; i < 4; i++) {
        ui_worker *w = &f->w[i];
        w->pid = d[i].pid;
        w->state = d[i].st;
        w->requests = d[i].req;
        w->rps = d[i].rps;
        w->avg_ms = d[i].avg;
        w->p99_ms = d[i].p99;
        w->cpu_pct = d[i].cpu;
        w->rss = d[i].rss;
        w->age_s = d[i].age;
        w->busy_s = d[i].busy;
        w->stuck = d[i].busy > 5;
    }
    f->n = 4;
    return f;
}

static void expect_order(const ui_frame *f, pid_t a, pid_t b, pid_t c, pid_t d)
{
    assert_int_equal(f->w[0].pid, a);
    assert_int_equal(f->w[1].pid, b);
    assert_int_equal(f->w[2].pid, c);
    assert_int_equal(f->w[3].pid, d);
}

static void test_ui_frame_sort_orders(void **state)
{
    ui_frame *f = sample_frame();
    (void)state;

    ui_frame_sort(f, UI_COL_PID, false);
    expect_order(f, 10, 20, 30, 40);
    ui_frame_sort(f, UI_COL_PID, true);
    expect_order(f, 40, 30, 20, 10);
    ui_frame_sort(f, UI_COL_REQS, true);
    expect_order(f, 30, 20, 10, 40);
    ui_frame_sort(f, UI_COL_RPS, true);
    expect_order(f, 10, 20, 30, 40);
    ui_frame_sort(f, UI_COL_AVG, true); /* n/a last */
    expect_order(f, 20, 30, 10, 40);
    ui_frame_sort(f, UI_COL_P99, true);
    expect_order(f, 10, 30, 20, 40);
    ui_frame_sort(f, UI_COL_CPU, true);
    expect_order(f, 10, 20, 30, 40);
    ui_frame_sort(f, UI_COL_RSS, true);
    expect_order(f, 10, 30, 20, 40);
    ui_frame_sort(f, UI_COL_AGE, false); /* youngest first */
    expect_order(f, 40, 10, 30, 20);
    ui_frame_sort(f, UI_COL_REQUEST, true); /* longest-running request first */
    expect_order(f, 20, 10, 30, 40);
    /* state: stuck, busy, booting, stopping, idle */
    ui_frame_sort(f, UI_COL_STATE, true);
    expect_order(f, 20, 10, 40, 30);
    /* ties go by pid, ascending, whatever the direction */
    for (size_t i = 0; i < f->n; i++)
        f->w[i].requests = 7;
    ui_frame_sort(f, UI_COL_REQS, true);
    expect_order(f, 10, 20, 30, 40);
    ui_frame_sort(f, UI_COL_REQS, false);
    expect_order(f, 10, 20, 30, 40);
    /* natural directions and names */
    assert_false(ui_column_desc_default(UI_COL_PID));
    assert_true(ui_column_desc_default(UI_COL_RPS));
    assert_true(ui_column_desc_default(UI_COL_CPU));
    assert_string_equal(ui_column_name(UI_COL_RPS), "REQ/S");
    free(f);
}

static void test_ui_select_tracks_pid(void **state)
{
    ui_frame *f = sample_frame();
    ui_selection s = {0, 0};
    (void)state;

    ui_frame_sort(f, UI_COL_PID, false); /* 10 20 30 40 */
    ui_select_track(&s, f);              /* nothing selected: the first row */
    assert_int_equal(s.pid, 10);
    ui_select_move(&s, f, +2);
    assert_int_equal(s.pid, 30);
    assert_int_equal(s.index, 2);
    /* the rows reorder (a new sort, or new numbers): the pid stays selected */
    ui_frame_sort(f, UI_COL_REQS, true); /* 30 20 10 40 */
    ui_select_track(&s, f);
    assert_int_equal(s.pid, 30);
    assert_int_equal(s.index, 0);
    ui_frame_sort(f, UI_COL_AGE, false); /* 40 10 30 20 */
    ui_select_track(&s, f);
    assert_int_equal(s.pid, 30);
    assert_int_equal(s.index, 2);
    /* the selected worker goes away: the row that takes its place */
    f->w[2] = f->w[3];
    f->n = 3; /* 40 10 20 */
    ui_select_track(&s, f);
    assert_int_equal(s.pid, 20);
    assert_int_equal(s.index, 2);
    /* ... and the last row when it was the last one */
    f->n = 2; /* 40 10 */
    ui_select_track(&s, f);
    assert_int_equal(s.pid, 10);
    assert_int_equal(s.index, 1);
    /* moves clamp at both ends; Home/End */
    ui_select_move(&s, f, +10);
    assert_int_equal(s.pid, 10);
    ui_select_move(&s, f, -10);
    assert_int_equal(s.pid, 40);
    ui_select_edge(&s, f, +1);
    assert_int_equal(s.pid, 10);
    ui_select_edge(&s, f, -1);
    assert_int_equal(s.pid, 40);
    /* no workers at all: nothing selected */
    f->n = 0;
    ui_select_track(&s, f);
    assert_int_equal(s.pid, 0);
    ui_select_move(&s, f, 1);
    assert_int_equal(s.pid, 0);
    free(f);
}

static void test_ui_select_follows_model(void **state)
{
    /* the dashboard's cycle: sample, copy, sort, track */
    ui_model *m = ui_model_new(5);
    ui_frame *view = calloc(1, sizeof(*view));
    cg_worker_row rows[3] = {row(61, CG_WS_IDLE, 0), row(62, CG_WS_IDLE, 0),
                             row(63, CG_WS_IDLE, 0)};
    ui_selection s = {0, 0};
    (void)state;

    ui_model_feed(m, rows, 3, NULL, T0);
    ui_frame_copy(view, ui_model_frame(m));
    ui_frame_sort(view, UI_COL_REQS, true);
    ui_select_track(&s, view);
    ui_select_edge(&s, view, +1);
    assert_int_equal(s.pid, 63); /* all at 0 requests: pid order */
    /* 63 gets the most requests: it moves to the top, still selected */
    serve(&rows[2], 50, 100, 200);
    serve(&rows[0], 5, 100, 200);
    ui_model_feed(m, rows, 3, NULL, T0 + SEC);
    ui_frame_copy(view, ui_model_frame(m));
    ui_frame_sort(view, UI_COL_REQS, true);
    ui_select_track(&s, view);
    assert_int_equal(s.pid, 63);
    assert_int_equal(s.index, 0);
    assert_int_equal(view->w[1].pid, 61);
    assert_int_equal(view->requests, 55);
    free(view);
    ui_model_free(m);
}

static void test_ui_graph(void **state)
{
    double hist[600], out[100];
    unsigned per = 0;
    size_t n;
    (void)state;

    for (int i = 0; i < 600; i++)
        hist[i] = i % 10; /* 0..9 repeating: every 10 s averages 4.5 */
    n = ui_graph_fold(hist, 30, 40, out, &per);
    assert_int_equal(per, 1);
    assert_int_equal(n, 30);
    assert_float_equal(out[29], 9, 0); /* newest last */
    n = ui_graph_fold(hist, 100, 40, out, &per);
    assert_int_equal(per, 5);
    assert_int_equal(n, 20);
    assert_float_equal(out[19], (5 + 6 + 7 + 8 + 9) / 5.0, 1e-9);
    n = ui_graph_fold(hist, 600, 40, out, &per);
    assert_int_equal(per, 15);
    assert_int_equal(n, 40);
    n = ui_graph_fold(hist, 600, 7, out, &per); /* too narrow: the newest */
    assert_int_equal(per, 60);
    assert_int_equal(n, 7);
    assert_float_equal(out[6], 4.5, 1e-9);
    n = ui_graph_fold(hist, 7, 40, out, &per); /* a partial oldest column */
    assert_int_equal(n, 7);
    n = ui_graph_fold(hist, 0, 40, out, &per);
    assert_int_equal(n, 0);
    /* bar heights: 0 is empty, anything else shows, the peak is full */
    assert_int_equal(ui_graph_level(0, 10, 8), 0);
    assert_int_equal(ui_graph_level(0.01, 10, 8), 1);
    assert_int_equal(ui_graph_level(10, 10, 8), 8);
    assert_int_equal(ui_graph_level(5, 10, 8), 4);
    assert_int_equal(ui_graph_level(5, 0, 8), 0);
    assert_int_equal(ui_graph_level(20, 10, 8), 8);
}

static void test_ui_logbuf(void **state)
{
    ui_logbuf b;
    const char *out[10];
    char line[32];
    size_t n;
    (void)state;

    assert_int_equal(ui_logbuf_init(&b, 5), 0);
    assert_int_equal(ui_logbuf_count(&b, NULL, SIZE_MAX), 0);
    assert_int_equal(ui_logbuf_tail(&b, NULL, 0, out, 10), 0);
    for (int i = 1; i <= 7; i++) {
        snprintf(line, sizeof(line), "GET /%d\" %d 12", i, i % 2 ? 200 : 500);
        ui_logbuf_push(&b, line);
    }
    /* only the last 5 are kept: 3..7 */
    assert_int_equal(ui_logbuf_count(&b, "", SIZE_MAX), 5);
    n = ui_logbuf_tail(&b, NULL, 0, out, 10);
    assert_int_equal(n, 5);
    assert_string_equal(out[0], "GET /7\" 200 12");
    assert_string_equal(out[4], "GET /3\" 200 12");
    /* filter: " 500 " matches 4 and 6 */
    assert_int_equal(ui_logbuf_count(&b, " 500 ", SIZE_MAX), 2);
    n = ui_logbuf_tail(&b, " 500 ", 0, out, 10);
    assert_int_equal(n, 2);
    assert_string_equal(out[0], "GET /6\" 500 12");
    /* scrolled back by one match */
    n = ui_logbuf_tail(&b, " 500 ", 1, out, 10);
    assert_int_equal(n, 1);
    assert_string_equal(out[0], "GET /4\" 500 12");
    /* case-insensitive; among the newest k only */
    assert_int_equal(ui_logbuf_count(&b, "get /7", SIZE_MAX), 1);
    assert_int_equal(ui_logbuf_count(&b, " 500 ", 1), 0);
    assert_int_equal(ui_logbuf_count(&b, " 500 ", 2), 1);
    /* control characters never reach the terminal */
    ui_logbuf_push(&b, "a\tb\033[2Jc");
    n = ui_logbuf_tail(&b, NULL, 0, out, 1);
    assert_string_equal(out[0], "a b [2Jc");
    ui_logbuf_free(&b);
}

static void test_ui_ringtail(void **state)
{
    cg_scoreboard_t *sb = cg_scoreboard_create(4, 8);
    ui_logbuf acc, err;
    ui_ringtail t = {0};
    const char *out[16];
    char line[64];
    (void)state;

    assert_non_null(sb);
    ui_logbuf_init(&acc, 100);
    ui_logbuf_init(&err, 100);
    cg_sb_ring_push(sb, false, "[INFO] Starting", 15);
    cg_sb_ring_push(sb, true, "GET / 200", 9);
    cg_sb_ring_push(sb, false, "Traceback:\n  File \"x.py\"\nValueError", 35);
    assert_int_equal(ui_ringtail_pull(&t, sb, &acc, &err), 3);
    assert_int_equal(acc.total, 1);
    assert_int_equal(err.total, 4); /* the traceback record, one line each */
    ui_logbuf_tail(&err, NULL, 0, out, 16);
    assert_string_equal(out[0], "ValueError");
    assert_string_equal(out[3], "[INFO] Starting");
    assert_int_equal(ui_ringtail_pull(&t, sb, &acc, &err), 0); /* nothing new */
    /* fall behind by more than the ring holds: the overwritten are counted
     * as lost, the rest arrive in order */
    for (int i = 0; i < 20; i++) {
        int len = snprintf(line, sizeof(line), "line %d", i);
        cg_sb_ring_push(sb, true, line, (size_t)len);
    }
    assert_int_equal(ui_ringtail_pull(&t, sb, &acc, &err), 8);
    assert_int_equal(t.lost, 12);
    ui_logbuf_tail(&acc, NULL, 0, out, 16);
    assert_string_equal(out[0], "line 19");
    assert_string_equal(out[7], "line 12");
    ui_logbuf_free(&acc);
    ui_logbuf_free(&err);
    cg_scoreboard_destroy(sb);
}

static void test_ui_format(void **state)
{
    char b[32];
    (void)state;

    ui_fmt_age(b, sizeof(b), -1);
    assert_string_equal(b, "-");
    ui_fmt_age(b, sizeof(b), 0.25);
    assert_string_equal(b, "250ms");
    ui_fmt_age(b, sizeof(b), 3.21);
    assert_string_equal(b, "3.2s");
    ui_fmt_age(b, sizeof(b), 42);
    assert_string_equal(b, "42s");
    ui_fmt_age(b, sizeof(b), 303);
    assert_string_equal(b, "5m03s");
    ui_fmt_age(b, sizeof(b), 7500);
    assert_string_equal(b, "2h05m");
    ui_fmt_age(b, sizeof(b), 3 * 86400 + 4 * 3600);
    assert_string_equal(b, "3d04h");
    ui_fmt_ms(b, sizeof(b), -1);
    assert_string_equal(b, "-");
    ui_fmt_ms(b, sizeof(b), 0.354);
    assert_string_equal(b, "0.35ms");
    ui_fmt_ms(b, sizeof(b), 4.25);
    assert_string_equal(b, "4.2ms");
    ui_fmt_ms(b, sizeof(b), 12.4);
    assert_string_equal(b, "12ms");
    ui_fmt_ms(b, sizeof(b), 1234);
    assert_string_equal(b, "1.2s");
    ui_fmt_ms(b, sizeof(b), 95000);
    assert_string_equal(b, "95s");
    ui_fmt_bytes(b, sizeof(b), -1);
    assert_string_equal(b, "n/a");
    ui_fmt_bytes(b, sizeof(b), 512 * 1024);
    assert_string_equal(b, "512K");
    ui_fmt_bytes(b, sizeof(b), 5 * 1024 * 1024 + 300 * 1024);
    assert_string_equal(b, "5.3M");
    ui_fmt_bytes(b, sizeof(b), 10 * 1024 * 1024 - 1);
    assert_string_equal(b, "10M");
    ui_fmt_bytes(b, sizeof(b), 48LL * 1024 * 1024);
    assert_string_equal(b, "48M");
    ui_fmt_bytes(b, sizeof(b), 1288490189LL); /* 1.2 GiB */
    assert_string_equal(b, "1.2G");
    ui_fmt_count(b, sizeof(b), 1234);
    assert_string_equal(b, "1234");
    ui_fmt_count(b, sizeof(b), 456789);
    assert_string_equal(b, "457k");
    ui_fmt_count(b, sizeof(b), 4500000);
    assert_string_equal(b, "4.5M");
    ui_fmt_rate(b, sizeof(b), 0);
    assert_string_equal(b, "0");
    ui_fmt_rate(b, sizeof(b), 0.42);
    assert_string_equal(b, "0.4");
    ui_fmt_rate(b, sizeof(b), 123.4);
    assert_string_equal(b, "123");
    ui_fmt_rate(b, sizeof(b), 12345);
    assert_string_equal(b, "12.3k");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ui_model_rates),
        cmocka_unit_test(test_ui_model_cpu_rss),
        cmocka_unit_test(test_ui_model_latency),
        cmocka_unit_test(test_ui_model_gone_workers_keep_counting),
        cmocka_unit_test(test_ui_model_busy_and_stuck),
        cmocka_unit_test(test_ui_frame_sort_orders),
        cmocka_unit_test(test_ui_select_tracks_pid),
        cmocka_unit_test(test_ui_select_follows_model),
        cmocka_unit_test(test_ui_graph),
        cmocka_unit_test(test_ui_logbuf),
        cmocka_unit_test(test_ui_ringtail),
        cmocka_unit_test(test_ui_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
