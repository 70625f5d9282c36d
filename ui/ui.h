/* ui.h - `cgunicorn-top`: the ncurses dashboard hosting the arbiter in the
 * same process.  The only header main() needs from ui/.
 *
 * main() loads the configuration and creates the arbiter, then:
 *
 *     if (dashboard wanted && ui_terminal_usable()) {
 *         ui_options o;
 *         ui_options_init(&o, cfg);          // before cg_arbiter_new takes cfg
 *         rc = ui_run(arb, &o);              // starts the arbiter itself
 *     } else {
 *         if (dashboard wanted)
 *             fprintf(stderr, "%s\n", UI_HEADLESS_NOTICE);
 *         rc = cg_arbiter_start(arb); if (rc == 0) rc = cg_arbiter_run(arb);
 *     }
 *
 * The front end installs no signal handler: the engine owns them all.  It
 * polls stdin next to cg_arbiter_fd(), reads Ctrl-C as a key (raw mode),
 * and notices terminal resizes by asking the terminal its size on every tick
 * (TIOCGWINSZ) instead of through curses' SIGWINCH handler. */
#ifndef UI_UI_H
#define UI_UI_H

#include <stdbool.h>

#include "cgunicorn/arbiter.h"
#include "cgunicorn/config.h"

/* What `cgunicorn-top` prints (one line, to stderr) when it runs headless
 * because there is no terminal to draw on. */
#define UI_HEADLESS_NOTICE                                                                         \
    "cgunicorn-top: no terminal to draw on (stdin/stdout not a tty, TERM unset or dumb, "          \
    "or not in the foreground); running headless as with --no-ui"

typedef struct {
    bool no_color;           /* NO_COLOR is set: attributes only, no colour */
    double stuck_after_s;    /* a request running longer marks its worker
                                stuck; <= 0: 5 s */
    long graceful_timeout_s; /* for the shutdown prompt; < 0: unknown */
} ui_options;

/* Defaults from the environment (NO_COLOR) and cfg (may be NULL): a worker
 * is stuck after min(5 s, --timeout / 2). */
void ui_options_init(ui_options *o, const cg_config_t *cfg);

/* Can the dashboard run here: stdin and stdout are terminals, this process
 * is in the terminal's foreground, and TERM names a terminal that can
 * address the cursor (not unset, not "dumb"). */
bool ui_terminal_usable(void);

/* Run the dashboard: set capture and the event callback, start the arbiter
 * (cg_arbiter_start), drive it until it stops, restore the terminal.  Call
 * it instead of cg_arbiter_start + cg_arbiter_run.  Returns the process exit
 * code (cg_arbiter_exit_code, or cg_arbiter_start's code).  When the
 * terminal cannot be set up it says so and runs the arbiter headless. */
int ui_run(cg_arbiter_t *a, const ui_options *opt);

/* Put the terminal back as it was (leave the alternate screen, show the
 * cursor, the saved tty modes).  Idempotent, async-signal-safe (write and
 * tcsetattr only), and a no-op in forked children: safe from atexit, a
 * fatal-signal path or any error path.  ui_run registers it with atexit. */
void ui_crt_restore(void);

#endif
