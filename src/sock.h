/* sock.h - listening sockets: parse gunicorn bind addresses, bind, listen. */
#ifndef CG_SOCK_H
#define CG_SOCK_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { CG_ADDR_TCP, CG_ADDR_UNIX, CG_ADDR_FD } cg_addr_kind;

/* A parsed bind address (gunicorn's util.parse_address). */
typedef struct {
    cg_addr_kind kind;
    char host[256]; /* TCP: host, lower-cased, without brackets */
    int port;       /* TCP */
    char path[108]; /* UNIX */
    int fd;         /* FD */
} cg_addr;

typedef struct {
    int fd;
    cg_addr addr;
    bool is_unix;
    char url[300];         /* as logged: http://127.0.0.1:8000, http://[::1]:8000, unix:/p */
    char name[280];        /* as gunicorn's str(addr): ('127.0.0.1', 8000) or the path */
    char server_name[256]; /* default SERVER_NAME / SERVER_PORT for the environ */
    char server_port[8];
} cg_listener;

/* Parse one --bind value.  Returns 0, or -1 with err filled. */
int cg_addr_parse(const char *text, cg_addr *out, char *err, size_t errlen);

/* Create, bind and listen on one address (retrying 5 times a second apart
 * while the address is in use, logging as gunicorn does).  Returns 0, or
 * -1 after logging "Can't connect to ...". */
int cg_listener_open(cg_listener *l, const cg_addr *addr, int backlog, int umask_bits,
                     bool reuse_port);

/* Close a listener; a unix socket file is unlinked when unlink_path. */
void cg_listener_close(cg_listener *l, bool unlink_path);

/* Comma-joined urls of n listeners, as in "Listening at: ..." */
void cg_listeners_urls(const cg_listener *ls, size_t n, char *out, size_t outlen);

#endif
