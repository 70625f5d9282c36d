/* ipmatch.h - allow-lists of IPv4/IPv6 addresses and CIDR networks, the
 * values of gunicorn's forwarded_allow_ips and proxy_allow_ips
 * ("127.0.0.1,::1", "10.0.0.0/8, 192.168.1.0/24,fd00::/8", "*").
 *
 * A list is parsed once (at configuration time, the only allocation) into an
 * immutable object; lookups never allocate, take no lock and may run from any
 * thread.  No Python.
 *
 * Entry syntax (gunicorn 26 validates each with ipaddress.ip_network, strict):
 *   - an address, IPv4 dotted quad (no leading zeros) or IPv6 (inet_pton
 *     syntax, a zone such as "%eth0" ignored), meaning a /32 or /128 network;
 *   - address/prefix, the prefix a decimal length (0-32, 0-128); for IPv4
 *     also a dotted netmask (/255.255.0.0) or hostmask (/0.0.255.255);
 *     host bits must be zero ("10.0.0.1/8 has host bits set");
 *   - "*": every peer.
 * Entries are separated by commas; blanks around an entry are ignored and an
 * empty entry is skipped, so "" is an empty list that matches nothing.
 *
 * IPv4 and IPv6 are distinct except for IPv4-mapped IPv6 (::ffff:a.b.c.d),
 * the form a dual-stack socket reports for an IPv4 client:
 *   - a mapped peer address matches the IPv4 entries that hold its IPv4
 *     address, and the IPv6 entries that hold it as an IPv6 address;
 *   - an IPv6 entry inside ::ffff:0:0/96 is stored as the IPv4 network it
 *     denotes, so "::ffff:10.0.0.0/104" is 10.0.0.0/8 and also matches
 *     plain IPv4 peers;
 *   - a plain IPv4 peer never matches other IPv6 entries ("::/0" is every
 *     IPv6 address, not every address).
 * gunicorn compares with Python's ipaddress, where a mapped address is only
 * an IPv6 address: every peer gunicorn trusts is trusted here too. */
#ifndef CG_IPMATCH_H
#define CG_IPMATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Opaque; create with cg_ipmatch_new, release with cg_ipmatch_free. */
typedef struct cg_ipmatch cg_ipmatch;

/* Parse the comma-separated list (NULL is the empty list).  Returns a new
 * object owned by the caller, or NULL with a message in err[0..errlen)
 * (always NUL-terminated when errlen > 0) naming the bad entry in gunicorn's
 * words: "'10.0.0.300' does not appear to be an IPv4 or IPv6 network",
 * "10.0.0.1/8 has host bits set", or "out of memory". */
cg_ipmatch *cg_ipmatch_new(const char *list, char *err, size_t errlen);

/* Release m (NULL is fine). */
void cg_ipmatch_free(cg_ipmatch *m);

/* True when the list holds "*" (matches every peer). */
bool cg_ipmatch_any(const cg_ipmatch *m);

/* Number of address/network entries ("*" and skipped empties not counted). */
size_t cg_ipmatch_count(const cg_ipmatch *m);

/* Whether the textual address addr_text ("10.1.2.3", "::1",
 * "::ffff:10.1.2.3", "fe80::1%eth0": a zone suffix is ignored) is in the
 * list.  "*" matches anything, even text that is no address; otherwise text
 * that is no address matches nothing, like gunicorn.  m NULL: false. */
bool cg_ipmatch_has(const cg_ipmatch *m, const char *addr_text);

/* The same for a socket address (AF_INET or AF_INET6, as from accept() or
 * getpeername(); salen is checked).  Other families match only "*". */
bool cg_ipmatch_has_sockaddr(const cg_ipmatch *m, const struct sockaddr *sa, socklen_t salen);

/* gunicorn's trust rule for a peer: AF_UNIX peers are always trusted,
 * IP peers when cg_ipmatch_has_sockaddr.  sa NULL (peer unknown): false. */
bool cg_ipmatch_allows_peer(const cg_ipmatch *m, const struct sockaddr *sa, socklen_t salen);

#endif
