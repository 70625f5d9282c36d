/* main.c - `cgunicorn` / `cgunicorn-top`: command line -> config -> arbiter
 * -> front end.  The program's glue: it is not part of the engine library
 * (the engine never includes ui/).
 *
 * The binary is headless when called as `cgunicorn`, with --no-ui, with -D,
 * or without a usable terminal; otherwise the dashboard (ui/) hosts the
 * arbiter in-process. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgunicorn/arbiter.h"
#include "cgunicorn/cgunicorn.h"
#include "cgunicorn/config.h"
#include "cgunicorn/log.h"
#include "green.h"
#include "hooks.h"
#include "proctitle.h"
#include "worker.h"
#include "py_embed.h"
#include "../ui/ui.h"

extern char **environ;

/* What HUP needs to build the configuration again. */
typedef struct {
    int argc;
    char **argv;
    const char *prog;
    char *start_dir; /* where relative -c paths were resolved */
} config_source;

static const char *worker_classes_later[] = {"tornado", "asgi"};

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Load one config file by its extension.  0, or an exit code (message
 * printed as gunicorn prints it: "\nError: ..." and exit 1, or for YAML a
 * "FILE:LINE: ..." naming the key and exit 2). */
static int load_file(cg_config_t *cfg, const char *path)
{
    char err[1024] = "";
    struct stat st;

    if (strncmp(path, "python:", 7) == 0) {
        fprintf(stderr, "\nError: python:MODULE config files are not supported yet: %s\n", path);
        return 1;
    }
    if (strncmp(path, "file:", 5) == 0)
        path += 5;
    if (has_suffix(path, ".yaml") || has_suffix(path, ".yml")) {
        if (stat(path, &st) != 0) {
            fprintf(stderr, "\nError: '%s' doesn't exist\n", path);
            return 1;
        }
        if (cg_config_load_yaml(cfg, path, err, sizeof(err)) != CG_OK) {
            fprintf(stderr, "Error: %s\n", err);
            return 2;
        }
        return 0;
    }
    if (cg_config_load_python(cfg, path, err, sizeof(err)) != CG_OK) {
        /* a traceback was printed already, with "Failed to read config file" */
        if (strncmp(err, "Failed to read config file", 26) != 0)
            fprintf(stderr, "\nError: %s\n", err);
        return 1;
    }
    return 0;
}

/* Report a cg_cli_parse failure: 2 = argparse's usage error, 1 = a value
 * its validator refused.  Returns the exit code. */
static int cli_error(const char *prog, int rc, const char *err)
{
    if (rc == 2) {
        cg_cli_usage(stderr, prog);
        fprintf(stderr, "%s: error: %s\n", prog, err);
        return 2;
    }
    fprintf(stderr, "\nError: %s\n", err);
    return 1;
}

/* Build the configuration from every source, gunicorn's way: defaults,
 * then the config file (-c from the command line, else from
 * GUNICORN_CMD_ARGS, else ./gunicorn.conf.py), then GUNICORN_CMD_ARGS, then
 * the command line.  Returns 0 or an exit code (message printed). */
static int build_config(const config_source *src, cg_config_t **out, cg_cli_result *cli)
{
    cg_config_t *cfg = cg_config_new(), *scratch = cg_config_new();
    cg_cli_result env_cli = {0};
    char err[1024];
    char **env_argv = NULL, **split_argv = NULL;
    int env_argc = 0, rc = 0;
    const char *env_args = getenv("GUNICORN_CMD_ARGS");
    const char *path;

    if (cfg == NULL || scratch == NULL) {
        fprintf(stderr, "Error: out of memory\n");
        rc = 1;
        goto done;
    }
    memset(cli, 0, sizeof(*cli));
    rc = cg_cli_parse(scratch, src->argc, src->argv, CG_SRC_CLI, cli, err, sizeof(err));
    if (rc != 0) {
        rc = cli_error(src->prog, rc, err);
        goto done;
    }
    if (cli->help || cli->version)
        goto done;
    if (env_args && *env_args) {
        if (cg_cli_split(env_args, &split_argv, &env_argc, err, sizeof(err)) != 0) {
            rc = cli_error(src->prog, 2, err);
            goto done;
        }
        /* cg_cli_parse skips argv[0], the program name */
        env_argv = calloc((size_t)env_argc + 2, sizeof(char *));
        if (env_argv == NULL) {
            rc = 1;
            goto done;
        }
        env_argv[0] = (char *)src->prog;
        memcpy(env_argv + 1, split_argv, (size_t)env_argc * sizeof(char *));
        env_argc++;
        rc = cg_cli_parse(scratch, env_argc, env_argv, CG_SRC_ENV, &env_cli, err, sizeof(err));
        if (rc != 0) {
            rc = cli_error(src->prog, rc, err);
            goto done;
        }
    }
    path = cli->config_path ? cli->config_path : env_cli.config_path;
    if (path == NULL && access("gunicorn.conf.py", F_OK) == 0)
        path = "gunicorn.conf.py";
    if (path && (rc = load_file(cfg, path)) != 0)
        goto done;
    /* gunicorn ignores positional arguments in GUNICORN_CMD_ARGS */
    if (env_argv &&
        (rc = cg_cli_parse(cfg, env_argc, env_argv, CG_SRC_ENV, &env_cli, err, sizeof(err))) != 0) {
        rc = cli_error(src->prog, rc, err);
        goto done;
    }
    if ((rc = cg_cli_parse(cfg, src->argc, src->argv, CG_SRC_CLI, cli, err, sizeof(err))) != 0) {
        rc = cli_error(src->prog, rc, err);
        goto done;
    }
done:
    cg_cli_split_free(split_argv);
    free(env_argv);
    cg_config_free(scratch);
    if (rc != 0) {
        cg_config_free(cfg);
        cfg = NULL;
    }
    *out = cfg;
    return rc;
}

/* The worker class: sync and gthread are built; name the rest clearly. */
static int check_worker_class(const cg_config_t *cfg)
{
    int threads;
    const char *wc = cg_worker_class(cfg, &threads);

    const char *green = cg_green_kind(wc);
    char err[256];
    if (green && cg_green_check(green, err, sizeof(err)) != 0) {
        fprintf(stderr, "Error: %s\n", err);
        return 1;
    }
    if (threads >= 0)
        return 0;
    for (size_t i = 0; i < sizeof(worker_classes_later) / sizeof(*worker_classes_later); i++)
        if (strcmp(wc, worker_classes_later[i]) == 0) {
            fprintf(stderr,
                    "Error: worker class '%s' is not built yet in " CG_SERVER_NAME
                    " %s (available: sync, gthread, gevent, eventlet)\n",
                    wc, CG_VERSION);
            return 1;
        }
    fprintf(stderr,
            "Error: worker class '%s' is not supported: " CG_SERVER_NAME
            " runs its own C workers, not Python worker classes (available: sync, gthread, gevent, "
            "eventlet)\n",
            wc);
    return 1;
}

/* Apply the settings that shape the process: chdir, sys.path, env. */
static int apply_process_settings(const cg_config_t *cfg)
{
    const char *dir = cg_config_str(cfg, CG_SET_chdir);
    const char *const *env;
    size_t n;

    if (dir && chdir(dir) != 0) {
        fprintf(stderr, "Error: can't chdir to '%s': %s\n", dir, strerror(errno));
        return 1;
    }
    n = cg_config_list(cfg, CG_SET_raw_env, &env);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(env[i], '=');
        if (eq == NULL) {
            fprintf(stderr, "Error: Invalid value for env: %s\n", env[i]);
            return 1;
        }
        char *key = strndup(env[i], (size_t)(eq - env[i]));
        cg_py_setenv(key, eq + 1);
        free(key);
    }
    umask((mode_t)cg_config_int(cfg, CG_SET_umask));
    cg_py_setup_path(dir, cg_config_str(cfg, CG_SET_pythonpath));
    return 0;
}

/* Warn once about each setting given but not built yet. */
static void warn_unbuilt(const cg_config_t *cfg)
{
    for (int id = 0; id < CG_SET__COUNT; id++)
        if (!cg_setting_built(id) && cg_config_source(cfg, id) != CG_SRC_DEFAULT)
            cg_log(CG_LOG_WARNING,
                   "Setting '%s' is accepted but not implemented yet in " CG_SERVER_NAME
                   "; it has no effect",
                   cg_setting_name(id));
}

static int open_logs(const cg_config_t *cfg)
{
    char err[512];
    const char *lvl = cg_config_str(cfg, CG_SET_loglevel);
    int level = cg_log_level_parse(lvl ? lvl : "info");
    const char *errorlog = cg_config_str(cfg, CG_SET_errorlog);

    if (level < 0)
        level = CG_LOG_INFO;
    if (cg_log_open_error(errorlog, (cg_log_level)level, err, sizeof(err)) != 0 ||
        cg_log_open_access(cg_config_str(cfg, CG_SET_accesslog), err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    /* capture_output: the app's print() goes to the error log file */
    if (cg_config_bool(cfg, CG_SET_capture_output)) {
        fflush(stdout);
        fflush(stderr);
        cg_log_capture_output();
    }
    return 0;
}

static cg_config_t *reload_config(void *ctx)
{
    const config_source *src = ctx;
    cg_config_t *cfg = NULL;
    cg_cli_result cli;
    char cwd[4096];

    /* the config file path is relative to where we started */
    if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(src->start_dir) != 0)
        return NULL;
    int rc = build_config(src, &cfg, &cli);
    if (chdir(cwd) != 0) {
        /* stay where we were if we can't go back */
    }
    if (rc != 0 || cfg == NULL) {
        cg_log(CG_LOG_ERROR, "Reloading the configuration failed; keeping the old one");
        return NULL;
    }
    if (check_worker_class(cfg) != 0 || apply_process_settings(cfg) != 0) {
        cg_config_free(cfg);
        return NULL;
    }
    cg_log_set_level((cg_log_level)cg_log_level_parse(cg_config_str(cfg, CG_SET_loglevel)));
    return cfg;
}

/* -D: double fork and detach, as gunicorn's util.daemonize. */
static void daemonize(bool keep_stdio)
{
    cg_py_before_fork();
    if (fork() != 0)
        _exit(0);
    setsid();
    if (fork() != 0)
        _exit(0);
    cg_py_after_fork_child();
    umask(0022);
    if (!keep_stdio) {
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            if (fd > 2)
                close(fd);
        }
    }
}

int main(int argc, char **argv)
{
    config_source src;
    cg_config_t *cfg = NULL;
    cg_cli_result cli;
    char err[1024];
    char cwd[4096];
    const char *base;
    int rc;

    argv = cg_proctitle_init(argc, argv);
    /* USR2 re-executes with the environment we started with */
    size_t nenv = 0;
    while (environ[nenv])
        nenv++;
    char **start_env = calloc(nenv + 1, sizeof(char *));
    for (size_t i = 0; start_env && i < nenv; i++)
        start_env[i] = strdup(environ[i]);
    base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    src.argc = argc;
    src.argv = argv;
    src.prog = strcmp(base, "cgunicorn-top") == 0 ? "cgunicorn-top" : "cgunicorn";
    src.start_dir = strdup(getcwd(cwd, sizeof(cwd)) ? cwd : ".");

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (cg_py_init(argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "Error: %s\n", err);
        return 1;
    }
    rc = build_config(&src, &cfg, &cli);
    if (rc != 0)
        return rc;
    cg_hooks_use(cfg);
    if (cli.help) {
        cg_cli_help(stdout, src.prog);
        return 0;
    }
    if (cli.version) {
        printf("%s (version %s)\n", src.prog, CG_VERSION);
        return 0;
    }
    const char *app = cli.app_uri ? cli.app_uri : cg_config_str(cfg, CG_SET_wsgi_app);
    if (cg_config_bool(cfg, CG_SET_print_config))
        cg_config_print(cfg, stdout);
    if (app == NULL) {
        fprintf(stderr, "Error: No application module specified.\n");
        return 1;
    }
    if (check_worker_class(cfg) != 0)
        return 1;
    if (apply_process_settings(cfg) != 0)
        return 1;
    if (cg_config_bool(cfg, CG_SET_print_config) || cg_config_bool(cfg, CG_SET_check_config)) {
        /* gunicorn loads the app to check it, then exits */
        if (open_logs(cfg) != 0)
            return 1;
        rc = cg_py_load_app(app, "\nError while loading the application:\n");
        return rc == 0 ? 0 : 1;
    }
    /* a USR2 child is not daemonized again: it must stay the old master's
     * child until it is promoted */
    if (cg_config_bool(cfg, CG_SET_daemon) && getenv("GUNICORN_PID") == NULL)
        daemonize(cg_config_bool(cfg, CG_SET_enable_stdio_inheritance));
    if (open_logs(cfg) != 0)
        return 1;
    warn_unbuilt(cfg);
    if (cg_config_bool(cfg, CG_SET_reload))
        cg_log(CG_LOG_WARNING, "Reloader is on. Use in development only!");
    /* --preload: import the app once, here; workers share it copy-on-write */
    if (cg_config_bool(cfg, CG_SET_preload_app) &&
        cg_py_load_app(app, "Exception while preloading the application") != 0)
        return 1;

    /* the dashboard, unless called as `cgunicorn`, with --no-ui or -D */
    bool want_ui =
        strcmp(src.prog, "cgunicorn-top") == 0 && !cli.no_ui && !cg_config_bool(cfg, CG_SET_daemon);
    bool use_ui = want_ui && ui_terminal_usable();
    ui_options uopt;
    ui_options_init(&uopt, cfg);

    cg_arbiter_t *arb = cg_arbiter_new(cfg, app, reload_config, &src);
    if (arb == NULL)
        return 1;
    if (start_env)
        cg_arbiter_set_exec_context(arb, argv, start_env, src.start_dir);
    if (use_ui) {
        cg_arbiter_set_fatal_cb(ui_crt_restore);
        rc = ui_run(arb, &uopt);
    } else {
        if (want_ui)
            fprintf(stderr, "%s\n", UI_HEADLESS_NOTICE);
        rc = cg_arbiter_start(arb);
        if (rc == 0)
            rc = cg_arbiter_run(arb);
    }
    cg_arbiter_free(arb);
    free(src.start_dir);
    return rc;
}
