/* statsd.c - StatsD over UDP (or a unix datagram socket). */
#include "statsd.h"

#include "cgunicorn/log.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int sock = -1;
static char prefix[128];
static char tags[256];

void cg_statsd_increment(const char *name, long value);

/* gunicorn's Statsd logger counts warning, error, critical and exception
 * records. */
static void count_log_level(cg_log_level level, bool exception)
{
    cg_statsd_increment(exception                  ? "gunicorn.log.exception"
                        : level >= CG_LOG_CRITICAL ? "gunicorn.log.critical"
                        : level >= CG_LOG_ERROR    ? "gunicorn.log.error"
                                                   : "gunicorn.log.warning",
                        1);
}

int cg_statsd_open(const char *addr, const char *pfx, const char *tg, char *err, size_t errlen)
{
    if (sock >= 0)
        close(sock);
    sock = -1;
    if (strncmp(addr, "unix:", 5) == 0) {
        const char *path = addr + 5;
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        if (strncmp(path, "//", 2) == 0)
            path += 2;
        if (strlen(path) >= sizeof(un.sun_path)) {
            snprintf(err, errlen, "statsd socket path too long: %s", path);
            return -1;
        }
        memcpy(un.sun_path, path, strlen(path) + 1);
        sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (sock >= 0 && connect(sock, (struct sockaddr *)&un, sizeof(un)) != 0) {
            /* the receiver may come later; sends are simply dropped meanwhile */
        }
    } else {
        char host[256];
        const char *colon = strrchr(addr, ':');
        struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
        if (colon == NULL || (size_t)(colon - addr) >= sizeof(host)) {
            snprintf(err, errlen, "Invalid statsd host: %s", addr);
            return -1;
        }
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
        if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || res == NULL) {
            snprintf(err, errlen, "Invalid statsd host: %s", addr);
            return -1;
        }
        sock = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (sock >= 0 && connect(sock, res->ai_addr, res->ai_addrlen) != 0) {
            close(sock);
            sock = -1;
        }
        freeaddrinfo(res);
    }
    if (sock < 0) {
        snprintf(err, errlen, "Can't open the statsd socket for %s", addr);
        return -1;
    }
    /* gunicorn: a non-empty prefix ends with exactly one dot */
    size_t n = pfx ? strlen(pfx) : 0;
    while (n > 0 && pfx[n - 1] == '.')
        n--;
    snprintf(prefix, sizeof(prefix), "%.*s%s", (int)n, pfx ? pfx : "", n ? "." : "");
    snprintf(tags, sizeof(tags), "%s", tg ? tg : "");
    cg_log_set_level_counter(count_log_level);
    return 0;
}

bool cg_statsd_enabled(void)
{
    return sock >= 0;
}

/* Send one metric line ("name:value|type"), tags appended. */
static void send_metric(const char *fmt_name, const char *value_type)
{
    char msg[512];
    int n = snprintf(msg, sizeof(msg), "%s%s:%s%s%s", prefix, fmt_name, value_type,
                     tags[0] ? "|#" : "", tags);
    if (n > 0 && (size_t)n < sizeof(msg))
        (void)send(sock, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void cg_statsd_increment(const char *name, long value)
{
    char v[48];
    if (sock < 0)
        return;
    snprintf(v, sizeof(v), "%ld|c|@1.0", value);
    send_metric(name, v);
}

void cg_statsd_gauge(const char *name, long value)
{
    char v[48];
    if (sock < 0)
        return;
    snprintf(v, sizeof(v), "%ld|g", value);
    send_metric(name, v);
}

void cg_statsd_request(int status, double duration_ms)
{
    char v[48], name[64];
    if (sock < 0)
        return;
    /* gunicorn's order: duration, requests, status; the duration as
     * Python prints a float of whole microseconds (12.345, 3.0) */
    int n = snprintf(v, sizeof(v), "%.3f", duration_ms);
    while (n > 2 && v[n - 1] == '0' && v[n - 2] != '.')
        v[--n] = '\0';
    snprintf(v + n, sizeof(v) - (size_t)n, "|ms");
    send_metric("gunicorn.request.duration", v);
    cg_statsd_increment("gunicorn.requests", 1);
    snprintf(name, sizeof(name), "gunicorn.request.status.%d", status);
    cg_statsd_increment(name, 1);
}
