/* bad_cases.h - the table of malformed requests, each with the status and
 * message gunicorn 26 answers it with, shared by test_badinput.c (sync) and
 * test_http11.c (both worker classes). */
#ifndef CG_BAD_CASES_H
#define CG_BAD_CASES_H

#include <stddef.h>

/* Table-driven: one request, one status, one message. */
typedef struct {
    const char *name;
    const char *extra[5]; /* server arguments */
    const char *raw;      /* NULL: built by build() */
    char *(*build)(size_t *len);
    int status;
    const char *detail; /* str(exc), as logged; NULL = don't check the text */
} bad_case;

#define CG_NBAD_MAX 64 /* the table holds at most this many */

extern const bad_case cg_bad_cases[];
extern const size_t cg_nbad_cases;

/* A request line of exactly linelen bytes (without CRLF), and a header line
 * "X-Pad: ppp..." of linelen bytes: malloc'd requests, *len set. */
char *line_of(size_t linelen, size_t *len);
char *field_of(size_t linelen, size_t *len);
/* A GET request with count headers in all. */
char *headers(int count, size_t *len);

/* Python's html.escape(s, quote=True) into out (how gunicorn's error page
 * shows the message). */
void html_escape(const char *s, char *out, size_t cap);

#endif
