/* ipmatch.c - IPv4/IPv6 address and CIDR allow-lists (see ipmatch.h).
 *
 * Every entry is kept as a family, a prefix length and the network address
 * with its host bits zero; a lookup is a linear scan comparing the first
 * plen bits.  Lists are short (a handful of proxies), so nothing smarter is
 * needed.  Error texts are those of Python's ipaddress.ip_network, which
 * gunicorn's validate_string_to_addr_list calls on each entry. */
#include "ipmatch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest address or netmask text inet_pton may accept, with its NUL:
 * "0000:0000:0000:0000:0000:ffff:255.255.255.255" is 45 characters. */
#define ADDR_TEXT_MAX 64

typedef struct {
    uint8_t v6;   /* 0: IPv4 (addr[0..4)), 1: IPv6 */
    uint8_t plen; /* prefix length, <= 32 or <= 128 */
    uint8_t addr[16];
} entry;

struct cg_ipmatch {
    bool any; /* "*" was listed */
    size_t n;
    entry e[];
};

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Python's str.isspace() for ASCII: what str.strip() removes. */
static bool is_blank(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* Write into err[0..errlen) the text head + Python's repr() of s[0..n) +
 * tail; cut to fit, always NUL-terminated when errlen > 0. */
static void err_repr(char *err, size_t errlen, const char *head, const char *s, size_t n,
                     const char *tail)
{
    static const char hex[] = "0123456789abcdef";
    char q = '\'';
    size_t len = 0;

    if (err == NULL || errlen == 0)
        return;
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (len + 1 < errlen)                                                                      \
            err[len++] = (ch);                                                                     \
    } while (0)
    for (const char *h = head; *h; h++)
        PUT(*h);
    if (memchr(s, '\'', n) && !memchr(s, '"', n))
        q = '"';
    PUT(q);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == (unsigned char)q) {
            PUT('\\');
            PUT((char)c);
        } else if (c == '\t' || c == '\n' || c == '\r') {
            PUT('\\');
            PUT(c == '\t' ? 't' : c == '\n' ? 'n' : 'r');
        } else if (c < 0x20 || c == 0x7f) {
            PUT('\\');
            PUT('x');
            PUT(hex[c >> 4]);
            PUT(hex[c & 15]);
        } else {
            PUT((char)c); /* bytes >= 0x80 pass through: UTF-8 text stays text */
        }
    }
    PUT(q);
    for (const char *t = tail; *t; t++)
        PUT(*t);
#undef PUT
    err[len] = '\0';
}

/* Set the error for an entry that is no network, as ip_network words it. */
static void err_not_network(char *err, size_t errlen, const char *s, size_t n)
{
    err_repr(err, errlen, "", s, n, " does not appear to be an IPv4 or IPv6 network");
}

/* Parse s[0..n) as a decimal prefix length in [0, max]: ASCII digits only
 * (ipaddress allows leading zeros, so does this).  -1 when invalid. */
static int parse_plen(const char *s, size_t n, int max)
{
    int v = 0;

    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
        if (v > max)
            return -1;
    }
    return v;
}

/* Prefix length of an IPv4 netmask (255.255.0.0 -> 16) or, failing that, of
 * a hostmask (0.0.255.255 -> 16), as ipaddress's _prefix_from_ip_string
 * tries them.  -1 when the mask is neither. */
static int plen_from_mask(const uint8_t m[4])
{
    uint32_t v = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
    uint32_t inv = ~v;

    /* a netmask is ones then zeros: its complement plus one is a power of 2 */
    if ((inv & (inv + 1)) == 0)
        return 32 - __builtin_popcount(inv);
    if ((v & (v + 1)) == 0)
        return 32 - __builtin_popcount(v);
    return -1;
}

/* Zero the bits of a[] past the first plen; true if any was set. */
static bool clear_host_bits(uint8_t *a, size_t bytes, unsigned plen)
{
    bool had = false;

    for (size_t i = 0; i < bytes; i++) {
        unsigned keep = plen >= 8 * (i + 1) ? 8 : plen > 8 * i ? plen - 8 * (unsigned)i : 0;
        uint8_t mask = (uint8_t)(keep ? 0xff << (8 - keep) : 0);
        if (a[i] & ~mask)
            had = true;
        a[i] &= mask;
    }
    return had;
}

/* Parse one trimmed, non-empty, non-"*" entry s[0..n) into *e.  Returns
 * false with err set. */
static bool parse_entry(const char *s, size_t n, entry *e, char *err, size_t errlen)
{
    const char *slash = memchr(s, '/', n);
    size_t alen = slash ? (size_t)(slash - s) : n;
    char text[ADDR_TEXT_MAX];
    uint8_t orig[16];
    int plen;

    const char *zone = memchr(s, '%', alen);
    size_t tlen = zone ? (size_t)(zone - s) : alen;

    memset(e, 0, sizeof(*e));
    if (tlen == 0 || tlen >= sizeof(text))
        goto bad;
    /* An IPv6 zone ("fe80::1%eth0") is accepted and ignored, as ipaddress
     * does (it compares addresses without their scope): non-empty, no '%'. */
    if (zone && (zone + 1 == s + alen || memchr(zone + 1, '%', alen - tlen - 1)))
        goto bad;
    memcpy(text, s, tlen);
    text[tlen] = '\0';
    if (!zone && inet_pton(AF_INET, text, e->addr) == 1)
        e->v6 = 0;
    else if (inet_pton(AF_INET6, text, e->addr) == 1)
        e->v6 = 1;
    else
        goto bad;

    if (slash == NULL) {
        plen = e->v6 ? 128 : 32;
    } else {
        const char *p = slash + 1;
        size_t plen_n = n - alen - 1;

        plen = parse_plen(p, plen_n, e->v6 ? 128 : 32);
        if (plen < 0 && !e->v6 && plen_n > 0 && plen_n < sizeof(text)) {
            uint8_t mask[4];
            memcpy(text, p, plen_n);
            text[plen_n] = '\0';
            if (inet_pton(AF_INET, text, mask) == 1)
                plen = plen_from_mask(mask);
        }
        if (plen < 0)
            goto bad;
    }
    e->plen = (uint8_t)plen;

    memcpy(orig, e->addr, sizeof(orig));
    if (clear_host_bits(e->addr, e->v6 ? 16 : 4, (unsigned)plen)) {
        /* str(network) in the message: the address in canonical form, the
         * prefix as a length ("10.0.0.1/255.0.0.0" -> "10.0.0.1/8") */
        if (err && errlen) {
            if (inet_ntop(e->v6 ? AF_INET6 : AF_INET, orig, text, sizeof(text)) == NULL)
                text[0] = '\0';
            snprintf(err, errlen, "%s/%d has host bits set", text, plen);
        }
        return false;
    }

    /* A network inside ::ffff:0:0/96 is the IPv4 network it maps. */
    if (e->v6 && plen >= 96 && memcmp(e->addr, mapped_prefix, 12) == 0) {
        memmove(e->addr, e->addr + 12, 4);
        memset(e->addr + 4, 0, 12);
        e->v6 = 0;
        e->plen = (uint8_t)(plen - 96);
    }
    return true;

bad:
    err_not_network(err, errlen, s, n);
    return false;
}

cg_ipmatch *cg_ipmatch_new(const char *list, char *err, size_t errlen)
{
    size_t cap = 1;
    cg_ipmatch *m;

    if (err && errlen)
        err[0] = '\0';
    if (list == NULL)
        list = "";
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    if (cap > (SIZE_MAX - sizeof(*m)) / sizeof(entry)) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m = malloc(sizeof(*m) + cap * sizeof(entry));
    if (m == NULL) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->any = false;
    m->n = 0;

    for (const char *p = list;;) {
        const char *end = strchr(p, ',');
        const char *b = p, *q;

        if (end == NULL)
            end = p + strlen(p);
        q = end;
        while (b < q && is_blank((unsigned char)*b))
            b++;
        while (q > b && is_blank((unsigned char)q[-1]))
            q--;
        if (q - b == 1 && *b == '*') {
            m->any = true;
        } else if (q > b) {
            if (!parse_entry(b, (size_t)(q - b), &m->e[m->n], err, errlen)) {
                free(m);
                return NULL;
            }
            m->n++;
        }
        if (*end == '\0')
            break;
        p = end + 1;
    }
    return m;
}

void cg_ipmatch_free(cg_ipmatch *m)
{
    free(m);
}

bool cg_ipmatch_any(const cg_ipmatch *m)
{
    return m != NULL && m->any;
}

size_t cg_ipmatch_count(const cg_ipmatch *m)
{
    return m ? m->n : 0;
}

/* Whether an entry of family v6 holds the address a (4 or 16 bytes). */
static bool match_family(const cg_ipmatch *m, uint8_t v6, const uint8_t *a)
{
    for (size_t i = 0; i < m->n; i++) {
        const entry *e = &m->e[i];
        unsigned full, rest;

        if (e->v6 != v6)
            continue;
        full = e->plen / 8u;
        rest = e->plen % 8u;
        if (memcmp(e->addr, a, full) != 0)
            continue;
        if (rest && ((a[full] ^ e->addr[full]) & (uint8_t)(0xff << (8 - rest))) != 0)
            continue;
        return true;
    }
    return false;
}

/* Look up the IPv4 (4 bytes) or IPv6 (16 bytes) address a. */
static bool lookup(const cg_ipmatch *m, bool v6, const uint8_t *a)
{
    if (!v6)
        return match_family(m, 0, a);
    if (memcmp(a, mapped_prefix, 12) == 0 && match_family(m, 0, a + 12))
        return true;
    return match_family(m, 1, a);
}

bool cg_ipmatch_has(const cg_ipmatch *m, const char *addr_text)
{
    char text[ADDR_TEXT_MAX];
    uint8_t a[16];
    size_t n;
    const char *zone;

    if (m == NULL)
        return false;
    if (m->any)
        return true;
    if (addr_text == NULL)
        return false;
    zone = strchr(addr_text, '%');
    n = zone ? (size_t)(zone - addr_text) : strlen(addr_text);
    if (n >= sizeof(text) || (zone && (zone[1] == '\0' || strchr(zone + 1, '%'))))
        return false; /* ipaddress: a zone is non-empty and has no '%' */
    memcpy(text, addr_text, n);
    text[n] = '\0';
    if (zone == NULL && inet_pton(AF_INET, text, a) == 1)
        return lookup(m, false, a);
    if (inet_pton(AF_INET6, text, a) == 1)
        return lookup(m, true, a);
    return false;
}

/* The family of sa, or AF_UNSPEC when salen cannot hold it.  sa may be any
 * buffer (a sockaddr_storage, or bytes): read without alignment. */
static sa_family_t family_of(const struct sockaddr *sa, socklen_t salen)
{
    sa_family_t f;

    if (sa == NULL || salen < (socklen_t)(offsetof(struct sockaddr, sa_family) + sizeof(f)))
        return AF_UNSPEC;
    memcpy(&f, (const char *)sa + offsetof(struct sockaddr, sa_family), sizeof(f));
    return f;
}

bool cg_ipmatch_has_sockaddr(const cg_ipmatch *m, const struct sockaddr *sa, socklen_t salen)
{
    sa_family_t f = family_of(sa, salen);

    if (m == NULL)
        return false;
    if (m->any)
        return true;
    if (f == AF_INET && salen >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof(sin));
        return lookup(m, false, (const uint8_t *)&sin.sin_addr);
    }
    if (f == AF_INET6 && salen >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof(sin6));
        return lookup(m, true, sin6.sin6_addr.s6_addr);
    }
    return false;
}

bool cg_ipmatch_allows_peer(const cg_ipmatch *m, const struct sockaddr *sa, socklen_t salen)
{
    if (family_of(sa, salen) == AF_UNIX)
        return true;
    return cg_ipmatch_has_sockaddr(m, sa, salen);
}
