/* config.h - the settings table and resolved configuration.
 *
 * One table (settings.def) describes every gunicorn setting: its name, CLI
 * flags, type, default and help.  The CLI parser, --help, --print-config, the
 * Python config reader and the YAML reader all work from it.
 *
 * Precedence (gunicorn's): defaults < config file < GUNICORN_CMD_ARGS < CLI.
 * A value set from a higher source replaces one from a lower source; within a
 * source, repeatable flags (e.g. --bind) append. */
#ifndef CGUNICORN_CONFIG_H
#define CGUNICORN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
#define CG_SETTING(id, name, section, type, action, flags, meta, dflt, built, help) CG_SET_##id,
#include "cgunicorn/settings.def"
#undef CG_SETTING
    CG_SET__COUNT
} cg_setting_id;

/* Value types. */
typedef enum {
    CG_TYPE_STR,  /* string or None (NULL) */
    CG_TYPE_INT,  /* long; base prefixes 0o/0x accepted where gunicorn does */
    CG_TYPE_BOOL, /* flag */
    CG_TYPE_LIST, /* list of strings */
    CG_TYPE_DICT, /* string -> string mapping, order kept */
    CG_TYPE_HOOK, /* a Python callable, only from a Python config file */
} cg_type;

/* How a CLI flag stores into its setting. */
typedef enum {
    CG_ACT_NONE,     /* no CLI flag (config file only) */
    CG_ACT_STORE,    /* --flag VALUE */
    CG_ACT_TRUE,     /* --flag sets true */
    CG_ACT_FALSE,    /* --flag sets false (e.g. --no-sendfile) */
    CG_ACT_APPEND,   /* repeatable --flag VALUE */
    CG_ACT_OPTIONAL, /* --flag [VALUE]; bare flag means the const in meta */
} cg_action;

/* Where a value came from (ascending precedence). */
typedef enum {
    CG_SRC_DEFAULT = 0,
    CG_SRC_FILE,
    CG_SRC_ENV, /* GUNICORN_CMD_ARGS */
    CG_SRC_CLI,
} cg_source;

typedef struct cg_config cg_config_t;

/* --- the table ------------------------------------------------------- */

/* Index of the setting called name (e.g. "workers"), or -1. */
int cg_setting_lookup(const char *name);
/* Index of the setting whose CLI flag is flag (e.g. "-w", "--workers"), or -1. */
int cg_setting_lookup_flag(const char *flag);
const char *cg_setting_name(int id);
cg_type cg_setting_type(int id);
/* False for settings that are accepted but whose behaviour is not built yet. */
bool cg_setting_built(int id);
/* The other settings.def columns: CLI flags ("-w --workers", "" for none),
 * metavar (see settings.def for OPTIONAL and HOOK rows), help line,
 * documentation section, default text (NULL for None) and CLI action. */
const char *cg_setting_flags(int id);
const char *cg_setting_meta(int id);
const char *cg_setting_help(int id);
const char *cg_setting_section(int id);
const char *cg_setting_default(int id);
cg_action cg_setting_action(int id);
/* The argparse type gunicorn gives the setting's flag: "int", "auto_int"
 * (int() with a leading 0 read as octal: umask, control_socket_mode) or
 * "str" (everything else, including cert_reqs, user and group). */
const char *cg_setting_argtype(int id);

/* Python's int(text, base) for base 0 (0x/0o/0b prefixes, no leading zero
 * on decimals) or 10; surrounding whitespace and digit-separating
 * underscores are accepted.  False if text is not such an integer or does
 * not fit a long. */
bool cg_config_parse_int(const char *text, int base, long *out);

/* --- a configuration ------------------------------------------------- */

/* A configuration holding every setting's default.  Defaults that depend on
 * the environment are computed here: bind from $PORT, workers from
 * $WEB_CONCURRENCY, forwarded_allow_ips from $FORWARDED_ALLOW_IPS, ...
 * Returns NULL only when out of memory. */
cg_config_t *cg_config_new(void);
void cg_config_free(cg_config_t *cfg);

/* Set a setting from text, validating it as gunicorn's validator does
 * ("3" or "0x10" for workers, "true"/"false" in any case for a bool, "~/x"
 * made absolute for chdir, a user name resolved for user, ...).  text NULL
 * means Python's None (None for a string or bool, [] for a list, the
 * euid/egid for user/group, an error elsewhere).
 *
 * Precedence: a value from a source lower than the current value's source
 * is validated and then dropped; an equal or higher source replaces it.
 * For a LIST setting whose flag repeats (bind, raw_env, ...) the text is one
 * item, appended when the current value came from the same source and
 * replacing it when it came from a lower one.  For the comma-list settings
 * (forwarded_allow_ips, proxy_allow_ips, uwsgi_allow_ips, forwarder_headers,
 * http_protocols) the text is the whole comma-separated list.
 *
 * On error returns CG_ERR with gunicorn's own validator message in err
 * ("Value must be positive: -1", "Invalid boolean: maybe", "can't chdir to
 * 'x'"); callers add the setting name the way gunicorn does (the Python
 * loader prints "Invalid value for NAME: VALUE", the YAML loader prefixes
 * "FILE:LINE: invalid value for 'NAME': "). */
int cg_config_set_text(cg_config_t *cfg, int id, const char *text, cg_source src, char *err,
                       size_t errlen);
/* Replace a LIST setting's value with items (n may be 0), each validated as
 * one item (stripped; must exist for reload_extra_files).  Same precedence
 * rule as cg_config_set_text. */
int cg_config_set_list(cg_config_t *cfg, int id, const char *const *items, size_t n, cg_source src,
                       char *err, size_t errlen);
/* Replace a DICT setting's value (order kept). */
int cg_config_set_dict(cg_config_t *cfg, int id, const char *const *keys, const char *const *values,
                       size_t n, cg_source src, char *err, size_t errlen);
/* Set a HOOK setting to an opaque callable; release(callable) is called when
 * the value is replaced or the config freed - or at once when src is lower
 * than the current value's source, or on error. */
int cg_config_set_hook(cg_config_t *cfg, int id, void *callable, void (*release)(void *),
                       cg_source src, char *err, size_t errlen);
/* As cg_config_set_hook, also recording the callable's __qualname__, which
 * --print-config shows as "<QUALNAME()>" (NULL: the setting's name). */
int cg_config_set_hook_named(cg_config_t *cfg, int id, void *callable, void (*release)(void *),
                             const char *qualname, cg_source src, char *err, size_t errlen);

long cg_config_int(const cg_config_t *cfg, int id);
bool cg_config_bool(const cg_config_t *cfg, int id);
const char *cg_config_str(const cg_config_t *cfg, int id); /* NULL = None */
size_t cg_config_list(const cg_config_t *cfg, int id, const char *const **items);
size_t cg_config_dict(const cg_config_t *cfg, int id, const char *const **keys,
                      const char *const **values);
/* NULL while the hook is gunicorn's default (a no-op, or for pre_request a
 * debug log line "METHOD PATH"). */
void *cg_config_hook(const cg_config_t *cfg, int id);
/* A LIST setting's items joined with ',' (malloc'd; "" when empty). */
char *cg_config_list_joined(const cg_config_t *cfg, int id);
cg_source cg_config_source(const cg_config_t *cfg, int id);
/* True while a bool setting holds None (sendfile until --no-sendfile or a
 * config file sets it) or a string setting holds None. */
bool cg_config_is_none(const cg_config_t *cfg, int id);

/* The value as Python's str() shows it: "None", "True", "30", "sync",
 * "['127.0.0.1:8000']", "{'X-FORWARDED-SSL': 'on'}", and for a hook
 * "<QUALNAME()>" (gunicorn's default: e.g. "<OnStarting.on_starting()>").
 * Returns a malloc'd string (the caller frees it) or NULL when out of memory. */
char *cg_config_value_text(const cg_config_t *cfg, int id);

/* Every setting as gunicorn's --print-config prints it (Config.__str__):
 * sorted by name, one "NAME = VALUE" line each, NAME left-aligned and padded
 * to the longest setting name (34 columns), every line ending in "\n". */
void cg_config_print(const cg_config_t *cfg, FILE *out);
/* The body of the arbiter's DEBUG record "Current configuration:\n<body>":
 * one "  NAME: VALUE" line per setting in gunicorn's (settings.def) order,
 * joined by "\n" without a trailing newline.  Hooks show as
 * "<function QUALNAME at 0xADDR>" (the address of the callable; no address
 * for gunicorn's defaults).  malloc'd, or NULL when out of memory. */
char *cg_config_debug_text(const cg_config_t *cfg);

/* --- command line ---------------------------------------------------- */

typedef struct {
    const char *app_uri;     /* positional MODULE:APP, or NULL (points into argv) */
    const char *config_path; /* -c value or NULL (points into argv) */
    bool help;
    bool version;
    bool no_ui; /* cgunicorn-top --no-ui */
} cg_cli_result;

/* Parse argv[1..argc-1] into cfg at precedence src, with the semantics of
 * gunicorn's argparse parser (Python 3.11): "--opt VALUE", "--opt=VALUE",
 * unambiguous prefixes of long options, "-w3", "-w 3", "-w=3", grouped
 * short flags ("-Dw3"), "--" ending options, negative numbers as values.
 * A repeatable flag's values replace a lower source's list as a whole.
 * -h/--help and -v/--version stop parsing at once (out->help / out->version).
 * Returns 0; 2 with a one-line argparse message in err ("unrecognized
 * arguments: --foo", "argument -w/--workers: invalid int value: 'x'",
 * "argument -b/--bind: expected one argument") - the caller prints the usage
 * line and "PROG: error: MSG" and exits 2; or 1 when a value passed argparse
 * but a setting's validator refused it (err = the validator's message; the
 * caller prints "\nError: MSG" and exits 1, as gunicorn does).  Nothing is
 * applied to cfg unless the whole command line parses. */
int cg_cli_parse(cg_config_t *cfg, int argc, char **argv, cg_source src, cg_cli_result *out,
                 char *err, size_t errlen);
/* Split a string the way Python's shlex.split does (GUNICORN_CMD_ARGS).
 * On success *argv is a NULL-terminated array owned by the caller
 * (free with cg_cli_split_free).  Errors (CG_ERR): "No closing quotation",
 * "No escaped character". */
int cg_cli_split(const char *s, char ***argv, int *argc, char *err, size_t errlen);
void cg_cli_split_free(char **argv);
/* "usage: PROG [OPTIONS] [APP_MODULE]\n" */
void cg_cli_usage(FILE *out, const char *prog);
/* argparse's --help: the usage line, then "options:" with -h, -v, --no-ui
 * and every setting that has a flag, "HELP [DEFAULT]" wrapped as argparse
 * wraps it ($COLUMNS or the terminal width, 80 by default). */
void cg_cli_help(FILE *out, const char *prog);

/* --- config files ---------------------------------------------------- */

/* Load a YAML config file (a mapping of setting names to values) at
 * CG_SRC_FILE.  A scalar sets the setting from its text (plain null/~/empty
 * is None; plain yes/no/on/off/true/false are booleans for bool settings;
 * YAML octal 0755 is accepted for ints); a sequence of scalars sets a list;
 * a mapping of scalars sets a dict.  Unknown keys, hooks, wrong shapes or
 * values, and YAML syntax errors: CG_ERR, err = "FILE:LINE: ..." naming the
 * key ("unknown setting 'foo'", "invalid value for 'workers': ..."). */
int cg_config_load_yaml(cg_config_t *cfg, const char *path, char *err, size_t errlen);

/* Load a Python config file at CG_SRC_FILE: executed by the (already
 * initialised) embedded interpreter as gunicorn does (importlib, module
 * name "__config__", registered in sys.modules); module-level names that
 * are settings are applied, other names ignored.  Hooks keep a reference to
 * the callable (a PyObject *, released under the GIL).  The caller must hold
 * the GIL.  Errors return CG_ERR after writing to stderr what gunicorn
 * writes there:
 *   - the file does not exist: nothing; err = "'PATH' doesn't exist"
 *   - the file raises: "Failed to read config file: PATH" + traceback;
 *     err = "Failed to read config file: PATH"
 *   - a value is refused: "Invalid value for NAME: VALUE\n"; err = the
 *     validator's message ("Value must have an arity of: 1")
 * The caller then prints "\nError: ERR" (except after a traceback) and
 * exits 1. */
int cg_config_load_python(cg_config_t *cfg, const char *path, char *err, size_t errlen);

#endif
