/* harness.c - see harness.h. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SERVERS 64
static srv_t *running[MAX_SERVERS];
static int log_seq;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void kill_all(void)
{
    for (int i = 0; i < MAX_SERVERS; i++)
        if (running[i]) {
            kill(-running[i]->pid, SIGKILL);
            kill(running[i]->pid, SIGKILL);
        }
}

const char *h_path(char *buf, size_t cap, const char *rel)
{
    const char *root = getenv("CG_ROOT");
    snprintf(buf, cap, "%s/%s", root ? root : ".", rel);
    return buf;
}

int h_free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static const char *binary(void)
{
    const char *b = getenv("CG_BIN");
    return b ? b : "build/asan/cgunicorn-top";
}

static const char *worker_args(void)
{
    const char *a = getenv("CG_TEST_WORKER_ARGS");
    return a ? a : "";
}

const char *h_worker_class(void)
{
    static char cls[64];
    char buf[512];
    const char *k = NULL;

    snprintf(buf, sizeof(buf), "%s", worker_args());
    for (char *save = NULL, *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if ((strcmp(w, "-k") == 0 || strcmp(w, "--worker-class") == 0) &&
            (w = strtok_r(NULL, " \t", &save)) != NULL)
            k = w;
        else if (strncmp(w, "--worker-class=", 15) == 0)
            k = w + 15;
    }
    snprintf(cls, sizeof(cls), "%s", k ? k : "");
    return cls;
}

bool h_green(void)
{
    const char *k = h_worker_class();
    return strncmp(k, "gevent", 6) == 0 || strcmp(k, "eventlet") == 0;
}

/* Does the file at path name a green worker class? */
static bool file_mentions_green(const char *path)
{
    char buf[8192];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

    if (f)
        fclose(f);
    buf[n] = '\0';
    return strstr(buf, "gevent") || strstr(buf, "eventlet");
}

/* Fork and exec the binary with argv ({port} expanded) in cwd. */
static pid_t spawn(const char *cwd, const char *const *argv, int port, const char *logpath,
                   const char *name)
{
    char *args[128];
    bool owned[128] = {false};
    char portbuf[16], appsdir[512];
    int n = 0;

    snprintf(portbuf, sizeof(portbuf), "%d", port);
    args[n++] = (char *)name;
    for (int i = 0; argv[i] && n < 100; i++) {
        const char *p = strstr(argv[i], "{port}");
        if (p) {
            char *s = malloc(strlen(argv[i]) + 16);
            sprintf(s, "%.*s%s%s", (int)(p - argv[i]), argv[i], portbuf, p + 6);
            owned[n] = true;
            args[n++] = s;
        } else {
            args[n++] = (char *)argv[i];
        }
    }
    /* $CG_TEST_WORKER_ARGS last: later flags win (argparse) */
    char extra[512];
    snprintf(extra, sizeof(extra), "%s", worker_args());
    for (char *save = NULL, *w = strtok_r(extra, " \t", &save); w && n < 126;
         w = strtok_r(NULL, " \t", &save))
        args[n++] = w;
    args[n] = NULL;
    if (cwd == NULL)
        cwd = h_path(appsdir, sizeof(appsdir), "tests/integration/apps");
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
        setpgid(0, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        if (chdir(cwd) != 0)
            _exit(126);
        /* greenlets copy stack slices with memcpy, across ASan's redzones
         * (see src/green.c): no memcpy checks for a gevent/eventlet server,
         * asked for on the command line or in a -c file */
        for (int i = 1; args[i]; i++)
            if (strstr(args[i], "gevent") || strstr(args[i], "eventlet") ||
                (strcmp(args[i - 1], "-c") == 0 && file_mentions_green(args[i]))) {
                char opts[1024];
                const char *cur = getenv("ASAN_OPTIONS");
                snprintf(opts, sizeof(opts), "%s%sreplace_intrin=0", cur ? cur : "",
                         cur && *cur ? ":" : "");
                setenv("ASAN_OPTIONS", opts, 1);
                break;
            }
        /* argv[0] decides the mode: the symlink name "cgunicorn" is headless */
        char bin[1024];
        snprintf(bin, sizeof(bin), "%s", binary());
        char *slash = strrchr(bin, '/');
        if (strcmp(name, "cgunicorn") == 0 && slash) {
            snprintf(slash + 1, sizeof(bin) - (size_t)(slash + 1 - bin), "cgunicorn");
        }
        execv(bin, args);
        _exit(127);
    }
    for (int i = 0; i < n; i++)
        if (owned[i])
            free(args[i]);
    return pid;
}

srv_t *h_start(const char *cwd, const char *const *argv)
{
    srv_t *s = calloc(1, sizeof(*s));
    static bool registered;

    if (!registered) {
        atexit(kill_all);
        registered = true;
    }
    s->port = h_free_port();
    snprintf(s->log, sizeof(s->log), "/tmp/cg-test-%d-%d.log", (int)getpid(), log_seq++);
    s->pid = spawn(cwd, argv, s->port, s->log, "cgunicorn");
    for (int i = 0; i < MAX_SERVERS; i++)
        if (!running[i]) {
            running[i] = s;
            break;
        }
    return s;
}

static bool port_open(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

srv_t *h_start_ready(const char *cwd, const char *const *argv, int timeout_ms)
{
    srv_t *s = h_start(cwd, argv);
    long long end = now_ms() + timeout_ms;

    while (now_ms() < end) {
        if (port_open(s->port) && h_log_count(s, "Booting worker") > 0)
            return s;
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            char *log = h_log(s);
            fprintf(stderr, "server exited early; log:\n%s\n", log ? log : "");
            free(log);
            s->pid = -1;
            h_stop(s);
            return NULL;
        }
        usleep(20000);
    }
    char *log = h_log(s);
    fprintf(stderr, "server not ready on port %d; log:\n%s\n", s->port, log ? log : "");
    free(log);
    h_stop(s);
    return NULL;
}

int h_wait_exit(srv_t *s, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    int st;

    if (s->pid <= 0)
        return -1;
    while (now_ms() < end) {
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid) {
            s->pid = -1;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        usleep(10000);
    }
    return -1;
}

void h_signal(srv_t *s, int sig)
{
    if (s->pid > 0)
        kill(s->pid, sig);
}

bool h_sanitizer_report(const char *log)
{
    return log && (strstr(log, "ERROR: AddressSanitizer") || strstr(log, "runtime error:") ||
                   strstr(log, "ERROR: LeakSanitizer"));
}

bool h_server_dirty(srv_t *s)
{
    char *log = s ? h_log(s) : NULL;
    bool bad = h_sanitizer_report(log);
    if (bad)
        fprintf(stderr, "sanitizer report in %s:\n%s\n", s->log, log);
    free(log);
    return bad;
}

int h_stop_checked(srv_t *s)
{
    int rc = h_server_dirty(s) ? -1 : 0;
    h_stop(s);
    return rc;
}

void h_stop(srv_t *s)
{
    if (s == NULL)
        return;
    if (s->pid > 0) {
        kill(-s->pid, SIGKILL);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    for (int i = 0; i < MAX_SERVERS; i++)
        if (running[i] == s)
            running[i] = NULL;
    unlink(s->log);
    free(s);
}

char *h_log(srv_t *s)
{
    FILE *f = fopen(s->log, "r");
    char *buf;
    long n;

    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    n = (long)fread(buf, 1, (size_t)n, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

int h_log_count(srv_t *s, const char *needle)
{
    char *log = h_log(s), *p;
    int n = 0;

    if (log == NULL)
        return 0;
    for (p = log; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(log);
    return n;
}

bool h_wait_log(srv_t *s, const char *needle, int count, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    do {
        if (h_log_count(s, needle) >= count)
            return true;
        usleep(20000);
    } while (now_ms() < end);
    return false;
}

/* buf[0..len) is one or more whole HTTP responses, and nothing more. */
bool h_whole_responses(const char *buf, size_t len)
{
    size_t pos = 0;
    if (len == 0)
        return false;
    while (pos < len) {
        const char *end = memmem(buf + pos, len - pos, "\r\n\r\n", 4);
        int status = 0;
        if (end == NULL || sscanf(buf + pos, "HTTP/1.%*d %d", &status) != 1)
            return false;
        size_t hlen = (size_t)(end - (buf + pos)) + 4;
        char head[8192];
        snprintf(head, sizeof(head), "%.*s", (int)hlen, buf + pos);
        for (char *c = head; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        pos += hlen;
        if (status < 200 || status == 204 || status == 304)
            continue; /* 1xx and bodiless answers */
        const char *cl = strstr(head, "\r\ncontent-length:");
        if (strstr(head, "\r\ntransfer-encoding:") && strstr(head, "chunked")) {
            for (;;) {
                const char *eol = memmem(buf + pos, len - pos, "\r\n", 2);
                if (eol == NULL)
                    return false;
                unsigned long long n = strtoull(buf + pos, NULL, 16);
                pos = (size_t)(eol - buf) + 2;
                if (n == 0) {
                    /* trailers, then an empty line */
                    for (;;) {
                        eol = memmem(buf + pos, len - pos, "\r\n", 2);
                        if (eol == NULL)
                            return false;
                        bool empty = eol == buf + pos;
                        pos = (size_t)(eol - buf) + 2;
                        if (empty)
                            break;
                    }
                    break;
                }
                if (n + 2 > len - pos)
                    return false;
                pos += (size_t)n + 2;
            }
        } else if (cl) {
            unsigned long long n = strtoull(cl + 17, NULL, 10);
            if (n > len - pos)
                return false;
            pos += (size_t)n;
        } else {
            return false; /* delimited by the close */
        }
    }
    return pos == len;
}

size_t h_read_until_close(int fd, char *out, size_t cap, int timeout_ms)
{
    size_t len = 0;
    long long end = now_ms() + timeout_ms;
    bool green = h_green();

    while (len + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long long left = end - now_ms();
        if (green && left > 300 && h_whole_responses(out, len))
            left = 300; /* a kept-alive connection: the answer is whole */
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t r = recv(fd, out + len, cap - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    out[len] = '\0';
    return len;
}

size_t h_read_and_close(int fd, char *out, size_t cap, int timeout_ms)
{
    size_t len = h_read_until_close(fd, out, cap, timeout_ms);
    close(fd);
    return len;
}

int h_http(int port, const char *raw, size_t rawlen, char *out, size_t cap, int timeout_ms)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    for (size_t off = 0; off < rawlen;) {
        ssize_t w = send(fd, raw + off, rawlen - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    size_t len = h_read_until_close(fd, out, cap, timeout_ms);
    close(fd);
    return (int)len;
}

int h_get(int port, const char *path, char *body, size_t cap)
{
    char req[1024], resp[65536];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: cg-test\r\n"
                     "Connection: close\r\n\r\n",
                     path, port);
    if (h_http(port, req, (size_t)n, resp, sizeof(resp), 10000) <= 0)
        return -1;
    int status = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    if (body) {
        char *b = strstr(resp, "\r\n\r\n");
        snprintf(body, cap, "%s", b ? b + 4 : "");
    }
    return status;
}

int h_run(const char *cwd, const char *const *argv, char *out, size_t cap, int timeout_ms)
{
    char logpath[256];
    srv_t s = {0};
    int rc;

    snprintf(logpath, sizeof(logpath), "/tmp/cg-run-%d-%d.log", (int)getpid(), log_seq++);
    s.pid = spawn(cwd, argv, h_free_port(), logpath, "cgunicorn");
    snprintf(s.log, sizeof(s.log), "%s", logpath);
    rc = h_wait_exit(&s, timeout_ms);
    if (rc < 0) {
        kill(-s.pid, SIGKILL);
        kill(s.pid, SIGKILL);
        waitpid(s.pid, NULL, 0);
    }
    char *log = h_log(&s);
    snprintf(out, cap, "%s", log ? log : "");
    free(log);
    unlink(logpath);
    return rc;
}

int h_children(pid_t master, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL && n < max) {
        char path[300], buf[512];
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        if (fgets(buf, sizeof(buf), f)) {
            char *rp = strrchr(buf, ')');
            int ppid = 0;
            char state;
            if (rp && sscanf(rp + 2, "%c %d", &state, &ppid) == 2 && ppid == master && state != 'Z')
                out[n++] = pid;
        }
        fclose(f);
    }
    closedir(d);
    return n;
}

bool h_wait_children(pid_t master, int n, pid_t *out, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    pid_t kids[64];
    do {
        if (h_children(master, kids, 64) == n) {
            if (out)
                memcpy(out, kids, sizeof(pid_t) * (size_t)n);
            return true;
        }
        usleep(20000);
    } while (now_ms() < end);
    return false;
}

static pid_t load_pid = -1;

void h_load_kill(void)
{
    if (load_pid > 0) {
        kill(load_pid, SIGKILL);
        waitpid(load_pid, NULL, 0);
    }
    load_pid = -1;
}

bool h_load_start(h_load_t *l, int port, const char *path, const char *want_body, int max_requests,
                  int max_ms)
{
    int ctl[2], res[2];
    h_load_kill();
    if (pipe(ctl) != 0)
        return false;
    if (pipe(res) != 0) {
        close(ctl[0]);
        close(ctl[1]);
        return false;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(ctl[0]);
        close(ctl[1]);
        close(res[0]);
        close(res[1]);
        return false;
    }
    if (pid == 0) {
        int counts[2] = {0, 0};
        long long end = now_ms() + max_ms;
        bool told = false;
        close(ctl[1]);
        close(res[0]);
        while ((max_requests <= 0 || counts[0] + counts[1] < max_requests) && now_ms() < end) {
            struct pollfd p = {.fd = ctl[0], .events = POLLIN};
            if (poll(&p, 1, 0) > 0)
                break;
            char body[256] = "";
            int st = h_get(port, path, body, sizeof(body));
            bool ok = st == 200 && (want_body == NULL || strcmp(body, want_body) == 0);
            counts[ok ? 0 : 1]++;
            if (!ok)
                fprintf(stderr, "load: %s got %d '%.60s'\n", path, st, body);
            if (!told && ok) {
                char b = 's';
                told = write(res[1], &b, 1) == 1;
            }
        }
        if (write(res[1], counts, sizeof(counts)) != sizeof(counts))
            _exit(1);
        _exit(0);
    }
    close(ctl[0]);
    close(res[1]);
    load_pid = l->pid = pid;
    l->ctl = ctl[1];
    l->res = res[0];
    /* wait for its first success: the load is really running */
    struct pollfd p = {.fd = l->res, .events = POLLIN};
    char b = 0;
    if (poll(&p, 1, 10000) == 1 && read(l->res, &b, 1) == 1 && b == 's')
        return true;
    close(l->ctl);
    close(l->res);
    h_load_kill();
    return false;
}

bool h_load_stop(h_load_t *l, int *ok, int *failed)
{
    int counts[2] = {-1, -1};
    size_t got = 0;
    close(l->ctl);
    while (got < sizeof(counts)) {
        struct pollfd p = {.fd = l->res, .events = POLLIN};
        if (poll(&p, 1, 15000) != 1)
            break;
        ssize_t r = read(l->res, (char *)counts + got, sizeof(counts) - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(l->res);
    if (load_pid == l->pid) {
        waitpid(l->pid, NULL, 0);
        load_pid = -1;
    }
    *ok = counts[0];
    *failed = counts[1];
    return got == sizeof(counts);
}

bool h_pid_gone(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return true;
    bool gone = false;
    if (fgets(buf, sizeof(buf), f)) {
        char *rp = strrchr(buf, ')');
        gone = rp && (rp[2] == 'Z' || rp[2] == 'X');
    }
    fclose(f);
    return gone;
}

bool h_wait_gone(pid_t pid, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    do {
        if (h_pid_gone(pid))
            return true;
        usleep(10000);
    } while (now_ms() < end);
    return false;
}

size_t h_select_tests(struct CMUnitTest *tests, size_t n)
{
    const char *only = getenv("CG_TEST_ONLY");
    size_t kept = 0;

    if (only == NULL || only[0] == '\0')
        return n;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(tests[i].name);
        bool found = false;
        for (const char *p = only; (p = strstr(p, tests[i].name)) != NULL; p += len)
            if ((p == only || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0')) {
                found = true;
                break;
            }
        if (found)
            tests[kept++] = tests[i];
        else
            fprintf(stderr, "left out (CG_TEST_ONLY): %s\n", tests[i].name);
    }
    return kept;
}
