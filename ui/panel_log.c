/* panel_log.c - the log pane: the tail of the access log or of the error log
 * (worker output, tracebacks, start/stop lines), filtered, scrollable. */
#include "ui_int.h"

#include <curses.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The colour of an access-log line: by its status code, found as the first
 * `" NNN ` after the request (gunicorn's default format). */
static ui_color access_color(const char *l)
{
    const char *p = l;

    while ((p = strstr(p, "\" ")) != NULL) {
        p += 2;
        if (p[0] >= '1' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
            p[2] <= '9' && (p[3] == ' ' || p[3] == '\0')) {
            if (p[0] == '5')
                return UI_C_S5XX;
            if (p[0] == '4')
                return UI_C_S4XX;
            return UI_C_NORMAL;
        }
    }
    return UI_C_NORMAL;
}

static ui_color error_color(const char *l)
{
    if (strstr(l, "[ERROR]") || strstr(l, "[CRITICAL]") || strncmp(l, "Traceback", 9) == 0)
        return UI_C_S5XX;
    if (strstr(l, "[WARNING]"))
        return UI_C_S4XX;
    return UI_C_NORMAL;
}

void ui_panel_log_added(ui_app *app, ui_logkind kind, size_t before_total)
{
    const ui_logbuf *b = &app->log[kind];
    size_t added = (size_t)(b->total - before_total);

    /* a view scrolled back stays on the same lines */
    if (app->log_scroll[kind] > 0)
        app->log_scroll[kind] += ui_logbuf_count(b, app->filter[kind], added);
}

void ui_panel_log_draw(ui_app *app, int top, int h)
{
    static const char *lines[512];
    ui_logkind kind = app->shown_log;
    const ui_logbuf *b = &app->log[kind];
    const char *filter = app->filter[kind];
    bool focused = app->focus != UI_FOCUS_WORKERS;
    size_t total, n, maxscroll;
    int x = 0, rows = h - 1;
    ui_color tc = focused ? UI_C_PANE_FOCUS : UI_C_PANE;
    char info[160];

    if (rows > (int)(sizeof(lines) / sizeof(lines[0])))
        rows = (int)(sizeof(lines) / sizeof(lines[0]));
    if (rows < 0)
        rows = 0;
    app->log_rows = rows;
    total = ui_logbuf_count(b, filter, SIZE_MAX);
    maxscroll = total > (size_t)rows ? total - (size_t)rows : 0;
    if (app->log_scroll[kind] > maxscroll)
        app->log_scroll[kind] = maxscroll;

    /* title: which log, the filter, where we are; what Tab does */
    if (focused) {
        ui_crt_fill(top, 0, COLS, tc);
    } else {
        attrset(ui_crt_attr(tc));
        mvhline(top, 0, ACS_HLINE, COLS);
        attrset(A_NORMAL);
    }
    x += ui_crt_putf(top, x, COLS - x, tc, " %s ",
                     kind == UI_LOG_ACCESS ? "Access log" : "Error log");
    if (filter[0]) {
        snprintf(info, sizeof(info), " filter \"%s\": %zu match%s ", filter, total,
                 total == 1 ? "" : "es");
        x += ui_crt_put(top, x + 1, COLS - x - 1, info, UI_C_PAUSED) + 1;
    }
    if (app->log_scroll[kind] > 0) {
        snprintf(info, sizeof(info), " %zu line%s back (End: follow) ", app->log_scroll[kind],
                 app->log_scroll[kind] == 1 ? "" : "s");
        x += ui_crt_put(top, x + 1, COLS - x - 1, info, tc) + 1;
    }
    snprintf(info, sizeof(info), " Tab: %s ",
             app->focus == UI_FOCUS_WORKERS  ? "focus the log"
             : app->focus == UI_FOCUS_ACCESS ? "error log"
                                             : "workers");
    if (x + (int)strlen(info) + 1 < COLS)
        ui_crt_put(top, COLS - (int)strlen(info), (int)strlen(info), info, tc);

    /* lines, oldest at the top, the newest at the bottom */
    n = ui_logbuf_tail(b, filter, app->log_scroll[kind], lines, (size_t)rows);
    if (n == 0) {
        ui_crt_put(top + 1, 1, COLS - 1,
                   filter[0]               ? "(no line matches the filter; Esc clears it)"
                   : kind == UI_LOG_ACCESS ? "(no request yet)"
                                           : "(nothing logged yet)",
                   UI_C_DIM);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *l = lines[n - 1 - i];
        ui_crt_put(top + 1 + (int)i, 0, COLS, l,
                   kind == UI_LOG_ACCESS ? access_color(l) : error_color(l));
    }
}
