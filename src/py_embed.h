/* py_embed.h - the embedded CPython interpreter: start-up, sys.path, fork
 * hooks, importing the WSGI app.  The rest of the engine stays free of
 * Python.h and reaches the interpreter only through these calls. */
#ifndef CG_PY_EMBED_H
#define CG_PY_EMBED_H

#include <stdbool.h>
#include <stddef.h>

/* Start the interpreter (Python's own signal handlers off: the arbiter owns
 * signals).  argv becomes sys.argv.  Honours PYTHONPATH, PYTHONUNBUFFERED and
 * VIRTUAL_ENV like a python3 process would.  The calling thread holds the
 * GIL on return.  Returns 0, or -1 with err filled. */
int cg_py_init(int argc, char **argv, char *err, size_t errlen);

/* Put chdir first on sys.path, then each comma-separated pythonpath entry
 * (made absolute) in front of it, as gunicorn does. */
int cg_py_setup_path(const char *chdir_abs, const char *pythonpath);

/* Set os.environ[key] = value (and the C environment). */
int cg_py_setenv(const char *key, const char *value);

/* Wrap fork() for the interpreter's locks (PyOS_BeforeFork and friends). */
void cg_py_before_fork(void);
void cg_py_after_fork_parent(void);
void cg_py_after_fork_child(void);

/* Import the WSGI application named by uri (MODULE, MODULE:NAME,
 * MODULE:factory(args)) the way gunicorn's util.import_app does, and keep
 * it for the WSGI layer.  Returns 0; CG_EXIT_APP_LOAD_ERROR (4) when the
 * module imported but the name could not be resolved to a callable (the
 * message is printed to stderr, as gunicorn does); CG_EXIT_WORKER_BOOT_ERROR
 * (3) for any other exception (the traceback is logged after log_prefix). */
int cg_py_load_app(const char *uri, const char *log_prefix);

/* The loaded application (a borrowed PyObject *), or NULL. */
void *cg_py_app(void);

/* The current Python exception's traceback as text (malloc'd, caller
 * frees), clearing the exception; NULL when none is set. */
char *cg_py_format_exception(void);

/* Make signal sig dump the Python traceback of every thread to fd
 * (faulthandler.register): works while the worker is busy or stuck. */
int cg_py_register_traceback(int sig, int fd);

/* Worker: let INT/QUIT and ABRT interrupt Python code the way gunicorn's
 * worker signal handlers do: at the next bytecode boundary (or when a
 * blocking call such as time.sleep is interrupted) on_signal(sig) runs in
 * the main thread with the GIL, then SystemExit(code) is raised (0 for
 * INT/QUIT, 1 for ABRT) and unwinds the app.  Returns 0 or -1. */
int cg_py_worker_signals(void (*on_signal)(int sig));
/* Worker, idle, GIL not held: run the Python-level handlers of any signal
 * that arrived.  Returns the SystemExit code they raised, or -1 if none. */
int cg_py_run_pending_signals(void);
/* The same with the GIL held (after a request). */
int cg_py_check_signals(void);

/* A C thread that will run Python (gthread's pool): give it its own
 * thread state, kept for the life of the thread; returns without the GIL,
 * ready for cg_py_acquire_gil. */
void cg_py_thread_attach(void);

/* Release the GIL for a thread that is going to block outside Python, and
 * take it back. */
void cg_py_release_gil(void);
void cg_py_acquire_gil(void);

#endif
