/* cgunicorn.h - version and status codes shared by every engine module. */
#ifndef CGUNICORN_CGUNICORN_H
#define CGUNICORN_CGUNICORN_H

#define CG_VERSION "0.1.0"
#define CG_SERVER_NAME "cgunicorn"

/* Status returned by engine functions that can fail.  Error text, when
 * there is some, goes into a caller-provided buffer (err, errlen). */
typedef enum {
    CG_OK = 0,
    CG_ERR = -1,
} cg_status;

/* Exit codes the arbiter shares with gunicorn. */
#define CG_EXIT_WORKER_BOOT_ERROR 3
#define CG_EXIT_APP_LOAD_ERROR 4

#endif
