/* wsgi.c - PEP 3333 on top of the C request path.
 *
 * Every PyObject * local starts NULL and is released at one exit label;
 * "owned" / "borrowed" marks which references a local holds. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "wsgi.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cgunicorn/cgunicorn.h"
#include "cgunicorn/log.h"
#include "hooks.h"
#include "iowait.h"
#include "ipmatch.h"
#include "py_embed.h"
#include "worker.h"

#define MAX_HEADERS_OUT 256

/* --- per-worker constant state ---------------------------------------- */

static struct {
    PyObject *base_environ; /* owned: the constant part of every environ */
    PyObject *k_method, *k_query, *k_raw_uri, *k_protocol, *k_input, *k_scheme, *k_remote_addr,
        *k_remote_port, *k_server_name, *k_server_port, *k_path_info, *k_script_name,
        *k_content_type, *k_content_length;
    PyObject *v_http10, *v_http11, *v_http, *v_https, *v_empty;
    PyObject *methods[8];  /* interned common method names */
    PyObject *script_name; /* owned: $SCRIPT_NAME or "" */
    const char *script_name_c;
    size_t script_name_len;
    bool sendfile;
    int io_timeout_ms; /* client_timeout */
    cg_access_format *access_fmt;
    cg_ipmatch *trusted;            /* forwarded_allow_ips */
    PyObject *namespace_type;       /* owned: types.SimpleNamespace, for hook objects */
    const char *const *scheme_keys; /* secure_scheme_headers */
    const char *const *scheme_values;
    size_t nscheme;
} W;

static const char *const common_methods[] = {"GET",    "POST",    "HEAD",  "PUT",
                                             "DELETE", "OPTIONS", "PATCH", "CONNECT"};

/* --- the response object: start_response and write ------------------- */

typedef struct {
    PyObject_HEAD cg_wsgi_conn *conn; /* NULL once the request is over */
    PyObject *status;                 /* owned str */
    PyObject *headers;                /* owned list */
    bool headers_sent;
    bool chunked;
    bool no_body; /* HEAD, 1xx, 204, 304 */
    int status_code;
    long long content_length; /* -1 when the app gave none */
    long long sent;           /* body bytes written */
    bool io_error;            /* the client went away */
    size_t head_len;          /* bytes of the head in c->head->buf once sent */
    /* where the app's headers sit in the head buffer, for the access log */
    cg_log_header out[MAX_HEADERS_OUT];
    size_t nout;
} Response;

static PyTypeObject ResponseType;

static volatile const sig_atomic_t *stop_flag;

void cg_wsgi_set_stop_flag(volatile const sig_atomic_t *flag)
{
    stop_flag = flag;
}

/* Wait until fd can take more bytes; false after client_timeout. */
static bool wait_writable(int fd)
{
    return cg_io_wait(fd, POLLOUT, W.io_timeout_ms) > 0;
}

int cg_outq_flush(cg_outq *q, int fd)
{
    size_t off = 0;

    while (off < q->len) {
        ssize_t n = send(fd, q->buf + off, q->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        return -1;
    }
    if (off > 0) {
        memmove(q->buf, q->buf + off, q->len - off);
        q->len -= off;
    }
    return q->len == 0 ? 1 : 0;
}

/* Queue iov's bytes behind what q holds; false if that would pass limit
 * (or on no memory). */
static bool queue_iov(cg_outq *q, const struct iovec *iov, int iovcnt, size_t limit)
{
    size_t total = 0;

    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    if (q->len + total > limit)
        return false;
    if (q->len + total > q->cap) {
        size_t cap = q->cap ? q->cap : 16384;
        while (cap < q->len + total)
            cap *= 2;
        char *b = realloc(q->buf, cap);
        if (b == NULL)
            return false;
        q->buf = b;
        q->cap = cap;
    }
    for (int i = 0; i < iovcnt; i++) {
        memcpy(q->buf + q->len, iov[i].iov_base, iov[i].iov_len);
        q->len += iov[i].iov_len;
    }
    return true;
}

/* Send what the output queue holds, waiting for the client as needed. */
static int drain_queue(cg_outq *q, int fd)
{
    int rc;
    while ((rc = cg_outq_flush(q, fd)) == 0)
        if (!wait_writable(fd))
            return -1;
    return rc < 0 ? -1 : 0;
}

/* Send every byte of iov.  With an output queue (gthread), what the client
 * is not ready for is queued for the event loop instead of waited for.
 * bounded: the queue may not pass its max - past it, wait for the client
 * (the write() callable, which PEP 3333 has block).  Otherwise the queue
 * takes it all: the response iterable's writer (write_items) stops after
 * each slice once the queue is full, so it passes max by one slice at most. */
static int send_all(int fd, cg_outq *q, struct iovec *iov, int iovcnt, bool bounded)
{
    struct msghdr msg = {0};
    size_t limit = q == NULL ? 0 : bounded ? q->max : SIZE_MAX;

    if (q && q->len > 0) {
        /* keep the order: behind what is already waiting */
        if (queue_iov(q, iov, iovcnt, limit))
            return 0;
        if (drain_queue(q, fd) != 0)
            return -1;
    }
    while (iovcnt > 0) {
        ssize_t n;

        msg.msg_iov = iov;
        msg.msg_iovlen = (size_t)iovcnt;
        n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                if (q && queue_iov(q, iov, iovcnt, limit))
                    return 0;
                /* no queue, or it is full: wait for room, but a client that
                 * stops reading is cut off after client_timeout */
                if (wait_writable(fd))
                    continue;
            }
            return -1;
        }
        while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

/* Send with the GIL released: a slow client must not hold the interpreter. */
static int send_all_nogil(int fd, cg_outq *q, struct iovec *iov, int iovcnt, bool bounded)
{
    int rc;

    Py_BEGIN_ALLOW_THREADS rc = send_all(fd, q, iov, iovcnt, bounded);
    Py_END_ALLOW_THREADS return rc;
}

/* The RFC 9110 date for now, cached per second. */
static const char *http_date(void)
{
    static _Thread_local time_t last;
    static _Thread_local char buf[40];
    time_t now = time(NULL);

    if (now != last) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        last = now;
    }
    return buf;
}

/* A str's bytes when it is latin-1 (PEP 3333's "native string"), without
 * copying.  NULL when it is not a str or has characters beyond U+00FF. */
static const char *latin1(PyObject *s, Py_ssize_t *len)
{
    if (!PyUnicode_Check(s) || PyUnicode_KIND(s) != PyUnicode_1BYTE_KIND)
        return NULL;
    *len = PyUnicode_GET_LENGTH(s);
    return (const char *)PyUnicode_1BYTE_DATA(s);
}

static bool is_tchar(unsigned char c)
{
    static const char *extra = "!#$%&'*+-.^_`|~";
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr(extra, c) != NULL);
}

static bool ieq(const char *a, size_t alen, const char *b)
{
    return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

/* Headers the server owns: the app's copies are dropped, as gunicorn does. */
static bool is_dropped_header(const char *n, size_t l, const char *v, size_t vl)
{
    if (ieq(n, l, "upgrade"))
        return !ieq(v, vl, "websocket");
    return ieq(n, l, "connection") || ieq(n, l, "keep-alive") || ieq(n, l, "proxy-authenticate") ||
           ieq(n, l, "proxy-authorization") || ieq(n, l, "te") || ieq(n, l, "trailers") ||
           ieq(n, l, "transfer-encoding") || ieq(n, l, "server") || ieq(n, l, "date");
}

/* Grow the head buffer to hold need bytes. */
static int head_reserve(cg_headbuf *h, size_t need)
{
    if (need <= h->cap)
        return 0;
    size_t cap = h->cap ? h->cap : 8192;
    while (cap < need)
        cap *= 2;
    char *p = realloc(h->buf, cap);
    if (p == NULL)
        return -1;
    h->buf = p;
    h->cap = cap;
    return 0;
}

/* Request bodies the app left unread are read and dropped after the
 * response, so the connection can serve the next request - up to this much. */
#define DRAIN_MAX (4 * 1024 * 1024)

/* Can what the app has not read of the body be dropped after the response?
 * Not when the client still waits for a 100 Continue (it may never send
 * the body), nor for a chunked body or one larger than DRAIN_MAX. */
static bool body_can_be_drained(const cg_wsgi_conn *c)
{
    const cg_body *b = &c->body;

    if (b->done)
        return true;
    if (b->before_read != NULL) /* 100 Continue not sent: the body may never come */
        return false;
    return !b->chunked && b->remaining <= DRAIN_MAX;
}

/* Read and drop the rest of the body (without the GIL); false if the
 * client does not send it. */
static bool drain_body(cg_body *b)
{
    while (!b->done && !b->failed) {
        b->start = b->end; /* drop */
        if (cg_body_fill(b) < 0)
            return false;
    }
    return !b->failed;
}

/* Serialise the status line and headers into headbuf; sets chunked,
 * content_length, no_body.  Returns the head's length, or -1 with a Python
 * exception set (invalid status or header from the app). */
static Py_ssize_t build_head(Response *r, bool body_known, long long body_len)
{
    cg_wsgi_conn *c = r->conn;
    Py_ssize_t slen, nlen, vlen, n;
    const char *status, *name, *value;
    size_t off;
    bool close =
        c->close || !c->keep_alive_allowed || (stop_flag && *stop_flag) || !body_can_be_drained(c);

    if (r->status == NULL) {
        PyErr_SetString(PyExc_AssertionError, "Response headers not set!");
        return -1;
    }
    status = latin1(r->status, &slen);
    if (status == NULL || slen < 3 || !(status[0] >= '1' && status[0] <= '9') ||
        !(status[1] >= '0' && status[1] <= '9') || !(status[2] >= '0' && status[2] <= '9') ||
        (slen > 3 && status[3] != ' ') || memchr(status, '\r', (size_t)slen) ||
        memchr(status, '\n', (size_t)slen)) {
        PyErr_Format(PyExc_ValueError, "Invalid status: %R", r->status);
        return -1;
    }
    r->status_code = (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');
    r->no_body = r->status_code < 200 || r->status_code == 204 || r->status_code == 304 ||
                 ieq(c->req->method, c->req->method_len, "HEAD");
    r->content_length = -1;
    r->nout = 0;

    n = PyList_GET_SIZE(r->headers);
    if (head_reserve(c->head, 256 + (size_t)slen) != 0)
        return PyErr_NoMemory(), -1;
    off = (size_t)snprintf(c->head->buf, c->head->cap, "HTTP/1.%d ", c->req->version_minor);
    memcpy(c->head->buf + off, status, (size_t)slen);
    off += (size_t)slen;
    /* the Connection value is patched in below once framing is known */
    off += (size_t)snprintf(c->head->buf + off, c->head->cap - off,
                            "\r\nServer: " CG_SERVER_NAME "\r\nDate: %s\r\n", http_date());
    size_t conn_at = off;

    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(r->headers, i); /* borrowed */
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
            PyErr_Format(PyExc_TypeError, "header must be a (name, value) tuple, not %R", item);
            return -1;
        }
        name = latin1(PyTuple_GET_ITEM(item, 0), &nlen);
        value = latin1(PyTuple_GET_ITEM(item, 1), &vlen);
        if (name == NULL || value == NULL) {
            PyErr_Format(PyExc_TypeError, "%R is not a string header", item);
            return -1;
        }
        if (nlen == 0)
            goto invalid;
        for (Py_ssize_t k = 0; k < nlen; k++)
            if (!is_tchar((unsigned char)name[k]))
                goto invalid;
        for (Py_ssize_t k = 0; k < vlen; k++) {
            unsigned char ch = (unsigned char)value[k];
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                goto invalid;
        }
        if (is_dropped_header(name, (size_t)nlen, value, (size_t)vlen))
            continue;
        if (ieq(name, (size_t)nlen, "content-length")) {
            char tmp[24];
            char *end;
            if (vlen == 0 || vlen >= (Py_ssize_t)sizeof(tmp))
                goto invalid;
            memcpy(tmp, value, (size_t)vlen);
            tmp[vlen] = '\0';
            r->content_length = strtoll(tmp, &end, 10);
            if (*end != '\0' || r->content_length < 0)
                goto invalid;
        }
        if (head_reserve(c->head, off + (size_t)nlen + (size_t)vlen + 64) != 0)
            return PyErr_NoMemory(), -1;
        if (r->nout < MAX_HEADERS_OUT) {
            r->out[r->nout].name = (const char *)(uintptr_t)(off);
            r->out[r->nout].name_len = (size_t)nlen;
            r->out[r->nout].value = (const char *)(uintptr_t)(off + (size_t)nlen + 2);
            r->out[r->nout].value_len = (size_t)vlen;
            r->nout++;
        }
        memcpy(c->head->buf + off, name, (size_t)nlen);
        off += (size_t)nlen;
        c->head->buf[off++] = ':';
        c->head->buf[off++] = ' ';
        memcpy(c->head->buf + off, value, (size_t)vlen);
        off += (size_t)vlen;
        c->head->buf[off++] = '\r';
        c->head->buf[off++] = '\n';
    }
    /* Framing: a known length beats chunking; HTTP/1.1 without one is
     * chunked; HTTP/1.0 without one is delimited by the close. */
    if (r->content_length < 0 && body_known && !r->no_body) {
        r->content_length = body_len;
    }
    r->chunked = r->content_length < 0 && !r->no_body && c->req->version_minor >= 1;
    if (r->content_length < 0 && !r->chunked && !r->no_body)
        close = true;
    if (close)
        c->close = true;

    /* Insert "Connection: ..." (+ Transfer-Encoding) at conn_at: gunicorn
     * sends them before the app's headers. */
    char extra[96];
    int el = snprintf(extra, sizeof(extra), "Connection: %s\r\n%s", close ? "close" : "keep-alive",
                      r->chunked ? "Transfer-Encoding: chunked\r\n" : "");
    if (head_reserve(c->head, off + (size_t)el + 64) != 0)
        return PyErr_NoMemory(), -1;
    memmove(c->head->buf + conn_at + el, c->head->buf + conn_at, off - conn_at);
    memcpy(c->head->buf + conn_at, extra, (size_t)el);
    off += (size_t)el;
    for (size_t i = 0; i < r->nout; i++) {
        r->out[i].name = (const char *)((uintptr_t)r->out[i].name + (size_t)el);
        r->out[i].value = (const char *)((uintptr_t)r->out[i].value + (size_t)el);
    }
    /* A length the server computed (a list result) goes out as well. */
    bool app_cl = false;
    for (size_t i = 0; i < r->nout; i++)
        if (ieq(c->head->buf + (uintptr_t)r->out[i].name, r->out[i].name_len, "content-length"))
            app_cl = true;
    if (!app_cl && r->content_length >= 0 && !r->no_body)
        off += (size_t)snprintf(c->head->buf + off, c->head->cap - off, "Content-Length: %lld\r\n",
                                r->content_length);
    c->head->buf[off++] = '\r';
    c->head->buf[off++] = '\n';
    return (Py_ssize_t)off;
invalid:
    PyErr_SetString(PyExc_ValueError, "Invalid response header from the application");
    return -1;
}

/* Write body bytes (sending the head first if it has not gone out).
 * body_known/body_len: the whole body's length when the server knows it
 * before the head is sent; bounded: see send_all.  Returns 0, or -1 with a
 * Python exception set (bad headers) or io_error set (client gone). */
static int response_write(Response *r, const char *data, size_t len, bool body_known,
                          long long body_len, bool bounded)
{
    struct iovec iov[4];
    int cnt = 0;
    char chunk_hdr[24];

    if (r->io_error)
        return -1;
    if (!r->headers_sent) {
        Py_ssize_t hl = build_head(r, body_known, body_len);
        if (hl < 0)
            return -1;
        iov[cnt].iov_base = r->conn->head->buf;
        iov[cnt++].iov_len = (size_t)hl;
        r->headers_sent = true;
        r->head_len = (size_t)hl;
    }
    if (r->no_body)
        len = 0;
    if (r->content_length >= 0 && (long long)len > r->content_length - r->sent)
        len = (size_t)(r->content_length - r->sent); /* never past the declared length */
    if (len > 0) {
        if (r->chunked) {
            iov[cnt].iov_base = chunk_hdr;
            iov[cnt++].iov_len = (size_t)snprintf(chunk_hdr, sizeof(chunk_hdr), "%zx\r\n", len);
        }
        iov[cnt].iov_base = (void *)data;
        iov[cnt++].iov_len = len;
        if (r->chunked) {
            iov[cnt].iov_base = "\r\n";
            iov[cnt++].iov_len = 2;
        }
    }
    if (cnt == 0)
        return 0;
    if (send_all_nogil(r->conn->fd, r->conn->outq, iov, cnt, bounded) != 0) {
        r->io_error = true;
        r->conn->close = true;
        return -1;
    }
    r->sent += (long long)len;
    return 0;
}

/* start_response(status, headers, exc_info=None) */
static PyObject *Response_call(PyObject *self, PyObject *args, PyObject *kwds)
{
    Response *r = (Response *)self;
    PyObject *status, *headers, *exc_info = Py_None;
    static char *kwlist[] = {"status", "headers", "exc_info", NULL};

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|O:start_response", kwlist, &status, &headers,
                                     &exc_info))
        return NULL;
    if (exc_info != Py_None) {
        if (r->headers_sent) {
            /* PEP 3333: re-raise the original exception */
            if (!PyTuple_Check(exc_info) || PyTuple_GET_SIZE(exc_info) != 3) {
                PyErr_SetString(PyExc_TypeError, "exc_info must be a 3-tuple");
                return NULL;
            }
            PyObject *t = PyTuple_GET_ITEM(exc_info, 0), *v = PyTuple_GET_ITEM(exc_info, 1),
                     *tb = PyTuple_GET_ITEM(exc_info, 2);
            Py_INCREF(t);
            Py_INCREF(v);
            Py_XINCREF(tb == Py_None ? NULL : tb);
            PyErr_Restore(t, v, tb == Py_None ? NULL : tb);
            return NULL;
        }
    } else if (r->status != NULL) {
        PyErr_SetString(PyExc_AssertionError, "Response headers already set!");
        return NULL;
    }
    if (!PyUnicode_Check(status)) {
        PyErr_Format(PyExc_TypeError, "%R is not a string", status);
        return NULL;
    }
    if (!PyList_Check(headers)) {
        PyErr_SetString(PyExc_TypeError, "headers must be a list");
        return NULL;
    }
    Py_INCREF(status);
    Py_XSETREF(r->status, status);
    Py_INCREF(headers);
    Py_XSETREF(r->headers, headers);
    return PyObject_GetAttrString(self, "write");
}

/* The write() callable start_response returns.  Unlike the response
 * iterable it cannot be parked while a slow client reads (it must return
 * only once its bytes are taken): past the output queue's max it waits for
 * the client, up to client_timeout, holding its thread. */
static PyObject *Response_write(PyObject *self, PyObject *data)
{
    Response *r = (Response *)self;
    Py_buffer view;

    if (r->conn == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "write() called after the request ended");
        return NULL;
    }
    if (!PyBytes_Check(data) && !PyByteArray_Check(data)) {
        PyErr_Format(PyExc_TypeError, "%R is not a byte", data);
        return NULL;
    }
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) != 0)
        return NULL;
    int rc = response_write(r, view.buf, (size_t)view.len, false, 0, true);
    PyBuffer_Release(&view);
    if (rc != 0 && PyErr_Occurred())
        return NULL;
    if (rc != 0) {
        PyErr_SetString(PyExc_OSError, "client disconnected");
        return NULL;
    }
    Py_RETURN_NONE;
}

static void Response_dealloc(PyObject *self)
{
    Response *r = (Response *)self;
    Py_XDECREF(r->status);
    Py_XDECREF(r->headers);
    Py_TYPE(self)->tp_free(self);
}

static PyMethodDef Response_methods[] = {
    {"write", Response_write, METH_O, "Write body bytes (PEP 3333 write callable)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ResponseType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "cgunicorn.StartResponse",
    .tp_basicsize = sizeof(Response),
    .tp_dealloc = Response_dealloc,
    .tp_call = Response_call,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_methods = Response_methods,
};

/* --- wsgi.input ------------------------------------------------------ */

typedef struct {
    PyObject_HEAD cg_body *body; /* NULL once the request is over */
} Input;

/* The optional size argument of read/readline/readlines: None or absent
 * means -1.  0 with an exception set on a bad argument. */
static int size_arg(PyObject *args, const char *format, Py_ssize_t *size)
{
    PyObject *arg = Py_None;

    *size = -1;
    if (!PyArg_ParseTuple(args, format, &arg))
        return 0;
    if (arg != Py_None) {
        *size = PyLong_AsSsize_t(arg);
        if (*size == -1 && PyErr_Occurred())
            return 0;
    }
    return 1;
}

/* Fill until n bytes are buffered or the body ends; -1 on a read error. */
static int input_want(cg_body *b, size_t n)
{
    int rc = 0;

    Py_BEGIN_ALLOW_THREADS while (cg_body_avail(b) < n && !b->done && !b->failed)
    {
        if (b->end == b->cap && b->start == 0)
            break; /* buffer full: the caller takes what is there */
        if (cg_body_fill(b) < 0)
            rc = -1;
    }
    Py_END_ALLOW_THREADS if (b->failed) rc = -1;
    return rc;
}

static PyObject *input_error(cg_body *b)
{
    if (b->err.status)
        PyErr_Format(PyExc_OSError, "Invalid request body: %s", b->err.msg);
    else
        PyErr_SetString(PyExc_OSError, "client disconnected while sending the body");
    return NULL;
}

/* Take up to n bytes out of the buffer into a new bytes object. */
static PyObject *input_take(cg_body *b, size_t n)
{
    size_t avail = cg_body_avail(b);
    if (n > avail)
        n = avail;
    PyObject *out = PyBytes_FromStringAndSize(b->buf + b->start, (Py_ssize_t)n);
    if (out)
        b->start += n;
    return out;
}

/* read(size=-1) */
static PyObject *Input_read(PyObject *self, PyObject *args)
{
    cg_body *b = ((Input *)self)->body;
    Py_ssize_t size;

    if (!size_arg(args, "|O:read", &size))
        return NULL;
    if (b == NULL || size == 0)
        return PyBytes_FromStringAndSize("", 0);
    if (size > 0) {
        /* read(size) returns size bytes unless the body ends first */
        if (input_want(b, (size_t)size < b->cap ? (size_t)size : b->cap) != 0)
            return input_error(b);
        if ((size_t)size <= cg_body_avail(b) || b->done)
            return input_take(b, (size_t)size);
        PyObject *out = PyBytes_FromStringAndSize(NULL, size); /* owned */
        size_t have = 0;
        while (out && have < (size_t)size) {
            size_t take = cg_body_avail(b);
            if (take > (size_t)size - have)
                take = (size_t)size - have;
            memcpy(PyBytes_AS_STRING(out) + have, b->buf + b->start, take);
            b->start += take;
            have += take;
            if (have == (size_t)size || (b->done && cg_body_avail(b) == 0))
                break;
            if (input_want(b, 1) != 0) {
                Py_DECREF(out);
                return input_error(b);
            }
        }
        if (out && have < (size_t)size)
            _PyBytes_Resize(&out, (Py_ssize_t)have);
        return out;
    }
    /* read everything */
    PyObject *out = PyBytes_FromStringAndSize(NULL, 0); /* owned */
    while (out) {
        if (input_want(b, b->cap) != 0) {
            Py_DECREF(out);
            return input_error(b);
        }
        size_t avail = cg_body_avail(b);
        if (avail == 0 && b->done)
            break;
        PyObject *part = input_take(b, avail); /* owned, stolen by Concat */
        PyBytes_ConcatAndDel(&out, part);
    }
    return out;
}

/* readline(size=-1) */
static PyObject *Input_readline(PyObject *self, PyObject *args)
{
    cg_body *b = ((Input *)self)->body;
    Py_ssize_t size;
    PyObject *out = NULL;

    if (!size_arg(args, "|O:readline", &size))
        return NULL;
    if (b == NULL || size == 0)
        return PyBytes_FromStringAndSize("", 0);
    out = PyBytes_FromStringAndSize(NULL, 0);
    while (out) {
        size_t avail = cg_body_avail(b);
        char *nl = memchr(b->buf + b->start, '\n', avail);
        size_t take = nl ? (size_t)(nl - (b->buf + b->start)) + 1 : avail;
        size_t have = (size_t)PyBytes_GET_SIZE(out);

        if (size > 0 && have + take > (size_t)size)
            take = (size_t)size - have;
        if (take > 0) {
            PyObject *part = input_take(b, take);
            PyBytes_ConcatAndDel(&out, part);
            if (out == NULL)
                break;
            have += take;
        }
        if ((have > 0 && PyBytes_AS_STRING(out)[have - 1] == '\n') ||
            (size > 0 && have >= (size_t)size))
            break;
        if (b->done && cg_body_avail(b) == 0)
            break;
        if (input_want(b, cg_body_avail(b) + 1) != 0) {
            Py_DECREF(out);
            return input_error(b);
        }
    }
    return out;
}

/* readlines(hint=-1) */
static PyObject *Input_readlines(PyObject *self, PyObject *args)
{
    Py_ssize_t hint, total = 0;
    PyObject *lines = NULL, *empty = NULL;

    if (!size_arg(args, "|O:readlines", &hint))
        return NULL;
    lines = PyList_New(0);
    empty = PyTuple_New(0);
    while (lines && empty) {
        PyObject *line = Input_readline(self, empty); /* owned */
        if (line == NULL) {
            Py_CLEAR(lines);
            break;
        }
        if (PyBytes_GET_SIZE(line) == 0) {
            Py_DECREF(line);
            break;
        }
        total += PyBytes_GET_SIZE(line);
        int rc = PyList_Append(lines, line);
        Py_DECREF(line);
        if (rc != 0) {
            Py_CLEAR(lines);
            break;
        }
        if (hint > 0 && total >= hint)
            break;
    }
    Py_XDECREF(empty);
    return lines;
}

static PyObject *Input_iternext(PyObject *self)
{
    PyObject *empty = PyTuple_New(0), *line;

    if (empty == NULL)
        return NULL;
    line = Input_readline(self, empty);
    Py_DECREF(empty);
    if (line && PyBytes_GET_SIZE(line) == 0) {
        Py_DECREF(line);
        return NULL; /* StopIteration */
    }
    return line;
}

static PyMethodDef Input_methods[] = {
    {"read", Input_read, METH_VARARGS, "read([size]) -> bytes"},
    {"readline", Input_readline, METH_VARARGS, "readline([size]) -> bytes"},
    {"readlines", Input_readlines, METH_VARARGS, "readlines([hint]) -> list of bytes"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject InputType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "cgunicorn.Input",
    .tp_basicsize = sizeof(Input),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = Input_iternext,
    .tp_methods = Input_methods,
};

/* --- wsgi.errors ----------------------------------------------------- */

typedef struct {
    PyObject_HEAD
} Errors;

static PyObject *Errors_write(PyObject *self, PyObject *arg)
{
    Py_ssize_t n;
    const char *s;

    (void)self;
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "write() argument must be str, not %s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    s = PyUnicode_AsUTF8AndSize(arg, &n);
    if (s == NULL)
        return NULL;
    /* gunicorn's WSGIErrorsWrapper writes the text as-is to the error log */
    int fd = cg_log_error_fd();
    while (n > 0) {
        ssize_t w = write(fd, s, (size_t)n);
        if (w <= 0)
            break;
        s += w;
        n -= w;
    }
    Py_RETURN_NONE;
}

static PyObject *Errors_writelines(PyObject *self, PyObject *seq)
{
    PyObject *it = PyObject_GetIter(seq), *item; /* owned */

    if (it == NULL)
        return NULL;
    while ((item = PyIter_Next(it)) != NULL) {
        PyObject *r = Errors_write(self, item);
        Py_DECREF(item);
        if (r == NULL) {
            Py_DECREF(it);
            return NULL;
        }
        Py_DECREF(r);
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Errors_flush(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    Py_RETURN_NONE;
}

static PyMethodDef Errors_methods[] = {
    {"write", Errors_write, METH_O, "Write text to the error log."},
    {"writelines", Errors_writelines, METH_O, "Write each string to the error log."},
    {"flush", Errors_flush, METH_NOARGS, "No-op: every write goes straight out."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ErrorsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "cgunicorn.Errors",
    .tp_basicsize = sizeof(Errors),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_methods = Errors_methods,
};

/* --- wsgi.file_wrapper ---------------------------------------------- */

typedef struct {
    PyObject_HEAD PyObject *filelike; /* owned */
    Py_ssize_t blksize;
} FileWrapper;

static int FileWrapper_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    FileWrapper *fw = (FileWrapper *)self;
    PyObject *filelike;
    Py_ssize_t blksize = 8192;
    static char *kwlist[] = {"filelike", "blksize", NULL};

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|n:FileWrapper", kwlist, &filelike, &blksize))
        return -1;
    Py_INCREF(filelike);
    Py_XSETREF(fw->filelike, filelike);
    fw->blksize = blksize > 0 ? blksize : 8192;
    return 0;
}

static PyObject *FileWrapper_iternext(PyObject *self)
{
    FileWrapper *fw = (FileWrapper *)self;
    PyObject *data = PyObject_CallMethod(fw->filelike, "read", "n", fw->blksize);

    if (data && PyObject_Length(data) == 0) {
        Py_DECREF(data);
        return NULL;
    }
    return data;
}

static PyObject *FileWrapper_close(PyObject *self, PyObject *unused)
{
    FileWrapper *fw = (FileWrapper *)self;
    (void)unused;
    if (fw->filelike && PyObject_HasAttrString(fw->filelike, "close"))
        return PyObject_CallMethod(fw->filelike, "close", NULL);
    Py_RETURN_NONE;
}

static void FileWrapper_dealloc(PyObject *self)
{
    Py_XDECREF(((FileWrapper *)self)->filelike);
    Py_TYPE(self)->tp_free(self);
}

static PyMethodDef FileWrapper_methods[] = {
    {"close", FileWrapper_close, METH_NOARGS, "Close the wrapped file."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject FileWrapperType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "cgunicorn.FileWrapper",
    .tp_basicsize = sizeof(FileWrapper),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = FileWrapper_init,
    .tp_dealloc = FileWrapper_dealloc,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = FileWrapper_iternext,
    .tp_methods = FileWrapper_methods,
};

/* --- set-up ---------------------------------------------------------- */

static PyObject *intern(const char *s)
{
    return PyUnicode_InternFromString(s);
}

/* Set base[key] = value, releasing value. */
static int set_owned(PyObject *d, const char *key, PyObject *value)
{
    int rc = value ? PyDict_SetItemString(d, key, value) : -1;
    Py_XDECREF(value);
    return rc;
}

int cg_wsgi_setup(const cg_config_t *cfg, char *err, size_t errlen)
{
    PyObject *b = NULL;
    const char *sn = getenv("SCRIPT_NAME");
    const char *fmt;
    const char *const *items;
    size_t n;

    int threads;
    cg_worker_class(cfg, &threads);
    bool multithread = threads > 0;
    if (PyType_Ready(&ResponseType) || PyType_Ready(&InputType) || PyType_Ready(&ErrorsType) ||
        PyType_Ready(&FileWrapperType))
        goto fail;
    W.k_method = intern("REQUEST_METHOD");
    W.k_query = intern("QUERY_STRING");
    W.k_raw_uri = intern("RAW_URI");
    W.k_protocol = intern("SERVER_PROTOCOL");
    W.k_input = intern("wsgi.input");
    W.k_scheme = intern("wsgi.url_scheme");
    W.k_remote_addr = intern("REMOTE_ADDR");
    W.k_remote_port = intern("REMOTE_PORT");
    W.k_server_name = intern("SERVER_NAME");
    W.k_server_port = intern("SERVER_PORT");
    W.k_path_info = intern("PATH_INFO");
    W.k_script_name = intern("SCRIPT_NAME");
    W.k_content_type = intern("CONTENT_TYPE");
    W.k_content_length = intern("CONTENT_LENGTH");
    W.v_http10 = intern("HTTP/1.0");
    W.v_http11 = intern("HTTP/1.1");
    W.v_http = intern("http");
    W.v_https = intern("https");
    W.v_empty = intern("");
    for (size_t i = 0; i < 8; i++)
        W.methods[i] = intern(common_methods[i]);
    W.script_name = PyUnicode_DecodeLatin1(sn ? sn : "", sn ? (Py_ssize_t)strlen(sn) : 0, NULL);
    W.script_name_c = sn ? sn : "";
    W.script_name_len = strlen(W.script_name_c);
    if (PyErr_Occurred())
        goto fail;

    b = PyDict_New();
    if (b == NULL)
        goto fail;
    if (set_owned(b, "wsgi.errors", PyObject_CallNoArgs((PyObject *)&ErrorsType)) ||
        set_owned(b, "wsgi.version", Py_BuildValue("(ii)", 1, 0)) ||
        PyDict_SetItemString(b, "wsgi.multithread", multithread ? Py_True : Py_False) ||
        PyDict_SetItemString(b, "wsgi.multiprocess",
                             cg_config_int(cfg, CG_SET_workers) > 1 ? Py_True : Py_False) ||
        PyDict_SetItemString(b, "wsgi.run_once", Py_False) ||
        PyDict_SetItemString(b, "wsgi.file_wrapper", (PyObject *)&FileWrapperType) ||
        PyDict_SetItemString(b, "wsgi.input_terminated", Py_True) ||
        set_owned(b, "SERVER_SOFTWARE", PyUnicode_FromString(CG_SERVER_NAME "/" CG_VERSION)) ||
        PyDict_SetItemString(b, "wsgi.url_scheme", W.v_http))
        goto fail;
    W.base_environ = b;
    {
        PyObject *types = PyImport_ImportModule("types"); /* owned */
        W.namespace_type = types ? PyObject_GetAttrString(types, "SimpleNamespace") : NULL;
        Py_XDECREF(types);
        if (W.namespace_type == NULL)
            goto fail;
    }

    /* gunicorn: sendfile is off when the setting is set at all, else $SENDFILE
     * decides, else on */
    if (cg_config_source(cfg, CG_SET_sendfile) != CG_SRC_DEFAULT)
        W.sendfile = cg_config_bool(cfg, CG_SET_sendfile);
    else {
        const char *e = getenv("SENDFILE");
        W.sendfile = !(e && (strcmp(e, "0") == 0 || strcasecmp(e, "false") == 0 ||
                             strcasecmp(e, "no") == 0 || strcasecmp(e, "off") == 0));
    }
    W.io_timeout_ms = (int)cg_config_int(cfg, CG_SET_client_timeout) * 1000;
    if (W.io_timeout_ms <= 0)
        W.io_timeout_ms = 10000;
    fmt = cg_config_str(cfg, CG_SET_access_log_format);
    W.access_fmt = cg_access_format_new(fmt ? fmt : "");

    /* forwarded_allow_ips: "*" or a comma list of addresses and networks */
    char iperr[256];
    char *fwd = cg_config_list_joined(cfg, CG_SET_forwarded_allow_ips);
    W.trusted = cg_ipmatch_new(fwd, iperr, sizeof(iperr));
    free(fwd);
    if (W.trusted == NULL) {
        snprintf(err, errlen, "Invalid forwarded_allow_ips: %s", iperr);
        return -1;
    }
    n = cg_config_dict(cfg, CG_SET_secure_scheme_headers, &items, &W.scheme_values);
    W.scheme_keys = items;
    W.nscheme = n;
    return 0;
fail:
    Py_XDECREF(b);
    {
        char *tb = cg_py_format_exception();
        snprintf(err, errlen, "WSGI setup failed: %s", tb ? tb : "out of memory");
        free(tb);
    }
    return -1;
}

/* --- one request ----------------------------------------------------- */

/* Percent-decode s into out (which has room for len bytes); returns the
 * decoded length.  Invalid escapes are kept as they are. */
static size_t unquote(const char *s, size_t len, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

static int set_latin1(PyObject *env, PyObject *key, const char *s, size_t len)
{
    PyObject *v = PyUnicode_DecodeLatin1(s, (Py_ssize_t)len, NULL); /* owned */
    int rc = v ? PyDict_SetItem(env, key, v) : -1;
    Py_XDECREF(v);
    return rc;
}

static PyObject *method_object(const cg_http_request *req)
{
    if (req->method_casefold) {
        /* casefold_http_method: the parser leaves the bytes as sent */
        char up[64];
        size_t n = req->method_len < sizeof(up) ? req->method_len : sizeof(up);
        for (size_t i = 0; i < n; i++)
            up[i] = (char)toupper((unsigned char)req->method[i]);
        return PyUnicode_DecodeLatin1(up, (Py_ssize_t)n, NULL);
    }
    for (size_t i = 0; i < 8; i++)
        if (req->method_len == strlen(common_methods[i]) &&
            memcmp(req->method, common_methods[i], req->method_len) == 0) {
            Py_INCREF(W.methods[i]);
            return W.methods[i];
        }
    return PyUnicode_DecodeLatin1(req->method, (Py_ssize_t)req->method_len, NULL);
}

/* May this peer set the scheme (forwarded_allow_ips)?  Unix sockets are. */
static bool peer_trusted(const cg_wsgi_conn *c)
{
    if (c->listener->is_unix || cg_ipmatch_any(W.trusted))
        return true;
    if (c->peer)
        return cg_ipmatch_has_sockaddr(W.trusted, c->peer, c->peer_len);
    return cg_ipmatch_has(W.trusted, c->remote_addr);
}

/* Build the environ for c's request.  Owned reference, or NULL with a
 * Python exception set. */
static PyObject *build_environ(cg_wsgi_conn *c, PyObject *input)
{
    const cg_http_request *req = c->req;
    PyObject *env = PyDict_Copy(W.base_environ); /* owned */
    PyObject *v = NULL;
    const char *host = NULL;
    size_t host_len = 0;
    char key[300];
    char stackbuf[2048];
    char *decoded = stackbuf;

    if (env == NULL)
        return NULL;
    v = method_object(req);
    if (v == NULL || PyDict_SetItem(env, W.k_method, v))
        goto fail;
    Py_CLEAR(v);
    if (set_latin1(env, W.k_query, req->query ? req->query : "", req->query_len) ||
        set_latin1(env, W.k_raw_uri, req->target, req->target_len) ||
        PyDict_SetItem(env, W.k_protocol, req->version_minor ? W.v_http11 : W.v_http10) ||
        PyDict_SetItem(env, W.k_input, input))
        goto fail;

    bool trusted = W.nscheme > 0 && peer_trusted(c);
    PyObject *scheme = W.v_http; /* borrowed */
    const char *scheme_from = NULL;
    for (size_t i = 0; i < req->num_headers; i++) {
        const cg_http_header *h = &req->headers[i];
        PyObject *k;

        if (h->name_len + 6 > sizeof(key))
            continue; /* the parser's field limit keeps names far shorter */
        if (ieq(h->name, h->name_len, "content-type")) {
            k = W.k_content_type;
            Py_INCREF(k);
        } else if (ieq(h->name, h->name_len, "content-length")) {
            k = W.k_content_length;
            Py_INCREF(k);
        } else {
            if (ieq(h->name, h->name_len, "host")) {
                host = h->value;
                host_len = h->value_len;
            }
            memcpy(key, "HTTP_", 5);
            for (size_t j = 0; j < h->name_len; j++) {
                char ch = h->name[j];
                key[5 + j] = ch == '-' ? '_' : (char)toupper((unsigned char)ch);
            }
            k = PyUnicode_FromStringAndSize(key, (Py_ssize_t)h->name_len + 5);
            if (k == NULL)
                goto fail;
        }
        if (trusted) {
            for (size_t s = 0; s < W.nscheme; s++) {
                if (!ieq(h->name, h->name_len, W.scheme_keys[s]))
                    continue;
                bool secure = h->value_len == strlen(W.scheme_values[s]) &&
                              memcmp(h->value, W.scheme_values[s], h->value_len) == 0;
                PyObject *now = secure ? W.v_https : W.v_http;
                if (scheme_from && now != scheme) {
                    Py_DECREF(k);
                    PyErr_SetString(PyExc_ValueError, "Contradictory scheme headers");
                    goto fail;
                }
                scheme = now;
                scheme_from = W.scheme_keys[s];
            }
        }
        v = PyUnicode_DecodeLatin1(h->value, (Py_ssize_t)h->value_len, NULL);
        if (v == NULL) {
            Py_DECREF(k);
            goto fail;
        }
        PyObject *prev = PyDict_GetItemWithError(env, k); /* borrowed */
        if (prev && k != W.k_content_type && k != W.k_content_length) {
            /* repeated headers are joined with "," as gunicorn does */
            PyObject *joined = PyUnicode_FromFormat("%U,%U", prev, v);
            Py_SETREF(v, joined);
            if (v == NULL) {
                Py_DECREF(k);
                goto fail;
            }
        }
        int rc = PyDict_SetItem(env, k, v);
        Py_DECREF(k);
        Py_CLEAR(v);
        if (rc)
            goto fail;
    }
    if (scheme != W.v_http && PyDict_SetItem(env, W.k_scheme, scheme))
        goto fail;

    /* REMOTE_* */
    if (set_latin1(env, W.k_remote_addr, c->remote_addr, strlen(c->remote_addr)))
        goto fail;
    if (c->remote_port >= 0) {
        char port[8];
        int pl = snprintf(port, sizeof(port), "%d", c->remote_port);
        if (set_latin1(env, W.k_remote_port, port, (size_t)pl))
            goto fail;
    }
    if (c->proxy_protocol) {
        /* gunicorn's proxy_environ */
        char port[8];
        int pl = snprintf(port, sizeof(port), "%d", c->proxy_port);
        PyObject *v1 = PyUnicode_FromString(c->proxy_protocol), *v2 = NULL, *v3 = NULL;
        v2 = PyUnicode_FromString(c->proxy_addr);
        v3 = PyUnicode_FromStringAndSize(port, pl);
        int bad = !v1 || !v2 || !v3 || PyDict_SetItemString(env, "PROXY_PROTOCOL", v1) ||
                  PyDict_SetItemString(env, "PROXY_ADDR", v2) ||
                  PyDict_SetItemString(env, "PROXY_PORT", v3);
        Py_XDECREF(v1);
        Py_XDECREF(v2);
        Py_XDECREF(v3);
        if (bad)
            goto fail;
    }
    /* SERVER_*: the listener's address; for a unix socket the Host header */
    if (!c->listener->is_unix) {
        if (set_latin1(env, W.k_server_name, c->listener->server_name,
                       strlen(c->listener->server_name)) ||
            set_latin1(env, W.k_server_port, c->listener->server_port,
                       strlen(c->listener->server_port)))
            goto fail;
    } else {
        const char *name = c->listener->addr.path, *port = "";
        size_t nl = strlen(name), pl = 0;
        if (host) {
            const char *colon = memchr(host, ':', host_len);
            name = host;
            nl = colon ? (size_t)(colon - host) : host_len;
            port = colon ? colon + 1 : (scheme == W.v_https ? "443" : "80");
            pl = colon ? host_len - nl - 1 : strlen(port);
        }
        if (set_latin1(env, W.k_server_name, name, nl) ||
            set_latin1(env, W.k_server_port, port, pl))
            goto fail;
    }
    /* PATH_INFO: percent-decoded, latin-1; SCRIPT_NAME stripped from it */
    if (req->path_len > sizeof(stackbuf)) {
        decoded = malloc(req->path_len);
        if (decoded == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
    }
    size_t dl = unquote(req->path, req->path_len, decoded);
    const char *pi = decoded;
    if (W.script_name_len) {
        const char *hit = memmem(decoded, dl, W.script_name_c, W.script_name_len);
        if (hit) {
            /* gunicorn: path.split(script_name, 1)[1] */
            dl -= (size_t)(hit - decoded) + W.script_name_len;
            pi = hit + W.script_name_len;
        }
    }
    int prc = set_latin1(env, W.k_path_info, pi, dl);
    if (decoded != stackbuf)
        free(decoded);
    if (prc || PyDict_SetItem(env, W.k_script_name, W.script_name))
        goto fail;
    return env;
fail:
    Py_XDECREF(v);
    Py_DECREF(env);
    return NULL;
}

/* 100-continue: the interim response goes out when the app first reads the
 * body, so a client that waits for it is not kept waiting by an app that
 * never reads. */
static void send_continue(void *ctx)
{
    cg_wsgi_conn *c = ctx;
    struct iovec iov = {.iov_base = "HTTP/1.1 100 Continue\r\n\r\n", .iov_len = 25};
    send_all(c->fd, c->outq, &iov, 1, false);
}

/* --- the response body ----------------------------------------------- */

/* How the app's result goes out, decided before its first byte. */
typedef enum { KIND_UNSET, KIND_SENDFILE, KIND_SEQ, KIND_ITER } body_kind;

typedef enum {
    BODY_DONE,
    BODY_ERROR, /* a Python exception is set, or io_error */
    BODY_WAIT,  /* the output queue is full: park the request (gthread) */
} body_rc;

/* The most of one item written before checking whether the output queue is
 * full: a large item is not copied into the queue whole. */
#define SLICE (256 * 1024)

/* One request's Python side and where its response stands: on the serving
 * thread's stack, or in a job while the request waits for its client. */
typedef struct {
    Response *r;        /* owned */
    Input *input;       /* owned */
    PyObject *env;      /* owned */
    PyObject *result;   /* owned: what the app returned */
    PyObject *hook_req; /* owned: pre/post_request's req, or NULL */
    /* owned: the contextvars.Context an iterable result runs in (gthread),
     * so that a generator that sets a ContextVar and resets it later
     * (Flask's stream_with_context) still can when it resumes on another
     * thread */
    PyObject *ctx;
    body_kind kind;
    PyObject *it;      /* owned iterator (ITER) */
    Py_ssize_t index;  /* next item (SEQ) */
    long long total;   /* the body's length (SEQ) */
    PyObject *item;    /* owned: the item being written ... */
    size_t item_off;   /* ... and how much of it went out */
    int sf_fd;         /* SENDFILE: the file ... */
    off_t sf_pos;      /* ... where it stands ... */
    long long sf_left; /* ... and how much is left */
    bool sf_crlf;      /* the chunk around the file still needs its CRLF */
    struct timespec wall, t0;
} request;

/* The output queue holds all the server keeps for a client: stop producing
 * until the client reads. */
static bool queue_full(const request *q)
{
    const cg_outq *oq = q->r->conn->outq;
    return oq != NULL && oq->len >= oq->max;
}

/* wsgi.file_wrapper over a real file goes out with sendfile(2): note the
 * file in q and send the head (and the chunk header).  1: q->kind is
 * SENDFILE (io_error may be set), 0: not a real file (the caller iterates
 * it), -1: a Python error. */
static int sendfile_start(request *q)
{
    Response *r = q->r;
    FileWrapper *fw = (FileWrapper *)q->result;
    PyObject *fileno = NULL, *tell = NULL;
    struct stat st;
    long long off, count;
    int fd;

    if (!W.sendfile || !PyObject_TypeCheck(q->result, &FileWrapperType))
        return 0;
    fileno = PyObject_CallMethod(fw->filelike, "fileno", NULL);
    if (fileno == NULL) {
        PyErr_Clear();
        return 0;
    }
    fd = (int)PyLong_AsLong(fileno);
    Py_DECREF(fileno);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        PyErr_Clear();
        return 0;
    }
    /* flush Python's buffer position: start at the file object's offset */
    tell = PyObject_CallMethod(fw->filelike, "tell", NULL);
    if (tell) {
        off = PyLong_AsLongLong(tell);
        Py_DECREF(tell);
    } else {
        PyErr_Clear();
        off = lseek(fd, 0, SEEK_CUR);
    }
    if (off < 0)
        off = 0;
    count = st.st_size - off;
    if (count < 0)
        count = 0;
    q->kind = KIND_SENDFILE;
    if (response_write(r, NULL, 0, true, count, false) != 0)
        return PyErr_Occurred() ? -1 : 1;
    if (r->no_body)
        return 1;
    if (r->content_length >= 0 && count > r->content_length)
        count = r->content_length;
    q->sf_fd = fd;
    q->sf_pos = (off_t)off;
    q->sf_left = count;
    if (r->chunked && count > 0) {
        /* length known now, but the head already promised chunks */
        char hdr[24];
        struct iovec iov = {hdr, (size_t)snprintf(hdr, sizeof(hdr), "%llx\r\n", count)};
        if (send_all_nogil(r->conn->fd, r->conn->outq, &iov, 1, false) != 0) {
            r->io_error = true;
            r->conn->close = true;
        }
        q->sf_crlf = true;
    }
    return 1;
}

/* sendfile(2) the rest of q's file: 1 all sent, 0 the client is not ready
 * (gthread: the loop waits for it, not a thread), -1 the connection
 * failed.  Without the GIL. */
static int sendfile_some(request *q, int sock)
{
    while (q->sf_left > 0) {
        size_t want = q->sf_left > (1LL << 30) ? (size_t)1 << 30 : (size_t)q->sf_left;
        ssize_t n = sendfile(sock, q->sf_fd, &q->sf_pos, want);
        if (n > 0) {
            q->sf_left -= n;
            q->r->sent += n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            if (q->r->conn->outq)
                return 0;
            if (wait_writable(sock))
                continue;
        }
        return -1;
    }
    return 1;
}

/* The file of a SENDFILE response, from where it stands. */
static body_rc sendfile_body(request *q)
{
    Response *r = q->r;
    int sock = r->conn->fd, rc = 1;

    if (r->io_error)
        return BODY_ERROR;
    if (q->sf_left > 0 && r->conn->outq && r->conn->outq->len > 0) {
        /* sendfile writes straight to the socket: what is queued goes first */
        rc = cg_outq_flush(r->conn->outq, sock);
        if (rc == 0)
            return BODY_WAIT;
    }
    if (rc > 0) {
        Py_BEGIN_ALLOW_THREADS rc = sendfile_some(q, sock);
        Py_END_ALLOW_THREADS
    }
    if (rc == 0)
        return BODY_WAIT;
    if (rc > 0 && q->sf_crlf) {
        struct iovec iov = {"\r\n", 2};
        q->sf_crlf = false;
        rc = send_all_nogil(sock, q->r->conn->outq, &iov, 1, false) == 0 ? 1 : -1;
    }
    if (rc < 0) {
        r->io_error = true;
        r->conn->close = true;
        return BODY_ERROR;
    }
    return BODY_DONE;
}

/* Decide how the app's result goes out.  0, or -1 with a Python exception
 * set. */
static int start_body(request *q)
{
    int sf = sendfile_start(q);
    if (sf != 0)
        return sf < 0 ? -1 : 0;

    if (PyList_CheckExact(q->result) || PyTuple_CheckExact(q->result)) {
        /* A sequence of bytes: the server knows the length up front, so the
         * response gets a Content-Length instead of chunks. */
        Py_ssize_t n = PySequence_Fast_GET_SIZE(q->result), i;
        PyObject **items = PySequence_Fast_ITEMS(q->result);
        long long total = 0;
        for (i = 0; i < n && PyBytes_Check(items[i]); i++)
            total += PyBytes_GET_SIZE(items[i]);
        if (i == n) {
            q->kind = KIND_SEQ;
            q->total = total;
            return 0;
        }
    }
    q->it = PyObject_GetIter(q->result);
    if (q->it == NULL)
        return -1;
    q->kind = KIND_ITER;
    if (q->r->conn->outq && (q->ctx = PyContext_CopyCurrent()) == NULL)
        return -1;
    return 0;
}

/* The next body item (owned bytes); NULL at the end or with an exception
 * set. */
static PyObject *next_item(request *q)
{
    PyObject *item;

    if (q->kind == KIND_SEQ) {
        if (q->index >= PySequence_Fast_GET_SIZE(q->result))
            return NULL;
        item = PySequence_Fast_ITEMS(q->result)[q->index++];
        Py_INCREF(item);
    } else {
        item = PyIter_Next(q->it);
    }
    if (item && !PyBytes_Check(item)) {
        PyErr_Format(PyExc_TypeError, "%R is not a byte", item);
        Py_CLEAR(item);
    }
    return item;
}

/* Write the items of a SEQ or ITER result from where the response stands.
 * BODY_WAIT once the output queue is full (q keeps the place). */
static body_rc write_items(request *q)
{
    Response *r = q->r;
    bool known = q->kind == KIND_SEQ;

    for (;;) {
        if (q->item == NULL) {
            q->item = next_item(q);
            q->item_off = 0;
            if (q->item == NULL)
                break;
        }
        const char *data = PyBytes_AS_STRING(q->item);
        size_t len = (size_t)PyBytes_GET_SIZE(q->item);
        /* every item is written, even b'' (it sends the head) */
        do {
            size_t n = len - q->item_off < SLICE ? len - q->item_off : SLICE;
            if (response_write(r, data + q->item_off, n, known, q->total, false) != 0)
                return BODY_ERROR;
            q->item_off += n;
            if (queue_full(q)) {
                if (q->item_off == len)
                    Py_CLEAR(q->item);
                return BODY_WAIT;
            }
        } while (q->item_off < len);
        Py_CLEAR(q->item);
    }
    if (PyErr_Occurred())
        return BODY_ERROR;
    if (!r->headers_sent && response_write(r, NULL, 0, true, 0, false) != 0)
        return BODY_ERROR;
    return BODY_DONE;
}

/* Write the response body from where it stands (the first call decides
 * how).  BODY_WAIT: the client has not read enough yet. */
static body_rc write_body(request *q)
{
    body_rc rc;

    if (q->kind == KIND_UNSET && start_body(q) != 0)
        return BODY_ERROR;
    if (q->kind == KIND_SENDFILE)
        return sendfile_body(q);
    if (q->ctx && PyContext_Enter(q->ctx) != 0)
        return BODY_ERROR;
    rc = write_items(q);
    if (q->ctx)
        PyContext_Exit(q->ctx);
    return rc;
}

/* Finish the framing: the last chunk of a chunked body. */
static void finish_response(Response *r)
{
    if (r->headers_sent && r->chunked && !r->io_error) {
        struct iovec iov = {"0\r\n\r\n", 5};
        if (send_all_nogil(r->conn->fd, r->conn->outq, &iov, 1, false) != 0) {
            r->io_error = true;
            r->conn->close = true;
        }
    }
    if (r->content_length >= 0 && r->sent < r->content_length && !r->no_body)
        r->conn->close = true; /* the app sent less than it declared */
}

/* {x}e lookups for the access log. */
static const char *environ_get(void *ctx, const char *key)
{
    PyObject *env = ctx, *v = PyDict_GetItemString(env, key); /* borrowed */
    if (v == NULL)
        return NULL;
    if (PyUnicode_Check(v))
        return PyUnicode_AsUTF8(v);
    PyObject *s = PyObject_Str(v); /* owned; kept alive by the interned-free list */
    if (s == NULL) {
        PyErr_Clear();
        return NULL;
    }
    /* keep the string alive until the environ dies */
    PyDict_SetItemString(env, "cgunicorn._tmp_str", s);
    Py_DECREF(s);
    return PyUnicode_AsUTF8(s);
}

static void log_access(cg_wsgi_conn *c, Response *r, PyObject *env, const struct timespec *wall,
                       const struct timespec *t0)
{
    cg_log_header in[128];
    size_t nin = c->req->num_headers < 128 ? c->req->num_headers : 128;
    struct timespec t1;
    char path[2048];

    if (!cg_log_access_enabled() || W.access_fmt == NULL)
        return;
    for (size_t i = 0; i < nin; i++) {
        in[i].name = c->req->headers[i].name;
        in[i].name_len = c->req->headers[i].name_len;
        in[i].value = c->req->headers[i].value;
        in[i].value_len = c->req->headers[i].value_len;
    }
    for (size_t i = 0; i < r->nout; i++) {
        /* offsets into c->head->buf become pointers now that it stopped moving */
        r->out[i].name = c->head->buf + (uintptr_t)r->out[i].name;
        r->out[i].value = c->head->buf + (uintptr_t)r->out[i].value;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    size_t pl = c->req->path_len < sizeof(path) ? c->req->path_len : sizeof(path);
    pl = unquote(c->req->path, pl, path);
    cg_access_entry e = {
        .remote_addr = c->remote_addr,
        .method = c->req->method,
        .method_len = c->req->method_len,
        .raw_uri = c->req->target,
        .raw_uri_len = c->req->target_len,
        .path = path,
        .path_len = pl,
        .query = c->req->query,
        .query_len = c->req->query_len,
        .version_minor = c->req->version_minor,
        .status = r->status_code,
        .sent = r->sent,
        .start_wall = *wall,
        .duration_us = (t1.tv_sec - t0->tv_sec) * 1000000LL + (t1.tv_nsec - t0->tv_nsec) / 1000,
        .pid = getpid(),
        .req_headers = in,
        .num_req_headers = nin,
        .resp_headers = r->out,
        .num_resp_headers = r->headers_sent ? r->nout : 0,
        .environ_get = env ? environ_get : NULL,
        .environ_ctx = env,
    };
    cg_log_access(W.access_fmt, &e);
}

/* Log the current exception as gunicorn's "Error handling request". */
static void log_request_error(const cg_wsgi_conn *c)
{
    char *tb = cg_py_format_exception();
    cg_log_mark_exception();
    cg_log(CG_LOG_ERROR, "Error handling request %.*s %.*s\n%s", (int)c->req->method_len,
           c->req->method, (int)c->req->target_len, c->req->target, tb ? tb : "");
    free(tb);
}

/* gunicorn's req for pre_request/post_request: method, uri, path, query,
 * version, headers (upper-cased names), scheme.  Owned, or NULL. */
static PyObject *hook_request(const cg_wsgi_conn *c)
{
    const cg_http_request *req = c->req;
    PyObject *headers = PyList_New((Py_ssize_t)req->num_headers), *kw = NULL, *obj = NULL;
    char name[256];

    for (size_t i = 0; headers && i < req->num_headers; i++) {
        size_t n =
            req->headers[i].name_len < sizeof(name) ? req->headers[i].name_len : sizeof(name);
        for (size_t j = 0; j < n; j++)
            name[j] = (char)toupper((unsigned char)req->headers[i].name[j]);
        PyObject *t = Py_BuildValue("(s#y#)", name, (Py_ssize_t)n, req->headers[i].value,
                                    (Py_ssize_t)req->headers[i].value_len);
        if (t == NULL) {
            Py_CLEAR(headers);
            break;
        }
        /* values as latin-1 str, like gunicorn's */
        PyObject *v = PyUnicode_DecodeLatin1(req->headers[i].value,
                                             (Py_ssize_t)req->headers[i].value_len, NULL);
        if (v == NULL || PyTuple_SetItem(t, 1, v) != 0) {
            Py_DECREF(t);
            Py_CLEAR(headers);
            break;
        }
        PyList_SET_ITEM(headers, (Py_ssize_t)i, t);
    }
    if (headers)
        kw =
            Py_BuildValue("{s:s#,s:s#,s:s#,s:s#,s:(ii),s:O,s:s}", "method", req->method,
                          (Py_ssize_t)req->method_len, "uri", req->target,
                          (Py_ssize_t)req->target_len, "path", req->path, (Py_ssize_t)req->path_len,
                          "query", req->query ? req->query : "", (Py_ssize_t)req->query_len,
                          "version", 1, req->version_minor, "headers", headers, "scheme", "http");
    if (kw) {
        PyObject *noargs = PyTuple_New(0);
        obj = noargs ? PyObject_Call(W.namespace_type, noargs, kw) : NULL;
        Py_XDECREF(noargs);
    }
    Py_XDECREF(headers);
    Py_XDECREF(kw);
    return obj;
}

/* gunicorn's resp for post_request: status, status_code, headers, sent. */
static PyObject *hook_response(const Response *r)
{
    PyObject *kw = Py_BuildValue("{s:O,s:i,s:O,s:L}", "status", r->status ? r->status : Py_None,
                                 "status_code", r->status_code, "headers",
                                 r->headers ? r->headers : Py_None, "sent", r->sent);
    PyObject *noargs = PyTuple_New(0), *obj = NULL;
    if (kw && noargs)
        obj = PyObject_Call(W.namespace_type, noargs, kw);
    Py_XDECREF(kw);
    Py_XDECREF(noargs);
    return obj;
}

/* --- one request ----------------------------------------------------- */

/* Set up the request's Python side and call the app.  0 with q->result
 * set, or -1 with a Python exception set. */
static int call_app(cg_wsgi_conn *c, request *q)
{
    Response *r = q->r = PyObject_New(Response, &ResponseType);

    if (r == NULL)
        return -1;
    r->conn = c;
    r->status = NULL;
    r->headers = NULL;
    r->headers_sent = r->chunked = r->no_body = r->io_error = false;
    r->status_code = 0;
    r->content_length = -1;
    r->sent = 0;
    r->head_len = 0;
    r->nout = 0;
    q->input = PyObject_New(Input, &InputType);
    if (q->input == NULL)
        return -1;
    q->input->body = &c->body;

    q->env = build_environ(c, (PyObject *)q->input);
    if (q->env == NULL)
        return -1;
    if (cg_hook_set(CG_SET_pre_request) || cg_hook_set(CG_SET_post_request)) {
        q->hook_req = hook_request(c);
        if (q->hook_req == NULL)
            return -1;
        /* gunicorn: pre_request raising is an error handling the request */
        if (cg_hook_call_request(CG_SET_pre_request, q->hook_req, q->env, NULL) != 0) {
            PyErr_SetString(PyExc_RuntimeError, "pre_request hook failed");
            return -1;
        }
    }
    q->result = PyObject_CallFunctionObjArgs(cg_py_app(), q->env, (PyObject *)r, NULL);
    return q->result ? 0 : -1;
}

/* The app raised (or the result could not be written): gunicorn's 500 page
 * if the head has not gone out, else a cut connection. */
static void app_failed(cg_wsgi_conn *c, request *q)
{
    Response *r = q->r;

    log_request_error(c);
    if (r && !r->headers_sent) {
        cg_http_error e = {.status = 500, .reason = "Internal Server Error"};
        char page[1024];
        ssize_t n = cg_http_error_response(&e, page, sizeof(page));
        if (n > 0) {
            struct iovec iov = {page, (size_t)n};
            send_all_nogil(c->fd, c->outq, &iov, 1, false);
        }
        r->status_code = 500;
        r->headers_sent = false;
    } else if (r) {
        r->io_error = true; /* no clean end: the client must see it failed */
    }
    c->close = true;
}

/* PEP 3333: the result's close() is always called - in the context its
 * iteration ran in. */
static void close_result(const cg_wsgi_conn *c, request *q)
{
    if (q->result == NULL || !PyObject_HasAttrString(q->result, "close"))
        return;
    bool entered = q->ctx && PyContext_Enter(q->ctx) == 0;
    PyErr_Clear();
    PyObject *cr = PyObject_CallMethod(q->result, "close", NULL);
    if (cr == NULL)
        log_request_error(c);
    Py_XDECREF(cr);
    if (entered)
        PyContext_Exit(q->ctx);
}

/* The request is over: errors, close(), the last chunk, the access log,
 * post_request, the unread body, and the outputs in c.  With the GIL. */
static void end_request(cg_wsgi_conn *c, request *q, body_rc rc)
{
    Response *r = q->r;

    if (rc == BODY_ERROR && PyErr_Occurred() && r && r->io_error)
        PyErr_Clear(); /* the client left; gunicorn ignores that */
    else if (rc == BODY_ERROR && (PyErr_Occurred() || r == NULL))
        app_failed(c, q);
    Py_CLEAR(q->item);
    Py_CLEAR(q->it);
    close_result(c, q);
    if (r) {
        struct timespec t1;
        finish_response(r);
        log_access(c, r, q->env, &q->wall, &q->t0);
        if (q->hook_req && cg_hook_set(CG_SET_post_request)) {
            PyObject *resp = hook_response(r); /* owned */
            if (resp)
                cg_hook_call_request(CG_SET_post_request, q->hook_req, q->env, resp);
            PyErr_Clear();
            Py_XDECREF(resp);
        }
        r->conn = NULL;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        c->status = r->status_code;
        c->sent = r->sent;
        c->write_failed = r->io_error;
        c->duration_us =
            (t1.tv_sec - q->t0.tv_sec) * 1000000LL + (t1.tv_nsec - q->t0.tv_nsec) / 1000;
    }
    if (q->input)
        q->input->body = NULL;
    /* unread body bytes would be taken for the next request: drop them, or
     * close */
    if (!c->body.done && !c->close) {
        bool ok;
        Py_BEGIN_ALLOW_THREADS ok = body_can_be_drained(c) && drain_body(&c->body);
        Py_END_ALLOW_THREADS if (!ok) c->close = true;
    }
    if (!c->body.done)
        c->close = true;
    c->requests++;
    Py_XDECREF(q->ctx);
    Py_XDECREF(q->hook_req);
    Py_XDECREF(q->result);
    Py_XDECREF(q->env);
    Py_XDECREF((PyObject *)q->input);
    Py_XDECREF((PyObject *)r);
}

/* --- a request that waits for its client (gthread) --------------------- */

/* What a parked request keeps of the thread that ran it: the request
 * state, and copies of what lived in that thread's scratch (the parsed
 * head, the body buffer, the response head), which cg_wsgi_restore puts
 * into the scratch of whichever thread carries on. */
struct cg_wsgi_job {
    request q;
    cg_wsgi_conn conn;
    cg_http_request req; /* its strings point into the connection's buffer */
    cg_http_header *hdrs;
    char *body; /* the body buffer's bytes that still matter, [0, body_len) */
    size_t body_len, extra_off;
    char *head; /* the response head, which the access log reads */
};

static void job_free(cg_wsgi_job *j)
{
    free(j->hdrs);
    free(j->body);
    free(j->head);
    free(j);
}

/* Bytes at the start of the body buffer that still matter: unread body
 * bytes, and what a chunked body read past its end (the next request). */
static size_t body_live(const cg_body *b)
{
    size_t hi = b->start < b->end ? b->end : 0;
    if (b->extra && (size_t)(b->extra - b->buf) + b->extra_len > hi)
        hi = (size_t)(b->extra - b->buf) + b->extra_len;
    return hi;
}

/* Wait until the client has read c's output queue down to a quarter (and
 * the socket takes more); false if it stops reading for client_timeout or
 * goes away.  Without the GIL. */
static bool wait_for_room(cg_wsgi_conn *c)
{
    for (;;) {
        if (!wait_writable(c->fd) || cg_outq_flush(c->outq, c->fd) < 0)
            return false;
        if (c->outq->len <= c->outq->max / 4)
            return true;
    }
}

/* Park the request in c->job so that the thread is free; false when out
 * of memory.  No Python code of it runs until it is resumed. */
static bool park(cg_wsgi_conn *c, request *q)
{
    cg_wsgi_job *j = calloc(1, sizeof(*j));
    size_t nh = c->req->num_headers, live = body_live(&c->body), hl = q->r->head_len;

    if (j == NULL)
        return false;
    j->hdrs = malloc(nh ? nh * sizeof(*j->hdrs) : 1);
    j->body = malloc(live ? live : 1);
    j->head = malloc(hl ? hl : 1);
    if (j->hdrs == NULL || j->body == NULL || j->head == NULL) {
        job_free(j);
        return false;
    }
    if (nh)
        memcpy(j->hdrs, c->req->headers, nh * sizeof(*j->hdrs));
    if (live)
        memcpy(j->body, c->body.buf, live);
    if (hl)
        memcpy(j->head, c->head->buf, hl);
    j->body_len = live;
    j->extra_off = c->body.extra ? (size_t)(c->body.extra - c->body.buf) : 0;
    j->req = *c->req;
    q->r->conn = NULL;
    q->input->body = NULL;
    j->q = *q;
    j->conn = *c;
    c->job = j;
    return true;
}

void cg_wsgi_restore(cg_wsgi_conn *c, cg_wsgi_job *j, cg_http_header *hdrs)
{
    cg_http_request *req = c->req;
    char *body_buf = c->body_buf;
    cg_headbuf *head = c->head;

    *c = j->conn;
    c->req = req;
    c->body_buf = body_buf;
    c->head = head;
    *req = j->req;
    req->headers = hdrs;
    if (req->num_headers)
        memcpy(hdrs, j->hdrs, req->num_headers * sizeof(*hdrs));
    c->body.buf = body_buf;
    if (j->body_len)
        memcpy(body_buf, j->body, j->body_len);
    if (c->body.extra)
        c->body.extra = body_buf + j->extra_off;
    if (c->body.before_read)
        c->body.before_read_ctx = c;
    size_t hl = j->q.r->head_len;
    if (hl && head_reserve(c->head, hl) == 0)
        memcpy(c->head->buf, j->head, hl);
    else
        j->q.r->nout = 0; /* no memory: the access log goes without them */
    c->job = j;
}

cg_wsgi_state cg_wsgi_handle(cg_wsgi_conn *c)
{
    request q;
    body_rc rc;
    bool parked = false;

    if (c->job) {
        /* a parked request carries on (cg_wsgi_restore put it back) */
        q = c->job->q;
        job_free(c->job);
        c->job = NULL;
        cg_py_acquire_gil();
        q.r->conn = c;
        q.input->body = &c->body;
        if (c->client_gone) {
            q.r->io_error = true;
            c->close = true;
            rc = BODY_ERROR;
        } else {
            rc = write_body(&q);
        }
    } else {
        const cg_http_request *req = c->req;
        memset(&q, 0, sizeof(q));
        clock_gettime(CLOCK_REALTIME, &q.wall);
        clock_gettime(CLOCK_MONOTONIC, &q.t0);
        cg_body_init(&c->body, c->fd, c->body_buf, c->body_cap, c->buf + c->head_len,
                     c->len - c->head_len, req->content_length, req->chunked, c->lim);
        c->body.timeout_ms = W.io_timeout_ms;
        if (req->expect_continue && !c->body.done) {
            c->body.before_read = send_continue;
            c->body.before_read_ctx = c;
        }
        if (!req->keep_alive)
            c->close = true;
        c->job = NULL;
        cg_py_acquire_gil();
        rc = call_app(c, &q) == 0 ? write_body(&q) : BODY_ERROR;
    }
    /* gevent/eventlet: a greenlet is cheap - it waits for the client here,
     * through the hub, instead of parking */
    while (rc == BODY_WAIT && !c->may_park) {
        bool room;
        Py_BEGIN_ALLOW_THREADS room = wait_for_room(c);
        Py_END_ALLOW_THREADS if (room) rc = write_body(&q);
        else
        {
            q.r->io_error = true;
            c->close = true;
            rc = BODY_ERROR;
        }
    }
    if (rc == BODY_WAIT) {
        parked = park(c, &q);
        if (!parked) {
            cg_log(CG_LOG_WARNING, "No memory to wait for a slow client: closing its connection");
            q.r->io_error = true;
            c->close = true;
            rc = BODY_ERROR;
        }
    }
    if (!parked)
        end_request(c, &q, rc);
    /* a signal that arrived while C code ran: its handler runs now */
    cg_py_check_signals();
    cg_py_release_gil();
    return parked ? CG_WSGI_WAITING : CG_WSGI_DONE;
}

void cg_wsgi_reject(cg_wsgi_conn *c, const cg_http_error *err)
{
    char page[2048];
    ssize_t n = cg_http_error_response(err, page, sizeof(page));

    /* gunicorn logs str(exc), the part of the page's message after its
     * wrapping */
    cg_log(CG_LOG_WARNING, "Invalid request from ip=%s: %.*s", c->remote_addr, (int)err->detail_len,
           err->msg + err->detail_off);
    c->status = err->status;
    if (n > 0) {
        struct iovec iov = {page, (size_t)n};
        send_all(c->fd, NULL, &iov, 1, false);
    }
    c->close = true;
}
