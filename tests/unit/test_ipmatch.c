/* test_ipmatch.c - cmocka tests for src/ipmatch.c.
 *
 * The "gunicorn" column of the membership table and the expected error
 * texts were produced with Python 3.11's ipaddress running gunicorn 26's
 * code (config.py validate_string_to_addr_list, message.py
 * _ip_in_allow_list), independently of the C code under test.  Rows where
 * cgunicorn answers differently say why (IPv4-mapped addresses, empty
 * entries). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ipmatch.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* A list that must parse. */
static cg_ipmatch *must_new(const char *list)
{
    char err[256];
    cg_ipmatch *m = cg_ipmatch_new(list, err, sizeof(err));

    if (m == NULL)
        fail_msg("cg_ipmatch_new(\"%s\") failed: %s", list, err);
    return m;
}

/* addr (IPv4 or IPv6 text) as a sockaddr_storage; returns its length. */
static socklen_t to_sockaddr(const char *addr, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(addr, ':') == NULL) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(1234);
        assert_int_equal(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
        return sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(1234);
        assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
        return sizeof(*sin6);
    }
}

/* ------------------------------------------------------------------ */
/* Membership                                                          */

typedef struct {
    const char *list;
    const char *addr;
    bool want;
    int gunicorn;  /* 1/0: what gunicorn 26 answers; -1: gunicorn rejects the list */
    bool sockaddr; /* addr is a plain address: cg_ipmatch_has_sockaddr must agree */
} mcase;

static const mcase member_cases[] = {
    /* the default list */
    {"127.0.0.1,::1", "127.0.0.1", true, 1, true},
    {"127.0.0.1,::1", "::1", true, 1, true},
    {"127.0.0.1,::1", "127.0.0.2", false, 0, true},
    {"127.0.0.1,::1", "::2", false, 0, true},
    {"127.0.0.1,::1", "0:0:0:0:0:0:0:1", true, 1, true},
    /* a dual-stack socket's IPv4 client: gunicorn does not match it */
    {"127.0.0.1,::1", "::ffff:127.0.0.1", true, 0, true},
    /* text that is no address */
    {"127.0.0.1,::1", "localhost", false, 0, false},
    {"127.0.0.1,::1", "", false, 0, false},
    {"127.0.0.1,::1", " 127.0.0.1", false, 0, false},
    {"127.0.0.1,::1", "127.0.0.1 ", false, 0, false},
    {"127.0.0.1,::1", "127.000.0.1", false, 0, false},
    /* CIDR */
    {"10.0.0.0/8, 192.168.1.0/24,fd00::/8", "10.255.255.255", true, 1, true},
    {"10.0.0.0/8, 192.168.1.0/24,fd00::/8", "10.0.0.0", true, 1, true},
    {"10.0.0.0/8, 192.168.1.0/24,fd00::/8", "11.0.0.0", false, 0, true},
    {"10.0.0.0/8, 192.168.1.0/24,fd00::/8", "9.255.255.255", false, 0, true},
    {"10.0.0.0/8, 192.168.1.0/24,fd00::/8", "192.168.1.77", true, 1, true},
    {"10.0.0.0/8, 192.168.1.0/24,fd00::/8", "192.168.2.1", false, 0, true},
    {"10.0.0.0/8, 192.168.1.0/24,fd00::/8", "fd12:3456::1", true, 1, true},
    {"10.0.0.0/8, 192.168.1.0/24,fd00::/8", "fe00::1", false, 0, true},
    {"10.0.0.0/8, 192.168.1.0/24,fd00::/8", "fc00::1", false, 0, true},
    {"10.0.0.0/8, 192.168.1.0/24,fd00::/8", "::ffff:10.1.2.3", true, 0, true},
    {"10.0.0.0/8, 192.168.1.0/24,fd00::/8", "::ffff:11.1.2.3", false, 0, true},
    {"10.0.0.0/8, 192.168.1.0/24,fd00::/8", "::10.1.2.3", false, 0, true}, /* compat, not mapped */
    {"10.0.0.0/8, 192.168.1.0/24,fd00::/8", "::ffff:a01:203", true, 0, true},
    /* "*" */
    {"*", "1.2.3.4", true, 1, true},
    {"*", "::", true, 1, true},
    {"*", "garbage", true, 1, false},
    {"10.0.0.1, *", "8.8.8.8", true, 1, true},
    /* empty lists; gunicorn rejects a blank entry between commas */
    {"", "127.0.0.1", false, 0, true},
    {" , ,", "127.0.0.1", false, -1, true},
    {",,", "::1", false, 0, true},
    /* whole families */
    {"0.0.0.0/0", "255.255.255.255", true, 1, true},
    {"0.0.0.0/0", "::1", false, 0, true},
    {"0.0.0.0/0", "::ffff:1.2.3.4", true, 0, true},
    {"::/0", "::1", true, 1, true},
    {"::/0", "1.2.3.4", false, 0, true},
    {"::/0", "::ffff:1.2.3.4", true, 1, true},
    {"::/64", "::ffff:1.2.3.4", true, 1, true},
    /* netmask and hostmask */
    {"192.168.0.0/255.255.0.0", "192.168.200.1", true, 1, true},
    {"192.168.0.0/255.255.0.0", "192.169.0.1", false, 0, true},
    {"192.168.0.0/0.0.255.255", "192.168.200.1", true, 1, true},
    {"192.168.0.0/0.0.255.255", "192.169.0.1", false, 0, true},
    {"0.0.0.0/0.0.0.0", "8.8.8.8", true, 1, true},
    {"8.8.8.8/255.255.255.255", "8.8.8.8", true, 1, true},
    {"10.1.0.0/016", "10.1.200.1", true, 1, true}, /* ipaddress allows leading zeros here */
    /* prefix boundaries */
    {"10.1.2.3/32", "10.1.2.3", true, 1, true},
    {"10.1.2.3/32", "10.1.2.4", false, 0, true},
    {"10.1.2.2/31", "10.1.2.3", true, 1, true},
    {"10.1.2.2/31", "10.1.2.4", false, 0, true},
    {"10.1.2.0/25", "10.1.2.127", true, 1, true},
    {"10.1.2.0/25", "10.1.2.128", false, 0, true},
    {"10.1.2.0/23", "10.1.3.255", true, 1, true},
    {"10.1.2.0/23", "10.1.4.0", false, 0, true},
    {"10.1.2.0/23", "10.1.2.0", true, 1, true},
    {"2001:db8::/33", "2001:db8:7fff::1", true, 1, true},
    {"2001:db8::/33", "2001:db8:8000::1", false, 0, true},
    {"2001:db8::1/128", "2001:DB8::1", true, 1, true},
    {"2001:db8::1/128", "2001:db8:0:0:0:0:0:1", true, 1, true},
    {"2001:db8::1/128", "2001:db8::2", false, 0, true},
    /* entries inside ::ffff:0:0/96 are IPv4 networks */
    {"::ffff:10.0.0.0/104", "10.9.9.9", true, 0, true},
    {"::ffff:10.0.0.0/104", "::ffff:10.9.9.9", true, 1, true},
    {"::ffff:10.0.0.0/104", "11.0.0.1", false, 0, true},
    {"::ffff:1.2.3.4", "1.2.3.4", true, 0, true},
    {"::ffff:1.2.3.4", "::ffff:1.2.3.4", true, 1, true},
    {"::ffff:0:0/96", "8.8.8.8", true, 0, true},
    {"::fffe:0:0/95", "8.8.8.8", false, 0, true},
    {"::fffe:0:0/95", "::ffff:8.8.8.8", true, 1, true},
    /* zones */
    {"fe80::1%eth0", "fe80::1", true, 1, true},
    {"fe80::/10", "fe80::1%eth0", true, 1, false},
    {"fe80::/10", "fe80::1%", false, 0, false},
    {"fe80::/10", "fe80::1%a%b", false, 0, false},
    {"127.0.0.1", "127.0.0.1%eth0", false, 0, false},
    /* blanks around entries (Python's str.strip() set) */
    {"\t127.0.0.1\n,\v::1 ", "::1", true, 1, true},
    {"\t127.0.0.1\n,\v::1 ", "127.0.0.1", true, 1, true},
    {" \f10.0.0.0/8\r ", "10.2.3.4", true, 1, true},
};

static void test_ipmatch_membership(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(member_cases) / sizeof(member_cases[0]); i++) {
        const mcase *c = &member_cases[i];
        cg_ipmatch *m = must_new(c->list);
        bool got = cg_ipmatch_has(m, c->addr);

        if (got != c->want)
            fail_msg("case %zu: has(\"%s\", \"%s\") = %d, want %d", i, c->list, c->addr, got,
                     c->want);
        /* never less than gunicorn trusts */
        if (c->gunicorn == 1)
            assert_true(got);
        if (c->sockaddr) {
            struct sockaddr_storage ss;
            socklen_t sl = to_sockaddr(c->addr, &ss);
            if (cg_ipmatch_has_sockaddr(m, (struct sockaddr *)&ss, sl) != c->want)
                fail_msg("case %zu: has_sockaddr(\"%s\", %s) != %d", i, c->list, c->addr, c->want);
            assert_int_equal(cg_ipmatch_allows_peer(m, (struct sockaddr *)&ss, sl), c->want);
        }
        cg_ipmatch_free(m);
    }
}

/* ------------------------------------------------------------------ */
/* Parse errors                                                        */

typedef struct {
    const char *list;
    const char *msg;
} ecase;

static const ecase error_cases[] = {
    {"10.0.0.300", "'10.0.0.300' does not appear to be an IPv4 or IPv6 network"},
    {"10.0.0.0/33", "'10.0.0.0/33' does not appear to be an IPv4 or IPv6 network"},
    {"10.0.0.1/8", "10.0.0.1/8 has host bits set"},
    {"10.0.0.1/255.0.0.0", "10.0.0.1/8 has host bits set"},
    {"fd00::1/8", "fd00::1/8 has host bits set"},
    {"::1/129", "'::1/129' does not appear to be an IPv4 or IPv6 network"},
    {"1.2.3.4/", "'1.2.3.4/' does not appear to be an IPv4 or IPv6 network"},
    {"/8", "'/8' does not appear to be an IPv4 or IPv6 network"},
    {"1.2.3.4/-1", "'1.2.3.4/-1' does not appear to be an IPv4 or IPv6 network"},
    {"1.2.3.4/+8", "'1.2.3.4/+8' does not appear to be an IPv4 or IPv6 network"},
    {"1.2.3.4/8/8", "'1.2.3.4/8/8' does not appear to be an IPv4 or IPv6 network"},
    {"localhost", "'localhost' does not appear to be an IPv4 or IPv6 network"},
    {"1.2.3.4 /8", "'1.2.3.4 /8' does not appear to be an IPv4 or IPv6 network"},
    {"01.2.3.4", "'01.2.3.4' does not appear to be an IPv4 or IPv6 network"},
    {"1.2.3.4/255.0.255.0", "'1.2.3.4/255.0.255.0' does not appear to be an IPv4 or IPv6 network"},
    {"1.2.3.4/ffff::", "'1.2.3.4/ffff::' does not appear to be an IPv4 or IPv6 network"},
    {"2001:db8::/ffff::", "'2001:db8::/ffff::' does not appear to be an IPv4 or IPv6 network"},
    {"it's", "\"it's\" does not appear to be an IPv4 or IPv6 network"},
    {"**", "'**' does not appear to be an IPv4 or IPv6 network"},
    {"1.2.3.4;5.6.7.8", "'1.2.3.4;5.6.7.8' does not appear to be an IPv4 or IPv6 network"},
    {"\t1.2.3.4\x01", "'1.2.3.4\\x01' does not appear to be an IPv4 or IPv6 network"},
    {"1.2.3.4%eth0", "'1.2.3.4%eth0' does not appear to be an IPv4 or IPv6 network"},
    {"fe80::1%", "'fe80::1%' does not appear to be an IPv4 or IPv6 network"},
    {"::1%a%b", "'::1%a%b' does not appear to be an IPv4 or IPv6 network"},
    {"1.2.3.4.", "'1.2.3.4.' does not appear to be an IPv4 or IPv6 network"},
    {"1.2.3.4/99999999999999999999", "'1.2.3.4/99999999999999999999' does not appear to be an "
                                     "IPv4 or IPv6 network"},
    /* the first bad entry is named, after good ones */
    {"127.0.0.1, ::1, 10.0.0.0/8, bogus, 10.0.0.1/8",
     "'bogus' does not appear to be an IPv4 or IPv6 network"},
    {"127.0.0.1,10.0.0.1/8,bogus", "10.0.0.1/8 has host bits set"},
    /* "*" only alone */
    {"* ,*x", "'*x' does not appear to be an IPv4 or IPv6 network"},
    /* cgunicorn's form: Python 3.11 prints ::ffff:102:304/8 */
    {"::ffff:1.2.3.4/8", "::ffff:1.2.3.4/8 has host bits set"},
};

static void test_ipmatch_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        char err[256];
        cg_ipmatch *m;

        memset(err, 'X', sizeof(err));
        m = cg_ipmatch_new(error_cases[i].list, err, sizeof(err));
        if (m != NULL)
            fail_msg("case %zu: \"%s\" parsed", i, error_cases[i].list);
        if (strcmp(err, error_cases[i].msg) != 0)
            fail_msg("case %zu\n got: %s\nwant: %s", i, err, error_cases[i].msg);
    }
}

/* The error text is cut to the buffer and always terminated; no buffer is
 * fine too. */
static void test_ipmatch_error_buffer(void **state)
{
    char err[16];

    (void)state;
    memset(err, 'X', sizeof(err));
    assert_null(cg_ipmatch_new("nonsense-entry-long", err, sizeof(err)));
    assert_int_equal(strlen(err), sizeof(err) - 1);
    assert_memory_equal(err, "'nonsense-entry-", 15);
    memset(err, 'X', sizeof(err));
    assert_null(cg_ipmatch_new("10.0.0.1/8", err, 5));
    assert_string_equal(err, "10.0");
    assert_int_equal(err[5], 'X');
    assert_null(cg_ipmatch_new("nonsense", err, 1));
    assert_string_equal(err, "");
    assert_null(cg_ipmatch_new("nonsense", NULL, 0));
    assert_null(cg_ipmatch_new("10.0.0.1/8", NULL, 0));
    /* success clears err */
    strcpy(err, "stale");
    cg_ipmatch *m = cg_ipmatch_new("::1", err, sizeof(err));
    assert_non_null(m);
    assert_string_equal(err, "");
    cg_ipmatch_free(m);
}

/* ------------------------------------------------------------------ */
/* any, count, NULL                                                    */

static void test_ipmatch_any_count(void **state)
{
    cg_ipmatch *m;

    (void)state;
    m = must_new("*");
    assert_true(cg_ipmatch_any(m));
    assert_int_equal(cg_ipmatch_count(m), 0);
    assert_true(cg_ipmatch_has(m, NULL)); /* any: the text is not even looked at */
    cg_ipmatch_free(m);

    m = must_new(" 127.0.0.1 , ::1 ");
    assert_false(cg_ipmatch_any(m));
    assert_int_equal(cg_ipmatch_count(m), 2);
    assert_false(cg_ipmatch_has(m, NULL));
    cg_ipmatch_free(m);

    m = must_new("10.0.0.0/8,*,::/0");
    assert_true(cg_ipmatch_any(m));
    assert_int_equal(cg_ipmatch_count(m), 2);
    cg_ipmatch_free(m);

    m = must_new(NULL);
    assert_false(cg_ipmatch_any(m));
    assert_int_equal(cg_ipmatch_count(m), 0);
    assert_false(cg_ipmatch_has(m, "127.0.0.1"));
    cg_ipmatch_free(m);

    m = must_new(",,,, ,\t,");
    assert_int_equal(cg_ipmatch_count(m), 0);
    cg_ipmatch_free(m);

    /* NULL object: nothing matches, nothing crashes */
    assert_false(cg_ipmatch_any(NULL));
    assert_int_equal(cg_ipmatch_count(NULL), 0);
    assert_false(cg_ipmatch_has(NULL, "127.0.0.1"));
    assert_false(cg_ipmatch_has_sockaddr(NULL, NULL, 0));
    cg_ipmatch_free(NULL);
}

/* Many entries: every one is found, its neighbours are not. */
static void test_ipmatch_many(void **state)
{
    char list[8192], addr[64];
    size_t len = 0;
    cg_ipmatch *m;

    (void)state;
    for (int i = 0; i < 200; i++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s10.%d.%d.0/24", i ? "," : "",
                                i / 50, (i % 50) * 2);
    m = must_new(list);
    assert_int_equal(cg_ipmatch_count(m), 200);
    for (int i = 0; i < 200; i++) {
        snprintf(addr, sizeof(addr), "10.%d.%d.255", i / 50, (i % 50) * 2);
        assert_true(cg_ipmatch_has(m, addr));
        snprintf(addr, sizeof(addr), "10.%d.%d.1", i / 50, (i % 50) * 2 + 1);
        assert_false(cg_ipmatch_has(m, addr));
    }
    cg_ipmatch_free(m);
}

/* ------------------------------------------------------------------ */
/* Socket addresses                                                    */

static void test_ipmatch_sockaddr(void **state)
{
    struct sockaddr_storage ss;
    struct sockaddr_un sun;
    socklen_t sl;
    cg_ipmatch *m = must_new("127.0.0.1,::1");
    cg_ipmatch *any = must_new("*");
    cg_ipmatch *none = must_new("");

    (void)state;
    /* mapped IPv6 peer of a dual-stack listener */
    sl = to_sockaddr("::ffff:127.0.0.1", &ss);
    assert_true(cg_ipmatch_has_sockaddr(m, (struct sockaddr *)&ss, sl));
    /* a length too short for the family is no address */
    assert_false(cg_ipmatch_has_sockaddr(m, (struct sockaddr *)&ss, sl - 1));
    assert_false(cg_ipmatch_has_sockaddr(m, (struct sockaddr *)&ss, 1));
    assert_false(cg_ipmatch_has_sockaddr(m, (struct sockaddr *)&ss, 0));
    sl = to_sockaddr("127.0.0.1", &ss);
    assert_true(cg_ipmatch_has_sockaddr(m, (struct sockaddr *)&ss, sl));
    assert_false(cg_ipmatch_has_sockaddr(m, (struct sockaddr *)&ss, sl - 1));
    assert_false(cg_ipmatch_has_sockaddr(none, (struct sockaddr *)&ss, sl));
    assert_false(cg_ipmatch_allows_peer(none, (struct sockaddr *)&ss, sl));
    assert_false(cg_ipmatch_has_sockaddr(m, NULL, sl));
    assert_false(cg_ipmatch_allows_peer(m, NULL, sl));

    /* unix-socket peers: no address, but trusted */
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    assert_false(cg_ipmatch_has_sockaddr(m, (struct sockaddr *)&sun, sizeof(sun)));
    assert_true(cg_ipmatch_allows_peer(m, (struct sockaddr *)&sun, sizeof(sun)));
    assert_true(cg_ipmatch_allows_peer(none, (struct sockaddr *)&sun, sizeof(sa_family_t)));
    assert_true(cg_ipmatch_has_sockaddr(any, (struct sockaddr *)&sun, sizeof(sun)));

    /* an unaligned copy is read correctly */
    {
        unsigned char raw[sizeof(struct sockaddr_in6) + 1];
        sl = to_sockaddr("::1", &ss);
        memcpy(raw + 1, &ss, sl);
        assert_true(cg_ipmatch_has_sockaddr(m, (const struct sockaddr *)(void *)(raw + 1), sl));
    }

    /* any: every family */
    ss.ss_family = AF_PACKET;
    assert_true(cg_ipmatch_has_sockaddr(any, (struct sockaddr *)&ss, sizeof(ss)));
    assert_false(cg_ipmatch_has_sockaddr(m, (struct sockaddr *)&ss, sizeof(ss)));

    cg_ipmatch_free(m);
    cg_ipmatch_free(any);
    cg_ipmatch_free(none);
}

/* Every IPv4 prefix length: the network's first and last address match,
 * the addresses just outside do not; mapped forms agree. */
static void test_ipmatch_all_prefixes(void **state)
{
    (void)state;
    for (int p = 0; p <= 32; p++) {
        uint32_t base = 0xC0A80000u; /* 192.168.0.0 */
        uint32_t mask = p ? 0xffffffffu << (32 - p) : 0;
        uint32_t net = base & mask, last = net | ~mask;
        char list[64], a[64];
        struct in_addr ia;
        cg_ipmatch *m;

        ia.s_addr = htonl(net);
        snprintf(list, sizeof(list), "%s/%d", inet_ntoa(ia), p);
        m = must_new(list);
        ia.s_addr = htonl(net);
        assert_true(cg_ipmatch_has(m, inet_ntoa(ia)));
        ia.s_addr = htonl(last);
        assert_true(cg_ipmatch_has(m, inet_ntoa(ia)));
        snprintf(a, sizeof(a), "::ffff:%s", inet_ntoa(ia));
        assert_true(cg_ipmatch_has(m, a));
        if (p > 0) {
            ia.s_addr = htonl(last + 1);
            if (last != 0xffffffffu)
                assert_false(cg_ipmatch_has(m, inet_ntoa(ia)));
            ia.s_addr = htonl(net - 1);
            if (net != 0)
                assert_false(cg_ipmatch_has(m, inet_ntoa(ia)));
        }
        cg_ipmatch_free(m);
    }
    for (int p = 0; p <= 128; p++) {
        unsigned char net[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff,
                                 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        unsigned char flip[16];
        char text[INET6_ADDRSTRLEN], list[80];
        cg_ipmatch *m;

        for (int b = p; b < 128; b++)
            net[b / 8] &= (unsigned char)~(0x80 >> (b % 8));
        inet_ntop(AF_INET6, net, text, sizeof(text));
        snprintf(list, sizeof(list), "%s/%d", text, p);
        m = must_new(list);
        assert_true(cg_ipmatch_has(m, text));
        if (p > 0) { /* flip the last bit of the prefix: outside */
            memcpy(flip, net, 16);
            flip[(p - 1) / 8] ^= (unsigned char)(0x80 >> ((p - 1) % 8));
            inet_ntop(AF_INET6, flip, text, sizeof(text));
            assert_false(cg_ipmatch_has(m, text));
        }
        if (p < 128) { /* flip the first host bit: inside */
            memcpy(flip, net, 16);
            flip[p / 8] ^= (unsigned char)(0x80 >> (p % 8));
            inet_ntop(AF_INET6, flip, text, sizeof(text));
            assert_true(cg_ipmatch_has(m, text));
        }
        cg_ipmatch_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipmatch_membership),   cmocka_unit_test(test_ipmatch_errors),
        cmocka_unit_test(test_ipmatch_error_buffer), cmocka_unit_test(test_ipmatch_any_count),
        cmocka_unit_test(test_ipmatch_many),         cmocka_unit_test(test_ipmatch_sockaddr),
        cmocka_unit_test(test_ipmatch_all_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
