/* test_cli.c - the argparse-compatible command line, --help and shlex.split
 * (src/config_cli.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgunicorn/cgunicorn.h"
#include "cgunicorn/config.h"

/* One parse: the config, the result, the status and the message. */
typedef struct {
    cg_config_t *cfg;
    cg_cli_result out;
    int rc;
    char err[512];
    char **argv;
} run;

/* Parse the shell-quoted command line cmd ("cgunicorn ..." is implied). */
static run *parse_src(const char *cmd, cg_config_t *cfg, cg_source src)
{
    run *r = calloc(1, sizeof *r);
    char *line = NULL, err[128];
    int argc = 0;
    assert_non_null(r);
    assert_true(asprintf(&line, "cgunicorn %s", cmd) > 0);
    assert_int_equal(cg_cli_split(line, &r->argv, &argc, err, sizeof err), CG_OK);
    free(line);
    r->cfg = cfg ? cfg : cg_config_new();
    r->rc = cg_cli_parse(r->cfg, argc, r->argv, src, &r->out, r->err, sizeof r->err);
    return r;
}

static run *parse(const char *cmd)
{
    return parse_src(cmd, NULL, CG_SRC_CLI);
}

static void done(run *r, bool free_cfg)
{
    if (free_cfg)
        cg_config_free(r->cfg);
    cg_cli_split_free(r->argv);
    free(r);
}

/* The value of id as Python's str() shows it (static buffer). */
static const char *shown(const cg_config_t *cfg, int id)
{
    static char buf[512];
    char *t = cg_config_value_text(cfg, id);
    snprintf(buf, sizeof buf, "%s", t ? t : "?");
    free(t);
    return buf;
}

/* cmd parses, and id then shows as expected, set from the command line. */
static void check_value(const char *cmd, int id, const char *expected)
{
    run *r = parse(cmd);
    if (r->rc != 0)
        fail_msg("%s: rc %d: %s", cmd, r->rc, r->err);
    assert_string_equal(shown(r->cfg, id), expected);
    assert_int_equal(cg_config_source(r->cfg, id), CG_SRC_CLI);
    done(r, true);
}

/* cmd fails with status rc and exactly msg, leaving the config alone. */
static void check_error(const char *cmd, int rc, const char *msg)
{
    run *r = parse(cmd);
    if (r->rc != rc)
        fail_msg("%s: rc %d (expected %d): %s", cmd, r->rc, rc, r->err);
    assert_string_equal(r->err, msg);
    for (int id = 0; id < CG_SET__COUNT; id++)
        assert_int_equal(cg_config_source(r->cfg, id), CG_SRC_DEFAULT);
    assert_null(r->out.app_uri);
    done(r, true);
}

static void test_cli_long_forms(void **state)
{
    (void)state;
    check_value("--workers 3", CG_SET_workers, "3");
    check_value("--workers=3", CG_SET_workers, "3");
    check_value("--workers=3 --workers 5", CG_SET_workers, "5");
    check_value("--worker-connections=5", CG_SET_worker_connections, "5");
    check_value("--keep 9", CG_SET_keepalive, "9"); /* unambiguous prefix */
    check_value("--keep-alive=9", CG_SET_keepalive, "9");
    check_value("--bind a --bind=b", CG_SET_bind, "['a', 'b']");
    check_value("--bind=", CG_SET_bind, "['']");
    check_value("--access-logformat '-%(h)s x'", CG_SET_access_log_format, "-%(h)s x");
    check_value("--workers ' 7 '", CG_SET_workers, "7");
    check_value("--workers 1_0", CG_SET_workers, "10");
    check_value("--threads 012", CG_SET_threads, "12"); /* argparse's int(), base 10 */
}

static void test_cli_short_forms(void **state)
{
    run *r;
    (void)state;
    check_value("-w3", CG_SET_workers, "3");
    check_value("-w 3", CG_SET_workers, "3");
    check_value("-w=3", CG_SET_workers, "3");
    check_value("-b a -b b -ba", CG_SET_bind, "['a', 'b', 'a']");
    check_value("-Dw3", CG_SET_workers, "3");
    r = parse("-DRw 4 -t5");
    assert_int_equal(r->rc, 0);
    assert_true(cg_config_bool(r->cfg, CG_SET_daemon));
    assert_true(cg_config_bool(r->cfg, CG_SET_enable_stdio_inheritance));
    assert_int_equal(cg_config_int(r->cfg, CG_SET_workers), 4);
    assert_int_equal(cg_config_int(r->cfg, CG_SET_timeout), 5);
    done(r, true);
}

static void test_cli_every_flag_kind(void **state)
{
    (void)state;
    check_value("--no-sendfile", CG_SET_sendfile, "False");
    check_value("--no-control-socket", CG_SET_control_socket_disable, "True");
    check_value("--proxy-protocol", CG_SET_proxy_protocol, "auto");
    check_value("--proxy-protocol v1", CG_SET_proxy_protocol, "v1");
    check_value("--proxy-protocol=v2", CG_SET_proxy_protocol, "v2");
    check_value("--preload", CG_SET_preload_app, "True");
    check_value("--error-logfile /tmp/e.log", CG_SET_errorlog, "/tmp/e.log");
    check_value("--log-file /tmp/f.log", CG_SET_errorlog, "/tmp/f.log");
    check_value("--paster x.ini", CG_SET_paste, "x.ini");
    check_value("--limit-request-field_size 0", CG_SET_limit_request_field_size, "0");
    check_value("--proxy-allow-from '*'", CG_SET_proxy_allow_ips, "['*']");
    check_value("--forwarded-allow-ips 10.0.0.1,10.0.0.2", CG_SET_forwarded_allow_ips,
                "['10.0.0.1', '10.0.0.2']");
    check_value("-p /tmp/pid", CG_SET_pidfile, "/tmp/pid");
    check_value("-u 0", CG_SET_user, "0");
    check_value("-g 0", CG_SET_group, "0");
    check_value("-m 022", CG_SET_umask, "18"); /* auto_int: leading 0 is octal */
    check_value("-m 0o22", CG_SET_umask, "18");
    check_value("-m 0x12", CG_SET_umask, "18");
    check_value("--control-socket-mode 0660", CG_SET_control_socket_mode, "432");
    check_value("-n web", CG_SET_proc_name, "web");
    check_value("-e A=1 --env B=2", CG_SET_raw_env, "['A=1', 'B=2']");
    check_value("-k gthread", CG_SET_worker_class, "gthread");
    check_value("--log-level DEBUG", CG_SET_loglevel, "DEBUG");
    check_value("--cert-reqs 0x2", CG_SET_cert_reqs, "2"); /* str, then int(x, 0) */
    check_value("--reload-extra-file /etc/passwd", CG_SET_reload_extra_files, "['/etc/passwd']");
    check_value("--header-map Dangerous", CG_SET_header_map, "dangerous");
    check_value("--http-protocols h2,h1", CG_SET_http_protocols, "['h2', 'h1']");
    check_value("--dirty-app a:A --dirty-app b:B:2", CG_SET_dirty_apps, "['a:A', 'b:B:2']");
    check_value("--chdir /", CG_SET_chdir, "/");
    check_value("--print-config", CG_SET_print_config, "True");
    check_value("--check-config", CG_SET_check_config, "True");
}

static void test_cli_positional(void **state)
{
    run *r;
    (void)state;
    r = parse("-w 3 app:app");
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->out.app_uri, "app:app");
    done(r, true);
    r = parse("app:app -w 3");
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->out.app_uri, "app:app");
    assert_int_equal(cg_config_int(r->cfg, CG_SET_workers), 3);
    done(r, true);
    r = parse("a:b c:d"); /* argparse's nargs='*': the first is the app */
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->out.app_uri, "a:b");
    done(r, true);
    r = parse("-- -w");
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->out.app_uri, "-w");
    assert_int_equal(cg_config_source(r->cfg, CG_SET_workers), CG_SRC_DEFAULT);
    done(r, true);
    r = parse("-w 3 -- app");
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->out.app_uri, "app");
    done(r, true);
    r = parse("-b -1"); /* a negative number is a value, not an option */
    assert_int_equal(r->rc, 0);
    assert_string_equal(shown(r->cfg, CG_SET_bind), "['-1']");
    done(r, true);
    r = parse("");
    assert_int_equal(r->rc, 0);
    assert_null(r->out.app_uri);
    assert_null(r->out.config_path);
    done(r, true);
}

static void test_cli_argparse_errors(void **state)
{
    (void)state;
    check_error("--foo app:app", 2, "unrecognized arguments: --foo");
    check_error("--foo=1 -x app:app", 2, "unrecognized arguments: --foo=1 -x");
    check_error("a:b c:d --bar e:f", 2, "unrecognized arguments: --bar e:f");
    check_error("-w x", 2, "argument -w/--workers: invalid int value: 'x'");
    check_error("--workers=", 2, "argument -w/--workers: invalid int value: ''");
    check_error("-w \"it's\"", 2, "argument -w/--workers: invalid int value: \"it's\"");
    check_error("-m x", 2, "argument -m/--umask: invalid auto_int value: 'x'");
    check_error("-b", 2, "argument -b/--bind: expected one argument");
    check_error("-b -w 3", 2, "argument -b/--bind: expected one argument");
    check_error("-b -- x", 2, "argument -b/--bind: expected one argument");
    check_error("--limit-request-line", 2, "argument --limit-request-line: expected one argument");
    check_error("--log a:b", 2,
                "ambiguous option: --log could match --log-file, --log-level, "
                "--logger-class, --log-config, --log-config-json, --log-syslog-to, "
                "--log-syslog, --log-syslog-prefix, --log-syslog-facility");
    check_error("--past x", 2,
                "ambiguous option: --past could match --paste, --paster, --paste-global");
    check_error("--no", 2,
                "ambiguous option: --no could match --no-ui, --no-sendfile, "
                "--no-control-socket");
    check_error("--reload=1", 2, "argument --reload: ignored explicit argument '1'");
    check_error("-Dx", 2, "argument -D/--daemon: ignored explicit argument 'x'");
    check_error("-w 3 -w x", 2, "argument -w/--workers: invalid int value: 'x'");
}

static void test_cli_validator_errors(void **state)
{
    (void)state;
    check_error("-w -1", 1, "Value must be positive: -1");
    check_error("--cert-reqs x", 1, "invalid literal for int() with base 0: 'x'");
    check_error("--chdir /no/such/dir", 1, "can't chdir to '/no/such/dir'");
    check_error("-u no-such-user-xyz", 1, "No such user: 'no-such-user-xyz'");
    check_error("--log-level verbose", 1,
                "Invalid loglevel: 'verbose' (choose from debug, info, warning, error, "
                "critical)");
    check_error("--proxy-protocol v9", 1,
                "Invalid proxy_protocol: 'v9' (choose from off, v1, v2, auto)");
}

static void test_cli_help_version_no_ui(void **state)
{
    run *r;
    (void)state;
    r = parse("-h");
    assert_int_equal(r->rc, 0);
    assert_true(r->out.help);
    done(r, true);
    r = parse("--help -w x"); /* help ends the parse before -w is read */
    assert_int_equal(r->rc, 0);
    assert_true(r->out.help);
    assert_int_equal(cg_config_source(r->cfg, CG_SET_workers), CG_SRC_DEFAULT);
    done(r, true);
    r = parse("-w x -h");
    assert_int_equal(r->rc, 2);
    assert_false(r->out.help);
    done(r, true);
    r = parse("--vers");
    assert_int_equal(r->rc, 0);
    assert_true(r->out.version);
    done(r, true);
    r = parse("-v --foo");
    assert_int_equal(r->rc, 0);
    assert_true(r->out.version);
    done(r, true);
    r = parse("--no-ui app:app");
    assert_int_equal(r->rc, 0);
    assert_true(r->out.no_ui);
    assert_false(r->out.help);
    assert_string_equal(r->out.app_uri, "app:app");
    done(r, true);
}

static void test_cli_config_path(void **state)
{
    run *r;
    (void)state;
    r = parse("-c gunicorn/config.py app:app");
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->out.config_path, "gunicorn/config.py");
    assert_string_equal(cg_config_str(r->cfg, CG_SET_config), "gunicorn/config.py");
    done(r, true);
    r = parse("--config=a.yaml -c b.py");
    assert_string_equal(r->out.config_path, "b.py");
    done(r, true);
}

static void test_cli_env_then_cli(void **state)
{
    cg_config_t *cfg = cg_config_new();
    run *env, *cli;
    char err[256];
    (void)state;
    /* the config file's values first (any order works: sources rank) */
    assert_int_equal(cg_config_set_text(cfg, CG_SET_timeout, "60", CG_SRC_FILE, err, 256), CG_OK);
    assert_int_equal(cg_config_set_text(cfg, CG_SET_bind, "file", CG_SRC_FILE, err, 256), CG_OK);
    env =
        parse_src("--bind=127.0.0.1 --bind=[::1]:8000 --workers=3 --keep-alive 7", cfg, CG_SRC_ENV);
    assert_int_equal(env->rc, 0);
    cli = parse_src("-b 0.0.0.0:80 -w 5 app:app", cfg, CG_SRC_CLI);
    assert_int_equal(cli->rc, 0);
    assert_string_equal(shown(cfg, CG_SET_bind), "['0.0.0.0:80']");
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 5);
    assert_int_equal(cg_config_int(cfg, CG_SET_keepalive), 7);
    assert_int_equal(cg_config_source(cfg, CG_SET_keepalive), CG_SRC_ENV);
    assert_int_equal(cg_config_int(cfg, CG_SET_timeout), 60);
    assert_int_equal(cg_config_source(cfg, CG_SET_timeout), CG_SRC_FILE);
    done(env, false);
    done(cli, false);
    cg_config_free(cfg);
}

/* Everything cg_cli_help() writes at 80 columns, malloc'd. */
static char *help_text(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    setenv("COLUMNS", "80", 1);
    cg_cli_help(f, "cgunicorn");
    fclose(f);
    return buf;
}

static void test_cli_help_lists_every_flag(void **state)
{
    const char *head = "usage: cgunicorn [OPTIONS] [APP_MODULE]\n\noptions:\n"
                       "  -h, --help            show this help message and exit\n"
                       "  -v, --version         show program's version number and exit\n";
    char *help, *line, *save = NULL;
    (void)state;
    unsetenv("PORT");
    unsetenv("WEB_CONCURRENCY");
    unsetenv("FORWARDED_ALLOW_IPS");
    help = help_text();
    assert_int_equal(strncmp(help, head, strlen(head)), 0);
    assert_non_null(strstr(help, "\n  -w INT, --workers INT\n"
                                 "                        The number of worker processes for "
                                 "handling requests.\n                        [1]\n"));
    assert_non_null(strstr(help, "\n  --keep-alive INT      The number of seconds to wait for "
                                 "requests on a Keep-\n                        Alive "
                                 "connection. [2]\n"));
    assert_non_null(strstr(help, "\n  -D, --daemon          Daemonize the Gunicorn process. "
                                 "[False]\n"));
    assert_non_null(strstr(help, "\n  --chdir CHDIR         "));
    assert_non_null(strstr(help, "\n  --proxy-protocol [MODE]\n"));
    assert_non_null(strstr(help, "\n  --proxy-allow-from PROXY_ALLOW_IPS\n"));
    assert_non_null(strstr(help, "[127.0.0.1,::1]"));
    assert_non_null(strstr(help, "\n  --no-sendfile         Disables the use of sendfile(). "
                                 "[None]\n"));
    assert_non_null(strstr(help, "\n  --error-logfile FILE, --log-file FILE\n"));
    assert_non_null(strstr(help, "\n  --no-ui "));
    for (int id = 0; id < CG_SET__COUNT; id++) {
        const char *flags = cg_setting_flags(id);
        for (const char *p = flags; *p;) {
            size_t len = strcspn(p, " ");
            char want[80];
            snprintf(want, sizeof want, "%.*s", (int)len, p);
            if (!strstr(help, want))
                fail_msg("--help lacks %s", want);
            p += len + (p[len] == ' ');
        }
    }
    assert_null(strstr(help, "secure_scheme_headers"));
    assert_null(strstr(help, "on_starting"));
    /* wrapped to 78 columns, except an invocation too long to wrap */
    for (line = strtok_r(help, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (strlen(line) > 78 && strncmp(line, "  --", 4) != 0)
            fail_msg("line too long: %s", line);
    free(help);
}

static void test_cli_usage(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    (void)state;
    cg_cli_usage(f, "cgunicorn-top");
    fclose(f);
    assert_string_equal(buf, "usage: cgunicorn-top [OPTIONS] [APP_MODULE]\n");
    free(buf);
}

/* s splits into exactly the n words of want. */
static void check_split(const char *s, int n, const char *const *want)
{
    char **argv = NULL, err[128];
    int argc = -1;
    assert_int_equal(cg_cli_split(s, &argv, &argc, err, sizeof err), CG_OK);
    assert_int_equal(argc, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(argv[i], want[i]);
    assert_null(argv[n]);
    cg_cli_split_free(argv);
}

static void test_cli_split(void **state)
{
    char **argv = NULL, err[128];
    int argc;
    (void)state;
    check_split("--bind=127.0.0.1 --workers=3", 2,
                (const char *[]){"--bind=127.0.0.1", "--workers=3"});
    check_split("  a\t b\n", 2, (const char *[]){"a", "b"});
    check_split("'a b' \"c d\"", 2, (const char *[]){"a b", "c d"});
    check_split("a\\ b", 1, (const char *[]){"a b"});
    check_split("\"x\\\"y\" \"a\\b\" 'c\\d'", 3, (const char *[]){"x\"y", "a\\b", "c\\d"});
    check_split("\"a\\\\b\"", 1, (const char *[]){"a\\b"});
    check_split("'' \"\"", 2, (const char *[]){"", ""});
    check_split("a\"b c\"d", 1, (const char *[]){"ab cd"});
    check_split("--access-logformat '%(h)s \"%(r)s\"'", 2,
                (const char *[]){"--access-logformat", "%(h)s \"%(r)s\""});
    check_split("# not a comment", 4, (const char *[]){"#", "not", "a", "comment"});
    check_split("", 0, NULL);
    check_split("   ", 0, NULL);
    check_split(NULL, 0, NULL);
    assert_int_equal(cg_cli_split("-b 'unclosed", &argv, &argc, err, sizeof err), CG_ERR);
    assert_string_equal(err, "No closing quotation");
    assert_int_equal(cg_cli_split("\"also", &argv, &argc, err, sizeof err), CG_ERR);
    assert_string_equal(err, "No closing quotation");
    assert_int_equal(cg_cli_split("trailing\\", &argv, &argc, err, sizeof err), CG_ERR);
    assert_string_equal(err, "No escaped character");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_long_forms),
        cmocka_unit_test(test_cli_short_forms),
        cmocka_unit_test(test_cli_every_flag_kind),
        cmocka_unit_test(test_cli_positional),
        cmocka_unit_test(test_cli_argparse_errors),
        cmocka_unit_test(test_cli_validator_errors),
        cmocka_unit_test(test_cli_help_version_no_ui),
        cmocka_unit_test(test_cli_config_path),
        cmocka_unit_test(test_cli_env_then_cli),
        cmocka_unit_test(test_cli_help_lists_every_flag),
        cmocka_unit_test(test_cli_usage),
        cmocka_unit_test(test_cli_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
