/* screen.c - the layout: header meters, the two panels, the message line,
 * the footer, and what goes over them (help, traceback popup, prompts, the
 * "terminal too small" notice).
 *
 * Rows, top to bottom (80x24 at least; extra rows go to the panels, extra
 * columns to the graph, the request column and the log lines):
 *   0-2   header: identity and uptime / workers and req/s graph / totals
 *   3..   workers table (heading + one row per worker, up to 2/3 of the rest)
 *   ..    log pane (title + lines)
 *   -2    message line: confirmations, the shutdown countdown
 *   -1    footer: main keys, or the prompt being answered
 *
 * Every frame is erase() + draw + wnoutrefresh/doupdate: curses sends only
 * the cells that changed, so nothing flickers; clear() is used only for
 * Ctrl-L. */
#include "ui_int.h"

#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define HEADER_ROWS 3

/* Draw fmt at (y, *x) within [.., maxx), advancing *x. */
static void seg(int y, int *x, int maxx, ui_color c, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void seg(int y, int *x, int maxx, ui_color c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (*x >= maxx)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    *x += ui_crt_put(y, *x, maxx - *x, buf, c);
}

/* The req/s history in w columns at (y, x): block characters (ASCII
 * without UTF-8), newest at the right, then its scale. */
static void draw_graph(ui_app *app, int y, int x, int w)
{
    static const char *const blocks[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    static const char ascii[] = " _.-~=+*#";
    const ui_frame *f = app->view;
    double cols[512], peak = 0;
    unsigned per = 1;
    char suffix[64], rate[16];
    size_t n;
    int gw;

    if (w < 12)
        return;
    gw = w - 24; /* room for the scale after it */
    if (gw < 8)
        gw = w - 1;
    if (gw > (int)(sizeof(cols) / sizeof(cols[0])))
        gw = (int)(sizeof(cols) / sizeof(cols[0]));
    n = ui_graph_fold(f->rps_hist, f->nhist, (size_t)gw, cols, &per);
    peak = 0;
    for (size_t i = 0; i < n; i++)
        peak = cols[i] > peak ? cols[i] : peak;
    /* right-aligned: the newest second at the right end of the graph */
    for (size_t i = 0; i < n; i++) {
        int l = ui_graph_level(cols[i], peak, 8);
        int gx = x + gw - (int)n + (int)i;
        if (ui_crt_utf8()) {
            ui_crt_put(y, gx, 1, blocks[l], UI_C_GRAPH);
        } else {
            char s[2] = {ascii[l], '\0'};
            ui_crt_put(y, gx, 1, s, UI_C_GRAPH);
        }
    }
    if (gw == w - 1)
        return;
    ui_fmt_rate(rate, sizeof(rate), peak);
    snprintf(suffix, sizeof(suffix), " %us/col, peak %s", per, rate);
    ui_crt_put(y, x + gw, w - gw, suffix, UI_C_DIM);
}

/* The three header lines. */
static void draw_header(ui_app *app)
{
    const cg_arbiter_info *in = &app->info;
    const ui_frame *f = app->view;
    char up[32], b[32], c[32];
    int x = 0, maxx = COLS;
    double uptime = in->started_ns > 0 ? (double)(app->now_ns - in->started_ns) / 1e9 : 0;

    /* 0: who and where */
    if (app->paused)
        maxx -= 9;
    seg(0, &x, maxx, UI_C_TITLE, "cgunicorn-top");
    seg(0, &x, maxx, UI_C_VALUE, "  %s", in->app);
    seg(0, &x, maxx, UI_C_NORMAL, "  %s", in->listeners[0] ? in->listeners : "(no listener)");
    seg(0, &x, maxx, UI_C_LABEL, "  %s", in->worker_class);
    seg(0, &x, maxx, UI_C_LABEL, "  master ");
    seg(0, &x, maxx, UI_C_VALUE, "%d", (int)in->master_pid);
    ui_fmt_age(up, sizeof(up), uptime);
    seg(0, &x, maxx, UI_C_LABEL, "  up ");
    seg(0, &x, maxx, UI_C_VALUE, "%s", up);
    if (app->paused)
        ui_crt_put(0, COLS - 8, 8, " PAUSED ", UI_C_PAUSED);

    /* 1: workers and the request rate */
    x = 0;
    seg(1, &x, COLS, UI_C_LABEL, "Workers ");
    seg(1, &x, COLS, UI_C_VALUE, "%d/%d", in->workers_running, in->workers_target);
    seg(1, &x, COLS, UI_C_LABEL, "  busy ");
    seg(1, &x, COLS, f->nbusy ? UI_C_BUSY : UI_C_VALUE, "%d", f->nbusy);
    seg(1, &x, COLS, UI_C_LABEL, "  stuck ");
    seg(1, &x, COLS, f->nstuck ? UI_C_STUCK : UI_C_VALUE, "%d", f->nstuck);
    ui_fmt_rate(b, sizeof(b), f->rps);
    seg(1, &x, COLS, UI_C_LABEL, "  Req/s ");
    seg(1, &x, COLS, UI_C_VALUE, "%-6s", b);
    draw_graph(app, 1, x, COLS - x);

    /* 2: totals, latency, status classes */
    x = 0;
    ui_fmt_count(b, sizeof(b), f->requests);
    seg(2, &x, COLS, UI_C_LABEL, "Requests ");
    seg(2, &x, COLS, UI_C_VALUE, "%s", b);
    ui_fmt_ms(b, sizeof(b), f->p50_ms);
    ui_fmt_ms(c, sizeof(c), f->p99_ms);
    seg(2, &x, COLS, UI_C_LABEL, "  p50 ");
    seg(2, &x, COLS, UI_C_VALUE, "%s", b);
    seg(2, &x, COLS, UI_C_LABEL, " p99 ");
    seg(2, &x, COLS, UI_C_VALUE, "%s", c);
    seg(2, &x, COLS, UI_C_DIM, " (last %.0fs)",
        f->lat_window_s < UI_LAT_WINDOW ? f->lat_window_s : (double)UI_LAT_WINDOW);
    static const ui_color cls_color[6] = {UI_C_VALUE, UI_C_VALUE, UI_C_S2XX,
                                          UI_C_S3XX,  UI_C_S4XX,  UI_C_S5XX};
    for (int k = 2; k <= 5; k++) {
        ui_fmt_count(b, sizeof(b), f->status[k]);
        seg(2, &x, COLS, UI_C_LABEL, "  %dxx ", k);
        seg(2, &x, COLS, f->status[k] ? cls_color[k] : UI_C_VALUE, "%s", b);
    }
    if (f->status[1] || f->status[0]) {
        ui_fmt_count(b, sizeof(b), f->status[1] + f->status[0]);
        seg(2, &x, COLS, UI_C_LABEL, "  other ");
        seg(2, &x, COLS, UI_C_VALUE, "%s", b);
    }
}

/* The message line: the shutdown countdown, else the last confirmation. */
static void draw_message(ui_app *app, int y)
{
    const ui_frame *live = ui_model_frame(app->model);

    if (app->info.stopping) {
        ui_crt_fill(y, 0, COLS, UI_C_ALERT);
        ui_crt_putf(y, 0, COLS, UI_C_ALERT,
                    " %s shutdown: %d request%s in flight, %zu worker%s left, SIGKILL in %.0fs%s",
                    app->info.graceful ? "Graceful" : "Quick", live->nbusy,
                    live->nbusy == 1 ? "" : "s", live->n, live->n == 1 ? "" : "s",
                    app->info.stop_left_s, app->info.graceful ? "  Q: quick" : "");
        return;
    }
    if (app->msg[0])
        ui_crt_put(y, 0, COLS, app->msg, app->msg_alert ? UI_C_ALERT : UI_C_MSG);
}

/* The footer: the main keys. */
static void draw_keys(int y)
{
    static const struct {
        const char *key, *label;
    } keys[] = {
        {"?", "Help"},  {"+-", "Scale"}, {"r", "Reload"}, {"k", "Stop"},
        {"K", "Kill"},  {"t", "Trace"},  {"/", "Filter"}, {"Tab", "Pane"},
        {"<>", "Sort"}, {"Z", "Pause"},  {"q", "Quit"},
    };
    const size_t n = sizeof(keys) / sizeof(keys[0]);
    int x = 0, len = 0, pad;

    /* htop's function bar: the key, then what it does on a bar; the spare
     * columns are shared out between the labels */
    for (size_t i = 0; i < n; i++)
        len += (int)(strlen(keys[i].key) + strlen(keys[i].label)) + 1;
    pad = COLS > len ? (COLS - len) / (int)n : 0;
    if (pad > 3)
        pad = 3;
    ui_crt_fill(y, 0, COLS, UI_C_KEYLABEL);
    for (size_t i = 0; i < n && x < COLS; i++) {
        x += ui_crt_put(y, x, COLS - x, keys[i].key, UI_C_KEY);
        x += ui_crt_putf(y, x, COLS - x, UI_C_KEYLABEL, "%s%*s", keys[i].label, 1 + pad, "");
    }
}

/* The last line: the keys, or the question / prompt being answered. */
static void draw_footer(ui_app *app, int y)
{
    const char *kind;
    int x = 0;

    switch (app->mode) {
    case UI_MODE_CONFIRM:
        ui_crt_fill(y, 0, COLS, UI_C_ALERT);
        ui_crt_putf(y, 0, COLS, UI_C_ALERT, " %s [y/N] ", app->ask_text);
        return;
    case UI_MODE_FILTER:
        kind = app->shown_log == UI_LOG_ACCESS ? "access log" : "error log";
        seg(y, &x, COLS, UI_C_KEY, "Filter %s: ", kind);
        seg(y, &x, COLS, UI_C_VALUE, "%s", app->filter[app->shown_log]);
        seg(y, &x, COLS, UI_C_SELECTED, " ");
        seg(y, &x, COLS, UI_C_DIM, "   Enter: keep   Esc: clear   Ctrl-U: erase");
        return;
    case UI_MODE_TRACEBACK:
        ui_crt_fill(y, 0, COLS, UI_C_KEYLABEL);
        x += ui_crt_put(y, x, COLS, "Up/Down PgUp/PgDn Home/End", UI_C_KEY);
        x += ui_crt_put(y, x, COLS - x, " scroll  ", UI_C_KEYLABEL);
        x += ui_crt_put(y, x, COLS - x, "Esc q", UI_C_KEY);
        x += ui_crt_put(y, x, COLS - x, " close  ", UI_C_KEYLABEL);
        x += ui_crt_put(y, x, COLS - x, "t", UI_C_KEY);
        ui_crt_put(y, x, COLS - x, " take it again", UI_C_KEYLABEL);
        return;
    default:
        draw_keys(y);
        return;
    }
}

/* The help screen: every key, on 80x24. */
static void draw_help(ui_app *app)
{
    static const char *const text[] = {
        " Workers pane                            Log pane (Tab to focus it)",
        " Up/Down PgUp/PgDn Home/End  select      Up/Down PgUp/PgDn Home  scroll back",
        "                                         End  follow the newest lines",
        " + -        add / remove a worker (as TTIN / TTOU)",
        " r          graceful reload: new workers, the old ones finish and stop (HUP)",
        " k  F9      stop the selected worker gracefully (SIGTERM); it is replaced",
        " K          kill the selected worker at once (SIGKILL, asks y/n); replaced",
        " t          Python traceback of the selected worker, all threads (popup)",
        " < >  F6    sort by the column to the left / right;  I  invert the order",
        " Tab S-Tab  focus: workers -> access log -> error log",
        " /  F4      filter the log pane (text, e.g. \" 500 \");  Esc  clears it",
        " Z          pause the display (the server keeps running); Z again resumes",
        " Ctrl-L     redraw the whole screen",
        " q F10 ^C   graceful shutdown (asks y/n), counting down in-flight requests",
        " Q          quick shutdown (asks y/n): requests in flight are cut",
        " ? h F1     this help",
    };
    char marks[160];
    int y = 0;

    ui_crt_fill(y, 0, COLS, UI_C_HEAD);
    ui_crt_put(y++, 0, COLS, " cgunicorn-top keys", UI_C_HEAD);
    y++;
    for (size_t i = 0; i < sizeof(text) / sizeof(text[0]) && y < LINES - 1; i++)
        ui_crt_put(y++, 0, COLS, text[i], UI_C_NORMAL);
    snprintf(marks, sizeof(marks),
             " Marks: * busy   ! stuck (busy over %.0fs)   + booting   - stopping",
             ui_model_stuck_after(app->model));
    if (y < LINES - 1)
        ui_crt_put(++y, 0, COLS, marks, UI_C_BOLD);
    if (y + 1 < LINES - 1)
        ui_crt_put(++y, 0, COLS,
                   " Actions act on the selected worker's pid, never on a screen row.",
                   UI_C_NORMAL);
    ui_crt_fill(LINES - 1, 0, COLS, UI_C_KEYLABEL);
    ui_crt_put(LINES - 1, 0, COLS, " any key: back to the dashboard", UI_C_KEYLABEL);
}

typedef struct {
    size_t off;
    int len;
} span;

/* Cut text into display lines of at most width bytes (not inside a UTF-8
 * sequence).  Returns how many spans were stored. */
static size_t wrap_text(const char *t, size_t len, int width, span *out, size_t max)
{
    size_t n = 0, i = 0;

    while (i < len && n < max) {
        size_t e = i, p = i;
        while (e < len && t[e] != '\n')
            e++;
        if (e == i)
            out[n++] = (span){i, 0};
        while (p < e && n < max) {
            size_t q = p + (size_t)width < e ? p + (size_t)width : e;
            while (q < e && q > p + 1 && ((unsigned char)t[q] & 0xC0) == 0x80)
                q--;
            out[n++] = (span){p, (int)(q - p)};
            p = q;
        }
        i = e + 1;
    }
    return n;
}

/* A framed, cleared box. */
static void draw_box(int y0, int x0, int h, int w, ui_color c)
{
    attrset(ui_crt_attr(c));
    mvaddch(y0, x0, ACS_ULCORNER);
    mvhline(y0, x0 + 1, ACS_HLINE, w - 2);
    mvaddch(y0, x0 + w - 1, ACS_URCORNER);
    for (int y = y0 + 1; y < y0 + h - 1; y++) {
        mvaddch(y, x0, ACS_VLINE);
        mvhline(y, x0 + 1, ' ', w - 2);
        mvaddch(y, x0 + w - 1, ACS_VLINE);
    }
    mvaddch(y0 + h - 1, x0, ACS_LLCORNER);
    mvhline(y0 + h - 1, x0 + 1, ACS_HLINE, w - 2);
    mvaddch(y0 + h - 1, x0 + w - 1, ACS_LRCORNER);
    attrset(A_NORMAL);
}

/* The traceback popup over the panels, scrollable, as tall as its text. */
static void draw_traceback(ui_app *app)
{
    static span spans[32768];
    int y0 = 1, x0 = 1, h = LINES - 3, w = COLS - 2;
    int bw = w - 4, bh;
    size_t n;
    char line[1024], info[96];

    /* as tall as the text (at least 8 rows), at most down to the message
     * line: the table stays in sight above a short traceback */
    n = wrap_text(app->tb, app->tb_len, bw, spans, sizeof(spans) / sizeof(spans[0]));
    if ((int)n + 2 < h)
        h = (int)n + 2 < 8 ? 8 : (int)n + 2;
    if (h > LINES - 3)
        h = LINES - 3;
    y0 = LINES - 3 - h + 1;
    if (y0 > 4)
        y0 = 4;
    bh = h - 2;
    draw_box(y0, x0, h, w, UI_C_BOLD);
    ui_crt_putf(y0, x0 + 2, w - 4, UI_C_BOLD, " %s ", app->tb_title);
    if (app->tb_len == 0) {
        ui_crt_put(y0 + 2, x0 + 2, bw,
                   app->tb_collecting
                       ? "waiting for the worker's traceback..."
                       : "No traceback arrived within 1.5 s: the worker may have exited, or be "
                         "blocked where signals are not handled.",
                   app->tb_collecting ? UI_C_DIM : UI_C_ALERT);
        return;
    }
    app->tb_rows = bh;
    if (app->tb_scroll > (long)n - bh)
        app->tb_scroll = (long)n - bh;
    if (app->tb_scroll < 0)
        app->tb_scroll = 0;
    for (int r = 0; r < bh && (size_t)(app->tb_scroll + r) < n; r++) {
        const span *s = &spans[app->tb_scroll + r];
        int len = s->len < (int)sizeof(line) - 1 ? s->len : (int)sizeof(line) - 1;
        memcpy(line, app->tb + s->off, (size_t)len);
        line[len] = '\0';
        bool head = strncmp(line, "Thread ", 7) == 0 || strncmp(line, "Current thread", 14) == 0;
        ui_crt_put(y0 + 1 + r, x0 + 2, bw, line, head ? UI_C_BOLD : UI_C_NORMAL);
    }
    snprintf(info, sizeof(info), " %s%ld-%ld of %zu ", app->tb_collecting ? "receiving... " : "",
             n ? app->tb_scroll + 1 : 0,
             app->tb_scroll + bh < (long)n ? app->tb_scroll + bh : (long)n, n);
    ui_crt_put(y0 + h - 1, x0 + w - 2 - (int)strlen(info), (int)strlen(info), info, UI_C_BOLD);
}

/* Below 80x24: say so, and how the server is doing. */
static void draw_too_small(ui_app *app)
{
    char l1[96], l2[128], rate[16];
    int y = LINES / 2 - 1;

    ui_fmt_rate(rate, sizeof(rate), app->view->rps);
    snprintf(l1, sizeof(l1), "terminal too small: need %dx%d, have %dx%d", UI_MIN_COLS, UI_MIN_ROWS,
             COLS, LINES);
    snprintf(l2, sizeof(l2), "still serving: %d/%d workers, %s req/s", app->info.workers_running,
             app->info.workers_target, rate);
    if (y < 0)
        y = 0;
    ui_crt_put(y, 0, COLS, l1, UI_C_ALERT);
    ui_crt_put(y + 1, 0, COLS, l2, UI_C_NORMAL);
    ui_crt_put(y + 2, 0, COLS, "enlarge the window; q quits", UI_C_DIM);
    if (app->mode == UI_MODE_CONFIRM)
        ui_crt_putf(LINES - 1, 0, COLS, UI_C_ALERT, "%s [y/N]", app->ask_text);
    else if (app->info.stopping)
        ui_crt_putf(LINES - 1, 0, COLS, UI_C_ALERT, "stopping: SIGKILL in %.0fs",
                    app->info.stop_left_s);
}

void ui_screen_draw(ui_app *app)
{
    if (app->repaint) {
        clearok(curscr, TRUE);
        app->repaint = false;
    }
    erase();
    if (COLS < UI_MIN_COLS || LINES < UI_MIN_ROWS) {
        draw_too_small(app);
    } else if (app->mode == UI_MODE_HELP) {
        draw_help(app);
    } else {
        /* rows between the header and the message line: a heading and
         * rows for the workers, a title and lines for the log */
        int avail = LINES - HEADER_ROWS - 2 - 2;
        int cap = avail * 2 / 3, wk = (int)app->view->n;
        if (cap > avail - 4)
            cap = avail - 4;
        if (wk < 1)
            wk = 1;
        if (wk > cap)
            wk = cap;
        draw_header(app);
        ui_panel_workers_draw(app, HEADER_ROWS, wk);
        ui_panel_log_draw(app, HEADER_ROWS + 1 + wk, avail - wk);
        draw_message(app, LINES - 2);
        draw_footer(app, LINES - 1);
        if (app->mode == UI_MODE_TRACEBACK)
            draw_traceback(app);
    }
    wnoutrefresh(stdscr);
    doupdate();
}
