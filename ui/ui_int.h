/* ui_int.h - what the dashboard's files share: the terminal layer (crt.c),
 * the application state, the drawing entry points and the key handler.
 * Only ui/ includes it. */
#ifndef UI_INT_H
#define UI_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "cgunicorn/arbiter.h"
#include "model.h"
#include "ui.h"

/* --- crt.c: the terminal ------------------------------------------------ */

/* What things look like; each role has a colour and a monochrome form. */
typedef enum {
    UI_C_NORMAL,
    UI_C_BOLD,
    UI_C_TITLE,     /* the program name */
    UI_C_LABEL,     /* header labels */
    UI_C_VALUE,     /* header values */
    UI_C_HEAD,      /* table column headings */
    UI_C_HEAD_SORT, /* ... the sort column */
    UI_C_SELECTED,  /* the selected row */
    UI_C_BUSY,
    UI_C_STUCK,
    UI_C_BOOTING,
    UI_C_STOPPING,
    UI_C_S2XX,
    UI_C_S3XX,
    UI_C_S4XX,
    UI_C_S5XX,
    UI_C_GRAPH,
    UI_C_KEY,      /* footer: the key */
    UI_C_KEYLABEL, /* footer: what it does */
    UI_C_MSG,      /* confirmations */
    UI_C_ALERT,    /* shutdown countdown, errors */
    UI_C_PANE,     /* log pane title */
    UI_C_PANE_FOCUS,
    UI_C_PAUSED,
    UI_C_DIM,
    UI_C__COUNT
} ui_color;

/* Start curses on the terminal (ncursesw, raw mode, no echo, keypad, the
 * alternate screen) and register ui_crt_restore with atexit.  Signal
 * dispositions are left exactly as they were.  0, or -1 with nothing
 * changed. */
int ui_crt_init(bool no_color);
/* Normal teardown (endwin); gives fds 1 and 2 back. */
void ui_crt_done(void);
/* What the process wrote to its stdout/stderr since the last call (while
 * curses runs they go to a pipe).  Returns the bytes stored, 0 if none. */
size_t ui_crt_output_read(char *buf, size_t cap);
/* Has the terminal changed size since the last call?  Asks the terminal
 * (TIOCGWINSZ on stdout) and resizes curses' screen if so. */
bool ui_crt_check_resize(void);
int ui_crt_attr(ui_color c);
bool ui_crt_utf8(void);
/* Draw s at (y, x) in at most maxw columns (UTF-8 aware; bytes the locale
 * cannot show become '?').  Returns the columns used. */
int ui_crt_put(int y, int x, int maxw, const char *s, ui_color c);
/* Like ui_crt_put with printf formatting. */
int ui_crt_putf(int y, int x, int maxw, ui_color c, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Fill columns [x, x + w) of row y with spaces in colour c. */
void ui_crt_fill(int y, int x, int w, ui_color c);

/* --- the application ------------------------------------------------------ */

typedef enum { UI_FOCUS_WORKERS, UI_FOCUS_ACCESS, UI_FOCUS_ERROR } ui_focus;
typedef enum { UI_LOG_ACCESS = 0, UI_LOG_ERROR = 1 } ui_logkind;
typedef enum {
    UI_MODE_NORMAL,
    UI_MODE_HELP,
    UI_MODE_TRACEBACK,
    UI_MODE_CONFIRM,
    UI_MODE_FILTER,
} ui_mode;
typedef enum { UI_ASK_NONE, UI_ASK_QUIT, UI_ASK_QUICK, UI_ASK_KILL } ui_ask;

#define UI_TB_CAP (256 * 1024)
#define UI_FILTER_LEN 64
#define UI_MIN_COLS 80
#define UI_MIN_ROWS 24

typedef struct {
    cg_arbiter_t *arb;
    cg_scoreboard_t *sb;
    ui_options opt;
    ui_model *model;
    ui_frame *view; /* what is drawn: a sorted copy of the model's frame */
    bool paused;    /* Z: the view stays as it was, the server runs */
    cg_arbiter_info info;
    int64_t now_ns;

    /* workers panel */
    ui_selection sel;
    ui_column sort_col;
    bool sort_desc;
    long wk_top; /* first row shown */
    int wk_rows; /* rows it had at the last draw (PgUp/PgDn) */

    /* log pane */
    ui_focus focus;
    ui_logkind shown_log; /* what the log pane shows */
    ui_ringtail tail;
    ui_logbuf log[2];
    bool ring_busy; /* lines arrive fast: read the ring more often */
    char filter[2][UI_FILTER_LEN];
    size_t log_scroll[2]; /* matching lines back from the newest; 0 = follow */
    int log_rows;

    /* modes: help, traceback popup, y/n question, filter prompt */
    ui_mode mode;
    ui_ask ask;
    pid_t ask_pid;
    char ask_text[256];

    pid_t tb_pid;
    char *tb;
    size_t tb_len;
    bool tb_collecting;
    int64_t tb_start_ns, tb_growth_ns;
    long tb_scroll;
    int tb_rows;
    char tb_title[256];

    /* the message line: the last action and what the arbiter said since */
    char msg[512];        /* as shown */
    char msg_action[200]; /* what the user did ("worker 4121: SIGTERM") */
    bool msg_alert;
    int64_t msg_ns; /* when that story started */
    bool ev_new;    /* events not shown yet */
    /* engine events gathered during one arbiter call, "worker N <what>"
     * grouped by <what>: "workers 4121, 4122 booting" */
    struct ui_event_group {
        char what[96];
        pid_t pid[8];
        int npid; /* 0: not about a worker, `what` is the whole text */
        int more; /* pids beyond the 8 kept */
    } ev[8];
    int nev;

    /* the master's own stdout/stderr while curses runs */
    char out_part[CG_SB_LINE]; /* a line not finished yet */
    size_t out_len;
    ui_logbuf out_keep; /* replayed on the terminal at exit */

    bool shutdown_asked; /* we asked the arbiter to stop */
    bool dirty;          /* something to draw */
    bool repaint;        /* Ctrl-L: repaint everything */
} ui_app;

/* screen.c */
void ui_screen_draw(ui_app *app);

/* panel_workers.c: the table in rows [top, top + h) */
void ui_panel_workers_draw(ui_app *app, int top, int h);

/* panel_log.c */
void ui_panel_log_draw(ui_app *app, int top, int h);
/* New lines arrived in log kind: keep a scrolled-back view where it is. */
void ui_panel_log_added(ui_app *app, ui_logkind kind, size_t before_total);

/* actions.c */
void ui_actions_key(ui_app *app, int ch);
/* Per tick: collect a traceback being requested. */
void ui_actions_tick(ui_app *app);
/* The arbiter's event callback; ui_actions_flush shows what it gathered. */
void ui_actions_event(void *ctx, const char *text);
void ui_actions_flush(ui_app *app);
void ui_message(ui_app *app, bool alert, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ui.c */
int64_t ui_now_ns(void);
/* Copy the model's frame into the view (unless paused), sort it, keep the
 * selection on its pid. */
void ui_refresh_view(ui_app *app);

#endif
