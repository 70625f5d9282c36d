/* http_parser.h - strict HTTP/1.x request parser (RFC 9112), no malloc, no
 * Python.  Results are pointer+length pairs into the caller's buffer, in the
 * manner of picohttpparser.  The rules, statuses and messages are gunicorn
 * 26.1's (gunicorn/http/message.py, errors.py, workers/base.py handle_error);
 * where this parser is stricter, http_parser.c says so at the rule. */
#ifndef CG_HTTP_PARSER_H
#define CG_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CG_HTTP_INCOMPLETE (-2)
#define CG_HTTP_ERROR (-1)

typedef struct {
    const char *name;
    size_t name_len;
    const char *value; /* leading/trailing OWS removed */
    size_t value_len;
} cg_http_header;

/* Limits, from the settings limit_request_line, limit_request_fields,
 * limit_request_field_size (already normalised as gunicorn 26 does: see
 * cg_http_limits_from_settings). */
typedef struct {
    size_t max_line; /* 0 = unlimited */
    size_t max_fields;
    size_t max_field_size;
    /* Lenient switches mirroring gunicorn's deprecated settings. */
    bool permit_obsolete_folding;
    bool strip_header_spaces;
    bool permit_unconventional_method;
    bool permit_unconventional_version;
    bool casefold_method;
    int header_map; /* 0 drop (default), 1 refuse, 2 dangerous: names with '_' */
    /* gunicorn's forwarder_headers: names with '_' that header_map drop and
     * refuse still let through.  Set them only when the peer is trusted
     * (forwarded_allow_ips), e.g. by keeping a second limits struct for
     * trusted peers; NULL/0 otherwise.  An entry "*" lets every such name
     * through.  Compared case-insensitively. */
    const char *const *forwarder_headers;
    size_t n_forwarder_headers;
} cg_http_limits;

/* Normalise the raw settings the way gunicorn 26 does:
 * line 0 = unlimited, < 0 or >= 8190 clamped to 8190; fields <= 0 or > 32768 =
 * 32768; field_size <= 0 = 8190.  Every other field of *lim is reset to
 * gunicorn's default (switches off, header_map drop, no forwarder headers),
 * so call this first and set the switches after. */
void cg_http_limits_from_settings(cg_http_limits *lim, long line, long fields, long field_size);

typedef struct {
    const char *method;
    size_t method_len;
    bool method_casefold; /* casefold_method and the method has a-z: the parser
                             never writes to buf, so the consumer upper-cases it */
    const char *target;   /* raw request-target (RAW_URI) */
    size_t target_len;
    const char *path; /* path part of the target (absolute-form: after the authority) */
    size_t path_len;
    const char *query; /* after '?', without it; query_len 0 when none */
    size_t query_len;
    const char *fragment; /* gunicorn accepts '#frag' and drops it */
    size_t fragment_len;
    int version_minor; /* HTTP/1.<minor>: 0 or 1 */
    int version_major; /* 1; any digit only with permit_unconventional_version */

    cg_http_header *headers; /* the caller's array, num_headers filled */
    size_t num_headers;      /* headers whose names had '_' are dropped (header_map drop) */

    /* Framing, derived from the headers. */
    int64_t content_length; /* -1 when absent */
    bool chunked;
    bool keep_alive;      /* per version + Connection header (before server policy) */
    bool expect_continue; /* Expect: 100-continue on HTTP/1.1 */
    bool upgrade;         /* Connection: upgrade */
    bool must_close;      /* e.g. Transfer-Encoding gzip before chunked: close after */
    bool has_host;        /* a Host header was sent */
    bool obs_fold;        /* permit_obsolete_folding let a folded value through: such
                             values still hold the raw CRLF SP; see cg_http_unfold */
} cg_http_request;

/* Why a request was rejected: the status gunicorn 26 answers with and the
 * message it puts in the HTML body / log line. */
typedef struct {
    int status;         /* 400, 431, 501, 417 ... */
    const char *reason; /* "Bad Request", "Request Header Fields Too Large" ... */
    char msg[256];      /* e.g. "Request Line is too large (5014 > 4094)" */
    /* str(exc) inside msg: what gunicorn logs as "Invalid request from
     * ip=...: <str(exc)>".  The page text wraps it for some errors, e.g.
     * msg "Invalid Method 'Invalid HTTP method: 'get''" has detail
     * "Invalid HTTP method: 'get'".  Zero for errors built elsewhere. */
    size_t detail_off, detail_len;
} cg_http_error;

/* Parse one request head (request line + header section, up to and
 * including the empty line) from buf[0..len).  hdrs/max_hdrs is the caller's
 * array (max_hdrs should be >= lim->max_fields; more headers than it holds
 * fail like more than max_fields).
 * Returns the number of bytes of the head (> 0), CG_HTTP_INCOMPLETE when more
 * bytes are needed (the limits are still enforced on what is there, so an
 * over-long line fails without waiting, and so does anything already
 * invalid), or CG_HTTP_ERROR with *err filled.  Stateless: call it again on
 * the grown buffer.  *req is only meaningful on success. */
ssize_t cg_http_parse_request(const char *buf, size_t len, const cg_http_limits *lim,
                              cg_http_request *req, cg_http_header *hdrs, size_t max_hdrs,
                              cg_http_error *err);

/* Incremental chunked-body decoder (RFC 9112 section 7.1).  Keeps its state
 * between calls, so the body can arrive in any number of pieces. */
typedef struct {
    int state;          /* private */
    uint64_t remaining; /* private: bytes left in the current chunk */
    size_t line_len;    /* private: length of the size/extension or trailer line so far */
    size_t trailer_bytes;
    size_t trailer_fields;
    unsigned flags;          /* private */
    unsigned short name_len; /* private: trailer name length (saturates) */
    char name[32];           /* private: its first 32 bytes */
} cg_http_chunked;

/* Start a new body. */
void cg_http_chunked_init(cg_http_chunked *dec);
/* Decode in place: buf[0..*len) holds raw bytes from the wire; on return
 * buf[0..*len) holds the decoded payload bytes found in them.  Returns:
 *   > 0  the body is complete; the value is how many raw bytes were consumed
 *        from the input (bytes after that belong to the next request);
 *   CG_HTTP_INCOMPLETE  all input consumed, more needed;
 *   CG_HTTP_ERROR  malformed (bad size, bare CR/LF, oversize extension,
 *        forbidden trailer, too many/too large trailers), *err filled.
 * A decoder that already finished returns 0 and *len = 0.  Sizes are hex
 * digits only, at most 2^63-1; a size line with its extensions is at most
 * 4096 bytes.  Trailers are checked like headers with lim's limits and then
 * dropped; lim may be NULL for gunicorn's defaults (100 fields of 8190). */
ssize_t cg_http_chunked_decode(cg_http_chunked *dec, char *buf, size_t *len,
                               const cg_http_limits *lim, cg_http_error *err);

/* Render gunicorn's error response (status line, Connection: close,
 * Content-Type: text/html, Content-Length, the HTML body with msg
 * HTML-escaped) into out.  Returns the length, or -1 if out is too small. */
ssize_t cg_http_error_response(const cg_http_error *err, char *out, size_t outlen);

/* Reason phrase for a status code ("OK", "Not Found", ...), NULL if unknown. */
const char *cg_http_reason(int status);

/* Join a folded header value (req->obs_fold, only ever with
 * permit_obsolete_folding) the way gunicorn does: every CRLF with the
 * blanks around it becomes one SP.  dst needs len bytes and may be src.
 * Returns the new length. */
size_t cg_http_unfold(char *dst, const char *src, size_t len);

#endif
