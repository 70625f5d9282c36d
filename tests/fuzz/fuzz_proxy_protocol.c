/* fuzz_proxy_protocol.c - libFuzzer target for src/proxy_protocol.c and
 * src/ipmatch.c (build with both; nothing else is needed).
 *
 * Input: byte 0 picks a split position and an error-buffer size, the rest is
 * the wire data.  The PROXY parser runs on the data in every mode, on a
 * prefix of it and with a small error buffer, and the results must agree
 * with each other and with cg_proxy_detect.  Then the bytes after a parsed
 * header (or all of them) become an allow-list for cg_ipmatch_new; when it
 * parses, every address it lists must match, in text and sockaddr form and
 * as an IPv4-mapped address.  Every buffer is a malloc of the exact size, so
 * ASan sees any over-read.  Invariants that would otherwise go unnoticed
 * abort().
 *
 * The entry point is cg_fuzz_proxy_protocol; LLVMFuzzerTestOneInput is a
 * weak alias for it, so this file links next to another fuzz target (as
 * test_fuzz_corpus does with every tests/fuzz/fuzz_*.c) without a clash. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipmatch.h"
#include "proxy_protocol.h"

int cg_fuzz_proxy_protocol(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ERRLEN 256

/* A copy of p[0..n) in a heap block of exactly n bytes (1 when n is 0). */
static char *dup_exact(const void *p, size_t n)
{
    char *b = malloc(n ? n : 1);

    if (b == NULL)
        abort();
    if (n)
        memcpy(b, p, n);
    return b;
}

/* s is NUL-terminated within cap bytes. */
static void check_str(const char *s, size_t cap)
{
    if (memchr(s, '\0', cap) == NULL)
        abort();
}

/* A parse result and its info are consistent with the input. */
static void check_result(const char *buf, size_t len, int mode, ssize_t r,
                         const cg_proxy_info *info, const char *err)
{
    unsigned char bin[16];
    int d = cg_proxy_detect(buf, len, mode);

    check_str(err, ERRLEN);
    if (r < CG_PROXY_INCOMPLETE || r > (ssize_t)len)
        abort();
    if (mode == CG_PROXY_OFF && r != 0)
        abort();
    if (r == CG_PROXY_INCOMPLETE && len >= CG_PROXY_MAX_HEADER)
        abort();
    if ((d == 0 && r != 0) || (d == CG_PROXY_INCOMPLETE && r != CG_PROXY_INCOMPLETE) ||
        (d > 0 && r == 0))
        abort();
    if (r == CG_PROXY_ERROR) {
        if (strncmp(err, "Invalid PROXY line: ", 20) != 0 &&
            strncmp(err, "Invalid PROXY header: ", 22) != 0)
            abort();
        return;
    }
    if (err[0] != '\0')
        abort();
    if (r <= 0)
        return;
    if (info->version != d || info->protocol == NULL)
        abort();
    check_str(info->client_addr, sizeof(info->client_addr));
    check_str(info->proxy_addr, sizeof(info->proxy_addr));
    if (info->version == 1 && (r > CG_PROXY_V1_MAX || buf[r - 2] != '\r' || buf[r - 1] != '\n' ||
                               memcmp(buf, "PROXY ", 6) != 0))
        abort();
    if (info->version == 2 && (r < 16 || r > CG_PROXY_MAX_HEADER))
        abort();
    if (info->local) {
        if (info->client_addr[0] || info->proxy_addr[0] || info->client_port || info->proxy_port)
            abort();
    } else {
        if (info->family != AF_INET && info->family != AF_INET6)
            abort();
        if (inet_pton(info->family, info->client_addr, bin) != 1 ||
            inet_pton(info->family, info->proxy_addr, bin) != 1)
            abort();
        if (strcmp(info->protocol, info->family == AF_INET ? "TCP4" : "TCP6") != 0)
            abort();
    }
}

/* has(text) and has_sockaddr agree for the IPv4/IPv6 address text (no
 * zone); returns has(text). */
static bool check_has(const cg_ipmatch *m, const char *text)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    bool h = cg_ipmatch_has(m, text);

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ss.ss_family = AF_INET;
        sl = sizeof(struct sockaddr_in);
    } else if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ss.ss_family = AF_INET6;
        sl = sizeof(struct sockaddr_in6);
    } else {
        return h;
    }
    if (cg_ipmatch_has_sockaddr(m, (struct sockaddr *)&ss, sl) != h)
        abort();
    if (cg_ipmatch_allows_peer(m, (struct sockaddr *)&ss, sl) != h)
        abort();
    return h;
}

/* Every address written in the list is matched by the list. */
static void check_list(const cg_ipmatch *m, const char *list)
{
    size_t entries = 1;

    for (const char *p = list; *p; p++)
        entries += *p == ',';
    if (cg_ipmatch_count(m) > entries)
        abort();
    if (cg_ipmatch_any(m) && !cg_ipmatch_has(m, "not an address"))
        abort();

    for (const char *p = list;;) {
        const char *end = strchr(p, ',');
        const char *b = p, *q, *slash, *zone;
        char text[128], mapped[160];
        size_t n;

        if (end == NULL)
            end = p + strlen(p);
        q = end;
        while (b < q && (*b == ' ' || (*b >= '\t' && *b <= '\r') || (*b >= 0x1c && *b <= 0x1f)))
            b++;
        slash = memchr(b, '/', (size_t)(q - b));
        n = (size_t)((slash ? slash : q) - b);
        while (n > 0 && !slash &&
               (b[n - 1] == ' ' || (b[n - 1] >= '\t' && b[n - 1] <= '\r') ||
                (b[n - 1] >= 0x1c && b[n - 1] <= 0x1f)))
            n--;
        if (n > 0 && n < sizeof(text) && !(n == 1 && *b == '*')) {
            memcpy(text, b, n);
            text[n] = '\0';
            /* the network address of a listed network (host bits are zero) */
            if (!cg_ipmatch_has(m, text))
                abort();
            zone = strchr(text, '%');
            if (zone)
                text[zone - text] = '\0';
            if (!check_has(m, text))
                abort();
            if (strchr(text, ':') == NULL) {
                snprintf(mapped, sizeof(mapped), "::ffff:%s", text);
                if (!check_has(m, mapped))
                    abort();
            }
        }
        if (*end == '\0')
            break;
        p = end + 1;
    }
}

/* Addresses made of the input bytes: text and sockaddr lookups agree. */
static void probe(const cg_ipmatch *m, const uint8_t *d, size_t n)
{
    char text[INET6_ADDRSTRLEN];
    unsigned char a[16] = {0};

    memcpy(a, d, n < 16 ? n : 16);
    inet_ntop(AF_INET, a, text, sizeof(text));
    check_has(m, text);
    inet_ntop(AF_INET6, a, text, sizeof(text));
    check_has(m, text);
    memmove(a + 12, a, 4); /* its first 4 bytes, mapped */
    memset(a, 0, 10);
    a[10] = a[11] = 0xff;
    inet_ntop(AF_INET6, a, text, sizeof(text));
    if (check_has(m, text + 7) && !check_has(m, text)) /* "::ffff:" + the IPv4 text */
        abort();
}

int cg_fuzz_proxy_protocol(const uint8_t *data, size_t size)
{
    static const int modes[] = {CG_PROXY_OFF, CG_PROXY_V1, CG_PROXY_V2, CG_PROXY_AUTO};
    cg_proxy_info info, pinfo;
    char err[ERRLEN], perr[ERRLEN];
    size_t n, split, rest_off = 0;
    char *buf;

    if (size < 1)
        return 0;
    n = size - 1;
    split = data[0] % (n + 1);
    buf = dup_exact(data + 1, n);

    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        ssize_t r = cg_proxy_parse(buf, n, modes[i], &info, err, sizeof(err));
        check_result(buf, n, modes[i], r, &info, err);

        /* a decided prefix is the final answer */
        {
            char *pre = dup_exact(buf, split);
            ssize_t pr = cg_proxy_parse(pre, split, modes[i], &pinfo, perr, sizeof(perr));
            check_result(pre, split, modes[i], pr, &pinfo, perr);
            if (pr != CG_PROXY_INCOMPLETE && pr != r)
                abort();
            if (pr > 0 && (strcmp(pinfo.client_addr, info.client_addr) != 0 ||
                           pinfo.client_port != info.client_port || pinfo.local != info.local))
                abort();
            free(pre);
        }

        /* a small error buffer changes nothing but the text */
        {
            size_t el = data[0] % 9;
            char small[9];
            memset(small, 'X', sizeof(small));
            if (cg_proxy_parse(buf, n, modes[i], &pinfo, el ? small : NULL, el) != r)
                abort();
            if (el && memchr(small, '\0', el) == NULL)
                abort();
            if (el < sizeof(small) && small[el] != 'X')
                abort();
        }
        if (modes[i] == CG_PROXY_AUTO && r > 0)
            rest_off = (size_t)r;
    }

    /* the rest as an allow-list */
    {
        size_t ln = n - rest_off;
        char *list = malloc(ln + 1);
        cg_ipmatch *m;

        if (list == NULL)
            abort();
        memcpy(list, buf + rest_off, ln);
        list[ln] = '\0';
        m = cg_ipmatch_new(list, err, sizeof(err));
        if (m == NULL) {
            check_str(err, sizeof(err));
            if (err[0] == '\0')
                abort();
        } else {
            check_list(m, list);
            probe(m, data, size);
            probe(m, (const uint8_t *)buf + rest_off, ln);
            if (rest_off && !info.local)
                check_has(m, info.client_addr);
            cg_ipmatch_free(m);
        }
        free(list);
    }
    free(buf);
    return 0;
}

__attribute__((weak)) int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return cg_fuzz_proxy_protocol(data, size);
}
