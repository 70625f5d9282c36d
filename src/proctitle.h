/* proctitle.h - process titles as setproctitle shows them in ps. */
#ifndef CG_PROCTITLE_H
#define CG_PROCTITLE_H

/* Take over the argv/environ memory so titles longer than the original
 * command line fit.  Moves environ to the heap; must run first in main(),
 * before anything caches environ pointers.  Returns a heap copy of argv
 * (NULL-terminated) for the caller to use from then on. */
char **cg_proctitle_init(int argc, char **argv);

/* Set the title shown by ps (and the 15-char comm name). */
void cg_proctitle_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
