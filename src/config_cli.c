/* config_cli.c - the command line as gunicorn's argparse parser reads it,
 * --help as argparse prints it, and shlex.split for GUNICORN_CMD_ARGS.
 *
 * The parser is a small port of Python 3.11's ArgumentParser.parse_args for
 * the one parser gunicorn builds: every argument is first classified as an
 * option ('O'), a positional ('A') or the "--" marker ('-'), then options
 * consume their arguments and the positional APP_MODULE list takes the
 * first run of positionals.  Values are applied to the configuration only
 * after the whole command line parsed, in settings order, as gunicorn does. */
#include "cgunicorn/config.h"
#include "cgunicorn/cgunicorn.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* --- the option strings ------------------------------------------------ */

typedef enum { OPT_HELP, OPT_VERSION, OPT_NO_UI, OPT_SETTING } opt_kind;

/* One option string ("-w", "--workers") and the action it belongs to. */
typedef struct {
    const char *s; /* points into a flags string: not terminated */
    size_t len;
    opt_kind kind;
    int id; /* setting id for OPT_SETTING */
} opt;

typedef struct {
    opt v[2 * CG_SET__COUNT + 8];
    int n;
} optset;

/* Add each space-separated option string of flags for one action. */
static void add_flags(optset *o, const char *flags, opt_kind kind, int id)
{
    for (const char *p = flags; *p;) {
        size_t len = strcspn(p, " ");
        if (len > 0 && o->n < (int)(sizeof o->v / sizeof o->v[0]))
            o->v[o->n++] = (opt){p, len, kind, id};
        p += len;
        p += strspn(p, " ");
    }
}

/* Every option string in argparse's registration order. */
static void build_opts(optset *o)
{
    o->n = 0;
    add_flags(o, "-h --help", OPT_HELP, -1);
    add_flags(o, "-v --version", OPT_VERSION, -1);
    add_flags(o, "--no-ui", OPT_NO_UI, -1);
    for (int id = 0; id < CG_SET__COUNT; id++)
        add_flags(o, cg_setting_flags(id), OPT_SETTING, id);
}

static bool opt_is(const opt *o, const char *s, size_t len)
{
    return o->len == len && strncmp(o->s, s, len) == 0;
}

/* Index of the option string s[0..len), or -1. */
static int find_opt(const optset *o, const char *s, size_t len)
{
    for (int i = 0; i < o->n; i++)
        if (opt_is(&o->v[i], s, len))
            return i;
    return -1;
}

/* The flags of the action of option i ("-h --help" for help). */
static const char *action_flags(const opt *o)
{
    switch (o->kind) {
    case OPT_HELP:
        return "-h --help";
    case OPT_VERSION:
        return "-v --version";
    case OPT_NO_UI:
        return "--no-ui";
    default:
        return cg_setting_flags(o->id);
    }
}

/* argparse's name of the action: its option strings joined by "/". */
static void action_name(const opt *o, char *buf, size_t len)
{
    snprintf(buf, len, "%s", action_flags(o));
    for (char *p = buf; *p; p++)
        if (*p == ' ')
            *p = '/';
}

typedef enum { NARGS_0, NARGS_1, NARGS_OPTIONAL } nargs;

static nargs nargs_of(const opt *o)
{
    if (o->kind != OPT_SETTING)
        return NARGS_0;
    switch (cg_setting_action(o->id)) {
    case CG_ACT_TRUE:
    case CG_ACT_FALSE:
        return NARGS_0;
    case CG_ACT_OPTIONAL:
        return NARGS_OPTIONAL;
    default:
        return NARGS_1;
    }
}

/* --- errors ---------------------------------------------------------- */

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

/* Python's repr() of s, for argparse's %r: into buf (truncated). */
static const char *py_repr(char *buf, size_t len, const char *s)
{
    char quote = (strchr(s, '\'') && !strchr(s, '"')) ? '"' : '\'';
    size_t o = 0;
    if (len < 8)
        return "''";
    buf[o++] = quote;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 6 < len; p++) {
        if (*p == '\\' || *p == (unsigned char)quote) {
            buf[o++] = '\\';
            buf[o++] = (char)*p;
        } else if (*p == '\n' || *p == '\r' || *p == '\t') {
            buf[o++] = '\\';
            buf[o++] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
        } else if (*p < 0x20 || *p == 0x7f) {
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", *p);
        } else {
            buf[o++] = (char)*p;
        }
    }
    buf[o++] = quote;
    buf[o] = '\0';
    return buf;
}

/* --- classifying arguments ------------------------------------------- */

/* What one argv element is: 'O' an option (opt -1 when unknown), 'A' a
 * positional or an option's argument, '-' the "--" marker. */
typedef struct {
    char pat;
    int opt;
    const char *explicit; /* "=VALUE" or "-wVALUE" part, or NULL */
} argclass;

/* argparse's _negative_number_matcher: ^-\d+$|^-\d*\.\d+$ */
static bool negative_number(const char *s)
{
    size_t digits, frac;
    if (*s++ != '-')
        return false;
    digits = strspn(s, "0123456789");
    if (s[digits] == '\0')
        return digits > 0;
    if (s[digits] != '.')
        return false;
    frac = strspn(s + digits + 1, "0123456789");
    return frac > 0 && s[digits + 1 + frac] == '\0';
}

/* argparse's _parse_optional + _get_option_tuples for one argument. */
static int classify(const optset *o, const char *arg, argclass *c, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    int match[sizeof o->v / sizeof o->v[0]], nmatch = 0;
    const char *match_explicit[sizeof o->v / sizeof o->v[0]];

    *c = (argclass){'A', -1, NULL};
    if (arg[0] != '-')
        return 0;
    if ((c->opt = find_opt(o, arg, strlen(arg))) >= 0) {
        c->pat = 'O';
        return 0;
    }
    if (arg[1] == '\0')
        return 0;
    if (eq && (c->opt = find_opt(o, arg, (size_t)(eq - arg))) >= 0) {
        c->pat = 'O';
        c->explicit = eq + 1;
        return 0;
    }
    for (int i = 0; i < o->n; i++) {
        const opt *p = &o->v[i];
        if (arg[1] == '-') { /* long: any option the part before '=' starts */
            size_t plen = eq ? (size_t)(eq - arg) : strlen(arg);
            if (p->len >= plen && strncmp(p->s, arg, plen) == 0) {
                match_explicit[nmatch] = eq ? eq + 1 : NULL;
                match[nmatch++] = i;
            }
        } else if (opt_is(p, arg, 2)) { /* short with its value attached */
            match_explicit[nmatch] = arg + 2;
            match[nmatch++] = i;
        } else if (p->len >= strlen(arg) && strncmp(p->s, arg, strlen(arg)) == 0) {
            match_explicit[nmatch] = NULL;
            match[nmatch++] = i;
        }
    }
    if (nmatch > 1) {
        char list[4096] = "";
        for (int i = 0; i < nmatch; i++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%.*s", i ? ", " : "",
                     (int)o->v[match[i]].len, o->v[match[i]].s);
        }
        seterr(err, errlen, "ambiguous option: %s could match %s", arg, list);
        return 2;
    }
    if (nmatch == 1) {
        *c = (argclass){'O', match[0], match_explicit[0]};
        return 0;
    }
    if (negative_number(arg) || strchr(arg, ' '))
        return 0;
    c->pat = 'O'; /* an unknown option: reported as unrecognized */
    return 0;
}

/* --- parsing ----------------------------------------------------------- */

/* One option occurrence to apply: a setting and its (converted) value. */
typedef struct {
    int id;
    const char *text; /* NULL: use num */
    char num[24];
} event;

typedef struct {
    const optset *opts;
    char **argv;
    int argc;
    argclass *cls;
    event *ev;
    int nev;
    const char **extras;
    int nextras;
    bool args_taken;
    cg_cli_result *out;
    char *err;
    size_t errlen;
} parser;

/* Convert text with the setting's argparse type into ev; 2 on error. */
static int convert(parser *p, const opt *o, const char *text, event *ev)
{
    const char *type = cg_setting_argtype(o->id);
    char name[256], rep[512];
    long v;
    bool ok = true;

    ev->id = o->id;
    ev->text = text;
    if (strcmp(type, "int") == 0) {
        ok = cg_config_parse_int(text, 10, &v);
    } else if (strcmp(type, "auto_int") == 0) {
        /* gunicorn's auto_int: a leading 0 followed by a digit means octal */
        const char *s = text;
        while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
            s++;
        if (s[0] == '0' && s[1] >= '0' && s[1] <= '9') {
            char buf[256];
            snprintf(buf, sizeof buf, "%.*s0o%s", (int)(s - text), text, s + 1);
            ok = cg_config_parse_int(buf, 0, &v);
        } else {
            ok = cg_config_parse_int(text, 0, &v);
        }
    } else {
        return 0;
    }
    if (!ok) {
        action_name(o, name, sizeof name);
        seterr(p->err, p->errlen, "argument %s: invalid %s value: %s", name, type,
               py_repr(rep, sizeof rep, text));
        return 2;
    }
    snprintf(ev->num, sizeof ev->num, "%ld", v);
    ev->text = NULL;
    return 0;
}

/* Take one option with its value (NULL for flags): record what it sets,
 * or note help/version.  Returns 0, 2 on a conversion error, or -1 when
 * help or version ends the parse. */
static int take(parser *p, const opt *o, const char *value)
{
    event *ev = &p->ev[p->nev];
    switch (o->kind) {
    case OPT_HELP:
        p->out->help = true;
        return -1;
    case OPT_VERSION:
        p->out->version = true;
        return -1;
    case OPT_NO_UI:
        p->out->no_ui = true;
        return 0;
    case OPT_SETTING:
        break;
    }
    memset(ev, 0, sizeof *ev);
    if (nargs_of(o) == NARGS_0) {
        ev->id = o->id;
        ev->text = cg_setting_action(o->id) == CG_ACT_FALSE ? "false" : "true";
    } else if (!value) { /* a bare OPTIONAL flag: its const */
        const char *eq = strchr(cg_setting_meta(o->id), '=');
        ev->id = o->id;
        ev->text = eq ? eq + 1 : "";
    } else if (convert(p, o, value, ev) != 0) {
        return 2;
    }
    if (o->id == CG_SET_config)
        p->out->config_path = value;
    p->nev++;
    return 0;
}

/* argparse's consume_positionals: the APP_MODULE list takes the run of
 * positionals at start (only once).  Returns the index after them. */
static int consume_positionals(parser *p, int start)
{
    int end = start;
    bool marker_removed = false;
    if (p->args_taken)
        return start;
    p->args_taken = true;
    while (end < p->argc && p->cls[end].pat != 'O')
        end++;
    for (int i = start; i < end; i++) {
        if (p->cls[i].pat == '-' && !marker_removed) {
            marker_removed = true; /* argparse drops the first "--" */
            continue;
        }
        if (!p->out->app_uri)
            p->out->app_uri = p->argv[i];
    }
    return end;
}

/* argparse's consume_optional for the option at start.  Returns the index
 * after what it consumed, or -(code) on an error (2) or help/version (1). */
static int consume_optional(parser *p, int start)
{
    const opt *o;
    const char *explicit = p->cls[start].explicit;
    char name[256], rep[512];
    int rc;

    if (p->cls[start].opt < 0) {
        p->extras[p->nextras++] = p->argv[start];
        return start + 1;
    }
    o = &p->opts->v[p->cls[start].opt];
    /* Grouped short flags ("-Dw3"): each flag taking no value passes the
     * rest of the argument on as the next short option. */
    while (explicit && nargs_of(o) == NARGS_0) {
        char next[3] = {'-', explicit[0], '\0'};
        int i = o->s[1] != '-' && explicit[0] ? find_opt(p->opts, next, 2) : -1;
        if (i < 0) {
            action_name(o, name, sizeof name);
            seterr(p->err, p->errlen, "argument %s: ignored explicit argument %s", name,
                   py_repr(rep, sizeof rep, explicit));
            return -2;
        }
        if ((rc = take(p, o, NULL)) != 0)
            return rc < 0 ? -1 : -2;
        o = &p->opts->v[i];
        explicit = explicit[1] ? explicit + 1 : NULL;
    }
    if (explicit)
        return (rc = take(p, o, explicit)) != 0 ? (rc < 0 ? -1 : -2) : start + 1;

    /* The value, if any, is the next argument when it is positional
     * (argparse never gives an option the "--" marker). */
    int i = start + 1;
    const char *value = NULL;
    if (nargs_of(o) != NARGS_0 && i < p->argc && p->cls[i].pat == 'A') {
        value = p->argv[i++];
    } else if (nargs_of(o) == NARGS_1) {
        action_name(o, name, sizeof name);
        seterr(p->err, p->errlen, "argument %s: expected one argument", name);
        return -2;
    }
    rc = take(p, o, value);
    return rc == 0 ? i : rc < 0 ? -1 : -2;
}

/* The main loop of argparse's _parse_known_args.  Returns 0, 2, or -1
 * after help/version. */
static int parse_args(parser *p)
{
    int start = 0, max_opt = -1, stop;

    for (int i = 0; i < p->argc; i++)
        if (p->cls[i].pat == 'O')
            max_opt = i;
    while (start <= max_opt) {
        int next = start;
        while (p->cls[next].pat != 'O')
            next++;
        if (start != next) {
            int end = consume_positionals(p, start);
            if (end > start) {
                start = end;
                continue;
            }
        }
        while (start < next)
            p->extras[p->nextras++] = p->argv[start++];
        start = consume_optional(p, start);
        if (start < 0)
            return start == -1 ? -1 : 2;
    }
    stop = consume_positionals(p, start);
    while (stop < p->argc)
        p->extras[p->nextras++] = p->argv[stop++];
    if (p->nextras > 0) {
        size_t used = 0;
        seterr(p->err, p->errlen, "unrecognized arguments:");
        for (int i = 0; i < p->nextras && p->err; i++) {
            used = strlen(p->err);
            seterr(p->err + used, p->errlen - used, " %s", p->extras[i]);
        }
        return 2;
    }
    return 0;
}

/* Apply the recorded values in settings order: the last value of a store
 * flag, all values of a repeatable one.  Returns 0 or 1 (validator error). */
static int apply(parser *p, cg_config_t *cfg, cg_source src)
{
    const char **vals = calloc((size_t)p->nev + 1, sizeof *vals);
    int rc = 0;
    if (!vals) {
        seterr(p->err, p->errlen, "out of memory");
        return 1;
    }
    for (int id = 0; id < CG_SET__COUNT && rc == 0; id++) {
        size_t n = 0;
        for (int i = 0; i < p->nev; i++)
            if (p->ev[i].id == id)
                vals[n++] = p->ev[i].text ? p->ev[i].text : p->ev[i].num;
        if (n == 0)
            continue;
        if (cg_setting_action(id) == CG_ACT_APPEND)
            rc = cg_config_set_list(cfg, id, vals, n, src, p->err, p->errlen);
        else
            rc = cg_config_set_text(cfg, id, vals[n - 1], src, p->err, p->errlen);
        rc = rc == CG_OK ? 0 : 1;
    }
    free(vals);
    return rc;
}

int cg_cli_parse(cg_config_t *cfg, int argc, char **argv, cg_source src, cg_cli_result *out,
                 char *err, size_t errlen)
{
    optset opts;
    parser p = {0};
    int rc = 0, n = argc > 1 ? argc - 1 : 0;
    size_t events = 1;

    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    build_opts(&opts);
    for (int i = 1; i < argc; i++)
        events += strlen(argv[i]) + 1; /* grouped flags: at most one per character */
    p = (parser){
        .opts = &opts,
        .argv = argv + 1,
        .argc = n,
        .cls = calloc((size_t)n + 1, sizeof *p.cls),
        .ev = calloc(events, sizeof *p.ev),
        .extras = calloc((size_t)n + 1, sizeof *p.extras),
        .out = out,
        .err = err,
        .errlen = errlen,
    };
    if (!p.cls || !p.ev || !p.extras) {
        seterr(err, errlen, "out of memory");
        rc = 2;
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        if (strcmp(p.argv[i], "--") == 0) {
            p.cls[i] = (argclass){'-', -1, NULL};
            while (++i < n)
                p.cls[i] = (argclass){'A', -1, NULL};
            break;
        }
        rc = classify(&opts, p.argv[i], &p.cls[i], err, errlen);
    }
    if (rc == 0)
        rc = parse_args(&p);
    if (rc == 0) {
        rc = apply(&p, cfg, src);
    } else if (rc == -1) {
        rc = 0; /* help or version: nothing else matters */
    }
    if (rc != 0) {
        bool help = out->help, version = out->version;
        memset(out, 0, sizeof *out);
        out->help = help;
        out->version = version;
    }
    free(p.cls);
    free(p.ev);
    free(p.extras);
    return rc;
}

/* --- help -------------------------------------------------------------- */

/* argparse's width: $COLUMNS, else the terminal's, else 80; minus 2. */
static int help_width(void)
{
    const char *env = getenv("COLUMNS");
    long cols = 0;
    struct winsize ws;
    if (!env || !cg_config_parse_int(env, 10, &cols) || cols <= 0) {
        cols = 80;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
            cols = ws.ws_col;
    }
    return (int)cols - 2;
}

static bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c & 0x80);
}

/* Length of the next chunk of word w: textwrap splits a hyphenated word
 * after a hyphen with two letters before it and letters after it. */
static size_t chunk_len(const char *w, size_t len)
{
    for (size_t k = 2; k + 2 < len; k++) {
        bool before = is_letter(w[k - 1]) &&
                      (is_letter(w[k - 2]) || (k >= 3 && w[k - 2] == '-' && is_letter(w[k - 3])));
        bool after =
            is_letter(w[k + 1]) &&
            (is_letter(w[k + 2]) || (w[k + 2] == '-' && k + 3 < len && is_letter(w[k + 3])));
        if (w[k] == '-' && before && after)
            return k + 1;
    }
    return len;
}

/* Print the part of a too-long chunk that fits in the left columns of the
 * current line (textwrap's _handle_long_word, preferring to break after a
 * hyphen); returns how much was printed. */
static size_t print_long_chunk(FILE *out, const char *s, size_t len, int left)
{
    size_t end = left > 0 ? (size_t)left : 0;
    for (size_t h = end; h-- > 1;) {
        if (s[h] == '-' && strspn(s, "-") < h) {
            end = h + 1;
            break;
        }
    }
    fprintf(out, "%.*s", (int)end, s);
    return end < len ? end : len;
}

/* Print text wrapped to width (textwrap.wrap after argparse folds the
 * whitespace): the first line after the caller's prefix, the rest
 * indented by indent. */
static void print_wrapped(FILE *out, const char *text, int width, int indent)
{
    int cur = 0;
    if (width < 1)
        width = 1;
    for (const char *p = text;;) {
        size_t wlen;
        bool new_word = true;
        p += strspn(p, " \t\n\r\f\v");
        if (!*p)
            break;
        wlen = strcspn(p, " \t\n\r\f\v");
        for (size_t off = 0; off < wlen; new_word = false) {
            size_t clen = chunk_len(p + off, wlen - off);
            int space = cur > 0 && new_word ? 1 : 0;
            if (cur + space + (int)clen <= width) {
                fprintf(out, "%s%.*s", space ? " " : "", (int)clen, p + off);
                cur += space + (int)clen;
                off += clen;
                continue;
            }
            if ((int)clen > width) { /* break_long_words */
                if (space && cur + 1 <= width) {
                    fputc(' ', out);
                    cur++;
                }
                off += print_long_chunk(out, p + off, clen, width - cur);
            }
            fprintf(out, "\n%*s", indent, "");
            cur = 0;
        }
        p += wlen;
    }
    fputc('\n', out);
}

/* The invocation column: "-w INT, --workers INT", "-D, --daemon",
 * "--proxy-protocol [MODE]"; without a metavar argparse shows the setting
 * name upper-cased ("--chdir CHDIR"). */
static void invocation(const opt *first, int nopts, char *buf, size_t len)
{
    char meta[72] = "", mv[64];
    size_t used = 0;
    nargs na = nargs_of(first);
    if (na != NARGS_0) {
        const char *m = cg_setting_meta(first->id);
        size_t mlen = strcspn(m, "=");
        if (mlen == 0) {
            m = cg_setting_name(first->id);
            mlen = strlen(m);
        }
        snprintf(mv, sizeof mv, "%.*s", (int)mlen, m);
        for (char *c = mv; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 'a' + 'A');
        snprintf(meta, sizeof meta, na == NARGS_OPTIONAL ? " [%s]" : " %s", mv);
    }
    buf[0] = '\0';
    for (int i = 0; i < nopts && used < len; i++) {
        snprintf(buf + used, len - used, "%s%.*s%s", i ? ", " : "", (int)first[i].len, first[i].s,
                 meta);
        used = strlen(buf);
    }
}

/* The help column of a setting: "HELP [DEFAULT]" with gunicorn's default
 * as Python's str() shows the Setting class default. */
static char *setting_help(const cg_config_t *defaults, int id)
{
    char *text = NULL, *dflt = NULL;
    const char *raw = cg_setting_default(id);
    /* comma-list settings show their unsplit default string */
    if (cg_setting_type(id) == CG_TYPE_LIST && cg_setting_action(id) == CG_ACT_STORE) {
        const char *env = getenv("FORWARDED_ALLOW_IPS");
        if (id == CG_SET_forwarded_allow_ips && env)
            raw = env;
        dflt = strdup(raw ? raw : "None");
    } else {
        dflt = cg_config_value_text(defaults, id);
    }
    if (!dflt || asprintf(&text, "%s [%s]", cg_setting_help(id), dflt) < 0)
        text = NULL;
    free(dflt);
    return text;
}

void cg_cli_usage(FILE *out, const char *prog)
{
    fprintf(out, "usage: %s [OPTIONS] [APP_MODULE]\n", prog);
}

void cg_cli_help(FILE *out, const char *prog)
{
    static const char *const builtin_help[] = {
        [OPT_HELP] = "show this help message and exit",
        [OPT_VERSION] = "show program's version number and exit",
        [OPT_NO_UI] = "run without the terminal dashboard (cgunicorn-top only)",
    };
    optset opts;
    cg_config_t *defaults = cg_config_new();
    int width = help_width(), max_help = width - 20 > 4 ? width - 20 : 4, longest = 0;
    int help_pos, action_width;
    char inv[512];

    build_opts(&opts);
    for (int i = 0; i < opts.n;) { /* argparse: the longest invocation */
        int j = i + 1;
        while (j < opts.n && opts.v[j].kind == opts.v[i].kind && opts.v[j].id == opts.v[i].id)
            j++;
        invocation(&opts.v[i], j - i, inv, sizeof inv);
        longest = (int)strlen(inv) + 2 > longest ? (int)strlen(inv) + 2 : longest;
        i = j;
    }
    help_pos = longest + 2 < (max_help < 24 ? max_help : 24) ? longest + 2
                                                             : (max_help < 24 ? max_help : 24);
    action_width = help_pos - 4;
    cg_cli_usage(out, prog);
    fputs("\noptions:\n", out);
    for (int i = 0; i < opts.n;) {
        int j = i + 1;
        char *text;
        while (j < opts.n && opts.v[j].kind == opts.v[i].kind && opts.v[j].id == opts.v[i].id)
            j++;
        invocation(&opts.v[i], j - i, inv, sizeof inv);
        text = opts.v[i].kind == OPT_SETTING ? setting_help(defaults, opts.v[i].id)
                                             : strdup(builtin_help[opts.v[i].kind]);
        if ((int)strlen(inv) <= action_width)
            fprintf(out, "  %-*s  ", action_width, inv);
        else
            fprintf(out, "  %s\n%*s", inv, help_pos, "");
        print_wrapped(out, text ? text : "", width - help_pos > 11 ? width - help_pos : 11,
                      help_pos);
        free(text);
        i = j;
    }
    cg_config_free(defaults);
}

/* --- shlex.split ------------------------------------------------------- */

/* Append c to the token being built; false when out of memory. */
static bool tok_add(char **tok, size_t *len, size_t *cap, char c)
{
    if (*len + 2 > *cap) {
        size_t ncap = *cap ? *cap * 2 : 32;
        char *n = realloc(*tok, ncap);
        if (!n)
            return false;
        *tok = n;
        *cap = ncap;
    }
    (*tok)[(*len)++] = c;
    (*tok)[*len] = '\0';
    return true;
}

/* Append the finished token to the argv array; false when out of memory. */
static bool argv_add(char ***argv, int *argc, const char *tok, size_t len)
{
    char *copy = malloc(len + 1);
    char **n = copy ? realloc(*argv, (size_t)(*argc + 2) * sizeof **argv) : NULL;
    if (!n) {
        free(copy);
        return false;
    }
    memcpy(copy, tok ? tok : "", len);
    copy[len] = '\0';
    n[(*argc)++] = copy;
    n[*argc] = NULL;
    *argv = n;
    return true;
}

void cg_cli_split_free(char **argv)
{
    for (int i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

int cg_cli_split(const char *s, char ***argv_out, int *argc_out, char *err, size_t errlen)
{
    /* shlex's states: ' ' between words, 'a' in a word, '\'' or '"' in
     * quotes, '\\' after a backslash (returning to `back`). */
    char state = ' ', back = ' ';
    char *tok = NULL, **argv = NULL;
    size_t len = 0, cap = 0;
    int argc = 0;
    bool ok = true, in_token = false;

    for (const char *p = s ? s : ""; ok && *p; p++) {
        char c = *p;
        bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
        switch (state) {
        case ' ':
        case 'a':
            if (space) {
                if (in_token)
                    ok = argv_add(&argv, &argc, tok, len);
                in_token = false;
                len = 0;
                state = ' ';
            } else if (c == '\\') {
                back = 'a';
                state = '\\';
                in_token = true;
            } else if (c == '\'' || c == '"') {
                state = c;
                in_token = true;
            } else {
                ok = tok_add(&tok, &len, &cap, c);
                in_token = true;
                state = 'a';
            }
            break;
        case '\'':
            if (c == '\'')
                state = 'a';
            else
                ok = tok_add(&tok, &len, &cap, c);
            break;
        case '"':
            if (c == '"')
                state = 'a';
            else if (c == '\\')
                back = '"', state = '\\';
            else
                ok = tok_add(&tok, &len, &cap, c);
            break;
        case '\\':
            /* inside "..." only \" and \\ are escapes; \x stays \x */
            if (back == '"' && c != '"' && c != '\\')
                ok = tok_add(&tok, &len, &cap, '\\');
            ok = ok && tok_add(&tok, &len, &cap, c);
            state = back;
            break;
        }
    }
    if (ok && (state == '\'' || state == '"' || state == '\\')) {
        seterr(err, errlen, state == '\\' ? "No escaped character" : "No closing quotation");
        free(tok);
        cg_cli_split_free(argv);
        return CG_ERR;
    }
    if (ok && in_token)
        ok = argv_add(&argv, &argc, tok, len);
    if (ok && !argv)
        ok = (argv = calloc(1, sizeof *argv)) != NULL;
    free(tok);
    if (!ok) {
        seterr(err, errlen, "out of memory");
        cg_cli_split_free(argv);
        return CG_ERR;
    }
    *argv_out = argv;
    *argc_out = argc;
    return CG_OK;
}
