/* test_idle_conns.c - 10,000 idle keep-alive connections held open against
 * one gthread worker (-k gthread --threads 4 --worker-connections 11000
 * --keep-alive 60) while normal requests are still served quickly; the
 * worker's RSS is reported.  The open-files limit is raised to the hard
 * limit here and the server inherits it; skipped when the hard limit is too
 * low for 10,000 sockets on each side.  App: apps/http11apps.py:app. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NCONN 10000
#define BATCH 500

static srv_t *srv;
static int *fds;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int teardown(void **state)
{
    int rc = 0;
    (void)state;
    if (fds) {
        for (int i = 0; i < NCONN; i++)
            if (fds[i] >= 0) {
                struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* no TIME_WAIT pile */
                setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
                close(fds[i]);
            }
        free(fds);
        fds = NULL;
    }
    if (srv) {
        char *log = h_log(srv);
        if (log && (strstr(log, "ERROR: AddressSanitizer") || strstr(log, "runtime error:"))) {
            fprintf(stderr, "sanitizer report in the server's output:\n%s\n", log);
            rc = -1;
        }
        free(log);
    }
    h_stop(srv);
    srv = NULL;
    return rc;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static int open_fds(pid_t pid)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | wc -l", (int)pid);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

static int connect_to(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read one whole (small, Content-Length) response from fd into buf. */
static bool read_response(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t len = 0;
    long long end = now_ms() + timeout_ms;
    for (;;) {
        buf[len] = '\0';
        char *h = strstr(buf, "\r\n\r\n");
        char *cl = strstr(buf, "Content-Length: ");
        if (h && cl && len >= (size_t)(h + 4 - buf) + (size_t)atol(cl + 16))
            return true;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long long left = end - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) != 1)
            return false;
        ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r <= 0)
            return false;
        len += (size_t)r;
    }
}

/* A normal request on a new connection: its wall time in ms, -1 if it
 * failed. */
static long long timed_get(void)
{
    char resp[4096];
    const char *req = "GET /pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    long long t0 = now_ms();
    int n = h_http(srv->port, req, strlen(req), resp, sizeof(resp), 5000);
    return n > 0 && strncmp(resp, "HTTP/1.1 200 ", 13) == 0 ? now_ms() - t0 : -1;
}

static void test_ten_thousand_idle(void **state)
{
    (void)state;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    /* each side (this process, the worker) holds NCONN sockets */
    rlim_t need = NCONN + 1024;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        fprintf(stderr,
                "SKIPPED: the open-files hard limit is %lu; 10,000 idle connections need %lu "
                "(raise it with ulimit -Hn or limits.conf)\n",
                (unsigned long)rl.rlim_max, (unsigned long)need);
        skip();
    }
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? need * 2 : rl.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    fprintf(stderr, "open-files limit %lu (the server inherits it)\n", (unsigned long)rl.rlim_cur);

    const char *argv[] = {"-b",
                          "127.0.0.1:{port}",
                          "-k",
                          "gthread",
                          "--threads",
                          "4",
                          "--worker-connections",
                          "11000",
                          "--keep-alive",
                          "60",
                          "--backlog",
                          "4096",
                          "http11apps:app",
                          NULL};
    srv = h_start_ready(NULL, argv, 20000);
    assert_non_null(srv);
    pid_t kids[4];
    long long wait_end = now_ms() + 10000;
    while (h_children(srv->pid, kids, 4) != 1 && now_ms() < wait_end)
        usleep(20000);
    assert_int_equal(h_children(srv->pid, kids, 4), 1);
    pid_t worker = kids[0];
    assert_true(timed_get() >= 0);
    long rss0 = rss_kb(worker);

    /* open them in batches: connect, one request each, read the answers;
     * each is then an idle keep-alive connection */
    fds = malloc(NCONN * sizeof(int));
    assert_non_null(fds);
    for (int i = 0; i < NCONN; i++)
        fds[i] = -1;
    static const char req[] = "GET /pid HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[4096];
    long long t0 = now_ms();
    for (int b = 0; b < NCONN; b += BATCH) {
        for (int i = b; i < b + BATCH; i++) {
            fds[i] = connect_to(srv->port);
            if (fds[i] < 0)
                fprintf(stderr, "connection %d failed: %s\n", i, strerror(errno));
            assert_true(fds[i] >= 0);
            assert_int_equal(send(fds[i], req, sizeof(req) - 1, MSG_NOSIGNAL),
                             (ssize_t)sizeof(req) - 1);
        }
        for (int i = b; i < b + BATCH; i++) {
            if (!read_response(fds[i], buf, sizeof(buf), 20000))
                fprintf(stderr, "connection %d: no response\n", i);
            assert_true(strstr(buf, "Connection: keep-alive\r\n") != NULL);
        }
    }
    long long opened = now_ms() - t0;
    int server_fds = open_fds(worker);
    long rss1 = rss_kb(worker);
    fprintf(stderr, "%d keep-alive connections opened in %lld ms; the worker has %d fds open\n",
            NCONN, opened, server_fds);
    assert_true(server_fds >= NCONN);

    /* normal requests meanwhile */
    long long worst = 0;
    for (int i = 0; i < 20; i++) {
        long long ms = timed_get();
        assert_true(ms >= 0);
        if (ms > worst)
            worst = ms;
        usleep(50000);
    }
    fprintf(stderr, "20 normal requests with %d idle connections open: slowest %lld ms\n", NCONN,
            worst);
    assert_true(worst < 500);
    /* some of the idle ones, anywhere in the table, still answer */
    for (int i = 0; i < NCONN; i += 997) {
        long long s = now_ms();
        assert_int_equal(send(fds[i], req, sizeof(req) - 1, MSG_NOSIGNAL),
                         (ssize_t)sizeof(req) - 1);
        assert_true(read_response(fds[i], buf, sizeof(buf), 5000));
        assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
        assert_true(now_ms() - s < 500);
    }
    /* none was closed */
    sleep(1);
    int closed = 0;
    for (int i = 0; i < NCONN; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN | POLLRDHUP};
        if (poll(&p, 1, 0) != 0)
            closed++;
    }
    fprintf(stderr, "%d of %d idle connections closed by the server\n", closed, NCONN);
    assert_int_equal(closed, 0);
    long rss2 = rss_kb(worker);
    fprintf(stderr,
            "worker RSS: %ld kB idle, %ld kB with %d keep-alive connections (%.1f kB each), "
            "%ld kB after the normal requests\n",
            rss0, rss1, NCONN, (double)(rss1 - rss0) / NCONN, rss2);
    /* "reasonable": under 32 kB per idle connection, ASan included */
    assert_true(rss1 - rss0 < 32L * NCONN);

    /* all gone: the server frees them and keeps serving */
    for (int i = 0; i < NCONN; i++) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fds[i]);
        fds[i] = -1;
    }
    long long end = now_ms() + 5000;
    int left = open_fds(worker);
    while (left > 100 && now_ms() < end) {
        usleep(100000);
        left = open_fds(worker);
    }
    fprintf(stderr, "after the clients closed: the worker has %d fds open\n", left);
    assert_true(left <= 100);
    assert_true(timed_get() >= 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_ten_thousand_idle, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
