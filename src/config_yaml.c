/* config_yaml.c - YAML config files (libyaml), cgunicorn's addition to
 * gunicorn's Python ones.
 *
 * The whole document is loaded with libyaml's document API (aliases become
 * shared nodes; we never descend more than two levels, so even a recursive
 * alias cannot loop), then each key of the top-level mapping is applied at
 * CG_SRC_FILE through the same setters and validators as every other
 * source. */
#include "cgunicorn/config.h"
#include "cgunicorn/cgunicorn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* The loader's state: where errors point and where they go. */
typedef struct {
    const char *path;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
} loader;

/* "PATH:LINE: message" into the loader's err; returns CG_ERR. */
static int fail(const loader *ld, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(const loader *ld, const yaml_node_t *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ld->err && ld->errlen)
        snprintf(ld->err, ld->errlen, "%s:%lu: %s", ld->path,
                 (unsigned long)(at ? at->start_mark.line + 1 : 1), msg);
    return CG_ERR;
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool is_plain(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* True when s is one of words (NULL-terminated). */
static bool one_of(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return true;
    return false;
}

/* YAML's null: a plain ~, null (three spellings) or nothing at all. */
static bool is_null(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    return is_plain(n) && one_of(scalar(n), nulls);
}

/* YAML 1.1 booleans, as text for validate_bool; NULL when s is none. */
static const char *yaml_bool(const char *s)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON",  NULL};
    static const char *const no[] = {"false", "False", "FALSE", "no",  "No",
                                     "NO",    "off",   "Off",   "OFF", NULL};
    return one_of(s, yes) ? "true" : one_of(s, no) ? "false" : NULL;
}

/* Apply one scalar value to setting id. */
static int apply_scalar(const loader *ld, cg_config_t *cfg, int id, const yaml_node_t *v)
{
    char msg[512], octal[128];
    const char *text = is_null(v) ? NULL : scalar(v);
    cg_type type = cg_setting_type(id);
    int rc;

    if (type == CG_TYPE_DICT)
        return fail(ld, v, "invalid value for '%s': expected a mapping", cg_setting_name(id));
    if (text && is_plain(v) && type == CG_TYPE_BOOL && yaml_bool(text))
        text = yaml_bool(text);
    /* YAML 1.1 reads a plain 0755 as octal; Python's int(x, 0) refuses it. */
    if (text && is_plain(v) && type == CG_TYPE_INT && text[0] == '0' && text[1] &&
        strspn(text, "01234567_") == strlen(text) && strlen(text) < sizeof octal - 2) {
        snprintf(octal, sizeof octal, "0o%s", text + 1);
        text = octal;
    }
    if (type == CG_TYPE_LIST && cg_setting_action(id) != CG_ACT_STORE) {
        /* a scalar for a repeatable list is a one-item list */
        const char *items[1] = {text};
        rc =
            cg_config_set_list(cfg, id, items, text && *text ? 1 : 0, CG_SRC_FILE, msg, sizeof msg);
    } else {
        rc = cg_config_set_text(cfg, id, text, CG_SRC_FILE, msg, sizeof msg);
    }
    if (rc != CG_OK)
        return fail(ld, v, "invalid value for '%s': %s", cg_setting_name(id), msg);
    return CG_OK;
}

/* Apply a sequence of scalars to the list setting id. */
static int apply_sequence(const loader *ld, cg_config_t *cfg, int id, const yaml_node_t *v)
{
    const yaml_node_item_t *start = v->data.sequence.items.start;
    size_t n = (size_t)(v->data.sequence.items.top - start);
    const char **items = calloc(n + 1, sizeof *items);
    char msg[512];
    int rc = CG_OK;

    if (!items)
        return fail(ld, v, "out of memory");
    for (size_t i = 0; i < n && rc == CG_OK; i++) {
        const yaml_node_t *item = yaml_document_get_node(ld->doc, start[i]);
        if (!item || item->type != YAML_SCALAR_NODE)
            rc = fail(ld, item ? item : v, "invalid value for '%s': expected a list of strings",
                      cg_setting_name(id));
        else
            items[i] = scalar(item);
    }
    if (rc == CG_OK && cg_config_set_list(cfg, id, items, n, CG_SRC_FILE, msg, sizeof msg) != 0)
        rc = fail(ld, v, "invalid value for '%s': %s", cg_setting_name(id), msg);
    free(items);
    return rc;
}

/* Apply a mapping of scalars to the dict setting id. */
static int apply_mapping(const loader *ld, cg_config_t *cfg, int id, const yaml_node_t *v)
{
    const yaml_node_pair_t *start = v->data.mapping.pairs.start;
    size_t n = (size_t)(v->data.mapping.pairs.top - start);
    const char **keys = calloc(n + 1, sizeof *keys), **vals = calloc(n + 1, sizeof *vals);
    char msg[512];
    int rc = CG_OK;

    if (!keys || !vals)
        rc = fail(ld, v, "out of memory");
    for (size_t i = 0; i < n && rc == CG_OK; i++) {
        const yaml_node_t *k = yaml_document_get_node(ld->doc, start[i].key);
        const yaml_node_t *val = yaml_document_get_node(ld->doc, start[i].value);
        if (!k || !val || k->type != YAML_SCALAR_NODE || val->type != YAML_SCALAR_NODE) {
            rc = fail(ld, val ? val : v, "invalid value for '%s': expected a mapping of strings",
                      cg_setting_name(id));
        } else {
            keys[i] = scalar(k);
            vals[i] = scalar(val);
        }
    }
    if (rc == CG_OK &&
        cg_config_set_dict(cfg, id, keys, vals, n, CG_SRC_FILE, msg, sizeof msg) != CG_OK)
        rc = fail(ld, v, "invalid value for '%s': %s", cg_setting_name(id), msg);
    free(keys);
    free(vals);
    return rc;
}

/* Apply one "key: value" pair of the top-level mapping. */
static int apply_pair(const loader *ld, cg_config_t *cfg, const yaml_node_pair_t *pair)
{
    const yaml_node_t *k = yaml_document_get_node(ld->doc, pair->key);
    const yaml_node_t *v = yaml_document_get_node(ld->doc, pair->value);
    int id;

    if (!k || !v || k->type != YAML_SCALAR_NODE)
        return fail(ld, k, "a setting name must be a plain string");
    id = cg_setting_lookup(scalar(k));
    if (id < 0)
        return fail(ld, k, "unknown setting '%s'", scalar(k));
    if (cg_setting_type(id) == CG_TYPE_HOOK)
        return fail(ld, k, "'%s' is a server hook: hooks can only be set in a Python config file",
                    scalar(k));
    switch (v->type) {
    case YAML_SCALAR_NODE:
        return apply_scalar(ld, cfg, id, v);
    case YAML_SEQUENCE_NODE:
        if (cg_setting_type(id) != CG_TYPE_LIST)
            return fail(ld, v, "invalid value for '%s': expected a single value, not a list",
                        scalar(k));
        return apply_sequence(ld, cfg, id, v);
    case YAML_MAPPING_NODE:
        if (cg_setting_type(id) != CG_TYPE_DICT)
            return fail(ld, v, "invalid value for '%s': expected a single value, not a mapping",
                        scalar(k));
        return apply_mapping(ld, cfg, id, v);
    default:
        return fail(ld, v, "invalid value for '%s'", scalar(k));
    }
}

int cg_config_load_yaml(cg_config_t *cfg, const char *path, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    loader ld = {path, &doc, err, errlen};
    FILE *f = fopen(path, "rb");
    int rc = CG_OK;

    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return CG_ERR;
    }
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return CG_ERR;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%lu: %s", path, (unsigned long)parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "YAML error");
        yaml_parser_delete(&parser);
        fclose(f);
        return CG_ERR;
    }
    root = yaml_document_get_root_node(&doc);
    if (root && root->type == YAML_MAPPING_NODE) {
        yaml_node_pair_t *pair = root->data.mapping.pairs.start;
        for (; pair < root->data.mapping.pairs.top && rc == CG_OK; pair++)
            rc = apply_pair(&ld, cfg, pair);
    } else if (root && !(root->type == YAML_SCALAR_NODE && is_null(root))) {
        rc = fail(&ld, root, "the top level must be a mapping of setting names to values");
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}
