/* test_config_yaml.c - YAML config files (src/config_yaml.c): good files,
 * unknown keys and bad values with line numbers, syntax errors, and
 * malformed input that must neither crash nor leak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgunicorn/cgunicorn.h"
#include "cgunicorn/config.h"

static char dir[] = "/tmp/cg-yaml-XXXXXX";
static char path[256];

static int make_dir(void **state)
{
    (void)state;
    unsetenv("PORT");
    unsetenv("WEB_CONCURRENCY");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    unlink(path);
    return rmdir(dir);
}

/* Write text to the test's YAML file (len bytes, or strlen). */
static const char *write_yaml(const char *text, size_t len)
{
    FILE *f;
    snprintf(path, sizeof path, "%s/cgunicorn.yaml", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len ? len : strlen(text), f), len ? len : strlen(text));
    fclose(f);
    return path;
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

/* Load text; assert it fails with "PATH:" + msg and leaves nothing set
 * from the file beyond what came before the bad key. */
static void check_failure(const char *text, const char *msg)
{
    cg_config_t *cfg = cg_config_new();
    char err[512], want[1024];
    write_yaml(text, 0);
    assert_int_equal(cg_config_load_yaml(cfg, path, err, sizeof err), CG_ERR);
    snprintf(want, sizeof want, "%s:%s", path, msg);
    assert_string_equal(err, want);
    cg_config_free(cfg);
}

static void test_yaml_good_file(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[512];
    (void)state;
    write_yaml("# cgunicorn.yaml - the tutorial's settings\n"
               "bind:\n"
               "  - 127.0.0.1:5000\n"
               "  - unix:/tmp/app.sock\n"
               "workers: 3\n"
               "backlog: 0x200\n"
               "umask: 0022\n"
               "worker_class: gthread\n"
               "daemon: no\n"
               "preload_app: yes\n"
               "reuse_port: 'true'\n"
               "loglevel: DEBUG\n"
               "accesslog: '-'\n"
               "proc_name: ~\n"
               "raw_env: FOO=1\n"
               "forwarded_allow_ips: 10.0.0.1, 10.0.0.2\n"
               "secure_scheme_headers: {X-FORWARDED-PROTO: https}\n"
               "access_log_format: '%(h)s \"%(r)s\" %(s)s'\n"
               "sendfile: off\n",
               0);
    assert_int_equal(cg_config_load_yaml(cfg, path, err, sizeof err), CG_OK);
    assert_string_equal(shown(cfg, CG_SET_bind), "['127.0.0.1:5000', 'unix:/tmp/app.sock']");
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 3);
    assert_int_equal(cg_config_int(cfg, CG_SET_backlog), 512);
    assert_int_equal(cg_config_int(cfg, CG_SET_umask), 18);
    assert_string_equal(cg_config_str(cfg, CG_SET_worker_class), "gthread");
    assert_false(cg_config_bool(cfg, CG_SET_daemon));
    assert_int_equal(cg_config_source(cfg, CG_SET_daemon), CG_SRC_FILE);
    assert_true(cg_config_bool(cfg, CG_SET_preload_app));
    assert_true(cg_config_bool(cfg, CG_SET_reuse_port));
    assert_string_equal(cg_config_str(cfg, CG_SET_loglevel), "DEBUG");
    assert_string_equal(cg_config_str(cfg, CG_SET_accesslog), "-");
    assert_null(cg_config_str(cfg, CG_SET_proc_name));
    assert_int_equal(cg_config_source(cfg, CG_SET_proc_name), CG_SRC_FILE);
    assert_string_equal(shown(cfg, CG_SET_raw_env), "['FOO=1']");
    assert_string_equal(shown(cfg, CG_SET_forwarded_allow_ips), "['10.0.0.1', '10.0.0.2']");
    assert_string_equal(shown(cfg, CG_SET_secure_scheme_headers), "{'X-FORWARDED-PROTO': 'https'}");
    assert_string_equal(cg_config_str(cfg, CG_SET_access_log_format), "%(h)s \"%(r)s\" %(s)s");
    assert_false(cg_config_bool(cfg, CG_SET_sendfile));
    assert_false(cg_config_is_none(cfg, CG_SET_sendfile));
    assert_int_equal(cg_config_source(cfg, CG_SET_timeout), CG_SRC_DEFAULT);
    cg_config_free(cfg);
}

static void test_yaml_lists(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[512];
    (void)state;
    write_yaml("bind: []\nraw_env: [A=1, ' B=2 ']\nforwarder_headers: [SCRIPT_NAME]\n"
               "dirty_apps: ~\nhttp_protocols: h2,h1\n",
               0);
    assert_int_equal(cg_config_load_yaml(cfg, path, err, sizeof err), CG_OK);
    assert_string_equal(shown(cfg, CG_SET_bind), "[]");
    assert_string_equal(shown(cfg, CG_SET_raw_env), "['A=1', 'B=2']");
    assert_string_equal(shown(cfg, CG_SET_forwarder_headers), "['SCRIPT_NAME']");
    assert_string_equal(shown(cfg, CG_SET_dirty_apps), "[]");
    assert_string_equal(shown(cfg, CG_SET_http_protocols), "['h2', 'h1']");
    cg_config_free(cfg);
}

static void test_yaml_anchors_and_aliases(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[512];
    (void)state;
    write_yaml("bind: &binds [a, b]\nraw_env: *binds\ntimeout: &t 10\ngraceful_timeout: *t\n", 0);
    assert_int_equal(cg_config_load_yaml(cfg, path, err, sizeof err), CG_OK);
    assert_string_equal(shown(cfg, CG_SET_raw_env), "['a', 'b']");
    assert_int_equal(cg_config_int(cfg, CG_SET_graceful_timeout), 10);
    cg_config_free(cfg);
    /* a list holding itself, and an alias to nothing */
    check_failure("bind: &a [*a]\n", "1: invalid value for 'bind': expected a list of strings");
    check_failure("workers: 2\nbind: *nothing\n", "2: found undefined alias");
}

static void test_yaml_unknown_key(void **state)
{
    (void)state;
    check_failure("workers: 2\n\nfoo: 1\n", "3: unknown setting 'foo'");
    check_failure("Workers: 2\n", "1: unknown setting 'Workers'");
    check_failure("[a]: 1\n", "1: a setting name must be a plain string");
    check_failure("on_starting: mymod.hook\n",
                  "1: 'on_starting' is a server hook: hooks can only be set in a Python config "
                  "file");
}

static void test_yaml_wrong_values(void **state)
{
    (void)state;
    check_failure("bind: a\nworkers: x\n",
                  "2: invalid value for 'workers': invalid literal for int() with base 0: 'x'");
    check_failure("workers: -2\n", "1: invalid value for 'workers': Value must be positive: -2");
    check_failure("workers: ~\n",
                  "1: invalid value for 'workers': int() can't convert non-string with "
                  "explicit base");
    check_failure("daemon: maybe\n", "1: invalid value for 'daemon': Invalid boolean: maybe");
    check_failure("daemon: 'yes'\n", "1: invalid value for 'daemon': Invalid boolean: yes");
    check_failure("workers:\n  - 1\n  - 2\n",
                  "2: invalid value for 'workers': expected a single value, not a list");
    check_failure("bind: {a: b}\n",
                  "1: invalid value for 'bind': expected a single value, not a mapping");
    check_failure("secure_scheme_headers: x\n",
                  "1: invalid value for 'secure_scheme_headers': expected a mapping");
    check_failure("secure_scheme_headers: {a: [b]}\n",
                  "1: invalid value for 'secure_scheme_headers': expected a mapping of "
                  "strings");
    check_failure("bind: [a, [b]]\n", "1: invalid value for 'bind': expected a list of strings");
    check_failure("header_map: keep\n",
                  "1: invalid value for 'header_map': Invalid header map behaviour: keep");
    check_failure("chdir: /no/such/dir\n",
                  "1: invalid value for 'chdir': can't chdir to '/no/such/dir'");
}

static void test_yaml_syntax_errors(void **state)
{
    (void)state;
    check_failure("workers: [1, 2\n", "2: did not find expected ',' or ']'");
    check_failure("bind:\n  - a\n\t- b\n", "3: found a tab character that violates indentation");
    check_failure("a: b: c\n", "1: mapping values are not allowed in this context");
    check_failure("workers: \"3\n", "2: found unexpected end of stream");
}

static void test_yaml_odd_documents(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[512];
    (void)state;
    /* nothing to set */
    write_yaml("", 0);
    assert_int_equal(cg_config_load_yaml(cfg, path, err, sizeof err), CG_OK);
    write_yaml("# only a comment\n", 0);
    assert_int_equal(cg_config_load_yaml(cfg, path, err, sizeof err), CG_OK);
    write_yaml("~\n", 0);
    assert_int_equal(cg_config_load_yaml(cfg, path, err, sizeof err), CG_OK);
    for (int id = 0; id < CG_SET__COUNT; id++)
        assert_int_equal(cg_config_source(cfg, id), CG_SRC_DEFAULT);
    cg_config_free(cfg);
    /* not a mapping at the top */
    check_failure("- a\n- b\n", "1: the top level must be a mapping of setting names to values");
    check_failure("just text\n", "1: the top level must be a mapping of setting names to values");
    check_failure("--- [a]\n--- b\n",
                  "1: the top level must be a mapping of setting names to values");
    /* nested junk and binary garbage */
    check_failure("workers: {a: [1, {b: c}]}\n",
                  "1: invalid value for 'workers': expected a single value, not a mapping");
    cfg = cg_config_new();
    write_yaml("\xff\xfe\x00junk", 7);
    assert_int_equal(cg_config_load_yaml(cfg, path, err, sizeof err), CG_ERR);
    assert_int_equal(strncmp(err, path, strlen(path)), 0);
    write_yaml("workers: 2\x00\x01", 12);
    assert_int_equal(cg_config_load_yaml(cfg, path, err, sizeof err), CG_ERR);
    cg_config_free(cfg);
}

static void test_yaml_truncated_files(void **state)
{
    const char *text = "bind:\n  - 127.0.0.1:5000\nworkers: 3\nsecure_scheme_headers:\n"
                       "  X-A: \"b\"\nraw_env: ['A=1', \"B=2\"]\n";
    char err[512];
    (void)state;
    /* every prefix loads or fails cleanly */
    for (size_t len = 1; len <= strlen(text); len++) {
        cg_config_t *cfg = cg_config_new();
        int rc;
        write_yaml(text, len);
        rc = cg_config_load_yaml(cfg, path, err, sizeof err);
        assert_true(rc == CG_OK || rc == CG_ERR);
        if (rc == CG_ERR)
            assert_int_equal(strncmp(err, path, strlen(path)), 0);
        cg_config_free(cfg);
    }
}

static void test_yaml_missing_file(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[512];
    (void)state;
    assert_int_equal(cg_config_load_yaml(cfg, "/no/such/cgunicorn.yaml", err, sizeof err), CG_ERR);
    assert_string_equal(err, "/no/such/cgunicorn.yaml: No such file or directory");
    cg_config_free(cfg);
}

static void test_yaml_precedence(void **state)
{
    cg_config_t *cfg = cg_config_new();
    char err[512];
    (void)state;
    /* the command line was parsed first: the file must not override it */
    assert_int_equal(cg_config_set_text(cfg, CG_SET_workers, "8", CG_SRC_CLI, err, sizeof err),
                     CG_OK);
    assert_int_equal(cg_config_set_text(cfg, CG_SET_bind, "cli", CG_SRC_CLI, err, sizeof err),
                     CG_OK);
    write_yaml("workers: 2\nbind: [file]\ntimeout: 5\n", 0);
    assert_int_equal(cg_config_load_yaml(cfg, path, err, sizeof err), CG_OK);
    assert_int_equal(cg_config_int(cfg, CG_SET_workers), 8);
    assert_string_equal(shown(cfg, CG_SET_bind), "['cli']");
    assert_int_equal(cg_config_int(cfg, CG_SET_timeout), 5);
    cg_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_good_file),
        cmocka_unit_test(test_yaml_lists),
        cmocka_unit_test(test_yaml_anchors_and_aliases),
        cmocka_unit_test(test_yaml_unknown_key),
        cmocka_unit_test(test_yaml_wrong_values),
        cmocka_unit_test(test_yaml_syntax_errors),
        cmocka_unit_test(test_yaml_odd_documents),
        cmocka_unit_test(test_yaml_truncated_files),
        cmocka_unit_test(test_yaml_missing_file),
        cmocka_unit_test(test_yaml_precedence),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
