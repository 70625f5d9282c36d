/* test_config.c - the settings table, defaults, validators, precedence and
 * the --print-config / "Current configuration" formats (src/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgunicorn/cgunicorn.h"
#include "cgunicorn/config.h"

/* Environment variables cg_config_new() reads, cleared between tests. */
static const char *const env_vars[] = {"PORT", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS",
                                       "XDG_RUNTIME_DIR"};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof env_vars / sizeof env_vars[0]; i++)
        unsetenv(env_vars[i]);
    setenv("HOME", "/home/tester", 1);
    return 0;
}

/* The value of id as text, in a static buffer (freed copy). */
static const char *text_of(const cg_config_t *cfg, int id)
{
    static char buf[1024];
    char *t = cg_config_value_text(cfg, id);
    assert_non_null(t);
    snprintf(buf, sizeof buf, "%s", t);
    free(t);
    return buf;
}

/* Set id from text at src; returns the status and leaves the message. */
static int set(cg_config_t *cfg, int id, const char *text, cg_source src, char *err)
{
    err[0] = '\0';
    return cg_config_set_text(cfg, id, text, src, err, 256);
}

/* Assert that setting id from text fails with exactly msg. */
static void assert_refused(int id, const char *text, const char *msg)
{
    cg_config_t *cfg = cg_config_new();
    char err[256];
    assert_int_equal(set(cfg, id, text, CG_SRC_CLI, err), CG_ERR);
    assert_string_equal(err, msg);
    assert_int_equal(cg_config_source(cfg, id), CG_SRC_DEFAULT);
    cg_config_free(cfg);
}

/* Assert that setting id from text is stored and shown as shown. */
static void assert_stored(int id, const char *text, const char *shown)
{
    cg_config_t *cfg = cg_config_new();
    char err[256];
    assert_int_equal(set(cfg, id, text, CG_SRC_CLI, err), CG_OK);
    assert_string_equal(text_of(cfg, id), shown);
    assert_int_equal(cg_config_source(cfg, id), CG_SRC_CLI);
    cg_config_free(cfg);
}

static void test_config_table(void **state)
{
    (void)state;
    /* gunicorn 26's 119, and cgunicorn's own client_timeout */
    assert_int_equal(CG_SET__COUNT, 120);
    assert_int_equal(cg_setting_lookup("client_timeout"),
                     CG_SET__COUNT - 1 - (CG_SET__COUNT - 1 - CG_SET_client_timeout));
    assert_int_equal(CG_SET_config, 0);
    assert_int_equal(cg_setting_lookup("workers"), CG_SET_workers);
    assert_int_equal(cg_setting_lookup("control_socket_disable"), CG_SET__COUNT - 1);
    assert_int_equal(cg_setting_lookup("nope"), -1);
    assert_int_equal(cg_setting_lookup(NULL), -1);
    assert_int_equal(cg_setting_lookup_flag("-w"), CG_SET_workers);
    assert_int_equal(cg_setting_lookup_flag("--workers"), CG_SET_workers);
    assert_int_equal(cg_setting_lookup_flag("--work"), -1);
    assert_int_equal(cg_setting_lookup_flag("--log-file"), CG_SET_errorlog);
    assert_int_equal(cg_setting_lookup_flag("--error-logfile"), CG_SET_errorlog);
    assert_int_equal(cg_setting_lookup_flag("--limit-request-field_size"),
                     CG_SET_limit_request_field_size);
    assert_int_equal(cg_setting_lookup_flag("--proxy-allow-from"), CG_SET_proxy_allow_ips);
    assert_int_equal(cg_setting_lookup_flag("--paster"), CG_SET_paste);
    assert_int_equal(cg_setting_lookup_flag("--no-sendfile"), CG_SET_sendfile);
    assert_int_equal(cg_setting_action(CG_SET_sendfile), CG_ACT_FALSE);
    assert_int_equal(cg_setting_lookup_flag("--no-control-socket"), CG_SET_control_socket_disable);
    assert_int_equal(cg_setting_action(CG_SET_control_socket_disable), CG_ACT_TRUE);
    assert_int_equal(cg_setting_action(CG_SET_proxy_protocol), CG_ACT_OPTIONAL);
    assert_string_equal(cg_setting_meta(CG_SET_proxy_protocol), "MODE=auto");
    assert_int_equal(cg_setting_lookup_flag("-R"), CG_SET_enable_stdio_inheritance);
    assert_int_equal(cg_setting_lookup_flag("-p"), CG_SET_pidfile);
    assert_int_equal(cg_setting_lookup_flag("-m"), CG_SET_umask);
    assert_int_equal(cg_setting_lookup_flag("-n"), CG_SET_proc_name);
    assert_int_equal(cg_setting_lookup_flag("-k"), CG_SET_worker_class);
    assert_int_equal(cg_setting_lookup_flag(""), -1);
    assert_string_equal(cg_setting_name(CG_SET_bind), "bind");
    assert_null(cg_setting_name(-1));
    assert_null(cg_setting_name(CG_SET__COUNT));
    assert_string_equal(cg_setting_section(CG_SET_bind), "Server Socket");
    assert_string_equal(cg_setting_argtype(CG_SET_workers), "int");
    assert_string_equal(cg_setting_argtype(CG_SET_umask), "auto_int");
    assert_string_equal(cg_setting_argtype(CG_SET_control_socket_mode), "auto_int");
    assert_string_equal(cg_setting_argtype(CG_SET_cert_reqs), "str");
    assert_string_equal(cg_setting_argtype(CG_SET_user), "str");
    assert_string_equal(cg_setting_argtype(CG_SET_bind), "str");
    assert_true(cg_setting_built(CG_SET_bind));
    assert_true(cg_setting_built(CG_SET_header_map));
    assert_true(cg_setting_built(CG_SET_on_starting));
    assert_false(cg_setting_built(CG_SET_spew));
    assert_false(cg_setting_built(CG_SET_raw_paste_global_conf));
    for (int id = 0; id < CG_SET__COUNT; id++) {
        const char *flags = cg_setting_flags(id);
        assert_int_equal(cg_setting_lookup(cg_setting_name(id)), id);
        assert_true(*flags == '\0' || *flags == '-');
        if (cg_setting_type(id) == CG_TYPE_HOOK) {
            assert_string_equal(flags, "");
            assert_non_null(strchr(cg_setting_meta(id), '.'));
        }
        assert_int_equal(*flags == '\0', cg_setting_action(id) == CG_ACT_NONE);
        assert_true(strlen(cg_setting_help(id)) > 0);
    }
}

static void test_config_defaults(void **state)
{
    cg_config_t *cfg = cg_config_new();
    const char *const *items, *const *keys, *const *vals;
    char cwd[PATH_MAX];
    (void)state;

    assert_non_null(cfg);
    assert_int_equal(cg_config_list(cfg, CG_SET_bind, &items), 1);
    assert_string_equal(items[0], "127.0.0.1:8000");
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 1);
    assert_int_equal(cg_config_list(cfg, CG_SET_forwarded_allow_ips, &items), 2);
    assert_string_equal(items[0], "127.0.0.1");
    assert_string_equal(items[1], "::1");
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_string_equal(cg_config_str(cfg, CG_SET_chdir), cwd);
    assert_int_equal(cg_config_int(cfg, CG_SET_user), (long)geteuid());
    assert_int_equal(cg_config_int(cfg, CG_SET_group), (long)getegid());
    assert_string_equal(cg_config_str(cfg, CG_SET_syslog_addr), "udp://localhost:514");
    assert_string_equal(cg_config_str(cfg, CG_SET_control_socket),
                        "/home/tester/.gunicorn/gunicorn.ctl");
    assert_int_equal(cg_config_dict(cfg, CG_SET_secure_scheme_headers, &keys, &vals), 3);
    assert_string_equal(keys[0], "X-FORWARDED-PROTOCOL");
    assert_string_equal(vals[0], "ssl");
    assert_string_equal(keys[2], "X-FORWARDED-SSL");
    assert_string_equal(vals[2], "on");
    assert_int_equal(cg_config_dict(cfg, CG_SET_logconfig_dict, &keys, &vals), 0);
    assert_null(keys[0]);
    assert_true(cg_config_is_none(cfg, CG_SET_sendfile));
    assert_false(cg_config_bool(cfg, CG_SET_sendfile));
    assert_true(cg_config_bool(cfg, CG_SET_suppress_ragged_eofs));
    assert_false(cg_config_bool(cfg, CG_SET_daemon));
    assert_null(cg_config_str(cfg, CG_SET_accesslog));
    assert_true(cg_config_is_none(cfg, CG_SET_accesslog));
    assert_string_equal(cg_config_str(cfg, CG_SET_errorlog), "-");
    assert_string_equal(cg_config_str(cfg, CG_SET_config), "./gunicorn.conf.py");
    assert_string_equal(cg_config_str(cfg, CG_SET_dogstatsd_tags), "");
    assert_int_equal(cg_config_int(cfg, CG_SET_umask), 0);
    assert_int_equal(cg_config_int(cfg, CG_SET_control_socket_mode), 0600);
    assert_int_equal(cg_config_int(cfg, CG_SET_limit_request_field_size), 8190);
    assert_int_equal(cg_config_list(cfg, CG_SET_raw_env, &items), 0);
    assert_null(items[0]);
    assert_null(cg_config_hook(cfg, CG_SET_on_starting));
    for (int id = 0; id < CG_SET__COUNT; id++)
        assert_int_equal(cg_config_source(cfg, id), CG_SRC_DEFAULT);
    cg_config_free(cfg);
    cg_config_free(NULL);
}

static void test_config_defaults_from_env(void **state)
{
    cg_config_t *cfg;
    const char *const *items;
    (void)state;

    setenv("PORT", "9000", 1);
    setenv("WEB_CONCURRENCY", "4", 1);
    setenv("FORWARDED_ALLOW_IPS", "10.0.0.1, 10.0.0.0/8", 1);
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    cfg = cg_config_new();
    assert_int_equal(cg_config_list(cfg, CG_SET_bind, &items), 1);
    assert_string_equal(items[0], "0.0.0.0:9000");
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 4);
    assert_int_equal(cg_config_list(cfg, CG_SET_forwarded_allow_ips, &items), 2);
    assert_string_equal(items[1], "10.0.0.0/8");
    assert_string_equal(cg_config_str(cfg, CG_SET_control_socket), "/run/user/1000/gunicorn.ctl");
    assert_int_equal(cg_config_source(cfg, CG_SET_workers), CG_SRC_DEFAULT);
    cg_config_free(cfg);

    /* values gunicorn would die on leave the plain default */
    setenv("WEB_CONCURRENCY", "many", 1);
    cfg = cg_config_new();
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 1);
    cg_config_free(cfg);
    setenv("WEB_CONCURRENCY", "-3", 1);
    cfg = cg_config_new();
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 1);
    cg_config_free(cfg);
}

static void test_config_parse_int(void **state)
{
    static const struct {
        const char *text;
        int base;
        bool ok;
        long value;
    } cases[] = {
        {"3", 0, true, 3},
        {" 42\n", 0, true, 42},
        {"+7", 0, true, 7},
        {"-7", 0, true, -7},
        {"0x1F", 0, true, 31},
        {"0o22", 0, true, 18},
        {"0O22", 0, true, 18},
        {"0b101", 0, true, 5},
        {"1_000", 0, true, 1000},
        {"0x_1f", 0, true, 31},
        {"0", 0, true, 0},
        {"000", 0, true, 0},
        {"012", 0, false, 0},
        {"012", 10, true, 12},
        {"0x10", 10, false, 0},
        {"1__0", 0, false, 0},
        {"_1", 0, false, 0},
        {"1_", 0, false, 0},
        {"", 0, false, 0},
        {" ", 0, false, 0},
        {"x", 0, false, 0},
        {"3x", 0, false, 0},
        {"0o8", 0, false, 0},
        {"- 3", 0, false, 0},
        {"9223372036854775807", 10, true, LONG_MAX},
        {"9223372036854775808", 10, false, 0},
        {"-9223372036854775808", 10, true, LONG_MIN},
        {"1.5", 0, false, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long v = -99;
        bool ok = cg_config_parse_int(cases[i].text, cases[i].base, &v);
        if (ok != cases[i].ok)
            fail_msg("parse_int(\"%s\", %d): expected %s", cases[i].text, cases[i].base,
                     cases[i].ok ? "success" : "failure");
        if (ok)
            assert_int_equal(v, cases[i].value);
    }
    assert_false(cg_config_parse_int(NULL, 0, &(long){0}));
    assert_false(cg_config_parse_int("3", 16, &(long){0}));
}

static void test_config_validate_int(void **state)
{
    (void)state;
    assert_stored(CG_SET_workers, "3", "3");
    assert_stored(CG_SET_workers, " 0x10 ", "16");
    assert_stored(CG_SET_umask, "0o22", "18");
    assert_stored(CG_SET_umask, "0x12", "18");
    assert_stored(CG_SET_umask, "18", "18");
    assert_stored(CG_SET_timeout, "0", "0");
    assert_refused(CG_SET_workers, "x", "invalid literal for int() with base 0: 'x'");
    assert_refused(CG_SET_workers, "012", "invalid literal for int() with base 0: '012'");
    assert_refused(CG_SET_workers, "it's", "invalid literal for int() with base 0: \"it's\"");
    assert_refused(CG_SET_workers, "-1", "Value must be positive: -1");
    assert_refused(CG_SET_backlog, NULL, "int() can't convert non-string with explicit base");
    assert_stored(CG_SET_http2_max_frame_size, "16384", "16384");
    assert_stored(CG_SET_http2_max_frame_size, "16777215", "16777215");
    assert_refused(CG_SET_http2_max_frame_size, "16383",
                   "http2_max_frame_size must be between 16384 and 16777215, got 16383");
}

static void test_config_validate_bool(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[256];
    (void)state;
    assert_stored(CG_SET_daemon, "TRUE", "True");
    assert_stored(CG_SET_daemon, " false ", "False");
    assert_stored(CG_SET_sendfile, "false", "False");
    assert_refused(CG_SET_daemon, "yes", "Invalid boolean: yes");
    assert_refused(CG_SET_daemon, "1", "Invalid boolean: 1");
    assert_int_equal(set(cfg, CG_SET_reuse_port, NULL, CG_SRC_FILE, err), CG_OK);
    assert_true(cg_config_is_none(cfg, CG_SET_reuse_port));
    assert_string_equal(text_of(cfg, CG_SET_reuse_port), "None");
    cg_config_free(cfg);
}

static void test_config_validate_strings(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[256];
    (void)state;
    assert_stored(CG_SET_proc_name, "  web  ", "web");
    assert_stored(CG_SET_worker_class, "gevent", "gevent");
    assert_int_equal(set(cfg, CG_SET_accesslog, "-", CG_SRC_FILE, err), CG_OK);
    assert_string_equal(cg_config_str(cfg, CG_SET_accesslog), "-");
    assert_int_equal(set(cfg, CG_SET_accesslog, NULL, CG_SRC_FILE, err), CG_OK);
    assert_null(cg_config_str(cfg, CG_SET_accesslog));
    assert_string_equal(text_of(cfg, CG_SET_accesslog), "None");
    assert_int_equal(set(cfg, CG_SET_on_starting, "x", CG_SRC_FILE, err), CG_ERR);
    assert_non_null(strstr(err, "on_starting"));
    assert_int_equal(set(cfg, CG_SET_secure_scheme_headers, "x", CG_SRC_FILE, err), CG_ERR);
    assert_string_equal(err, "Value is not a dictionary: x ");
    assert_int_equal(set(cfg, -1, "x", CG_SRC_FILE, err), CG_ERR);
    assert_int_equal(set(cfg, CG_SET__COUNT, "x", CG_SRC_FILE, err), CG_ERR);
    cg_config_free(cfg);
}

static void test_config_validate_choices(void **state)
{
    (void)state;
    assert_stored(CG_SET_loglevel, "DEBUG", "DEBUG");
    assert_stored(CG_SET_loglevel, "critical", "critical");
    assert_refused(CG_SET_loglevel, "verbose",
                   "Invalid loglevel: 'verbose' (choose from debug, info, warning, error, "
                   "critical)");
    assert_stored(CG_SET_header_map, " Refuse ", "refuse");
    assert_refused(CG_SET_header_map, "keep", "Invalid header map behaviour: keep");
    assert_stored(CG_SET_reload_engine, "poll", "poll");
    assert_refused(CG_SET_reload_engine, "POLL", "Invalid reload_engine: 'POLL'");
    assert_stored(CG_SET_proxy_protocol, "V2", "v2");
    assert_stored(CG_SET_proxy_protocol, "true", "auto");
    assert_stored(CG_SET_proxy_protocol, "False", "off");
    assert_refused(CG_SET_proxy_protocol, "v3",
                   "Invalid proxy_protocol: 'v3' (choose from off, v1, v2, auto)");
    assert_stored(CG_SET_asgi_loop, "uvloop", "uvloop");
    assert_stored(CG_SET_asgi_lifespan, "on", "on");
    assert_stored(CG_SET_http_parser, "Python", "python");
    assert_stored(CG_SET_http2_cleartext, "prior-knowledge", "prior-knowledge");
    assert_stored(CG_SET_http_protocols, " h2, H1 ", "['h2', 'h1']");
    assert_refused(CG_SET_http_protocols, "h1,h4",
                   "Invalid http_protocols: 'h4' (choose from h1, h2, h3)");
}

static void test_config_validate_lists(void **state)
{
    cg_config_t *cfg = cg_config_new();
    const char *const *items;
    const char *list[] = {" a ", "b"};
    char err[256];
    (void)state;

    assert_stored(CG_SET_forwarded_allow_ips, "*", "['*']");
    assert_stored(CG_SET_forwarded_allow_ips, " 1.2.3.4 , ,5.6.7.8,", "['1.2.3.4', '', '5.6.7.8']");
    assert_stored(CG_SET_forwarder_headers, "SCRIPT_NAME", "['SCRIPT_NAME']");
    assert_stored(CG_SET_raw_env, " A=1 ", "['A=1']");
    assert_int_equal(cg_config_set_list(cfg, CG_SET_bind, list, 2, CG_SRC_FILE, err, 256), CG_OK);
    assert_int_equal(cg_config_list(cfg, CG_SET_bind, &items), 2);
    assert_string_equal(items[0], "a");
    assert_null(items[2]);
    assert_int_equal(cg_config_set_list(cfg, CG_SET_bind, NULL, 0, CG_SRC_FILE, err, 256), CG_OK);
    assert_int_equal(cg_config_list(cfg, CG_SET_bind, &items), 0);
    assert_int_equal(cg_config_set_list(cfg, CG_SET_workers, list, 2, CG_SRC_FILE, err, 256),
                     CG_ERR);
    assert_int_equal(set(cfg, CG_SET_raw_env, NULL, CG_SRC_FILE, err), CG_OK);
    assert_int_equal(cg_config_list(cfg, CG_SET_raw_env, &items), 0);
    cg_config_free(cfg);
}

static void test_config_validate_paths(void **state)
{
    char tmpl[] = "/tmp/cgtest-XXXXXX", sub[PATH_MAX], err[256], expect[PATH_MAX];
    cg_config_t *cfg = cg_config_new();
    const char *files[] = {"/etc/passwd", "templates/*.html"};
    (void)state;

    assert_non_null(mkdtemp(tmpl));
    snprintf(sub, sizeof sub, "%s/sub", tmpl);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(set(cfg, CG_SET_chdir, sub, CG_SRC_CLI, err), CG_OK);
    assert_string_equal(cg_config_str(cfg, CG_SET_chdir), sub);
    snprintf(expect, sizeof expect, "%s/./sub/../sub//", tmpl);
    assert_int_equal(set(cfg, CG_SET_chdir, expect, CG_SRC_CLI, err), CG_OK);
    assert_string_equal(cg_config_str(cfg, CG_SET_chdir), sub);
    assert_int_equal(set(cfg, CG_SET_chdir, "/", CG_SRC_CLI, err), CG_OK);
    assert_string_equal(cg_config_str(cfg, CG_SET_chdir), "/");
    assert_int_equal(set(cfg, CG_SET_chdir, "/no/such/dir", CG_SRC_CLI, err), CG_ERR);
    assert_string_equal(err, "can't chdir to '/no/such/dir'");
    /* relative to the current directory */
    assert_int_equal(set(cfg, CG_SET_chdir, "..", CG_SRC_CLI, err), CG_OK);
    assert_int_equal(cg_config_str(cfg, CG_SET_chdir)[0], '/');
    assert_int_equal(set(cfg, CG_SET_chdir, "no-such-subdir", CG_SRC_CLI, err), CG_ERR);
    assert_string_equal(err, "can't chdir to 'no-such-subdir'");

    assert_int_equal(
        cg_config_set_list(cfg, CG_SET_reload_extra_files, files, 2, CG_SRC_FILE, err, 256), CG_OK);
    assert_int_equal(set(cfg, CG_SET_reload_extra_files, "/no/such/file", CG_SRC_FILE, err),
                     CG_ERR);
    assert_string_equal(err, "File /no/such/file does not exists.");
    rmdir(sub);
    rmdir(tmpl);
    cg_config_free(cfg);
}

static void test_config_validate_owner(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[256];
    (void)state;
    assert_int_equal(set(cfg, CG_SET_user, "0", CG_SRC_CLI, err), CG_OK);
    assert_int_equal(cg_config_int(cfg, CG_SET_user), 0);
    assert_int_equal(set(cfg, CG_SET_user, "root", CG_SRC_CLI, err), CG_OK);
    assert_int_equal(cg_config_int(cfg, CG_SET_user), 0);
    assert_int_equal(set(cfg, CG_SET_user, "1234", CG_SRC_CLI, err), CG_OK);
    assert_int_equal(cg_config_int(cfg, CG_SET_user), 1234);
    assert_int_equal(set(cfg, CG_SET_user, NULL, CG_SRC_CLI, err), CG_OK);
    assert_int_equal(cg_config_int(cfg, CG_SET_user), (long)geteuid());
    assert_int_equal(set(cfg, CG_SET_group, "root", CG_SRC_CLI, err), CG_OK);
    assert_int_equal(cg_config_int(cfg, CG_SET_group), 0);
    cg_config_free(cfg);
    assert_refused(CG_SET_user, "no-such-user-xyz", "No such user: 'no-such-user-xyz'");
    assert_refused(CG_SET_group, "no-such-group-xyz", "No such group: 'no-such-group-xyz'");
}

static void test_config_precedence(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[256];
    (void)state;

    assert_int_equal(set(cfg, CG_SET_workers, "2", CG_SRC_FILE, err), CG_OK);
    assert_int_equal(cg_config_source(cfg, CG_SET_workers), CG_SRC_FILE);
    assert_int_equal(set(cfg, CG_SET_workers, "3", CG_SRC_ENV, err), CG_OK);
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 3);
    assert_int_equal(set(cfg, CG_SET_workers, "4", CG_SRC_CLI, err), CG_OK);
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 4);
    assert_int_equal(cg_config_source(cfg, CG_SET_workers), CG_SRC_CLI);
    /* a lower source is validated, then dropped */
    assert_int_equal(set(cfg, CG_SET_workers, "9", CG_SRC_FILE, err), CG_OK);
    assert_int_equal(set(cfg, CG_SET_workers, "9", CG_SRC_ENV, err), CG_OK);
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 4);
    assert_int_equal(set(cfg, CG_SET_workers, "x", CG_SRC_FILE, err), CG_ERR);
    /* the same source replaces */
    assert_int_equal(set(cfg, CG_SET_workers, "5", CG_SRC_CLI, err), CG_OK);
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 5);
    /* the env can override a file value but a file loaded later cannot */
    assert_int_equal(set(cfg, CG_SET_loglevel, "debug", CG_SRC_ENV, err), CG_OK);
    assert_int_equal(set(cfg, CG_SET_loglevel, "error", CG_SRC_FILE, err), CG_OK);
    assert_string_equal(cg_config_str(cfg, CG_SET_loglevel), "debug");
    cg_config_free(cfg);
}

static void test_config_list_append_replace(void **state)
{
    cg_config_t *cfg = cg_config_new();
    const char *file_binds[] = {"unix:/tmp/a.sock", "127.0.0.1:1"};
    char err[256];
    (void)state;

    /* a config file's list replaces the default */
    assert_int_equal(
        cg_config_set_list(cfg, CG_SET_bind, file_binds, 2, CG_SRC_FILE, err, sizeof err), CG_OK);
    assert_string_equal(text_of(cfg, CG_SET_bind), "['unix:/tmp/a.sock', '127.0.0.1:1']");
    /* GUNICORN_CMD_ARGS replaces the file's list; its repeated flags append */
    assert_int_equal(set(cfg, CG_SET_bind, "e1", CG_SRC_ENV, err), CG_OK);
    assert_int_equal(set(cfg, CG_SET_bind, "e2", CG_SRC_ENV, err), CG_OK);
    assert_string_equal(text_of(cfg, CG_SET_bind), "['e1', 'e2']");
    /* the command line replaces the environment's list */
    assert_int_equal(set(cfg, CG_SET_bind, "c1", CG_SRC_CLI, err), CG_OK);
    assert_int_equal(set(cfg, CG_SET_bind, "c2", CG_SRC_CLI, err), CG_OK);
    assert_string_equal(text_of(cfg, CG_SET_bind), "['c1', 'c2']");
    /* lower sources no longer touch it */
    assert_int_equal(set(cfg, CG_SET_bind, "late", CG_SRC_ENV, err), CG_OK);
    assert_int_equal(
        cg_config_set_list(cfg, CG_SET_bind, file_binds, 2, CG_SRC_FILE, err, sizeof err), CG_OK);
    assert_string_equal(text_of(cfg, CG_SET_bind), "['c1', 'c2']");
    /* a whole list from the same source replaces */
    assert_int_equal(
        cg_config_set_list(cfg, CG_SET_bind, file_binds, 1, CG_SRC_CLI, err, sizeof err), CG_OK);
    assert_string_equal(text_of(cfg, CG_SET_bind), "['unix:/tmp/a.sock']");
    /* a comma list is replaced, never appended */
    assert_int_equal(set(cfg, CG_SET_forwarded_allow_ips, "a,b", CG_SRC_CLI, err), CG_OK);
    assert_int_equal(set(cfg, CG_SET_forwarded_allow_ips, "c", CG_SRC_CLI, err), CG_OK);
    assert_string_equal(text_of(cfg, CG_SET_forwarded_allow_ips), "['c']");
    cg_config_free(cfg);
}

static void test_config_dict(void **state)
{
    cg_config_t *cfg = cg_config_new();
    const char *keys[] = {"X-SCHEME", "it's"}, *vals[] = {"https", "a\\b\n"};
    const char *const *k, *const *v;
    char err[256];
    (void)state;
    assert_int_equal(cg_config_set_dict(cfg, CG_SET_secure_scheme_headers, keys, vals, 2,
                                        CG_SRC_FILE, err, sizeof err),
                     CG_OK);
    assert_int_equal(cg_config_dict(cfg, CG_SET_secure_scheme_headers, &k, &v), 2);
    assert_string_equal(k[1], "it's");
    assert_string_equal(text_of(cfg, CG_SET_secure_scheme_headers),
                        "{'X-SCHEME': 'https', \"it's\": 'a\\\\b\\n'}");
    assert_int_equal(
        cg_config_set_dict(cfg, CG_SET_bind, keys, vals, 2, CG_SRC_FILE, err, sizeof err), CG_ERR);
    cg_config_free(cfg);
}

static int released;

static void count_release(void *callable)
{
    (void)callable;
    released++;
}

static void test_config_hooks(void **state)
{
    cg_config_t *cfg = cg_config_new();
    int a, b, c;
    char err[256], *dbg;
    (void)state;

    released = 0;
    assert_int_equal(cg_config_set_hook_named(cfg, CG_SET_on_starting, &a, count_release,
                                              "on_starting", CG_SRC_FILE, err, sizeof err),
                     CG_OK);
    assert_ptr_equal(cg_config_hook(cfg, CG_SET_on_starting), &a);
    assert_string_equal(text_of(cfg, CG_SET_on_starting), "<on_starting()>");
    assert_string_equal(text_of(cfg, CG_SET_when_ready), "<WhenReady.when_ready()>");
    /* replaced: the old one is released */
    assert_int_equal(
        cg_config_set_hook(cfg, CG_SET_on_starting, &b, count_release, CG_SRC_CLI, err, sizeof err),
        CG_OK);
    assert_int_equal(released, 1);
    assert_string_equal(text_of(cfg, CG_SET_on_starting), "<on_starting()>");
    /* from a lower source: released at once, the current one kept */
    assert_int_equal(cg_config_set_hook(cfg, CG_SET_on_starting, &c, count_release, CG_SRC_FILE,
                                        err, sizeof err),
                     CG_OK);
    assert_int_equal(released, 2);
    assert_ptr_equal(cg_config_hook(cfg, CG_SET_on_starting), &b);
    /* not a hook: refused and released */
    assert_int_equal(
        cg_config_set_hook(cfg, CG_SET_workers, &c, count_release, CG_SRC_FILE, err, sizeof err),
        CG_ERR);
    assert_int_equal(released, 3);
    dbg = cg_config_debug_text(cfg);
    assert_non_null(strstr(dbg, "\n  on_starting: <function on_starting at 0x"));
    assert_non_null(strstr(dbg, "\n  when_ready: <function WhenReady.when_ready>"));
    free(dbg);
    cg_config_free(cfg);
    assert_int_equal(released, 4);
}

/* Everything cg_config_print() writes, malloc'd. */
static char *printed(const cg_config_t *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    cg_config_print(cfg, f);
    fclose(f);
    return buf;
}

static void test_config_print_format(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[256], *out, *line, *save = NULL, prev[64] = "";
    int lines = 0;
    (void)state;

    assert_int_equal(set(cfg, CG_SET_workers, "3", CG_SRC_CLI, err), CG_OK);
    out = printed(cfg);
    assert_non_null(strstr(out, "bind                               = ['127.0.0.1:8000']\n"));
    assert_non_null(strstr(out, "\nworkers                            = 3\n"));
    assert_non_null(strstr(out, "\nsendfile                           = None\n"));
    assert_non_null(strstr(out, "\ndaemon                             = False\n"));
    assert_non_null(strstr(out, "\ndogstatsd_tags                     = \n"));
    assert_non_null(strstr(out, "\npermit_unconventional_http_version = False\n"));
    assert_non_null(strstr(out, "\non_starting                        = "
                                "<OnStarting.on_starting()>\n"));
    assert_non_null(strstr(out, "\nsecure_scheme_headers              = {'X-FORWARDED-PROTOCOL': "
                                "'ssl', 'X-FORWARDED-PROTO': 'https', 'X-FORWARDED-SSL': 'on'}\n"));
    assert_non_null(strstr(out, "\nforwarded_allow_ips                = ['127.0.0.1', '::1']\n"));
    assert_non_null(strstr(out, "\ncontrol_socket_mode                = 384\n"));
    assert_non_null(strstr(out, "\nssl_version                        = 2\n"));
    assert_non_null(strstr(out,
                           "access_log_format                  = %(h)s %(l)s %(u)s %(t)s \"%(r)s\" "
                           "%(s)s %(b)s \"%(f)s\" \"%(a)s\"\n"));
    assert_int_equal(strncmp(out, "access_log_format ", 18), 0);
    assert_int_equal(out[strlen(out) - 1], '\n');
    /* one line per setting, sorted by name, "=" in column 36 */
    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[64];
        assert_true(strlen(line) >= 37);
        assert_int_equal(strncmp(line + 34, " = ", 3), 0);
        sscanf(line, "%63s", name);
        assert_true(strcmp(prev, name) < 0);
        assert_true(cg_setting_lookup(name) >= 0);
        snprintf(prev, sizeof prev, "%s", name);
        lines++;
    }
    assert_int_equal(lines, CG_SET__COUNT);
    free(out);
    cg_config_free(cfg);
}

static void test_config_debug_text(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char *text = cg_config_debug_text(cfg), *p;
    int lines = 1;
    (void)state;
    assert_non_null(text);
    const char *head = "  config: ./gunicorn.conf.py\n  wsgi_app: None\n  bind: "
                       "['127.0.0.1:8000']\n  backlog: 2048\n  workers: 1\n";
    assert_int_equal(strncmp(text, head, strlen(head)), 0);
    assert_int_not_equal(text[strlen(text) - 1], '\n');
    for (p = text; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    assert_int_equal(lines, CG_SET__COUNT);
    assert_non_null(strstr(text, "\n  control_socket_disable: False"));
    free(text);
    cg_config_free(cfg);
}

static void test_config_value_repr(void **state)
{
    cg_config_t *cfg = cg_config_new();
    const char *items[] = {"it's", "say \"hi\"", "both ' \"", "tab\there", "\x01"};
    char err[256];
    (void)state;
    assert_int_equal(
        cg_config_set_list(cfg, CG_SET_raw_env, items, 5, CG_SRC_FILE, err, sizeof err), CG_OK);
    /* items are stripped first, as validate_string does ("\x01" is not space) */
    assert_string_equal(text_of(cfg, CG_SET_raw_env),
                        "[\"it's\", 'say \"hi\"', 'both \\' \"', 'tab\\there', '\\x01']");
    assert_null(cg_config_value_text(cfg, -1));
    cg_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config_table, clear_env),
        cmocka_unit_test_setup(test_config_defaults, clear_env),
        cmocka_unit_test_setup(test_config_defaults_from_env, clear_env),
        cmocka_unit_test(test_config_parse_int),
        cmocka_unit_test_setup(test_config_validate_int, clear_env),
        cmocka_unit_test_setup(test_config_validate_bool, clear_env),
        cmocka_unit_test_setup(test_config_validate_strings, clear_env),
        cmocka_unit_test_setup(test_config_validate_choices, clear_env),
        cmocka_unit_test_setup(test_config_validate_lists, clear_env),
        cmocka_unit_test_setup(test_config_validate_paths, clear_env),
        cmocka_unit_test_setup(test_config_validate_owner, clear_env),
        cmocka_unit_test_setup(test_config_precedence, clear_env),
        cmocka_unit_test_setup(test_config_list_append_replace, clear_env),
        cmocka_unit_test_setup(test_config_dict, clear_env),
        cmocka_unit_test_setup(test_config_hooks, clear_env),
        cmocka_unit_test_setup(test_config_print_format, clear_env),
        cmocka_unit_test_setup(test_config_debug_text, clear_env),
        cmocka_unit_test_setup(test_config_value_repr, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
