/* proctitle.c - process titles, the way setproctitle does it on Linux:
 * overwrite the contiguous argv+environ block that /proc/PID/cmdline shows. */
#include "proctitle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

extern char **environ;

static char *title_start; /* first byte of argv[0] */
static size_t title_cap;  /* bytes up to the end of the last contiguous string */

char **cg_proctitle_init(int argc, char **argv)
{
    char **copy = calloc((size_t)argc + 1, sizeof(char *));
    char *end;
    size_t n = 0;

    if (copy == NULL)
        return argv;
    for (int i = 0; i < argc; i++)
        copy[i] = strdup(argv[i]);
    if (argc == 0)
        return copy;
    /* the block is contiguous: argv strings, then environ strings */
    end = argv[0] + strlen(argv[0]) + 1;
    for (int i = 1; i < argc && argv[i] == end; i++)
        end = argv[i] + strlen(argv[i]) + 1;
    while (environ[n])
        n++;
    char **env = calloc(n + 1, sizeof(char *));
    if (env == NULL)
        return copy;
    for (size_t i = 0; i < n; i++) {
        if (environ[i] == end)
            end = environ[i] + strlen(environ[i]) + 1;
        env[i] = strdup(environ[i]);
    }
    environ = env;
    title_start = argv[0];
    title_cap = (size_t)(end - argv[0]);
    return copy;
}

void cg_proctitle_set(const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    prctl(PR_SET_NAME, buf, 0, 0, 0);
    if (title_start == NULL || title_cap < 2)
        return;
    size_t n = strlen(buf);
    if (n >= title_cap)
        n = title_cap - 1;
    memcpy(title_start, buf, n);
    memset(title_start + n, 0, title_cap - n);
}
