/* pidfile.h - `-p/--pid FILE`, as gunicorn's pidfile.Pidfile. */
#ifndef CG_PIDFILE_H
#define CG_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Write "PID\n" to path (temp file + rename, mode 0644).  If path already
 * names a live process other than pid, fail with err = "Already running on
 * PID N (or pid file 'F' is stale)".  A stale file is replaced. */
int cg_pidfile_create(const char *path, pid_t pid, char *err, size_t errlen);
/* Remove path if it still holds pid. */
void cg_pidfile_unlink(const char *path, pid_t pid);
/* The pid written in path, 0 if none or unreadable. */
pid_t cg_pidfile_read(const char *path);

#endif
