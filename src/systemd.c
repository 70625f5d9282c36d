/* systemd.c - the two sd_* protocols gunicorn speaks. */
#include "systemd.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SD_LISTEN_FDS_START 3

int cg_systemd_listen_fds(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    char *end;
    long n;

    if (pid == NULL || fds == NULL || strtol(pid, NULL, 10) != (long)getpid())
        return 0;
    n = strtol(fds, &end, 10);
    if (*end != '\0' || n <= 0 || n > 64)
        return 0;
    for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    return (int)n;
}

int cg_systemd_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    socklen_t len;
    int fd, rc;

    if (path == NULL || *path == '\0')
        return 1;
    size_t n = strlen(path);
    if (n >= sizeof(un.sun_path))
        return -1;
    memcpy(un.sun_path, path, n);
    if (un.sun_path[0] == '@')
        un.sun_path[0] = '\0'; /* abstract namespace */
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    rc = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&un, len) < 0 ? -1 : 0;
    close(fd);
    return rc;
}
