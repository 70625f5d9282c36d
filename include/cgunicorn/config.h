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
    CG_ACT_NONE,       /* no CLI flag (config file only) */
    CG_ACT_STORE,      /* --flag VALUE */
    CG_ACT_TRUE,       /* --flag sets true */
    CG_ACT_FALSE,      /* --flag sets false (e.g. --no-sendfile) */
    CG_ACT_APPEND,     /* repeatable --flag VALUE */
    CG_ACT_OPTIONAL,   /* --flag [VALUE]; bare flag means the const in meta */
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

/* --- a configuration ------------------------------------------------- */

/* A configuration holding every setting's default.  Defaults that depend on
 * the environment are computed here: bind from $PORT, workers from
 * $WEB_CONCURRENCY, forwarded_allow_ips from $FORWARDED_ALLOW_IPS, ...
 * Returns NULL only when out of memory. */
cg_config_t *cg_config_new(void);
void cg_config_free(cg_config_t *cfg);

/* Set a setting from text, validating it as gunicorn's validator does
 * ("3" for workers, "true"/"false" for a bool, a comma list where gunicorn
 * splits one).  For a LIST setting the text is one item, appended unless the
 * current value came from a lower source (then the list is replaced).
 * On error returns CG_ERR with a message naming the setting in err. */
int cg_config_set_text(cg_config_t *cfg, int id, const char *text, cg_source src, char *err,
                       size_t errlen);
/* Replace a LIST setting's value with items (n may be 0). */
int cg_config_set_list(cg_config_t *cfg, int id, const char *const *items, size_t n,
                       cg_source src, char *err, size_t errlen);
/* Replace a DICT setting's value. */
int cg_config_set_dict(cg_config_t *cfg, int id, const char *const *keys,
                       const char *const *values, size_t n, cg_source src, char *err,
                       size_t errlen);
/* Set a HOOK setting to an opaque callable; release(callable) is called when
 * the value is replaced or the config freed. */
int cg_config_set_hook(cg_config_t *cfg, int id, void *callable, void (*release)(void *),
                       cg_source src, char *err, size_t errlen);

long cg_config_int(const cg_config_t *cfg, int id);
bool cg_config_bool(const cg_config_t *cfg, int id);
const char *cg_config_str(const cg_config_t *cfg, int id); /* NULL = None */
size_t cg_config_list(const cg_config_t *cfg, int id, const char *const **items);
size_t cg_config_dict(const cg_config_t *cfg, int id, const char *const **keys,
                      const char *const **values);
void *cg_config_hook(const cg_config_t *cfg, int id);
cg_source cg_config_source(const cg_config_t *cfg, int id);

/* Every setting as gunicorn's --print-config prints it, sorted by name. */
void cg_config_print(const cg_config_t *cfg, FILE *out);

/* --- command line ---------------------------------------------------- */

typedef struct {
    const char *app_uri; /* positional MODULE:APP, or NULL (points into argv) */
    const char *config_path; /* -c value or NULL (points into argv) */
    bool help;
    bool version;
    bool no_ui; /* cgunicorn-top --no-ui */
} cg_cli_result;

/* Parse argv[1..argc-1] into cfg at precedence src.  Returns 0, or 2 with a
 * one-line argparse-style message in err ("unrecognized arguments: --foo",
 * "argument -w/--workers: invalid int value: 'x'"). */
int cg_cli_parse(cg_config_t *cfg, int argc, char **argv, cg_source src, cg_cli_result *out,
                 char *err, size_t errlen);
/* Split a string the way Python's shlex.split does (GUNICORN_CMD_ARGS).
 * On success *argv is a NULL-terminated array owned by the caller
 * (free with cg_cli_split_free). */
int cg_cli_split(const char *s, char ***argv, int *argc, char *err, size_t errlen);
void cg_cli_split_free(char **argv);
void cg_cli_usage(FILE *out, const char *prog);
void cg_cli_help(FILE *out, const char *prog);

/* --- config files ---------------------------------------------------- */

/* Load a YAML config file (a mapping of setting names to values).  Unknown
 * keys or wrong types: CG_ERR, err = "FILE:LINE: ..." naming the key. */
int cg_config_load_yaml(cg_config_t *cfg, const char *path, char *err, size_t errlen);

/* Load a Python config file: executed by the (already initialised)
 * embedded interpreter; module-level names that are settings are applied.
 * On a Python error the traceback is printed to stderr and CG_ERR returned. */
int cg_config_load_python(cg_config_t *cfg, const char *path, char *err, size_t errlen);

#endif
