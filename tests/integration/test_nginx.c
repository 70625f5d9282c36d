/* test_nginx.c - cgunicorn behind a real nginx (Debian's /usr/sbin/nginx,
 * installed by `make test` through scripts/deps.sh), as docs/OPERATIONS.md
 * tells an operator to run it: nginx listens on TCP and proxies to
 * cgunicorn's unix sockets.
 *
 * Two cgunicorn servers: the tutorial's Flask app (examples/app.py) on
 * cg.sock for "/", and apps/wsgiapps.py's echo on echo.sock for "/echo/"
 * and "/tls/" (the latter as behind a TLS-terminating nginx: it sends
 * X-Forwarded-Proto: https).  Unix-socket peers are trusted proxies, so
 * the forwarded scheme counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
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
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NGINX "/usr/sbin/nginx"
#define MAX_KIDS 16

static char tmpdir[128];
static srv_t *app_srv, *echo_srv;
static pid_t nginx_pid = -1;
static int nginx_port;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
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

static bool unix_open(const char *path)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(un.sun_path))
        return false;
    memcpy(un.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    bool ok = connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0;
    close(fd);
    return ok;
}

static const char *tmp_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
    return buf;
}

/* Start cgunicorn on unix:<tmpdir>/<sock> in cwd; wait until it listens. */
static srv_t *start_unix(const char *cwd, const char *sock, const char *app)
{
    char path[256], bind[300];
    tmp_path(path, sizeof(path), sock);
    snprintf(bind, sizeof(bind), "unix:%s", path);
    const char *argv[] = {"-w", "2", "-b", bind, app, NULL};
    srv_t *s = h_start(cwd, argv);
    long long end = now_ms() + 20000;
    int st = -1;
    while (now_ms() < end) {
        if (h_log_count(s, "Booting worker with pid") >= 2 && unix_open(path))
            return s;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = -1;
            break;
        }
        usleep(50000);
    }
    char *log = h_log(s);
    fprintf(stderr, "cgunicorn on %s did not start (wait status %d; 127<<8: exec failed):\n%s\n",
            path, st, log ? log : "");
    free(log);
    h_stop(s);
    return NULL;
}

/* Write nginx.conf for a proxy on 127.0.0.1:port to the two sockets. */
static void write_conf(const char *conf, int port)
{
    FILE *f = fopen(conf, "w");
    const char *d = tmpdir;
    assert_non_null(f);
    fprintf(f,
            "daemon off;\n"
            "master_process off;\n"
            "worker_processes 1;\n"
            "error_log %s/error.log info;\n"
            "pid %s/nginx.pid;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            "    access_log off;\n"
            "    client_body_temp_path %s/client_body;\n"
            "    proxy_temp_path %s/proxy;\n"
            "    fastcgi_temp_path %s/fastcgi;\n"
            "    uwsgi_temp_path %s/uwsgi;\n"
            "    scgi_temp_path %s/scgi;\n"
            "    upstream app { server unix:%s/cg.sock fail_timeout=0; }\n"
            "    upstream echo { server unix:%s/echo.sock fail_timeout=0; }\n"
            "    server {\n"
            "        listen 127.0.0.1:%d;\n"
            "        client_max_body_size 10m;\n"
            "        location / {\n"
            "            proxy_pass http://app;\n"
            "            proxy_set_header Host $host;\n"
            "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
            "            proxy_set_header X-Forwarded-Proto $scheme;\n"
            "        }\n"
            "        location /echo/ {\n"
            "            proxy_pass http://echo;\n"
            "            proxy_set_header Host $host;\n"
            "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
            "            proxy_set_header X-Forwarded-Proto $scheme;\n"
            "        }\n"
            "        location /tls/ {\n"
            "            proxy_pass http://echo;\n"
            "            proxy_set_header Host $host;\n"
            "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
            "            proxy_set_header X-Forwarded-Proto https;\n"
            "        }\n"
            "    }\n"
            "}\n",
            d, d, d, d, d, d, d, d, d, port);
    assert_int_equal(fclose(f), 0);
}

static pid_t start_nginx(int port)
{
    char conf[256], prefix[256], elog[256], out[256];
    tmp_path(conf, sizeof(conf), "nginx.conf");
    tmp_path(elog, sizeof(elog), "error.log");
    tmp_path(out, sizeof(out), "nginx.out");
    snprintf(prefix, sizeof(prefix), "%s/", tmpdir);
    write_conf(conf, port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        setpgid(0, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(NGINX, "nginx", "-e", elog, "-c", conf, "-p", prefix, (char *)NULL);
        _exit(127);
    }
    long long end = now_ms() + 10000;
    while (now_ms() < end) {
        if (port_open(port))
            return pid;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            break;
        usleep(20000);
    }
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "cat '%s' '%s' >&2", out, elog);
    if (system(cmd) != 0)
        fprintf(stderr, "(no nginx output)\n");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static int teardown(void **state);

/* Both servers and nginx; on failure, clean up here (cmocka does not run
 * the teardown of a failed setup). */
static int setup(void **state)
{
    if (access(NGINX, X_OK) != 0) {
        fprintf(stderr,
                "%s is missing: install Debian's nginx (apt-get install nginx-light; "
                "`make test` does it through scripts/deps.sh)\n",
                NGINX);
        return -1;
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cg-nginx-%d-XXXXXX", (int)getpid());
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    char examples[512];
    h_path(examples, sizeof(examples), "examples");
    app_srv = start_unix(examples, "cg.sock", "app:app");
    echo_srv = start_unix(NULL, "echo.sock", "wsgiapps:echo");
    if (app_srv && echo_srv) {
        nginx_port = h_free_port();
        nginx_pid = start_nginx(nginx_port);
        if (nginx_pid > 0)
            return 0;
    }
    teardown(state);
    return -1;
}

static int teardown(void **state)
{
    int rc = 0;
    (void)state;
    h_load_kill();
    if (nginx_pid > 0) {
        kill(nginx_pid, SIGQUIT); /* graceful */
        long long end = now_ms() + 5000;
        while (waitpid(nginx_pid, NULL, WNOHANG) != nginx_pid) {
            if (now_ms() > end) {
                kill(nginx_pid, SIGKILL);
                waitpid(nginx_pid, NULL, 0);
                rc = -1;
                break;
            }
            usleep(20000);
        }
        nginx_pid = -1;
    }
    srv_t *both[] = {app_srv, echo_srv};
    for (int i = 0; i < 2; i++) {
        if (both[i] == NULL)
            continue;
        h_signal(both[i], SIGTERM);
        if (h_wait_exit(both[i], 10000) != 0)
            rc = -1;
        if (h_server_dirty(both[i]))
            rc = -1;
        h_stop(both[i]);
    }
    app_srv = echo_srv = NULL;
    if (tmpdir[0]) {
        char path[256];
        /* the servers removed their sockets */
        if (access(tmp_path(path, sizeof(path), "cg.sock"), F_OK) == 0 ||
            access(tmp_path(path, sizeof(path), "echo.sock"), F_OK) == 0)
            rc = -1;
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            rc = -1;
        tmpdir[0] = '\0';
    }
    return rc;
}

/* Send raw to nginx; the status, the body in body (malloc'd, may be NULL). */
static int through_nginx(const char *raw, size_t len, char **body)
{
    size_t cap = 1 << 20;
    char *resp = malloc(cap);
    int status = -1;
    assert_non_null(resp);
    long long t0 = now_ms();
    int got = h_http(nginx_port, raw, len, resp, cap, 10000);
    if (got > 0)
        sscanf(resp, "HTTP/1.%*d %d", &status);
    if (status < 0) {
        char cmd[300];
        fprintf(stderr, "no answer from nginx (%d bytes after %lld ms); its error log:\n", got,
                now_ms() - t0);
        snprintf(cmd, sizeof(cmd), "cat '%s/error.log' >&2", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "(none)\n");
        char *log = h_log(echo_srv);
        fprintf(stderr, "the echo server's log:\n%s\n", log ? log : "");
        free(log);
    }
    if (body) {
        char *b = strstr(resp, "\r\n\r\n");
        *body = strdup(b ? b + 4 : "");
    }
    free(resp);
    return status;
}

static int get(const char *path, char **body)
{
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    return through_nginx(req, (size_t)n, body);
}

/* The tutorial's Flask app through nginx. */
static void test_flask_through_nginx(void **state)
{
    (void)state;
    char *body = NULL;
    assert_int_equal(get("/hello", &body), 200);
    assert_string_equal(body, "Hello World!");
    free(body);
    assert_int_equal(get("/", &body), 200);
    assert_string_equal(body, "nihao!");
    free(body);
    assert_int_equal(get("/nope", &body), 404);
    free(body);
    /* the app saw nginx's request, on cgunicorn's unix socket */
    assert_int_equal(h_log_count(app_srv, "Error"), 0);
}

/* A POST body (small, and one nginx buffers to its temp dir) round-trips;
 * nginx's forwarded headers reach the app. */
static void test_post_and_headers(void **state)
{
    (void)state;
    const char form[] = "name=cgunicorn&x=1";
    char req[1024], *body = NULL;
    int n = snprintf(req, sizeof(req),
                     "POST /echo/form?q=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     strlen(form), form);
    assert_int_equal(through_nginx(req, (size_t)n, &body), 200);
    assert_non_null(strstr(body, "\"body\": \"name=cgunicorn&x=1\""));
    assert_non_null(strstr(body, "\"REQUEST_METHOD\": \"POST\""));
    assert_non_null(strstr(body, "\"PATH_INFO\": \"/echo/form\""));
    assert_non_null(strstr(body, "\"QUERY_STRING\": \"q=1\""));
    assert_non_null(strstr(body, "\"CONTENT_TYPE\": \"application/x-www-form-urlencoded\""));
    assert_non_null(strstr(body, "\"HTTP_HOST\": \"127.0.0.1\""));
    assert_non_null(strstr(body, "\"HTTP_X_FORWARDED_FOR\": \"127.0.0.1\""));
    assert_non_null(strstr(body, "\"HTTP_X_FORWARDED_PROTO\": \"http\""));
    assert_non_null(strstr(body, "\"wsgi.url_scheme\": \"http\""));
    free(body);

    /* 300 kB: nginx spools it to client_body_temp_path first */
    size_t big = 300 * 1000;
    size_t cap = big + 512;
    char *raw = malloc(cap);
    assert_non_null(raw);
    int head = snprintf(raw, cap,
                        "POST /echo/big HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Content-Type: application/octet-stream\r\n"
                        "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                        big);
    for (size_t i = 0; i < big; i++)
        raw[head + (int)i] = (char)('a' + i % 26);
    assert_int_equal(through_nginx(raw, (size_t)head + big, &body), 200);
    char *b = strstr(body, "\"body\": \"");
    assert_non_null(b);
    b += 9;
    size_t got = 0;
    while (b[got] && b[got] != '"' && b[got] == (char)('a' + got % 26))
        got++;
    assert_int_equal(got, big);
    assert_int_equal(b[got], '"');
    free(body);
    free(raw);
}

/* X-Forwarded-Proto: https from the proxy (a unix-socket peer, trusted)
 * makes wsgi.url_scheme https. */
static void test_forwarded_proto_https(void **state)
{
    (void)state;
    char *body = NULL;
    assert_int_equal(get("/tls/x", &body), 200);
    assert_non_null(strstr(body, "\"HTTP_X_FORWARDED_PROTO\": \"https\""));
    assert_non_null(strstr(body, "\"wsgi.url_scheme\": \"https\""));
    free(body);
    /* a client's own header does not get through /echo/: nginx overwrites
     * it with $scheme */
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET /echo/y HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n"
                     "Connection: close\r\n\r\n");
    assert_int_equal(through_nginx(req, (size_t)n, &body), 200);
    assert_non_null(strstr(body, "\"wsgi.url_scheme\": \"http\""));
    free(body);
}

/* HUP to cgunicorn under load through nginx: the workers are replaced and
 * no request fails (nginx would answer 502 for one that did). */
static void test_hup_under_load(void **state)
{
    (void)state;
    pid_t old[MAX_KIDS], kids[MAX_KIDS];
    assert_int_equal(h_children(app_srv->pid, old, MAX_KIDS), 2);
    h_load_t l;
    assert_true(h_load_start(&l, nginx_port, "/hello", "Hello World!", 0, 30000));
    usleep(200000);
    h_signal(app_srv, SIGHUP);
    assert_true(h_wait_log(app_srv, "Hang up: Master", 1, 5000));
    assert_true(h_wait_log(app_srv, "Booting worker with pid", 4, 20000));
    long long end = now_ms() + 10000;
    int n = 0;
    while (now_ms() < end) {
        n = h_children(app_srv->pid, kids, MAX_KIDS);
        if (n == 2 && kids[0] != old[0] && kids[0] != old[1] && kids[1] != old[0] &&
            kids[1] != old[1])
            break;
        usleep(20000);
    }
    assert_int_equal(n, 2);
    usleep(300000); /* the new workers under load too */
    int ok, failed;
    assert_true(h_load_stop(&l, &ok, &failed));
    assert_true(ok > 0);
    assert_int_equal(failed, 0);
    assert_int_equal(h_log_count(app_srv, "was sent"), 0);
    char *body = NULL;
    assert_int_equal(get("/hello", &body), 200);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flask_through_nginx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_and_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forwarded_proto_https, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hup_under_load, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
