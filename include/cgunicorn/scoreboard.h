/* scoreboard.h - per-worker live state in shared memory.
 *
 * The master maps it before the first fork; each worker writes only its own
 * slot, and each of its threads only its own request entry in that slot (a
 * single writer per entry under a sequence lock, so readers never see a
 * torn request; counters are relaxed atomic adds; no locks on the request
 * path); the master and the dashboard read snapshots.  The mapping starts with a magic, a version
 * and the slot size, and holds no pointers.  Recent log lines (access and error) go to a shared
 * ring the dashboard tails whether or not a log file is set. */
#ifndef CGUNICORN_SCOREBOARD_H
#define CGUNICORN_SCOREBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CG_SB_MAX_SLOTS 512
/* Latency histogram: 4 buckets per power of two of microseconds, from
 * 1 us to 2^28 us (about 4.5 minutes); bucket 0 holds < 1 us. */
#define CG_SB_LAT_SUB 4
#define CG_SB_LAT_BUCKETS (28 * CG_SB_LAT_SUB + 1)
#define CG_SB_LINE 240   /* bytes of one ring line (longer lines are cut) */
#define CG_SB_THREADS 16 /* request entries per worker (threads beyond share the last) */

typedef enum {
    CG_WS_EMPTY = 0,
    CG_WS_BOOTING,
    CG_WS_IDLE,
    CG_WS_BUSY,
    CG_WS_STOPPING,
} cg_worker_state;

/* A request in progress. */
typedef struct {
    int64_t start_ns; /* CLOCK_MONOTONIC */
    char method[16];
    char path[112];
    char client[48];
} cg_sb_request;

/* One worker, as a reader sees it (a consistent copy of its slot). */
typedef struct {
    int slot;
    pid_t pid;
    cg_worker_state state;
    uint32_t generation;
    int64_t boot_ns;      /* CLOCK_MONOTONIC at fork */
    int64_t heartbeat_ns; /* last sign of life */
    uint64_t requests;
    uint64_t bytes_sent;
    uint64_t status[6]; /* [1]..[5]: 1xx..5xx, [0]: other */
    uint64_t lat_sum_us;
    uint64_t lat[CG_SB_LAT_BUCKETS];
    /* the request in progress (state BUSY): the oldest one when several
     * threads are busy */
    int64_t req_start_ns;
    char method[16];
    char path[112];
    char client[48];
    int nbusy;                         /* threads running a request */
    cg_sb_request reqs[CG_SB_THREADS]; /* each of them, oldest first */
} cg_worker_row;

typedef struct cg_scoreboard cg_scoreboard_t;

/* Map a new scoreboard with nslots slots and a ring of nlines lines
 * (MAP_SHARED | MAP_ANONYMOUS: children inherit it).  NULL on failure. */
cg_scoreboard_t *cg_scoreboard_create(unsigned nslots, unsigned nlines);
void cg_scoreboard_destroy(cg_scoreboard_t *sb);

/* Master: take a free slot for a worker about to be forked (-1 if none),
 * fill in its pid once known, and free it when the worker is reaped. */
int cg_scoreboard_claim(cg_scoreboard_t *sb, uint32_t generation);
void cg_scoreboard_set_pid(cg_scoreboard_t *sb, int slot, pid_t pid);
void cg_scoreboard_release(cg_scoreboard_t *sb, int slot);

/* Worker: the slot this process writes (after fork). */
void cg_scoreboard_bind(cg_scoreboard_t *sb, int slot);
/* Worker thread: which request entry of the slot this thread writes
 * (0 for the main thread and the sync worker). */
void cg_scoreboard_bind_thread(int index);
/* Worker, hot path: a request head was parsed / the response is done. */
void cg_sb_request_start(const char *method, size_t method_len, const char *path, size_t path_len,
                         const char *client);
void cg_sb_request_end(int status, uint64_t bytes, uint64_t duration_us);
/* The request in progress leaves this thread unfinished (gthread parks a
 * response while a slow client reads): the entry is free, nothing is
 * counted; cg_sb_request_start again on the thread that carries it on, so
 * --timeout measures the time a thread is held, not the client's pace. */
void cg_sb_request_pause(void);
void cg_sb_set_state(cg_worker_state state);
void cg_sb_heartbeat(void);

/* Copy every occupied slot into rows (up to max); returns how many. */
size_t cg_scoreboard_snapshot(const cg_scoreboard_t *sb, cg_worker_row *rows, size_t max);

/* The latency bucket of a duration, and the upper bound of a bucket (us). */
int cg_sb_lat_bucket(uint64_t us);
uint64_t cg_sb_lat_upper(int bucket);

/* --- log ring ------------------------------------------------------- */

/* Append one line (any process).  access: an access-log line; else an
 * error-log line. */
void cg_sb_ring_push(cg_scoreboard_t *sb, bool access, const char *line, size_t len);
/* The ring position of the next line to be written. */
uint64_t cg_sb_ring_head(const cg_scoreboard_t *sb);
/* Read line number pos (0-based since creation) into out (NUL-terminated);
 * returns 1 if read, 0 if overwritten already or not yet written, and sets
 * *access. */
int cg_sb_ring_get(const cg_scoreboard_t *sb, uint64_t pos, bool *access, char *out, size_t outlen);

/* The scoreboard this worker process writes to, or NULL (for the log
 * observer). */
cg_scoreboard_t *cg_scoreboard_current(void);

#endif
