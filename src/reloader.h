/* reloader.h - `--reload`: restart a worker when a Python module it loaded
 * (or a --reload-extra-file) changes on disk, through inotify. */
#ifndef CG_RELOADER_H
#define CG_RELOADER_H

#include <stddef.h>

typedef struct cg_reloader cg_reloader_t;

/* A reloader watching nothing yet (NULL if inotify is unavailable). */
cg_reloader_t *cg_reloader_new(void);
void cg_reloader_free(cg_reloader_t *r);
/* The descriptor to poll for readability. */
int cg_reloader_fd(const cg_reloader_t *r);
/* Watch every file in sys.modules and the extra files/globs.  Needs the GIL;
 * cheap to call again (known files are skipped). */
void cg_reloader_scan(cg_reloader_t *r, const char *const *extra, size_t nextra);
/* After the fd polled readable: the path of a file that changed, or NULL
 * (the events were for nothing watched). */
const char *cg_reloader_changed(cg_reloader_t *r);

#endif
