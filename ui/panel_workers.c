/* panel_workers.c - the workers table: one row per worker, sorted, with the
 * selected worker (tracked by pid) highlighted and kept in view.
 *
 * A busy or stuck worker stands out twice: its row colour and a mark in the
 * first column ('*' busy, '!' stuck, '+' booting, '-' stopping), so the table
 * reads the same without colour. */
#include "ui_int.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    ui_column col;
    const char *title;
    int width; /* 0: the rest of the line */
    bool left;
} column_def;

static const column_def columns[] = {
    {UI_COL_PID, "PID", 7, false},   {UI_COL_STATE, "STATE", 5, true},
    {UI_COL_REQS, "REQS", 6, false}, {UI_COL_RPS, "REQ/S", 5, false},
    {UI_COL_AVG, "AVG", 6, false},   {UI_COL_P99, "P99", 6, false},
    {UI_COL_CPU, "CPU%", 4, false},  {UI_COL_RSS, "RSS", 5, false},
    {UI_COL_AGE, "AGE", 6, false},   {UI_COL_REQUEST, "REQUEST", 0, true},
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

/* The mark in the first column: readable without colour. */
static char mark_of(const ui_worker *w)
{
    if (w->stuck)
        return '!';
    switch (w->state) {
    case CG_WS_BUSY:
        return '*';
    case CG_WS_BOOTING:
        return '+';
    case CG_WS_STOPPING:
        return '-';
    default:
        return ' ';
    }
}

/* The colour of a row by its state. */
static ui_color color_of(const ui_worker *w)
{
    if (w->stuck)
        return UI_C_STUCK;
    switch (w->state) {
    case CG_WS_BUSY:
        return UI_C_BUSY;
    case CG_WS_BOOTING:
        return UI_C_BOOTING;
    case CG_WS_STOPPING:
        return UI_C_STOPPING;
    default:
        return UI_C_NORMAL;
    }
}

/* The STATE column. */
static const char *state_name(const ui_worker *w)
{
    if (w->stuck)
        return "STUCK";
    switch (w->state) {
    case CG_WS_BOOTING:
        return "boot";
    case CG_WS_IDLE:
        return "idle";
    case CG_WS_BUSY:
        return "busy";
    case CG_WS_STOPPING:
        return "stop";
    default:
        return "?";
    }
}

/* The text of one cell. */
static void cell(const ui_worker *w, ui_column col, char *out, size_t len)
{
    char age[16];

    switch (col) {
    case UI_COL_PID:
        snprintf(out, len, "%d", (int)w->pid);
        break;
    case UI_COL_STATE:
        snprintf(out, len, "%s", state_name(w));
        break;
    case UI_COL_REQS:
        ui_fmt_count(out, len, w->requests);
        break;
    case UI_COL_RPS:
        ui_fmt_rate(out, len, w->rps);
        break;
    case UI_COL_AVG:
        ui_fmt_ms(out, len, w->avg_ms);
        break;
    case UI_COL_P99:
        ui_fmt_ms(out, len, w->p99_ms);
        break;
    case UI_COL_CPU:
        if (w->cpu_pct < 0)
            snprintf(out, len, "-");
        else
            snprintf(out, len, w->cpu_pct < 9.95 ? "%.1f" : "%.0f", w->cpu_pct);
        break;
    case UI_COL_RSS:
        ui_fmt_bytes(out, len, w->rss);
        break;
    case UI_COL_AGE:
        ui_fmt_age(out, len, w->age_s);
        break;
    case UI_COL_REQUEST:
        if (w->busy_s >= 0) {
            ui_fmt_age(age, sizeof(age), w->busy_s);
            if (w->nbusy > 1) /* gthread: the oldest of its requests, and how many */
                snprintf(out, len, "%s %s %s %s (+%d)", age, w->method, w->path, w->client,
                         w->nbusy - 1);
            else
                snprintf(out, len, "%s %s %s %s", age, w->method, w->path, w->client);
        } else if (w->state == CG_WS_BOOTING) {
            snprintf(out, len, "(booting)");
        } else if (w->state == CG_WS_STOPPING) {
            snprintf(out, len, "(stopping)");
        } else {
            out[0] = '\0';
        }
        break;
    default:
        out[0] = '\0';
    }
}

/* The heading of the sort column: its title with the arrow against it
 * (before a right-aligned title, after a left-aligned one), in the cell's
 * padding or, when the title fills the cell, in the separator next to it. */
static void draw_sort_heading(int y, int x, int w, const column_def *d, const char *arrow)
{
    int tl = (int)strlen(d->title);

    ui_crt_fill(y, x, w, UI_C_HEAD_SORT);
    if (d->left) {
        ui_crt_put(y, x, w, d->title, UI_C_HEAD_SORT);
        ui_crt_put(y, x + tl, 1, arrow, UI_C_HEAD_SORT);
    } else {
        int tx = x + w - tl;
        ui_crt_put(y, tx, tl, d->title, UI_C_HEAD_SORT);
        ui_crt_put(y, tx - 1, 1, arrow, UI_C_HEAD_SORT);
    }
}

/* Draw the cells of one row from x = 1; the mark goes in column 0. */
static void draw_cells(int y, const char *const *texts, ui_color c, int sort_idx, const char *arrow)
{
    int x = 1;

    for (size_t i = 0; i < NCOLUMNS && x < COLS; i++) {
        const column_def *d = &columns[i];
        int w = d->width ? d->width : COLS - x;
        char buf[256];
        if (sort_idx == (int)i && arrow) {
            draw_sort_heading(y, x, w, d, arrow);
        } else {
            if (d->left)
                snprintf(buf, sizeof(buf), "%-*s", w, texts[i]);
            else
                snprintf(buf, sizeof(buf), "%*s", w, texts[i]);
            ui_crt_put(y, x, w, buf, c);
        }
        x += w + 1;
    }
}

void ui_panel_workers_draw(ui_app *app, int top, int h)
{
    const ui_frame *f = app->view;
    const char *titles[NCOLUMNS];
    int sort_idx = -1;
    long first;

    /* heading, the sort column marked with an arrow */
    for (size_t i = 0; i < NCOLUMNS; i++) {
        titles[i] = columns[i].title;
        if (columns[i].col == app->sort_col)
            sort_idx = (int)i;
    }
    ui_crt_fill(top, 0, COLS, UI_C_HEAD);
    draw_cells(top, titles, UI_C_HEAD, sort_idx,
               ui_crt_utf8() ? (app->sort_desc ? "▼" : "▲") : (app->sort_desc ? "v" : "^"));
    if (f->n > (size_t)h) {
        char more[48];
        int len = snprintf(more, sizeof(more), " %ld-%ld/%zu ", app->wk_top + 1,
                           app->wk_top + h < (long)f->n ? app->wk_top + h : (long)f->n, f->n);
        ui_crt_put(top, COLS - len, len, more, UI_C_HEAD);
    }
    app->wk_rows = h;
    if (f->n == 0) {
        ui_crt_put(top + 1, 1, COLS - 1, "(no workers: booting, or all stopped)", UI_C_DIM);
        return;
    }

    /* keep the selection in view */
    first = app->wk_top;
    if (app->sel.index < first)
        first = app->sel.index;
    if (app->sel.index >= first + h)
        first = app->sel.index - h + 1;
    if (first > (long)f->n - h)
        first = (long)f->n - h;
    if (first < 0)
        first = 0;
    app->wk_top = first;

    for (int r = 0; r < h && (size_t)(first + r) < f->n; r++) {
        const ui_worker *w = &f->w[first + r];
        char text[NCOLUMNS][256];
        const char *texts[NCOLUMNS];
        bool selected = w->pid == app->sel.pid;
        ui_color c = selected ? UI_C_SELECTED : color_of(w);
        char mark[2] = {mark_of(w), '\0'};
        int y = top + 1 + r;

        for (size_t i = 0; i < NCOLUMNS; i++) {
            cell(w, columns[i].col, text[i], sizeof(text[i]));
            texts[i] = text[i];
        }
        if (selected)
            ui_crt_fill(y, 0, COLS, UI_C_SELECTED);
        ui_crt_put(y, 0, 1, mark, mark[0] == ' ' ? c : color_of(w));
        draw_cells(y, texts, c, -1, NULL);
    }
}
