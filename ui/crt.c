/* crt.c - the terminal: curses set-up and teardown, colours (or their
 * monochrome forms), UTF-8 aware text output, resize detection, and the
 * capture of the master's own stdout/stderr.
 *
 * Curses draws on a private duplicate of the terminal descriptor; while it
 * runs, fds 1 and 2 of the process point to a pipe the dashboard reads
 * (ui_crt_output_read), so nothing - a print() in a server hook, a warning
 * from a library - writes to the terminal behind curses.  Workers get their
 * own capture from the engine; forked children close the dashboard's
 * terminal descriptors (pthread_atfork), so no worker holds the terminal.
 *
 * The engine owns every signal handler, so this file installs none and
 * leaves every disposition as it found it: newterm() would install curses'
 * own SIGINT/SIGTERM/SIGTSTP/SIGWINCH handlers where the disposition is the
 * default; they are put back right after.  Without curses' SIGWINCH handler
 * there is no KEY_RESIZE: ui_crt_check_resize() asks the terminal its size
 * (TIOCGWINSZ) on every tick instead, and the arbiter's own SIGWINCH handler
 * wakes the loop so a resize is redrawn at once. */
#include "ui_int.h"

#include <curses.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include <term.h> /* setupterm: after everything else, it defines many short macros */

static SCREEN *scr;
static int tty_fd = -1;                    /* the terminal, for curses: a duplicate of stdout */
static FILE *tty_file;                     /* ... as curses' output stream */
static int saved_out = -1, saved_err = -1; /* fds 1 and 2 before the capture */
static int capture_rd = -1;                /* read end of the pipe behind them */
static volatile sig_atomic_t active;
static pid_t owner;
static struct termios saved_tio;
static bool have_tio;
static char reset_seq[256];
static size_t reset_len;
static bool utf8;
static int role_attr[UI_C__COUNT];

/* The dispositions curses might touch, saved around its calls. */
static const int curses_signals[] = {SIGINT,  SIGQUIT, SIGTERM,  SIGTSTP,
                                     SIGTTIN, SIGTTOU, SIGWINCH, SIGCONT};
#define NSIGS (sizeof(curses_signals) / sizeof(curses_signals[0]))

/* Save the dispositions of curses_signals into old. */
static void save_signals(struct sigaction *old)
{
    for (size_t i = 0; i < NSIGS; i++)
        sigaction(curses_signals[i], NULL, &old[i]);
}

/* Put back what save_signals saved. */
static void put_back_signals(const struct sigaction *old)
{
    for (size_t i = 0; i < NSIGS; i++)
        sigaction(curses_signals[i], &old[i], NULL);
}

bool ui_terminal_usable(void)
{
    const char *t = getenv("TERM");
    const char *cup;
    pid_t fg;
    int err = 0;
    bool ok;

    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return false;
    if (t == NULL || *t == '\0' || strcmp(t, "dumb") == 0)
        return false;
    /* a background job reading the tty would get SIGTTIN: the arbiter's
     * "one more worker" */
    fg = tcgetpgrp(STDIN_FILENO);
    if (fg < 0 || fg != getpgrp())
        return false;
    if (setupterm(t, STDOUT_FILENO, &err) != OK)
        return false;
    cup = tigetstr("cup");
    ok = cup != NULL && cup != (char *)-1;
    del_curterm(cur_term);
    return ok;
}

/* Append terminfo capability cap to the reset sequence. */
static void add_reset(const char *cap)
{
    const char *s = tigetstr(cap);
    size_t n;

    if (s == NULL || s == (char *)-1)
        return;
    n = strlen(s);
    if (reset_len + n < sizeof(reset_seq)) {
        memcpy(reset_seq + reset_len, s, n);
        reset_len += n;
    }
}

enum { PAIR_BASE = 1 };

/* The attribute of every ui_color: monochrome, or colour pairs when the
 * terminal has colours and NO_COLOR is not set. */
static void setup_roles(bool no_color)
{
    /* monochrome first: readable on any terminal */
    static const int mono[UI_C__COUNT] = {
        [UI_C_NORMAL] = A_NORMAL,
        [UI_C_BOLD] = A_BOLD,
        [UI_C_TITLE] = A_BOLD,
        [UI_C_LABEL] = A_NORMAL,
        [UI_C_VALUE] = A_BOLD,
        [UI_C_HEAD] = A_REVERSE,
        [UI_C_HEAD_SORT] = A_REVERSE | A_BOLD | A_UNDERLINE,
        [UI_C_SELECTED] = A_REVERSE,
        [UI_C_BUSY] = A_BOLD,
        [UI_C_STUCK] = A_BOLD | A_UNDERLINE,
        [UI_C_BOOTING] = A_DIM,
        [UI_C_STOPPING] = A_DIM,
        [UI_C_S2XX] = A_NORMAL,
        [UI_C_S3XX] = A_NORMAL,
        [UI_C_S4XX] = A_NORMAL,
        [UI_C_S5XX] = A_BOLD,
        [UI_C_GRAPH] = A_NORMAL,
        [UI_C_KEY] = A_BOLD,
        [UI_C_KEYLABEL] = A_REVERSE,
        [UI_C_MSG] = A_BOLD,
        [UI_C_ALERT] = A_REVERSE | A_BOLD,
        [UI_C_PANE] = A_BOLD,
        [UI_C_PANE_FOCUS] = A_REVERSE | A_BOLD,
        [UI_C_PAUSED] = A_REVERSE | A_BOLD,
        [UI_C_DIM] = A_DIM,
    };
    /* colour: foreground, background (-1 = the terminal's), extra */
    static const struct {
        short fg, bg;
        int extra;
    } col[UI_C__COUNT] = {
        [UI_C_NORMAL] = {-1, -1, A_NORMAL},
        [UI_C_BOLD] = {-1, -1, A_BOLD},
        [UI_C_TITLE] = {COLOR_CYAN, -1, A_BOLD},
        [UI_C_LABEL] = {COLOR_CYAN, -1, A_NORMAL},
        [UI_C_VALUE] = {-1, -1, A_BOLD},
        [UI_C_HEAD] = {COLOR_BLACK, COLOR_GREEN, A_NORMAL},
        [UI_C_HEAD_SORT] = {COLOR_BLACK, COLOR_CYAN, A_BOLD},
        [UI_C_SELECTED] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL},
        [UI_C_BUSY] = {COLOR_YELLOW, -1, A_BOLD},
        [UI_C_STUCK] = {COLOR_WHITE, COLOR_RED, A_BOLD},
        [UI_C_BOOTING] = {COLOR_CYAN, -1, A_NORMAL},
        [UI_C_STOPPING] = {COLOR_MAGENTA, -1, A_NORMAL},
        [UI_C_S2XX] = {COLOR_GREEN, -1, A_NORMAL},
        [UI_C_S3XX] = {COLOR_CYAN, -1, A_NORMAL},
        [UI_C_S4XX] = {COLOR_YELLOW, -1, A_NORMAL},
        [UI_C_S5XX] = {COLOR_RED, -1, A_BOLD},
        [UI_C_GRAPH] = {COLOR_GREEN, -1, A_NORMAL},
        [UI_C_KEY] = {-1, -1, A_BOLD},
        [UI_C_KEYLABEL] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL},
        [UI_C_MSG] = {COLOR_GREEN, -1, A_BOLD},
        [UI_C_ALERT] = {COLOR_WHITE, COLOR_RED, A_BOLD},
        [UI_C_PANE] = {COLOR_CYAN, -1, A_BOLD},
        [UI_C_PANE_FOCUS] = {COLOR_BLACK, COLOR_GREEN, A_BOLD},
        [UI_C_PAUSED] = {COLOR_BLACK, COLOR_YELLOW, A_BOLD},
        [UI_C_DIM] = {-1, -1, A_DIM},
    };
    bool default_bg;

    memcpy(role_attr, mono, sizeof(role_attr));
    if (no_color || !has_colors() || start_color() != OK || COLORS < 8 ||
        COLOR_PAIRS < UI_C__COUNT + PAIR_BASE)
        return;
    default_bg = use_default_colors() == OK;
    for (int i = 0; i < UI_C__COUNT; i++) {
        short fg = col[i].fg, bg = col[i].bg;
        if (!default_bg) {
            fg = fg < 0 ? COLOR_WHITE : fg;
            bg = bg < 0 ? COLOR_BLACK : bg;
        }
        if (fg < 0 && bg < 0) {
            role_attr[i] = col[i].extra;
            continue;
        }
        init_pair((short)(PAIR_BASE + i), fg, bg);
        role_attr[i] = (int)COLOR_PAIR(PAIR_BASE + i) | col[i].extra;
    }
}

/* A forked child (a worker) keeps no descriptor of the terminal. */
static void close_in_child(void)
{
    int *fds[] = {&tty_fd, &saved_out, &saved_err, &capture_rd};

    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
}

/* Point fds 1 and 2 at a pipe read by the dashboard (non-blocking both
 * ends: a flood of output is cut, it never blocks the server). */
static void capture_output(void)
{
    int p[2];

    fflush(stdout);
    fflush(stderr);
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
        return;
    saved_out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    saved_err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (saved_out < 0 || saved_err < 0 || dup2(p[1], STDOUT_FILENO) < 0 ||
        dup2(p[1], STDERR_FILENO) < 0) {
        if (saved_out >= 0)
            dup2(saved_out, STDOUT_FILENO);
        if (saved_err >= 0)
            dup2(saved_err, STDERR_FILENO);
        close(p[0]);
        close(p[1]);
        return;
    }
    close(p[1]);
    capture_rd = p[0];
}

/* Give fds 1 and 2 back (async-signal-safe). */
static void release_output(void)
{
    if (saved_out >= 0)
        dup2(saved_out, STDOUT_FILENO);
    if (saved_err >= 0)
        dup2(saved_err, STDERR_FILENO);
}

size_t ui_crt_output_read(char *buf, size_t cap)
{
    ssize_t n;

    if (capture_rd < 0 || cap == 0)
        return 0;
    fflush(stdout);
    fflush(stderr);
    n = read(capture_rd, buf, cap);
    return n > 0 ? (size_t)n : 0;
}

int ui_crt_init(bool no_color)
{
    static bool registered;
    struct sigaction old[NSIGS];

    setlocale(LC_CTYPE, ""); /* Python set it already; only LC_CTYPE */
    utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    have_tio = tcgetattr(STDIN_FILENO, &saved_tio) == 0;
    tty_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    tty_file = tty_fd >= 0 ? fdopen(tty_fd, "w") : NULL;
    if (tty_file != NULL)
        setvbuf(tty_file, NULL, _IONBF, 0); /* nothing left in it at a fork */
    if (tty_file == NULL) {
        if (tty_fd >= 0)
            close(tty_fd);
        tty_fd = -1;
        return -1;
    }
    save_signals(old);
    scr = newterm(NULL, tty_file, stdin);
    put_back_signals(old);
    if (scr == NULL) {
        fclose(tty_file);
        tty_file = NULL;
        tty_fd = -1;
        return -1;
    }
    set_term(scr);
    owner = getpid();
    reset_len = 0;
    add_reset("rmcup");
    add_reset("cnorm");
    add_reset("sgr0");
    add_reset("rmkx");
    raw(); /* Ctrl-C, Ctrl-Z and Ctrl-\ are keys, not signals */
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    intrflush(stdscr, FALSE);
    leaveok(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    setup_roles(no_color);
    capture_output();
    active = 1;
    if (!registered) {
        atexit(ui_crt_restore);
        pthread_atfork(NULL, NULL, close_in_child);
        registered = true;
    }
    return 0;
}

void ui_crt_done(void)
{
    struct sigaction old[NSIGS];

    if (!active || getpid() != owner)
        return;
    active = 0;
    save_signals(old);
    curs_set(1);
    endwin();
    delscreen(scr);
    put_back_signals(old);
    scr = NULL;
    fclose(tty_file);
    tty_file = NULL;
    tty_fd = -1;
    release_output();
    close(saved_out);
    close(saved_err);
    saved_out = saved_err = -1;
    /* capture_rd stays open: ui_crt_output_read drains what is left */
}

void ui_crt_restore(void)
{
    if (!active || getpid() != owner)
        return;
    active = 0;
    release_output();
    if (reset_len > 0 && write(tty_fd >= 0 ? tty_fd : STDOUT_FILENO, reset_seq, reset_len) < 0) {
        /* nothing more to do on a dying path */
    }
    if (have_tio)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
}

bool ui_crt_check_resize(void)
{
    struct winsize ws;

    if (ioctl(tty_fd, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0)
        return false;
    if (ws.ws_row == LINES && ws.ws_col == COLS)
        return false;
    resizeterm(ws.ws_row, ws.ws_col);
    return true;
}

int ui_crt_attr(ui_color c)
{
    return c >= 0 && c < UI_C__COUNT ? role_attr[c] : (int)A_NORMAL;
}

bool ui_crt_utf8(void)
{
    return utf8;
}

int ui_crt_put(int y, int x, int maxw, const char *s, ui_color c)
{
    wchar_t buf[512];
    mbstate_t st;
    int used = 0, n = 0;

    if (y < 0 || y >= LINES || x < 0 || x >= COLS || maxw <= 0 || s == NULL)
        return 0;
    if (maxw > COLS - x)
        maxw = COLS - x;
    memset(&st, 0, sizeof(st));
    while (*s && n < (int)(sizeof(buf) / sizeof(buf[0])) - 1) {
        wchar_t wc;
        size_t k = 1;
        int w;
        if (utf8) {
            k = mbrtowc(&wc, s, MB_CUR_MAX, &st);
            if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
                wc = L'?';
                k = 1;
                memset(&st, 0, sizeof(st));
            }
        } else {
            unsigned char b = (unsigned char)*s;
            wc = b < 0x80 ? (wchar_t)b : L'?';
        }
        if (wc < 0x20 || wc == 0x7f)
            wc = L' ';
        w = wcwidth(wc);
        if (w < 0) {
            wc = L'?';
            w = 1;
        }
        if (used + w > maxw)
            break;
        buf[n++] = wc;
        used += w;
        s += k;
    }
    buf[n] = L'\0';
    attrset(ui_crt_attr(c));
    mvaddnwstr(y, x, buf, n);
    attrset(A_NORMAL);
    return used;
}

int ui_crt_putf(int y, int x, int maxw, ui_color c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return ui_crt_put(y, x, maxw, buf, c);
}

void ui_crt_fill(int y, int x, int w, ui_color c)
{
    if (y < 0 || y >= LINES || x < 0 || x >= COLS || w <= 0)
        return;
    if (w > COLS - x)
        w = COLS - x;
    attrset(ui_crt_attr(c));
    mvhline(y, x, ' ', w);
    attrset(A_NORMAL);
}
