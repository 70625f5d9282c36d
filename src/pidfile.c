/* pidfile.c - the master's pid file. */
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

pid_t cg_pidfile_read(const char *path)
{
    char buf[32];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    long v = strtol(buf, NULL, 10);
    return v > 0 ? (pid_t)v : 0;
}

int cg_pidfile_create(const char *path, pid_t pid, char *err, size_t errlen)
{
    char tmp[4096], line[32];
    pid_t old = cg_pidfile_read(path);
    int fd, n;

    if (old > 0 && old != pid && (kill(old, 0) == 0 || errno == EPERM)) {
        snprintf(err, errlen, "Already running on PID %d (or pid file '%s' is stale)", (int)old,
                 path);
        return -1;
    }
    snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)pid);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "Can't write pid file '%s': %s", path, strerror(errno));
        return -1;
    }
    fchmod(fd, 0644);
    n = snprintf(line, sizeof(line), "%d\n", (int)pid);
    if (write(fd, line, (size_t)n) != n || close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "Can't write pid file '%s': %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

void cg_pidfile_unlink(const char *path, pid_t pid)
{
    if (cg_pidfile_read(path) == pid)
        unlink(path);
}
