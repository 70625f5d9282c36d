/* ui.c - ui_run: the dashboard's loop around the arbiter.
 *
 * One thread, one poll(): stdin (keys) and cg_arbiter_fd() (the arbiter's
 * signal pipe), with a timeout up to the next sampling tick.  Each pass
 * steps the arbiter without blocking (signals, reaping, respawning, worker
 * output), reads every pending key, samples the scoreboard and /proc every
 * UI_SAMPLE_MS (the model; /proc every UI_PROC_MS), and redraws when
 * something changed: at most 4 times a second on its own, at once (but at
 * most every MIN_DRAW_MS) after a key.  An idle dashboard wakes 4 times a
 * second and does a few /proc reads and a small diffed redraw.
 *
 * Log lines come from the scoreboard's ring (every process's access and
 * error lines, workers' output) and from the master's own stdout/stderr,
 * which crt.c points at a pipe while curses runs. */
#include "ui_int.h"

#include <curses.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgunicorn/log.h"

#define MIN_DRAW_MS 50
#define TB_POLL_MS 50
#define OUT_KEEP 200 /* lines of the master's own output replayed at exit */
/* A sample that found this many new ring lines reads the ring every
 * RING_FAST_MS until it calms down: under load the ring (1024 lines in the
 * engine) would wrap between two samples and the tail would miss lines. */
#define RING_BUSY 256
#define RING_FAST_MS 50

int64_t ui_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void ui_options_init(ui_options *o, const cg_config_t *cfg)
{
    const char *nc = getenv("NO_COLOR");
    long timeout = cfg ? cg_config_int(cfg, CG_SET_timeout) : 0;

    memset(o, 0, sizeof(*o));
    o->no_color = nc != NULL && nc[0] != '\0';
    o->stuck_after_s = UI_STUCK_DEFAULT_S;
    if (timeout > 0 && timeout / 2.0 < o->stuck_after_s)
        o->stuck_after_s = timeout / 2.0;
    o->graceful_timeout_s = cfg ? cg_config_int(cfg, CG_SET_graceful_timeout) : -1;
}

void ui_refresh_view(ui_app *app)
{
    if (!app->paused)
        ui_frame_copy(app->view, ui_model_frame(app->model));
    ui_frame_sort(app->view, app->sort_col, app->sort_desc);
    ui_select_track(&app->sel, app->view);
}

/* Free the application state (NULL is fine). */
static void app_free(ui_app *app)
{
    if (app == NULL)
        return;
    ui_model_free(app->model);
    free(app->view);
    ui_logbuf_free(&app->log[0]);
    ui_logbuf_free(&app->log[1]);
    ui_logbuf_free(&app->out_keep);
    free(app->tb);
    free(app);
}

/* The application state for arbiter a, or NULL when out of memory. */
static ui_app *app_new(cg_arbiter_t *a, const ui_options *opt)
{
    ui_app *app = calloc(1, sizeof(*app));

    if (app == NULL)
        return NULL;
    app->arb = a;
    app->opt = *opt;
    app->model = ui_model_new(opt->stuck_after_s);
    app->view = calloc(1, sizeof(*app->view));
    app->tb = malloc(UI_TB_CAP);
    if (app->model == NULL || app->view == NULL || app->tb == NULL ||
        ui_logbuf_init(&app->log[0], UI_LOG_KEEP) != 0 ||
        ui_logbuf_init(&app->log[1], UI_LOG_KEEP) != 0 ||
        ui_logbuf_init(&app->out_keep, OUT_KEEP) != 0) {
        app_free(app);
        return NULL;
    }
    app->tb[0] = '\0';
    app->view->p50_ms = app->view->p99_ms = -1;
    app->sort_col = UI_COL_PID;
    app->sort_desc = ui_column_desc_default(UI_COL_PID);
    app->focus = UI_FOCUS_WORKERS;
    app->shown_log = UI_LOG_ACCESS;
    app->dirty = true;
    return app;
}

/* The master's own stdout/stderr (captured while curses runs): into the
 * error log pane, and kept to be shown again at exit. */
static void pull_output(ui_app *app, bool flush)
{
    char buf[4096];
    size_t n;

    while ((n = ui_crt_output_read(buf, sizeof(buf))) > 0) {
        for (size_t i = 0; i < n; i++) {
            if (buf[i] == '\n' || app->out_len == sizeof(app->out_part) - 1) {
                app->out_part[app->out_len] = '\0';
                ui_logbuf_push(&app->log[UI_LOG_ERROR], app->out_part);
                ui_logbuf_push(&app->out_keep, app->out_part);
                app->out_len = 0;
                if (buf[i] == '\n')
                    continue;
            }
            app->out_part[app->out_len++] = buf[i];
        }
    }
    if (flush && app->out_len > 0) {
        app->out_part[app->out_len] = '\0';
        ui_logbuf_push(&app->log[UI_LOG_ERROR], app->out_part);
        ui_logbuf_push(&app->out_keep, app->out_part);
        app->out_len = 0;
    }
}

/* New log lines: the ring (access and error lines from every process),
 * then the master's own output.  Returns the ring lines read. */
static size_t pull_logs(ui_app *app)
{
    uint64_t before[2] = {app->log[0].total, app->log[1].total};
    size_t n;

    n = ui_ringtail_pull(&app->tail, app->sb, &app->log[UI_LOG_ACCESS], &app->log[UI_LOG_ERROR]);
    pull_output(app, false);
    for (int k = 0; k < 2; k++)
        if (app->log[k].total != before[k])
            ui_panel_log_added(app, (ui_logkind)k, (size_t)before[k]);
    return n;
}

/* One tick of sampling: the scoreboard and /proc (the model), the logs,
 * the arbiter's header info, then the view. */
static void sample(ui_app *app)
{
    ui_model_sample(app->model, app->sb, app->now_ns);
    app->ring_busy = pull_logs(app) >= RING_BUSY;
    cg_arbiter_get_info(app->arb, &app->info);
    ui_refresh_view(app);
    app->dirty = true;
}

/* After the dashboard is gone: what the master printed while it ran, and
 * why the server stopped when it failed. */
static void report_exit(ui_app *app, int rc)
{
    const char *lines[OUT_KEEP > 40 ? OUT_KEEP : 40];
    size_t n;

    pull_output(app, true);
    n = ui_logbuf_tail(&app->out_keep, NULL, 0, lines, OUT_KEEP);
    if (n > 0 && rc == 0) { /* (on a failure the error-log tail below has them) */
        fprintf(stderr, "cgunicorn-top: the master's output while the dashboard ran%s:\n",
                app->out_keep.total > n ? " (the last lines)" : "");
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "%s\n", lines[n - 1 - i]);
    }
    if (rc == 0)
        return;
    if (app->sb)
        ui_ringtail_pull(&app->tail, app->sb, &app->log[UI_LOG_ACCESS], &app->log[UI_LOG_ERROR]);
    n = ui_logbuf_tail(&app->log[UI_LOG_ERROR], NULL, 0, lines, 40);
    fprintf(stderr, "cgunicorn-top: the server stopped with exit code %d%s\n", rc,
            n ? "; the last error-log lines:" : "");
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s\n", lines[n - 1 - i]);
}

/* The terminal went away (an SSH session dropped, the tmux pane closed):
 * shut down gracefully, as a terminal program does, rather than leave a
 * server nobody can see holding the port.  `cgunicorn` (or --no-ui) is the
 * server that outlives its terminal. */
static int terminal_gone(ui_app *app)
{
    ui_crt_done();
    cg_log(CG_LOG_WARNING,
           "cgunicorn-top: the terminal is gone; shutting down gracefully (master %d)",
           (int)app->info.master_pid);
    cg_arbiter_shutdown(app->arb, true);
    while (cg_arbiter_step(app->arb, 1000)) {
    }
    return cg_arbiter_exit_code(app->arb);
}

/* Milliseconds from now to t, for poll() (0..1000). */
static int ms_until(int64_t t, int64_t now)
{
    int64_t ms = (t - now + 999999) / 1000000;
    return ms < 0 ? 0 : ms > 1000 ? 1000 : (int)ms;
}

/* The dashboard's loop, until the arbiter stops; returns its exit code. */
static int loop(ui_app *app)
{
    const int64_t sample_ns = UI_SAMPLE_MS * 1000000LL, min_draw_ns = MIN_DRAW_MS * 1000000LL;
    int64_t next_sample = 0, next_ring = 0, last_draw = 0;

    for (;;) {
        struct pollfd pfd[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                                {.fd = cg_arbiter_fd(app->arb), .events = POLLIN}};
        int64_t wake;
        int ch, pr;

        app->now_ns = ui_now_ns();
        if (app->now_ns >= next_sample) {
            sample(app);
            next_sample = app->now_ns + sample_ns;
        } else if (app->ring_busy && app->now_ns >= next_ring) {
            /* no redraw for this: the next sample draws */
            app->ring_busy = pull_logs(app) >= RING_BUSY / 4;
        }
        if (app->ring_busy)
            next_ring = app->now_ns + RING_FAST_MS * 1000000LL;
        ui_actions_tick(app);
        if (ui_crt_check_resize())
            app->dirty = true;
        if (app->dirty && app->now_ns - last_draw >= min_draw_ns) {
            ui_screen_draw(app);
            last_draw = app->now_ns;
            app->dirty = false;
        }

        wake = next_sample;
        if (app->ring_busy && next_ring < wake)
            wake = next_ring;
        if (app->tb_collecting && app->now_ns + TB_POLL_MS * 1000000LL < wake)
            wake = app->now_ns + TB_POLL_MS * 1000000LL;
        if (app->dirty && last_draw + min_draw_ns < wake)
            wake = last_draw + min_draw_ns;
        pr = poll(pfd, 2, ms_until(wake, app->now_ns));
        if (pr < 0 && errno != EINTR)
            break;

        /* the arbiter: signals (ours and from outside), reaping, output */
        if (!cg_arbiter_step(app->arb, 0))
            break;
        ui_actions_flush(app);

        if (pr > 0 && (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL)))
            return terminal_gone(app);
        if (pr > 0 && (pfd[0].revents & POLLIN)) {
            bool any = false;
            while ((ch = getch()) != ERR) {
                app->now_ns = ui_now_ns();
                ui_actions_key(app, ch);
                ui_actions_flush(app);
                any = true;
            }
            if (any) {
                /* show the effect at once (a new worker row, a new order) */
                next_sample = 0;
            }
        }
    }
    return cg_arbiter_exit_code(app->arb);
}

int ui_run(cg_arbiter_t *a, const ui_options *opt)
{
    ui_app *app;
    int rc;

    if (ui_crt_init(opt->no_color) != 0) {
        fprintf(stderr, "%s\n", UI_HEADLESS_NOTICE);
        rc = cg_arbiter_start(a);
        return rc != 0 ? rc : cg_arbiter_run(a);
    }
    app = app_new(a, opt);
    if (app == NULL) {
        ui_crt_done();
        fprintf(stderr, "cgunicorn-top: out of memory\n");
        return 1;
    }
    cg_arbiter_set_capture(a, true);
    cg_arbiter_set_event_cb(a, ui_actions_event, app);
    /* a first frame: binding may take a while (gunicorn retries 5 times) */
    app->now_ns = ui_now_ns();
    cg_arbiter_get_info(a, &app->info);
    ui_message(app, false, "starting %s", app->info.app);
    ui_screen_draw(app);
    rc = cg_arbiter_start(a);
    app->sb = cg_arbiter_scoreboard(a);
    if (rc == 0)
        rc = loop(app);
    cg_arbiter_set_event_cb(a, NULL, NULL);
    ui_crt_done();
    report_exit(app, rc);
    app_free(app);
    return rc;
}
