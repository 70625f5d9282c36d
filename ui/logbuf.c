/* logbuf.c - the log pane's memory: the tail of the scoreboard's log ring,
 * kept per log (access, error), filtered by a substring.  No curses here. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

int ui_logbuf_init(ui_logbuf *b, size_t cap)
{
    b->line = calloc(cap, sizeof(*b->line));
    b->cap = b->line ? cap : 0;
    b->total = 0;
    return b->line ? 0 : -1;
}

void ui_logbuf_free(ui_logbuf *b)
{
    free(b->line);
    b->line = NULL;
    b->cap = 0;
    b->total = 0;
}

/* Keep one line: control characters become spaces, so that nothing but
 * text reaches the terminal. */
void ui_logbuf_push(ui_logbuf *b, const char *text)
{
    char *dst;
    size_t i;

    if (b->cap == 0)
        return;
    dst = b->line[b->total % b->cap];
    for (i = 0; text[i] && i < UI_LOG_WIDTH - 1; i++) {
        unsigned char c = (unsigned char)text[i];
        dst[i] = (char)(c < 0x20 || c == 0x7f ? ' ' : c);
    }
    dst[i] = '\0';
    b->total++;
}

/* How many lines b holds. */
static size_t kept(const ui_logbuf *b)
{
    return b->total < b->cap ? (size_t)b->total : b->cap;
}

/* The i-th newest kept line (0 = the newest). */
static const char *newest(const ui_logbuf *b, size_t i)
{
    return b->line[(b->total - 1 - i) % b->cap];
}

/* Does line contain filter (case-insensitive; an empty filter matches)? */
static bool matches(const char *line, const char *filter)
{
    return filter == NULL || *filter == '\0' || strcasestr(line, filter) != NULL;
}

size_t ui_logbuf_count(const ui_logbuf *b, const char *filter, size_t k)
{
    size_t n = 0;

    if (k > kept(b))
        k = kept(b);
    for (size_t i = 0; i < k; i++)
        n += matches(newest(b, i), filter);
    return n;
}

size_t ui_logbuf_tail(const ui_logbuf *b, const char *filter, size_t skip, const char **out,
                      size_t max)
{
    size_t n = 0, k = kept(b);

    for (size_t i = 0; i < k && n < max; i++) {
        const char *l = newest(b, i);
        if (!matches(l, filter))
            continue;
        if (skip > 0) {
            skip--;
            continue;
        }
        out[n++] = l;
    }
    return n;
}

/* Push a ring line, one logbuf line per line of text (a traceback is one
 * record of several lines). */
static void push_lines(ui_logbuf *b, char *text)
{
    char *s = text, *nl;

    while ((nl = strchr(s, '\n')) != NULL) {
        *nl = '\0';
        ui_logbuf_push(b, s);
        s = nl + 1;
    }
    if (*s || s == text)
        ui_logbuf_push(b, s);
}

size_t ui_ringtail_pull(ui_ringtail *t, const cg_scoreboard_t *sb, ui_logbuf *acc, ui_logbuf *err)
{
    char buf[CG_SB_LINE + 1];
    uint64_t head;
    size_t moved = 0;
    bool access;

    if (sb == NULL)
        return 0;
    head = cg_sb_ring_head(sb);
    if (head < t->pos)
        t->pos = head;
    if (head - t->pos > (1u << 20)) { /* far behind: the old lines are gone anyway */
        t->lost += head - t->pos - 4096;
        t->pos = head - 4096;
    }
    while (t->pos < head) {
        if (cg_sb_ring_get(sb, t->pos, &access, buf, sizeof(buf))) {
            push_lines(access ? acc : err, buf);
            t->pos++;
            t->waits = 0;
            moved++;
            continue;
        }
        /* one of the last few lines may still be being written: try again
         * on the next tick, a few times; further back it was overwritten */
        if (head - t->pos <= 8 && t->waits < 4) {
            t->waits++;
            break;
        }
        t->lost++;
        t->pos++;
        t->waits = 0;
    }
    return moved;
}
