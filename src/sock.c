/* sock.c - listening sockets. */
#include "sock.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cgunicorn/log.h"

/* Parse a port number; -1 if not a valid one. */
static int parse_port(const char *s)
{
    char *end;
    long v;

    if (*s == '\0')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v < 0 || v > 65535)
        return -1;
    return (int)v;
}

/* gunicorn's util.parse_address: unix:PATH, unix://PATH, fd://N, tcp://,
 * [v6]:port, host:port, host (port 8000), "" (0.0.0.0:8000). */
int cg_addr_parse(const char *text, cg_addr *out, char *err, size_t errlen)
{
    const char *p = text, *port = "8000";
    char hostbuf[256] = "", portbuf[16];
    size_t n;

    memset(out, 0, sizeof(*out));
    if (strncmp(p, "unix:", 5) == 0) {
        p += 5;
        if (strncmp(p, "//", 2) == 0)
            p += 2;
        if (strlen(p) >= sizeof(out->path) || *p == '\0') {
            snprintf(err, errlen, "%s is not a valid unix socket path.", text);
            return -1;
        }
        out->kind = CG_ADDR_UNIX;
        strcpy(out->path, p);
        return 0;
    }
    if (strncmp(p, "fd://", 5) == 0) {
        char *end;
        long fd;

        errno = 0;
        fd = strtol(p + 5, &end, 10);
        if (errno || end == p + 5 || *end != '\0' || fd < 0 || fd > 65535) {
            snprintf(err, errlen, "'%s' is not a valid file descriptor.", p + 5);
            return -1;
        }
        out->kind = CG_ADDR_FD;
        out->fd = (int)fd;
        return 0;
    }
    if (strncmp(p, "tcp://", 6) == 0)
        p += 6;
    out->kind = CG_ADDR_TCP;
    if (p[0] == '[' && strchr(p, ']') != NULL) {
        const char *close = strchr(p, ']');

        n = (size_t)(close - p - 1);
        if (n >= sizeof(hostbuf))
            goto badhost;
        memcpy(hostbuf, p + 1, n);
        hostbuf[n] = '\0';
        if (close[1] == ':')
            port = close + 2;
    } else if (strchr(p, ':') != NULL) {
        const char *colon = strchr(p, ':');
        const char *second = strchr(colon + 1, ':');

        n = (size_t)(colon - p);
        if (n >= sizeof(hostbuf))
            goto badhost;
        memcpy(hostbuf, p, n);
        hostbuf[n] = '\0';
        /* gunicorn keeps only the text between the first two colons */
        size_t pn = second ? (size_t)(second - colon - 1) : strlen(colon + 1);
        if (pn >= sizeof(portbuf)) {
            snprintf(err, errlen, "'%.*s' is not a valid port number.", (int)pn, colon + 1);
            return -1;
        }
        memcpy(portbuf, colon + 1, pn);
        portbuf[pn] = '\0';
        port = portbuf;
    } else if (*p == '\0') {
        strcpy(hostbuf, "0.0.0.0");
    } else {
        if (strlen(p) >= sizeof(hostbuf))
            goto badhost;
        strcpy(hostbuf, p);
    }
    out->port = parse_port(port);
    if (out->port < 0) {
        snprintf(err, errlen, "'%s' is not a valid port number.", port);
        return -1;
    }
    for (n = 0; hostbuf[n]; n++)
        out->host[n] = (char)tolower((unsigned char)hostbuf[n]);
    out->host[n] = '\0';
    return 0;
badhost:
    snprintf(err, errlen, "%s: host name too long", text);
    return -1;
}

/* Fill the names a listener is shown by, from its bound address. */
static void describe(cg_listener *l)
{
    /* workers poll, then accept without blocking: several share the socket */
    fcntl(l->fd, F_SETFL, fcntl(l->fd, F_GETFL) | O_NONBLOCK);

    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "";
    int port = 0;

    if (getsockname(l->fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
            port = ntohs(in->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
            port = ntohs(in6->sin6_port);
        } else if (ss.ss_family == AF_UNIX) {
            struct sockaddr_un *un = (struct sockaddr_un *)&ss;
            l->is_unix = true;
            if (l->addr.kind != CG_ADDR_UNIX) {
                size_t n = strnlen(un->sun_path, sizeof(l->addr.path) - 1);
                memcpy(l->addr.path, un->sun_path, n);
                l->addr.path[n] = '\0';
            }
        }
    }
    if (l->is_unix) {
        snprintf(l->url, sizeof(l->url), "unix:%s", l->addr.path);
        snprintf(l->name, sizeof(l->name), "%s", l->addr.path);
        /* gunicorn: a unix socket's "server" has no port; with http it is 80 */
        snprintf(l->server_name, sizeof(l->server_name), "%s", l->addr.path);
        snprintf(l->server_port, sizeof(l->server_port), "80");
        return;
    }
    if (ss.ss_family == AF_INET6)
        snprintf(l->url, sizeof(l->url), "http://[%s]:%d", host, port);
    else
        snprintf(l->url, sizeof(l->url), "http://%s:%d", host, port);
    snprintf(l->name, sizeof(l->name), "('%s', %d)", host, port);
    snprintf(l->server_name, sizeof(l->server_name), "%s", host);
    snprintf(l->server_port, sizeof(l->server_port), "%d", port);
}

/* One attempt to create a bound, listening socket; -1 with errno set. */
static int try_bind(const cg_addr *addr, int backlog, int umask_bits, bool reuse_port)
{
    int fd = -1, one = 1, rc = -1;

    if (addr->kind == CG_ADDR_UNIX) {
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        struct stat st;
        mode_t old;

        /* gunicorn removes a stale socket file before binding */
        if (stat(addr->path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(addr->path);
        strcpy(un.sun_path, addr->path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        old = umask((mode_t)umask_bits);
        rc = bind(fd, (struct sockaddr *)&un, sizeof(un));
        umask(old);
    } else {
        struct addrinfo hints = {0}, *res = NULL, *ai;
        char port[8];
        int gai;

        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        snprintf(port, sizeof(port), "%d", addr->port);
        gai = getaddrinfo(addr->host[0] ? addr->host : NULL, port, &hints, &res);
        if (gai != 0) {
            errno = EADDRNOTAVAIL;
            return -1;
        }
        for (ai = res; ai; ai = ai->ai_next) {
            fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0)
                continue;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (reuse_port)
                setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
            if (ai->ai_family == AF_INET6)
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            rc = bind(fd, ai->ai_addr, ai->ai_addrlen);
            if (rc == 0)
                break;
            int saved = errno;
            close(fd);
            fd = -1;
            errno = saved;
        }
        freeaddrinfo(res);
        if (fd < 0)
            return -1;
    }
    if (rc == 0)
        rc = listen(fd, backlog);
    if (rc != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int cg_listener_open(cg_listener *l, const cg_addr *addr, int backlog, int umask_bits,
                     bool reuse_port)
{
    memset(l, 0, sizeof(*l));
    l->addr = *addr;
    if (addr->kind == CG_ADDR_FD) {
        int type = 0;
        socklen_t tl = sizeof(type);

        if (getsockopt(addr->fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM) {
            cg_log(CG_LOG_ERROR, "fd://%d is not a listening stream socket", addr->fd);
            return -1;
        }
        l->fd = addr->fd;
        fcntl(l->fd, F_SETFD, FD_CLOEXEC);
        describe(l);
        return 0;
    }
    char shown[300];
    if (addr->kind == CG_ADDR_UNIX)
        snprintf(shown, sizeof(shown), "%s", addr->path);
    else
        snprintf(shown, sizeof(shown), "('%s', %d)", addr->host, addr->port);
    for (int i = 0; i < 5; i++) {
        l->fd = try_bind(addr, backlog, umask_bits, reuse_port);
        if (l->fd >= 0) {
            describe(l);
            return 0;
        }
        if (errno == EADDRINUSE)
            cg_log(CG_LOG_ERROR, "Connection in use: %s", shown);
        if (errno == EADDRNOTAVAIL)
            cg_log(CG_LOG_ERROR, "Invalid address: %s", shown);
        cg_log(CG_LOG_DEBUG, "connection to %s failed: %s", shown, strerror(errno));
        if (i < 4) {
            cg_log(CG_LOG_ERROR, "Retrying in 1 second.");
            sleep(1);
        }
    }
    cg_log(CG_LOG_ERROR, "Can't connect to %s", shown);
    return -1;
}

void cg_listener_close(cg_listener *l, bool unlink_path)
{
    if (l->fd >= 0)
        close(l->fd);
    if (unlink_path && l->addr.kind == CG_ADDR_UNIX)
        unlink(l->addr.path);
    l->fd = -1;
}

void cg_listeners_urls(const cg_listener *ls, size_t n, char *out, size_t outlen)
{
    size_t off = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && off < outlen; i++)
        off += (size_t)snprintf(out + off, outlen - off, "%s%s", i ? "," : "", ls[i].url);
}
