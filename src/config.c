/* config.c - the settings table, defaults, gunicorn's validators and the
 * --print-config formatting.
 *
 * The table is settings.def expanded once.  A configuration is one value
 * slot per setting plus the source it came from; every setter validates
 * first and then applies the precedence rule (see config.h), so loaders may
 * run in any order. */
#include "cgunicorn/config.h"
#include "cgunicorn/cgunicorn.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- the table ------------------------------------------------------- */

typedef struct {
    const char *name, *section, *flags, *meta, *dflt, *help;
    cg_type type;
    cg_action action;
    bool built;
} setting_def;

static const setting_def table[CG_SET__COUNT] = {
#define CG_SETTING(id, name, section, type, action, flags, meta, dflt, built, help)                \
    {name, section, flags, meta, dflt, help, type, action, built},
#include "cgunicorn/settings.def"
#undef CG_SETTING
};

/* How a setting's text is validated.  The first six follow the type; the
 * rest are gunicorn's setting-specific validators. */
typedef enum {
    V_STRING,     /* validate_string: strip, None allowed */
    V_INT,        /* validate_pos_int: int(x, 0) >= 0 */
    V_BOOL,       /* validate_bool: "true"/"false", any case */
    V_LIST,       /* validate_list_string: items stripped */
    V_DICT,       /* validate_dict */
    V_HOOK,       /* validate_callable: Python only */
    V_CHDIR,      /* validate_chdir: absolute, must exist */
    V_USER,       /* validate_user: uid or user name */
    V_GROUP,      /* validate_group: gid or group name */
    V_FILES,      /* reload_extra_files: plain paths must exist, globs not */
    V_COMMA,      /* comma-separated list */
    V_PROTOCOLS,  /* http_protocols: comma list of h1, h2, h3 */
    V_CHOICE,     /* one of a fixed set of words */
    V_FRAME_SIZE, /* http2_max_frame_size: 16384..16777215 */
    V_SSL_VERSION /* accepted, warned about, ignored */
} vkind;

/* How a V_CHOICE value is matched and stored. */
typedef enum {
    FOLD_EXACT, /* matched as is (reload_engine) */
    FOLD_KEEP,  /* matched case-insensitively, stored as given (loglevel) */
    FOLD_LOWER, /* stripped, matched case-insensitively, stored lower-case */
} fold;

static const char *const loglevels[] = {"debug", "info", "warning", "error", "critical", NULL};
static const char *const header_maps[] = {"drop", "refuse", "dangerous", NULL};
static const char *const reload_engines[] = {"auto", "poll", "inotify", NULL};
static const char *const proxy_modes[] = {"off", "v1", "v2", "auto", NULL};
static const char *const asgi_loops[] = {"auto", "asyncio", "uvloop", NULL};
static const char *const asgi_lifespans[] = {"auto", "on", "off", NULL};
static const char *const http_parsers[] = {"auto", "fast", "python", NULL};
static const char *const h2c_modes[] = {"off", "prior-knowledge", "upgrade", "both", NULL};
static const char *const http_protocols[] = {"h1", "h2", "h3", NULL};

static const struct {
    int id;
    vkind kind;
    const char *const *choices;
    fold fold;
} validators[] = {
    {CG_SET_chdir, V_CHDIR, NULL, FOLD_EXACT},
    {CG_SET_user, V_USER, NULL, FOLD_EXACT},
    {CG_SET_group, V_GROUP, NULL, FOLD_EXACT},
    {CG_SET_reload_extra_files, V_FILES, NULL, FOLD_EXACT},
    {CG_SET_forwarded_allow_ips, V_COMMA, NULL, FOLD_EXACT},
    {CG_SET_proxy_allow_ips, V_COMMA, NULL, FOLD_EXACT},
    {CG_SET_uwsgi_allow_ips, V_COMMA, NULL, FOLD_EXACT},
    {CG_SET_forwarder_headers, V_COMMA, NULL, FOLD_EXACT},
    {CG_SET_http_protocols, V_PROTOCOLS, http_protocols, FOLD_LOWER},
    {CG_SET_loglevel, V_CHOICE, loglevels, FOLD_KEEP},
    {CG_SET_header_map, V_CHOICE, header_maps, FOLD_LOWER},
    {CG_SET_reload_engine, V_CHOICE, reload_engines, FOLD_EXACT},
    {CG_SET_proxy_protocol, V_CHOICE, proxy_modes, FOLD_LOWER},
    {CG_SET_asgi_loop, V_CHOICE, asgi_loops, FOLD_LOWER},
    {CG_SET_asgi_lifespan, V_CHOICE, asgi_lifespans, FOLD_LOWER},
    {CG_SET_http_parser, V_CHOICE, http_parsers, FOLD_LOWER},
    {CG_SET_http2_cleartext, V_CHOICE, h2c_modes, FOLD_LOWER},
    {CG_SET_http2_max_frame_size, V_FRAME_SIZE, NULL, FOLD_EXACT},
    {CG_SET_ssl_version, V_SSL_VERSION, NULL, FOLD_EXACT},
};

#define N_VALIDATORS (sizeof validators / sizeof validators[0])

/* Index of id's row in validators[], or -1 when it uses its type's one. */
static int validator_row(int id)
{
    for (size_t i = 0; i < N_VALIDATORS; i++)
        if (validators[i].id == id)
            return (int)i;
    return -1;
}

/* The validator kind of setting id. */
static vkind kind_of(int id)
{
    static const vkind by_type[] = {
        [CG_TYPE_STR] = V_STRING, [CG_TYPE_INT] = V_INT,   [CG_TYPE_BOOL] = V_BOOL,
        [CG_TYPE_LIST] = V_LIST,  [CG_TYPE_DICT] = V_DICT, [CG_TYPE_HOOK] = V_HOOK,
    };
    int row = validator_row(id);
    return row >= 0 ? validators[row].kind : by_type[table[id].type];
}

static bool valid_id(int id)
{
    return id >= 0 && id < CG_SET__COUNT;
}

int cg_setting_lookup(const char *name)
{
    for (int i = 0; name && i < CG_SET__COUNT; i++)
        if (strcmp(table[i].name, name) == 0)
            return i;
    return -1;
}

/* True when the space-separated list flags contains flag. */
static bool flags_contain(const char *flags, const char *flag)
{
    size_t n = strlen(flag);
    for (const char *p = flags; *p;) {
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, flag, n) == 0)
            return true;
        p += len;
        p += strspn(p, " ");
    }
    return false;
}

int cg_setting_lookup_flag(const char *flag)
{
    for (int i = 0; flag && *flag && i < CG_SET__COUNT; i++)
        if (flags_contain(table[i].flags, flag))
            return i;
    return -1;
}

const char *cg_setting_name(int id)
{
    return valid_id(id) ? table[id].name : NULL;
}

cg_type cg_setting_type(int id)
{
    return valid_id(id) ? table[id].type : CG_TYPE_STR;
}

bool cg_setting_built(int id)
{
    return valid_id(id) && table[id].built;
}

const char *cg_setting_flags(int id)
{
    return valid_id(id) ? table[id].flags : "";
}

const char *cg_setting_meta(int id)
{
    return valid_id(id) ? table[id].meta : "";
}

const char *cg_setting_help(int id)
{
    return valid_id(id) ? table[id].help : "";
}

const char *cg_setting_section(int id)
{
    return valid_id(id) ? table[id].section : "";
}

const char *cg_setting_default(int id)
{
    return valid_id(id) ? table[id].dflt : NULL;
}

cg_action cg_setting_action(int id)
{
    return valid_id(id) ? table[id].action : CG_ACT_NONE;
}

const char *cg_setting_argtype(int id)
{
    if (id == CG_SET_umask || id == CG_SET_control_socket_mode)
        return "auto_int";
    if (!valid_id(id) || table[id].type != CG_TYPE_INT || kind_of(id) != V_INT ||
        id == CG_SET_cert_reqs)
        return "str";
    return "int";
}

/* --- small helpers --------------------------------------------------- */

/* printf into err (which may be NULL), always terminated. */
static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Python's str.isspace() for the ASCII range. */
static bool py_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* A malloc'd copy of s[0..n). */
static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* A malloc'd copy of s with Python's str.strip() applied. */
static char *dup_strip(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && py_space((unsigned char)s[n - 1]))
        n--;
    while (n > 0 && py_space((unsigned char)*s)) {
        s++;
        n--;
    }
    return dupn(s, n);
}

/* A growing string; oom is set (and appends ignored) on allocation failure. */
typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
} strbuf;

static void sb_addn(strbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_add(strbuf *b, const char *s)
{
    sb_addn(b, s, strlen(s));
}

/* Append s the way Python's repr() shows a str. */
static void sb_repr(strbuf *b, const char *s)
{
    char quote = (strchr(s, '\'') && !strchr(s, '"')) ? '"' : '\'';
    sb_addn(b, &quote, 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '\\' || *p == (unsigned char)quote) {
            esc[0] = '\\';
            esc[1] = (char)*p;
            sb_addn(b, esc, 2);
        } else if (*p == '\n' || *p == '\r' || *p == '\t') {
            esc[0] = '\\';
            esc[1] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
            sb_addn(b, esc, 2);
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", *p);
            sb_add(b, esc);
        } else {
            sb_addn(b, (const char *)p, 1);
        }
    }
    sb_addn(b, &quote, 1);
}

/* The string sb_repr() would append, in buf (truncated to len). */
static const char *repr_into(char *buf, size_t len, const char *s)
{
    strbuf b = {0};
    sb_repr(&b, s);
    snprintf(buf, len, "%s", b.oom ? "'...'" : b.p);
    free(b.p);
    return buf;
}

bool cg_config_parse_int(const char *text, int base, long *out)
{
    const char *p = text;
    bool neg = false, digit_seen = false, nonzero_decimal = false;
    unsigned long v = 0, limit;

    if (!p || (base != 0 && base != 10))
        return false;
    while (py_space((unsigned char)*p))
        p++;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (base == 0) {
        base = 10;
        if (p[0] == '0' && p[1] && strchr("xXoObB", p[1])) {
            base = (p[1] == 'x' || p[1] == 'X') ? 16 : (p[1] == 'o' || p[1] == 'O') ? 8 : 2;
            p += 2;
            if (*p == '_') /* "0x_1f" is valid Python */
                p++;
        } else if (p[0] == '0') {
            nonzero_decimal = true; /* base 0: "012" is an error, "000" is not */
        }
    }
    limit = neg ? (unsigned long)LONG_MAX + 1 : (unsigned long)LONG_MAX;
    for (;; p++) {
        int d;
        if (*p == '_' && digit_seen && p[1] && p[1] != '_')
            continue;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'z')
            d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'Z')
            d = *p - 'A' + 10;
        else
            break;
        if (d >= base)
            return false;
        if (nonzero_decimal && d != 0)
            return false;
        if (v > (limit - (unsigned long)d) / (unsigned long)base)
            return false;
        v = v * (unsigned long)base + (unsigned long)d;
        digit_seen = true;
    }
    while (py_space((unsigned char)*p))
        p++;
    if (!digit_seen || *p)
        return false;
    *out = neg ? (long)(0 - v) : (long)v;
    return true;
}

/* --- values ---------------------------------------------------------- */

/* One setting's value.  items/vals are NULL-terminated arrays of n strings
 * (LIST items; DICT keys and values). */
typedef struct {
    cg_source src;
    bool none; /* STR/BOOL None */
    bool b;
    long i;
    char *s;
    char **items, **vals;
    size_t n;
    void *hook;
    void (*release)(void *);
    char *qualname;
} value;

struct cg_config {
    value v[CG_SET__COUNT];
};

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* Release everything v owns and zero it (the source is reset too). */
static void value_clear(value *v)
{
    free(v->s);
    free_strv(v->items);
    free_strv(v->vals);
    if (v->hook && v->release)
        v->release(v->hook);
    free(v->qualname);
    memset(v, 0, sizeof *v);
}

/* Append the malloc'd string s (ownership passes; freed on failure) to the
 * NULL-terminated string array *v of length *n.  False when out of memory
 * (s NULL counts as out of memory, so strv_push(&v, &n, strdup(x)) works). */
static bool strv_push(char ***v, size_t *n, char *s)
{
    char **nv = s ? realloc(*v, (*n + 2) * sizeof **v) : NULL;
    if (!nv) {
        free(s);
        return false;
    }
    nv[(*n)++] = s;
    nv[*n] = NULL;
    *v = nv;
    return true;
}

/* --- validators ------------------------------------------------------ */

#define OOM(err, errlen) (seterr(err, errlen, "out of memory"), CG_ERR)

/* gunicorn's util.getcwd(): $PWD when it names the current directory (so
 * symlinked paths are kept), else getcwd().  malloc'd or NULL. */
static char *current_dir(void)
{
    const char *pwd = getenv("PWD");
    struct stat a, b;
    if (pwd && *pwd == '/' && stat(pwd, &a) == 0 && stat(".", &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev)
        return strdup(pwd);
    return getcwd(NULL, 0);
}

/* os.path.abspath(os.path.normpath(os.path.join(cwd, path))), malloc'd. */
static char *abs_path(const char *path)
{
    char *cwd = path[0] == '/' ? NULL : current_dir();
    size_t cap = (cwd ? strlen(cwd) : 0) + strlen(path) + 3;
    char *joined = malloc(cap), *out = malloc(cap);
    size_t o = 0;

    if (!joined || !out || (path[0] != '/' && !cwd)) {
        free(cwd);
        free(joined);
        free(out);
        return NULL;
    }
    snprintf(joined, cap, "%s/%s", cwd ? cwd : "", path);
    free(cwd);
    /* Walk the components, dropping "." and resolving ".." lexically. */
    for (const char *p = joined; *p;) {
        size_t len;
        p += strspn(p, "/");
        len = strcspn(p, "/");
        if (len == 0 || (len == 1 && p[0] == '.')) {
            /* nothing */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else {
            out[o++] = '/';
            memcpy(out + o, p, len);
            o += len;
        }
        p += len;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    free(joined);
    return out;
}

/* True when s contains a glob character (reload_extra_files patterns). */
static bool is_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* Validate one list item (stripped; an existing file for V_FILES) into *out. */
static int list_item(vkind kind, const char *text, char **out, char *err, size_t errlen)
{
    struct stat st;
    char *s = dup_strip(text);
    if (!s)
        return OOM(err, errlen);
    if (kind == V_FILES && !is_glob(s) && stat(s, &st) != 0) {
        seterr(err, errlen, "File %s does not exists.", s);
        free(s);
        return CG_ERR;
    }
    *out = s;
    return CG_OK;
}

/* Index of word in choices, or -1. */
static int choice_index(const char *const *choices, const char *word, fold f)
{
    for (int i = 0; choices[i]; i++)
        if (f == FOLD_EXACT ? strcmp(choices[i], word) == 0 : strcasecmp(choices[i], word) == 0)
            return i;
    return -1;
}

/* The error for a word not among row's choices, with gunicorn's wording
 * where gunicorn has one. */
static void choice_error(int id, const char *const *choices, const char *text, char *err,
                         size_t errlen)
{
    char rep[256];
    strbuf b = {0};
    if (id == CG_SET_reload_engine) {
        seterr(err, errlen, "Invalid reload_engine: %s", repr_into(rep, sizeof rep, text));
        return;
    }
    if (id == CG_SET_header_map) {
        seterr(err, errlen, "Invalid header map behaviour: %s", text);
        return;
    }
    for (int i = 0; choices[i]; i++) {
        sb_add(&b, i ? ", " : "");
        sb_add(&b, choices[i]);
    }
    seterr(err, errlen, "Invalid %s: %s (choose from %s)", table[id].name,
           repr_into(rep, sizeof rep, text), b.oom ? "..." : b.p);
    free(b.p);
}

/* V_CHOICE: one word of the row's choices into out->s. */
static int parse_choice(int id, const char *text, value *out, char *err, size_t errlen)
{
    int row = validator_row(id);
    const char *const *choices = validators[row].choices;
    fold f = validators[row].fold;
    char *s = f == FOLD_EXACT ? strdup(text) : dup_strip(text);
    int i;

    if (!s)
        return OOM(err, errlen);
    /* gunicorn 26 still takes proxy_protocol = True/False from old configs. */
    if (id == CG_SET_proxy_protocol && (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0))
        strcpy(s, strcasecmp(s, "true") == 0 ? "auto" : "off");
    i = choice_index(choices, s, f);
    if (i < 0) {
        choice_error(id, choices, text, err, errlen);
        free(s);
        return CG_ERR;
    }
    if (f == FOLD_LOWER)
        strcpy(s, choices[i]);
    out->s = s;
    return CG_OK;
}

/* V_COMMA / V_PROTOCOLS: gunicorn's validate_string_to_list - strip, split
 * on ",", drop empty pieces, strip each; protocols must be known. */
static int parse_comma(int id, vkind kind, const char *text, value *out, char *err, size_t errlen)
{
    char *s = dup_strip(text);
    if (!s)
        return OOM(err, errlen);
    for (char *p = s; *p;) {
        size_t len = strcspn(p, ",");
        char *item = NULL;
        if (len > 0) {
            char save = p[len];
            p[len] = '\0';
            item = dup_strip(p);
            p[len] = save;
            if (!item || !strv_push(&out->items, &out->n, item)) {
                free(s);
                return OOM(err, errlen);
            }
            if (kind == V_PROTOCOLS) {
                int i = choice_index(http_protocols, item, FOLD_LOWER);
                if (i < 0) {
                    choice_error(id, http_protocols, item, err, errlen);
                    free(s);
                    return CG_ERR;
                }
                strcpy(item, http_protocols[i]);
            }
        }
        p += len;
        p += *p == ',';
    }
    free(s);
    return CG_OK;
}

/* V_USER / V_GROUP: None is the effective id, digits an id, else a name. */
static int parse_owner(vkind kind, const char *text, value *out, char *err, size_t errlen)
{
    bool digits = text && *text && strspn(text, "0123456789") == strlen(text);
    if (!text) {
        out->i = kind == V_USER ? (long)geteuid() : (long)getegid();
    } else if (digits) {
        if (!cg_config_parse_int(text, 10, &out->i)) {
            seterr(err, errlen, "Python int too large to convert to C long");
            return CG_ERR;
        }
    } else if (kind == V_USER) {
        struct passwd *pw = getpwnam(text);
        if (!pw) {
            seterr(err, errlen, "No such user: '%s'", text);
            return CG_ERR;
        }
        out->i = (long)pw->pw_uid;
    } else {
        struct group *gr = getgrnam(text);
        if (!gr) {
            seterr(err, errlen, "No such group: '%s'", text);
            return CG_ERR;
        }
        out->i = (long)gr->gr_gid;
    }
    return CG_OK;
}

/* V_INT and V_FRAME_SIZE: validate_pos_int (int(x, 0), >= 0). */
static int parse_pos_int(int id, const char *text, value *out, char *err, size_t errlen)
{
    char rep[256];
    if (!text) {
        seterr(err, errlen, "int() can't convert non-string with explicit base");
        return CG_ERR;
    }
    if (!cg_config_parse_int(text, 0, &out->i)) {
        seterr(err, errlen, "invalid literal for int() with base 0: %s",
               repr_into(rep, sizeof rep, text));
        return CG_ERR;
    }
    if (out->i < 0) {
        seterr(err, errlen, "Value must be positive: %ld", out->i);
        return CG_ERR;
    }
    if (kind_of(id) == V_FRAME_SIZE && (out->i < 16384 || out->i > 16777215)) {
        seterr(err, errlen, "http2_max_frame_size must be between 16384 and 16777215, got %ld",
               out->i);
        return CG_ERR;
    }
    return CG_OK;
}

/* Validate text for setting id into a fresh value *out (zeroed by the
 * caller; cleared again here on error). */
static int parse_text(int id, const char *text, value *out, char *err, size_t errlen)
{
    vkind kind = kind_of(id);
    int rc = CG_OK;
    struct stat st;

    switch (kind) {
    case V_STRING:
    case V_SSL_VERSION:
        if (text && !(out->s = dup_strip(text)))
            rc = OOM(err, errlen);
        out->none = !text;
        if (rc == CG_OK && kind == V_SSL_VERSION && out->s && strcmp(out->s, "2") != 0)
            fprintf(stderr, "Warning: option `ssl_version` is deprecated and it is ignored. Use "
                            "ssl_context instead.\n");
        break;
    case V_INT:
    case V_FRAME_SIZE:
        rc = parse_pos_int(id, text, out, err, errlen);
        break;
    case V_BOOL: {
        char *s = text ? dup_strip(text) : NULL;
        if (text && !s)
            return OOM(err, errlen);
        out->none = !text;
        if (s && strcasecmp(s, "true") == 0)
            out->b = true;
        else if (s && strcasecmp(s, "false") != 0) {
            seterr(err, errlen, "Invalid boolean: %s", text);
            rc = CG_ERR;
        }
        free(s);
        break;
    }
    case V_LIST:
    case V_FILES: {
        char *item = NULL;
        if (!text || !*text) /* validate_list_string: a falsy value is [] */
            break;
        rc = list_item(kind, text, &item, err, errlen);
        if (rc == CG_OK && !strv_push(&out->items, &out->n, item))
            rc = OOM(err, errlen);
        break;
    }
    case V_COMMA:
    case V_PROTOCOLS:
        if (text)
            rc = parse_comma(id, kind, text, out, err, errlen);
        break;
    case V_CHOICE:
        if (!text) {
            seterr(err, errlen, "Invalid %s: None", table[id].name);
            rc = CG_ERR;
        } else {
            rc = parse_choice(id, text, out, err, errlen);
        }
        break;
    case V_CHDIR: {
        char rep[256];
        char *s = text ? dup_strip(text) : NULL;
        if (!s) {
            seterr(err, errlen, text ? "out of memory" : "can't chdir to None");
            return CG_ERR;
        }
        out->s = abs_path(s);
        if (!out->s)
            rc = OOM(err, errlen);
        else if (stat(out->s, &st) != 0) {
            seterr(err, errlen, "can't chdir to %s", repr_into(rep, sizeof rep, s));
            rc = CG_ERR;
        }
        free(s);
        break;
    }
    case V_USER:
    case V_GROUP:
        rc = parse_owner(kind, text, out, err, errlen);
        break;
    case V_DICT:
        seterr(err, errlen, "Value is not a dictionary: %s ", text ? text : "None");
        rc = CG_ERR;
        break;
    case V_HOOK:
        seterr(err, errlen, "%s is a server hook: it can only be set in a Python config file",
               table[id].name);
        rc = CG_ERR;
        break;
    }
    if (rc != CG_OK)
        value_clear(out);
    return rc;
}

/* --- applying values ------------------------------------------------- */

/* Install the validated value nv (consumed) for id by the precedence rule:
 * dropped below the current source, appended for a repeatable list from the
 * same source, replacing otherwise. */
static int commit(cg_config_t *cfg, int id, value *nv, cg_source src, bool append, char *err,
                  size_t errlen)
{
    value *cur = &cfg->v[id];
    if (src < cur->src) {
        value_clear(nv);
        return CG_OK;
    }
    if (append && src == cur->src) {
        char **items = realloc(cur->items, (cur->n + nv->n + 1) * sizeof *items);
        if (!items) {
            value_clear(nv);
            return OOM(err, errlen);
        }
        if (nv->n)
            memcpy(items + cur->n, nv->items, nv->n * sizeof *items);
        cur->n += nv->n;
        items[cur->n] = NULL;
        cur->items = items;
        free(nv->items);
        memset(nv, 0, sizeof *nv);
        return CG_OK;
    }
    value_clear(cur);
    *cur = *nv;
    cur->src = src;
    memset(nv, 0, sizeof *nv);
    return CG_OK;
}

/* Whether text for id adds one item to a repeatable list. */
static bool appends(int id)
{
    vkind kind = kind_of(id);
    return kind == V_LIST || kind == V_FILES;
}

int cg_config_set_text(cg_config_t *cfg, int id, const char *text, cg_source src, char *err,
                       size_t errlen)
{
    value nv = {0};
    if (!cfg || !valid_id(id)) {
        seterr(err, errlen, "no such setting");
        return CG_ERR;
    }
    if (parse_text(id, text, &nv, err, errlen) != CG_OK)
        return CG_ERR;
    return commit(cfg, id, &nv, src, appends(id), err, errlen);
}

int cg_config_set_list(cg_config_t *cfg, int id, const char *const *items, size_t n, cg_source src,
                       char *err, size_t errlen)
{
    value nv = {0};
    if (!cfg || !valid_id(id) || table[id].type != CG_TYPE_LIST) {
        seterr(err, errlen, "%s is not a list setting", valid_id(id) ? table[id].name : "?");
        return CG_ERR;
    }
    for (size_t i = 0; i < n; i++) {
        char *item = NULL;
        vkind kind = kind_of(id) == V_FILES ? V_FILES : V_LIST;
        if (!items[i]) {
            value_clear(&nv);
            seterr(err, errlen, "Not a string: None");
            return CG_ERR;
        }
        if (list_item(kind, items[i], &item, err, errlen) != CG_OK) {
            value_clear(&nv);
            return CG_ERR;
        }
        if (kind_of(id) == V_PROTOCOLS) {
            int c = choice_index(http_protocols, item, FOLD_LOWER);
            if (c < 0) {
                choice_error(id, http_protocols, item, err, errlen);
                free(item);
                value_clear(&nv);
                return CG_ERR;
            }
            strcpy(item, http_protocols[c]);
        }
        if (!strv_push(&nv.items, &nv.n, item)) {
            value_clear(&nv);
            return OOM(err, errlen);
        }
    }
    return commit(cfg, id, &nv, src, false, err, errlen);
}

int cg_config_set_dict(cg_config_t *cfg, int id, const char *const *keys, const char *const *values,
                       size_t n, cg_source src, char *err, size_t errlen)
{
    value nv = {0};
    size_t nv_vals = 0;
    if (!cfg || !valid_id(id) || table[id].type != CG_TYPE_DICT) {
        seterr(err, errlen, "%s is not a dict setting", valid_id(id) ? table[id].name : "?");
        return CG_ERR;
    }
    for (size_t i = 0; i < n; i++) {
        if (!keys[i] || !values[i]) {
            value_clear(&nv);
            seterr(err, errlen, "Value is not a dictionary: None keys or values");
            return CG_ERR;
        }
        if (!strv_push(&nv.items, &nv.n, strdup(keys[i])) ||
            !strv_push(&nv.vals, &nv_vals, strdup(values[i]))) {
            value_clear(&nv);
            return OOM(err, errlen);
        }
    }
    return commit(cfg, id, &nv, src, false, err, errlen);
}

int cg_config_set_hook_named(cg_config_t *cfg, int id, void *callable, void (*release)(void *),
                             const char *qualname, cg_source src, char *err, size_t errlen)
{
    value nv = {0};
    nv.hook = callable;
    nv.release = release;
    if (!cfg || !valid_id(id) || table[id].type != CG_TYPE_HOOK) {
        value_clear(&nv);
        seterr(err, errlen, "%s is not a server hook", valid_id(id) ? table[id].name : "?");
        return CG_ERR;
    }
    if (qualname && !(nv.qualname = strdup(qualname))) {
        value_clear(&nv);
        return OOM(err, errlen);
    }
    return commit(cfg, id, &nv, src, false, err, errlen);
}

int cg_config_set_hook(cg_config_t *cfg, int id, void *callable, void (*release)(void *),
                       cg_source src, char *err, size_t errlen)
{
    return cg_config_set_hook_named(cfg, id, callable, release, NULL, src, err, errlen);
}

/* --- a configuration ------------------------------------------------- */

/* Set id's default from text (src stays CG_SRC_DEFAULT). */
static bool set_default(cg_config_t *cfg, int id, const char *text)
{
    value nv = {0};
    if (parse_text(id, text, &nv, NULL, 0) != CG_OK)
        return false;
    value_clear(&cfg->v[id]);
    cfg->v[id] = nv;
    return true;
}

/* The defaults gunicorn computes from the environment when it starts. */
static bool set_computed_defaults(cg_config_t *cfg)
{
    static const char *const scheme_keys[] = {"X-FORWARDED-PROTOCOL", "X-FORWARDED-PROTO",
                                              "X-FORWARDED-SSL"};
    static const char *const scheme_vals[] = {"ssl", "https", "on"};
    const char *port = getenv("PORT"), *wc = getenv("WEB_CONCURRENCY");
    const char *fwd = getenv("FORWARDED_ALLOW_IPS"), *xdg = getenv("XDG_RUNTIME_DIR");
    const char *home = getenv("HOME");
    char *bind = NULL, *ctl = NULL, *cwd = current_dir();
    long workers;
    bool ok;

    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : "";
    }
    if (port)
        ok = asprintf(&bind, "0.0.0.0:%s", port) >= 0;
    else
        ok = (bind = strdup("127.0.0.1:8000")) != NULL;
    if (xdg && *xdg)
        ok = ok && asprintf(&ctl, "%s/gunicorn.ctl", xdg) >= 0;
    else
        ok = ok && asprintf(&ctl, "%s/.gunicorn/gunicorn.ctl", home) >= 0;
    ok = ok && cwd && set_default(cfg, CG_SET_bind, bind) && set_default(cfg, CG_SET_chdir, cwd) &&
         set_default(cfg, CG_SET_control_socket, ctl) &&
         cg_config_set_dict(cfg, CG_SET_secure_scheme_headers, scheme_keys, scheme_vals, 3,
                            CG_SRC_DEFAULT, NULL, 0) == CG_OK;
    /* An unusable $WEB_CONCURRENCY (gunicorn dies on it) leaves 1 worker. */
    if (ok && wc && cg_config_parse_int(wc, 10, &workers) && workers >= 0)
        cfg->v[CG_SET_workers].i = workers;
    if (ok && fwd && !set_default(cfg, CG_SET_forwarded_allow_ips, fwd))
        ok = set_default(cfg, CG_SET_forwarded_allow_ips, table[CG_SET_forwarded_allow_ips].dflt);
    free(bind);
    free(ctl);
    free(cwd);
    return ok;
}

cg_config_t *cg_config_new(void)
{
    cg_config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    for (int id = 0; id < CG_SET__COUNT; id++) {
        if (table[id].type == CG_TYPE_HOOK || table[id].type == CG_TYPE_DICT)
            continue; /* NULL = gunicorn's default hook; dicts start empty */
        if (id == CG_SET_chdir)
            continue; /* computed: a NULL text is not a directory */
        if (!set_default(cfg, id, table[id].dflt)) {
            cg_config_free(cfg);
            return NULL;
        }
    }
    if (!set_computed_defaults(cfg)) {
        cg_config_free(cfg);
        return NULL;
    }
    return cfg;
}

void cg_config_free(cg_config_t *cfg)
{
    if (!cfg)
        return;
    for (int id = 0; id < CG_SET__COUNT; id++)
        value_clear(&cfg->v[id]);
    free(cfg);
}

long cg_config_int(const cg_config_t *cfg, int id)
{
    return cfg && valid_id(id) ? cfg->v[id].i : 0;
}

bool cg_config_bool(const cg_config_t *cfg, int id)
{
    return cfg && valid_id(id) && cfg->v[id].b;
}

const char *cg_config_str(const cg_config_t *cfg, int id)
{
    return cfg && valid_id(id) ? cfg->v[id].s : NULL;
}

char *cg_config_list_joined(const cg_config_t *cfg, int id)
{
    const char *const *items;
    size_t n = cg_config_list(cfg, id, &items), len = 1;
    char *out;

    for (size_t i = 0; i < n; i++)
        len += strlen(items[i]) + 1;
    out = malloc(len);
    if (out == NULL)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, items[i]);
    }
    return out;
}

size_t cg_config_list(const cg_config_t *cfg, int id, const char *const **items)
{
    static const char *const empty[] = {NULL};
    bool ok = cfg && valid_id(id) && cfg->v[id].items;
    if (items)
        *items = ok ? (const char *const *)cfg->v[id].items : empty;
    return ok ? cfg->v[id].n : 0;
}

size_t cg_config_dict(const cg_config_t *cfg, int id, const char *const **keys,
                      const char *const **values)
{
    static const char *const empty[] = {NULL};
    bool ok = cfg && valid_id(id) && cfg->v[id].items;
    if (keys)
        *keys = ok ? (const char *const *)cfg->v[id].items : empty;
    if (values)
        *values = ok ? (const char *const *)cfg->v[id].vals : empty;
    return ok ? cfg->v[id].n : 0;
}

void *cg_config_hook(const cg_config_t *cfg, int id)
{
    return cfg && valid_id(id) ? cfg->v[id].hook : NULL;
}

cg_source cg_config_source(const cg_config_t *cfg, int id)
{
    return cfg && valid_id(id) ? cfg->v[id].src : CG_SRC_DEFAULT;
}

bool cg_config_is_none(const cg_config_t *cfg, int id)
{
    return cfg && valid_id(id) && cfg->v[id].none;
}

/* --- printing -------------------------------------------------------- */

/* Append id's value as Python's str() shows it; debug selects the
 * "Current configuration" form of hooks. */
static void sb_value(strbuf *b, const cg_config_t *cfg, int id, bool debug)
{
    const value *v = &cfg->v[id];
    char num[32];

    switch (table[id].type) {
    case CG_TYPE_STR:
        sb_add(b, v->s ? v->s : "None");
        break;
    case CG_TYPE_INT:
        snprintf(num, sizeof num, "%ld", v->i);
        sb_add(b, num);
        break;
    case CG_TYPE_BOOL:
        sb_add(b, v->none ? "None" : v->b ? "True" : "False");
        break;
    case CG_TYPE_LIST:
    case CG_TYPE_DICT:
        sb_add(b, table[id].type == CG_TYPE_LIST ? "[" : "{");
        for (size_t i = 0; i < v->n; i++) {
            sb_add(b, i ? ", " : "");
            sb_repr(b, v->items[i]);
            if (table[id].type == CG_TYPE_DICT) {
                sb_add(b, ": ");
                sb_repr(b, v->vals[i]);
            }
        }
        sb_add(b, table[id].type == CG_TYPE_LIST ? "]" : "}");
        break;
    case CG_TYPE_HOOK: {
        const char *name = !v->hook ? table[id].meta : v->qualname ? v->qualname : table[id].name;
        sb_add(b, debug ? "<function " : "<");
        sb_add(b, name);
        if (debug && v->hook) {
            snprintf(num, sizeof num, " at %p", v->hook);
            sb_add(b, num);
        }
        sb_add(b, debug ? ">" : "()>");
        break;
    }
    }
}

char *cg_config_value_text(const cg_config_t *cfg, int id)
{
    strbuf b = {0};
    if (!cfg || !valid_id(id))
        return NULL;
    sb_value(&b, cfg, id, false);
    sb_add(&b, "");
    if (b.oom)
        free(b.p);
    return b.oom ? NULL : b.p;
}

/* qsort comparator: setting ids by name. */
static int by_name(const void *a, const void *b)
{
    return strcmp(table[*(const int *)a].name, table[*(const int *)b].name);
}

void cg_config_print(const cg_config_t *cfg, FILE *out)
{
    int order[CG_SET__COUNT];
    int width = 0;
    for (int id = 0; id < CG_SET__COUNT; id++) {
        int len = (int)strlen(table[id].name);
        order[id] = id;
        width = len > width ? len : width;
    }
    qsort(order, CG_SET__COUNT, sizeof order[0], by_name);
    for (int i = 0; i < CG_SET__COUNT; i++) {
        char *text = cg_config_value_text(cfg, order[i]);
        fprintf(out, "%-*s = %s\n", width, table[order[i]].name, text ? text : "?");
        free(text);
    }
}

char *cg_config_debug_text(const cg_config_t *cfg)
{
    strbuf b = {0};
    for (int id = 0; cfg && id < CG_SET__COUNT; id++) {
        sb_add(&b, id ? "\n  " : "  ");
        sb_add(&b, table[id].name);
        sb_add(&b, ": ");
        sb_value(&b, cfg, id, true);
    }
    sb_add(&b, "");
    if (b.oom)
        free(b.p);
    return b.oom ? NULL : b.p;
}
