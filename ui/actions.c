/* actions.c - keys.  Each action names the pid it acts on (taken when the
 * key is pressed, or when the y/n question was asked - never a screen row)
 * and leaves a one-line confirmation; what the arbiter then does (worker
 * exited, new worker booting) arrives through its event callback and
 * replaces it. */
#include "ui_int.h"

#include <curses.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cgunicorn/log.h"

#define UI_CTRL(c) ((c)&0x1f)
#define KEY_ESC 27
#define TB_QUIET_NS (300 * 1000000LL)  /* no new text for this long: done */
#define TB_LIMIT_NS (1500 * 1000000LL) /* give up after this long */

#define MSG_WINDOW_NS 2000000000LL /* events this soon after a message join it */

/* "worker 4121 exited (code 0), workers 4188, 4189 booting" */
static void render_events(const ui_app *app, char *out, size_t len)
{
    size_t n = 0;

    out[0] = '\0';
    for (int i = 0; i < app->nev && n + 1 < len; i++) {
        const struct ui_event_group *g = &app->ev[i];
        if (i > 0)
            n += (size_t)snprintf(out + n, len - n, ", ");
        if (n + 1 >= len)
            break;
        if (g->npid == 0) {
            n += (size_t)snprintf(out + n, len - n, "%s", g->what);
            continue;
        }
        n += (size_t)snprintf(out + n, len - n, "worker%s", g->npid + g->more > 1 ? "s" : "");
        for (int k = 0; k < g->npid && n + 1 < len; k++)
            n += (size_t)snprintf(out + n, len - n, "%s%d", k ? ", " : " ", (int)g->pid[k]);
        if (g->more && n + 1 < len)
            n += (size_t)snprintf(out + n, len - n, " and %d more", g->more);
        if (n + 1 < len)
            n += (size_t)snprintf(out + n, len - n, " %s", g->what);
    }
}

/* The message line: a time, what the user did, what the arbiter said. */
static void render_message(ui_app *app)
{
    char stamp[16], events[256];
    time_t t = time(NULL);
    struct tm tm;

    localtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
    render_events(app, events, sizeof(events));
    snprintf(app->msg, sizeof(app->msg), "%s %s%s%s", stamp, app->msg_action,
             app->msg_action[0] && events[0] ? "; " : "", events);
    app->dirty = true;
}

void ui_message(ui_app *app, bool alert, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(app->msg_action, sizeof(app->msg_action), fmt, ap);
    va_end(ap);
    app->nev = 0;
    app->msg_alert = alert;
    app->msg_ns = ui_now_ns();
    render_message(app);
}

void ui_actions_event(void *ctx, const char *text)
{
    ui_app *app = ctx;
    struct ui_event_group *g = NULL;
    int64_t now = ui_now_ns();
    int pid = 0, off = 0;

    /* a new story, unless it follows an action (or events) just now */
    if (app->msg_alert || now - app->msg_ns >= MSG_WINDOW_NS) {
        app->msg_action[0] = '\0';
        app->msg_alert = false;
        app->nev = 0;
        app->msg_ns = now;
    }
    app->ev_new = true;
    if (sscanf(text, "worker %d %n", &pid, &off) == 1 && off > 0 && text[off]) {
        for (int i = 0; i < app->nev && g == NULL; i++)
            if (app->ev[i].npid > 0 && strcmp(app->ev[i].what, text + off) == 0)
                g = &app->ev[i];
    } else {
        pid = 0;
    }
    if (g == NULL) {
        if (app->nev == (int)(sizeof(app->ev) / sizeof(app->ev[0])))
            return; /* a flood: the first ones tell enough */
        g = &app->ev[app->nev++];
        memset(g, 0, sizeof(*g));
        snprintf(g->what, sizeof(g->what), "%s", pid > 0 ? text + off : text);
    }
    if (pid <= 0)
        return;
    if (g->npid < (int)(sizeof(g->pid) / sizeof(g->pid[0])))
        g->pid[g->npid++] = (pid_t)pid;
    else
        g->more++;
}

void ui_actions_flush(ui_app *app)
{
    if (!app->ev_new)
        return;
    app->ev_new = false;
    render_message(app);
}

/* The selected worker in the view, or NULL. */
static const ui_worker *selected(const ui_app *app)
{
    long i = app->sel.pid > 0 ? ui_frame_find(app->view, app->sel.pid) : -1;
    return i >= 0 ? &app->view->w[i] : NULL;
}

/* Requests in progress now (the live frame, even when paused). */
static int in_flight(const ui_app *app)
{
    return ui_model_frame(app->model)->nbusy;
}

/* Open a y/n question about what (for pid, if it concerns one). */
static void ask(ui_app *app, ui_ask what, pid_t pid, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ask(ui_app *app, ui_ask what, pid_t pid, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(app->ask_text, sizeof(app->ask_text), fmt, ap);
    va_end(ap);
    app->ask = what;
    app->ask_pid = pid;
    app->mode = UI_MODE_CONFIRM;
}

/* + / -: one worker more or less (TTIN / TTOU). */
static void scale(ui_app *app, int delta)
{
    int before = app->info.workers_target;

    if (app->info.stopping) {
        ui_message(app, true, "shutting down: workers are not scaled any more");
        return;
    }
    if (delta < 0 && before <= 1) {
        ui_message(app, true, "already at 1 worker: the arbiter keeps at least one");
        return;
    }
    /* the message first: the arbiter's events (booting, exited) join it */
    ui_message(app, false, "workers %d -> %d", before, before + delta < 1 ? 1 : before + delta);
    cg_arbiter_scale(app->arb, delta);
    cg_arbiter_get_info(app->arb, &app->info);
}

/* k / K: stop worker pid (SIGTERM or SIGKILL); the arbiter replaces it. */
static void stop_worker(ui_app *app, pid_t pid, bool graceful)
{
    if (pid <= 0) {
        ui_message(app, true, "no worker selected");
        return;
    }
    ui_message(app, false, "worker %d: %s", (int)pid,
               graceful ? "SIGTERM (graceful stop)" : "SIGKILL");
    if (cg_arbiter_kill_worker(app->arb, pid, graceful) != 0)
        ui_message(app, true, "worker %d: %s", (int)pid,
                   errno == ESRCH ? "not a worker any more" : strerror(errno));
}

/* t: ask the selected worker for its traceback and open the popup;
 * ui_actions_tick collects the text. */
static void traceback_start(ui_app *app)
{
    const ui_worker *w = selected(app);
    pid_t pid = app->sel.pid;
    char busy[32];

    if (w == NULL || pid <= 0) {
        ui_message(app, true, "no worker selected");
        return;
    }
    if (cg_arbiter_request_traceback(app->arb, pid) != 0) {
        ui_message(app, true, "worker %d: no traceback: %s", (int)pid,
                   errno == ESRCH ? "not a worker any more" : strerror(errno));
        return;
    }
    if (w->busy_s >= 0) {
        ui_fmt_age(busy, sizeof(busy), w->busy_s);
        snprintf(app->tb_title, sizeof(app->tb_title),
                 "Python traceback of worker %d - %s %s for %s", (int)pid, w->method, w->path,
                 busy);
    } else {
        snprintf(app->tb_title, sizeof(app->tb_title), "Python traceback of worker %d - %s",
                 (int)pid, w->state == CG_WS_IDLE ? "idle" : "not in a request");
    }
    app->tb_pid = pid;
    app->tb_len = 0;
    app->tb[0] = '\0';
    app->tb_scroll = 0;
    app->tb_collecting = true;
    app->tb_start_ns = app->tb_growth_ns = app->now_ns;
    app->mode = UI_MODE_TRACEBACK;
}

/* Keep the traceback in the error log too, one record per line (a ring
 * line holds CG_SB_LINE bytes; a whole dump would be cut). */
static void traceback_log(ui_app *app)
{
    char *s = app->tb, *nl;

    cg_log(CG_LOG_INFO, "Traceback of worker %d (asked from the dashboard):", (int)app->tb_pid);
    while (*s) {
        nl = strchr(s, '\n');
        int len = nl ? (int)(nl - s) : (int)strlen(s);
        if (len > 0)
            cg_log(CG_LOG_INFO, "[traceback %d] %.*s", (int)app->tb_pid, len, s);
        if (nl == NULL)
            break;
        s = nl + 1;
    }
}

void ui_actions_tick(ui_app *app)
{
    size_t n;

    if (!app->tb_collecting)
        return;
    n = cg_arbiter_read_traceback(app->arb, app->tb_pid, app->tb, app->tb_len, UI_TB_CAP);
    if (n > app->tb_len) {
        app->tb_len = n;
        app->tb_growth_ns = app->now_ns;
        app->dirty = true;
    }
    if ((app->tb_len > 0 && app->now_ns - app->tb_growth_ns >= TB_QUIET_NS) ||
        app->now_ns - app->tb_start_ns >= TB_LIMIT_NS) {
        app->tb_collecting = false;
        app->dirty = true;
        if (app->tb_len > 0) {
            traceback_log(app);
            ui_message(app, false, "worker %d: traceback taken (%zu bytes; also in the error log)",
                       (int)app->tb_pid, app->tb_len);
        } else {
            ui_message(app, true, "worker %d: no traceback arrived", (int)app->tb_pid);
        }
    }
}

/* < / >: sort by the previous / next column, in its natural direction. */
static void set_sort(ui_app *app, int dir)
{
    int c = ((int)app->sort_col + dir + UI_COL__COUNT) % UI_COL__COUNT;

    app->sort_col = (ui_column)c;
    app->sort_desc = ui_column_desc_default(app->sort_col);
    ui_refresh_view(app);
    ui_message(app, false, "sorted by %s, %s", ui_column_name(app->sort_col),
               app->sort_desc ? "largest first" : "smallest first");
}

/* The log a key about "the log" means: the focused one, else the shown one. */
static ui_logkind log_of_focus(const ui_app *app)
{
    if (app->focus == UI_FOCUS_ACCESS)
        return UI_LOG_ACCESS;
    if (app->focus == UI_FOCUS_ERROR)
        return UI_LOG_ERROR;
    return app->shown_log;
}

/* Tab / Shift-Tab: workers -> access log -> error log. */
static void focus_next(ui_app *app, int dir)
{
    app->focus = (ui_focus)(((int)app->focus + dir + 3) % 3);
    if (app->focus == UI_FOCUS_ACCESS)
        app->shown_log = UI_LOG_ACCESS;
    else if (app->focus == UI_FOCUS_ERROR)
        app->shown_log = UI_LOG_ERROR;
}

/* Up/Down/PgUp/PgDn/Home/End: the selection, or the log's scroll. */
static bool move_key(ui_app *app, int ch)
{
    long page;

    if (app->focus == UI_FOCUS_WORKERS) {
        page = app->wk_rows > 1 ? app->wk_rows - 1 : 1;
        switch (ch) {
        case KEY_UP:
            ui_select_move(&app->sel, app->view, -1);
            return true;
        case KEY_DOWN:
            ui_select_move(&app->sel, app->view, +1);
            return true;
        case KEY_PPAGE:
            ui_select_move(&app->sel, app->view, -page);
            return true;
        case KEY_NPAGE:
            ui_select_move(&app->sel, app->view, +page);
            return true;
        case KEY_HOME:
            ui_select_edge(&app->sel, app->view, -1);
            return true;
        case KEY_END:
            ui_select_edge(&app->sel, app->view, +1);
            return true;
        }
        return false;
    }
    ui_logkind k = app->shown_log;
    size_t *s = &app->log_scroll[k];
    page = app->log_rows > 1 ? app->log_rows - 1 : 1;
    switch (ch) {
    case KEY_UP:
        *s += 1;
        return true;
    case KEY_DOWN:
        *s = *s > 0 ? *s - 1 : 0;
        return true;
    case KEY_PPAGE:
        *s += (size_t)page;
        return true;
    case KEY_NPAGE:
        *s = *s > (size_t)page ? *s - (size_t)page : 0;
        return true;
    case KEY_HOME:
        *s = app->log[k].cap; /* clamped to the oldest when drawn */
        return true;
    case KEY_END:
        *s = 0;
        return true;
    }
    return false;
}

/* The answer to a y/n question: only y (or Y) says yes. */
static void confirm_key(ui_app *app, int ch)
{
    ui_ask what = app->ask;
    pid_t pid = app->ask_pid;

    app->mode = UI_MODE_NORMAL;
    app->ask = UI_ASK_NONE;
    if (ch != 'y' && ch != 'Y') {
        ui_message(app, false, "cancelled");
        return;
    }
    switch (what) {
    case UI_ASK_KILL:
        stop_worker(app, pid, false);
        break;
    case UI_ASK_QUIT:
        ui_message(app, false, "graceful shutdown: workers finish their requests, then exit");
        cg_arbiter_shutdown(app->arb, true);
        app->shutdown_asked = true;
        break;
    case UI_ASK_QUICK:
        ui_message(app, false, "quick shutdown");
        cg_arbiter_shutdown(app->arb, false);
        app->shutdown_asked = true;
        break;
    default:
        break;
    }
    cg_arbiter_get_info(app->arb, &app->info);
}

/* q / F10 / Ctrl-C: ask for a graceful shutdown (or, while one runs, a
 * quick one). */
static void ask_quit(ui_app *app)
{
    int busy = in_flight(app);

    if (app->info.stopping) {
        if (app->info.graceful)
            ask(app, UI_ASK_QUICK, 0,
                "Already stopping gracefully. Quick shutdown now (%d in flight cut)?", busy);
        return;
    }
    if (app->opt.graceful_timeout_s >= 0)
        ask(app, UI_ASK_QUIT, 0,
            "Shut down gracefully? %d request%s in flight; workers get %lds to finish.", busy,
            busy == 1 ? "" : "s", app->opt.graceful_timeout_s);
    else
        ask(app, UI_ASK_QUIT, 0, "Shut down gracefully? %d request%s in flight.", busy,
            busy == 1 ? "" : "s");
}

/* A key in the filter prompt: the filter applies as it is typed. */
static void filter_key(ui_app *app, int ch)
{
    ui_logkind k = app->shown_log;
    char *f = app->filter[k];
    size_t n = strlen(f);

    switch (ch) {
    case KEY_ESC:
    case UI_CTRL('c'):
        f[0] = '\0';
        app->mode = UI_MODE_NORMAL;
        break;
    case '\r':
    case '\n':
    case KEY_ENTER:
        app->mode = UI_MODE_NORMAL;
        break;
    case KEY_BACKSPACE:
    case 127:
    case UI_CTRL('h'):
        while (n > 0 && ((unsigned char)f[n - 1] & 0xC0) == 0x80)
            n--; /* the rest of a UTF-8 character */
        if (n > 0)
            n--;
        f[n] = '\0';
        break;
    case UI_CTRL('u'):
        f[0] = '\0';
        break;
    default:
        if (ch >= 32 && ch < 256 && ch != 127 && n + 1 < UI_FILTER_LEN) {
            f[n] = (char)ch;
            f[n + 1] = '\0';
        }
        break;
    }
    app->log_scroll[k] = 0;
}

/* A key in the traceback popup: scroll, take it again, close. */
static void traceback_key(ui_app *app, int ch)
{
    long page = app->tb_rows > 1 ? app->tb_rows - 1 : 1;

    switch (ch) {
    case KEY_UP:
        app->tb_scroll--;
        break;
    case KEY_DOWN:
        app->tb_scroll++;
        break;
    case KEY_PPAGE:
        app->tb_scroll -= page;
        break;
    case KEY_NPAGE:
    case ' ':
        app->tb_scroll += page;
        break;
    case KEY_HOME:
        app->tb_scroll = 0;
        break;
    case KEY_END:
        app->tb_scroll = 1L << 30; /* clamped when drawn */
        break;
    case 't':
        app->mode = UI_MODE_NORMAL;
        app->tb_collecting = false;
        traceback_start(app);
        break;
    case KEY_ESC:
    case 'q':
    case '\r':
    case '\n':
    case KEY_ENTER:
    case UI_CTRL('c'):
    case KEY_F(10):
        app->mode = UI_MODE_NORMAL;
        break;
    }
    if (app->tb_scroll < 0)
        app->tb_scroll = 0;
}

/* A key on the dashboard itself. */
static void normal_key(ui_app *app, int ch)
{
    const ui_worker *w;

    if (move_key(app, ch))
        return;
    switch (ch) {
    case '?':
    case 'h':
    case KEY_F(1):
        app->mode = UI_MODE_HELP;
        break;
    case '+':
    case '=':
        scale(app, +1);
        break;
    case '-':
    case '_':
        scale(app, -1);
        break;
    case 'r':
        if (app->info.stopping) {
            ui_message(app, true, "shutting down: no reload");
            break;
        }
        ui_message(app, false, "reload (HUP)");
        cg_arbiter_reload(app->arb);
        break;
    case 'k':
    case KEY_F(9):
        stop_worker(app, app->sel.pid, true);
        break;
    case 'K':
        w = selected(app);
        if (w == NULL) {
            ui_message(app, true, "no worker selected");
            break;
        }
        if (w->busy_s >= 0)
            ask(app, UI_ASK_KILL, w->pid,
                "Kill worker %d now with SIGKILL? Its request (%s %s) is lost.", (int)w->pid,
                w->method, w->path);
        else
            ask(app, UI_ASK_KILL, w->pid, "Kill worker %d now with SIGKILL?", (int)w->pid);
        break;
    case 't':
        traceback_start(app);
        break;
    case '\t':
        focus_next(app, +1);
        break;
    case KEY_BTAB:
        focus_next(app, -1);
        break;
    case '/':
    case KEY_F(3):
    case KEY_F(4):
        app->shown_log = log_of_focus(app);
        app->mode = UI_MODE_FILTER;
        break;
    case KEY_ESC:
        app->filter[app->shown_log][0] = '\0';
        app->log_scroll[app->shown_log] = 0;
        break;
    case '<':
    case ',':
        set_sort(app, -1);
        break;
    case '>':
    case '.':
    case KEY_F(6):
        set_sort(app, +1);
        break;
    case 'I':
        app->sort_desc = !app->sort_desc;
        ui_refresh_view(app);
        break;
    case 'Z':
    case 'z':
        app->paused = !app->paused;
        ui_refresh_view(app);
        ui_message(app, false,
                   app->paused ? "display paused; the server keeps running (Z resumes)"
                               : "display resumed");
        break;
    case UI_CTRL('l'):
        app->repaint = true;
        break;
    case 'q':
    case KEY_F(10):
    case UI_CTRL('c'):
        ask_quit(app);
        break;
    case 'Q':
        if (app->info.stopping && !app->info.graceful)
            break;
        ask(app, UI_ASK_QUICK, 0, "Quick shutdown? %d request%s in flight will be cut.",
            in_flight(app), in_flight(app) == 1 ? "" : "s");
        break;
    default:
        break;
    }
}

void ui_actions_key(ui_app *app, int ch)
{
    app->dirty = true;
    switch (app->mode) {
    case UI_MODE_HELP:
        app->mode = UI_MODE_NORMAL;
        if (ch == UI_CTRL('l'))
            app->repaint = true;
        break;
    case UI_MODE_CONFIRM:
        confirm_key(app, ch);
        break;
    case UI_MODE_FILTER:
        filter_key(app, ch);
        break;
    case UI_MODE_TRACEBACK:
        traceback_key(app, ch);
        break;
    default:
        normal_key(app, ch);
        break;
    }
}
