/* proxy_protocol.h - HAProxy PROXY protocol header parser (v1 text line and
 * v2 binary header, doc/proxy-protocol.txt), for gunicorn's
 * --proxy-protocol off|v1|v2|auto.  No malloc, no Python, stateless in the
 * manner of picohttpparser: call it again on the grown buffer.
 *
 * Use at the start of a connection, before the first request:
 *   1. cg_proxy_detect(buf, len, mode): CG_PROXY_INCOMPLETE -> read more;
 *      0 -> no PROXY header, parse HTTP from buf[0];
 *      CG_PROXY_V1 / CG_PROXY_V2 -> a header starts here.  gunicorn checks
 *      the peer against proxy_allow_ips at this point, before parsing the
 *      header: not allowed (cg_ipmatch_allows_peer) -> 403
 *      "Request forbidden", even when the header would not parse.
 *   2. n = cg_proxy_parse(...): INCOMPLETE -> read more (never once
 *      len >= CG_PROXY_MAX_HEADER); CG_PROXY_ERROR -> 400 with err;
 *      n > 0 -> the header is buf[0..n), the HTTP request starts at buf[n];
 *      the info applies to every request of the connection.
 * With mode CG_PROXY_OFF nothing is detected and a PROXY line reaches the
 * HTTP parser, which rejects it (gunicorn: 400).
 *
 * What gunicorn 26 puts in the environ from the info when !local:
 *   REMOTE_ADDR = client_addr, REMOTE_PORT = client_port,
 *   PROXY_PROTOCOL = protocol, PROXY_ADDR = proxy_addr, PROXY_PORT = proxy_port.
 * When local, keep the real peer (the spec's rule; gunicorn 26 sets
 * REMOTE_ADDR None and REMOTE_PORT "None" for LOCAL/UNSPEC, a bug not copied
 * here). */
#ifndef CG_PROXY_PROTOCOL_H
#define CG_PROXY_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Modes (--proxy-protocol); a bit set: AUTO = V1 | V2. */
#define CG_PROXY_OFF 0
#define CG_PROXY_V1 1
#define CG_PROXY_V2 2
#define CG_PROXY_AUTO 3

/* Returns of cg_proxy_parse / cg_proxy_detect besides a length. */
#define CG_PROXY_ERROR (-1)
#define CG_PROXY_INCOMPLETE (-2)

/* Longest v1 line, CRLF included (spec: "PROXY UNKNOWN" + two IPv6
 * addresses + two ports = 107). */
#define CG_PROXY_V1_MAX 107
/* Largest v2 address block (addresses + TLVs) accepted; the spec allows
 * 65535 but real proxies send well under 1 KiB. */
#define CG_PROXY_V2_MAX_LEN 4096
/* No header is longer: cg_proxy_parse never answers INCOMPLETE once len
 * reaches this, so a read buffer of this size always suffices. */
#define CG_PROXY_MAX_HEADER (16 + CG_PROXY_V2_MAX_LEN)

/* Room for any address text: an IPv6 address as inet_ntop writes it
 * (INET6_ADDRSTRLEN) and any v1 address inet_pton accepts (<= 45). */
#define CG_PROXY_ADDRSTRLEN 46

typedef struct {
    int version; /* 1 or 2 */
    /* True when the header carries no usable client address and the real
     * peer stays: v1 "UNKNOWN", v2 LOCAL command, v2 PROXY with family
     * UNSPEC or UNIX (the spec lets a receiver fall back to the real
     * endpoints for families it does not implement). */
    bool local;
    int family; /* AF_INET, AF_INET6 (addresses filled), AF_UNIX, AF_UNSPEC */
    /* gunicorn's PROXY_PROTOCOL value: "TCP4", "TCP6"; for local headers
     * "UNKNOWN" (v1), "LOCAL", "UNSPEC", "UNIX" (v2).  Static storage. */
    const char *protocol;
    char client_addr[CG_PROXY_ADDRSTRLEN]; /* source: "" when local */
    uint16_t client_port;
    char proxy_addr[CG_PROXY_ADDRSTRLEN]; /* destination: "" when local */
    uint16_t proxy_port;
} cg_proxy_info;

/* Which PROXY header buf[0..len) starts with, among those mode enables:
 * CG_PROXY_V1 (it starts with "PROXY "), CG_PROXY_V2 (it starts with the
 * 12-byte v2 signature), 0 (neither: no PROXY header), or
 * CG_PROXY_INCOMPLETE (buf is a proper prefix of what mode looks for, so
 * more bytes are needed to tell; len 0 always). */
int cg_proxy_detect(const char *buf, size_t len, int mode);

/* Parse the PROXY header at the start of buf[0..len) (mode: CG_PROXY_V1,
 * CG_PROXY_V2 or CG_PROXY_AUTO; CG_PROXY_OFF always gives 0).  Returns:
 *   n > 0                the header is buf[0..n); *out filled;
 *   0                    buf does not start with a header mode enables
 *                        (not an error: the caller decides if one was due);
 *   CG_PROXY_INCOMPLETE  more bytes are needed (a prefix of a header that
 *                        is valid so far; never once len >= the header's
 *                        length bound: 107 for v1, 16 + its length for v2);
 *   CG_PROXY_ERROR       invalid header (answer 400); err[0..errlen) holds
 *                        str() of gunicorn's exception, NUL-terminated and
 *                        cut to fit:
 *                          v1: "Invalid PROXY line: 'PROXY TCP4 1.2.3 ...'"
 *                              (Python's %r of the line, or of
 *                              "protocol 'X' not supported" /
 *                              "invalid port <line>"),
 *                          v2: "Invalid PROXY header: unsupported version 1"
 *                              and the like.
 * Strict: the v1 line is at most 107 bytes with its CRLF, printable ASCII,
 * fields separated by exactly one space, "TCP4"/"TCP6" with two addresses of
 * that family (inet_pton) and two ports 0-65535 in plain decimal (no sign,
 * no blanks, no leading zeros); "PROXY UNKNOWN" ignores the rest of its
 * line.  v2: version 2, command LOCAL or PROXY, address block at most
 * CG_PROXY_V2_MAX_LEN, for PROXY families UNSPEC/INET/INET6/UNIX over STREAM
 * (UNSPEC also over UNSPEC) with a block long enough for the addresses, and
 * well-formed TLVs after them (skipped, not interpreted).  Never reads past
 * buf[len), never writes to buf; *out is only meaningful when n > 0. */
ssize_t cg_proxy_parse(const char *buf, size_t len, int mode, cg_proxy_info *out, char *err,
                       size_t errlen);

#endif
