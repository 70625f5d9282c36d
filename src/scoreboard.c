/* scoreboard.c - shared-memory worker slots and log ring. */
#include "cgunicorn/scoreboard.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SB_MAGIC 0x43475342u /* "CGSB" */
#define SB_VERSION 1u

/* One request entry: written by one thread of the worker only. */
typedef struct {
    _Atomic uint32_t seq; /* odd while being written */
    int32_t busy;
    int64_t start_ns;
    char method[16];
    char path[112];
    char client[48];
} sb_thread;

/* One worker's slot.  The identity fields change only when the master
 * claims or frees the slot (the worker cannot be writing then); counters
 * are relaxed atomic adds from any thread of the worker. */
typedef struct {
    _Atomic uint32_t seq; /* guards pid/state/generation/boot */
    int32_t pid;
    int32_t state;
    uint32_t generation;
    int64_t boot_ns;
    _Atomic int64_t heartbeat_ns;
    _Atomic uint64_t requests;
    _Atomic uint64_t bytes_sent;
    _Atomic uint64_t status[6];
    _Atomic uint64_t lat_sum_us;
    _Atomic uint64_t lat[CG_SB_LAT_BUCKETS];
    sb_thread thr[CG_SB_THREADS];
} sb_slot;

typedef struct {
    _Atomic uint64_t pos_plus1; /* 0 while being written */
    uint8_t access;
    uint16_t len;
    char text[CG_SB_LINE];
} sb_line;

typedef struct {
    uint32_t magic;
    uint32_t version;
    uint32_t slot_size;
    uint32_t nslots;
    uint32_t nlines;
    uint32_t line_size;
    _Atomic uint64_t ring_head;
} sb_header;

struct cg_scoreboard {
    sb_header *hdr;
    sb_slot *slots;
    sb_line *lines;
    size_t map_len;
};

/* The process's own scoreboard and slot (workers). */
static cg_scoreboard_t *current;
static sb_slot *mine;
static _Thread_local int thread_index; /* this thread's request entry */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

cg_scoreboard_t *cg_scoreboard_create(unsigned nslots, unsigned nlines)
{
    cg_scoreboard_t *sb;
    size_t len;
    void *map;

    if (nslots == 0 || nslots > CG_SB_MAX_SLOTS || nlines == 0)
        return NULL;
    sb = malloc(sizeof(*sb));
    if (sb == NULL)
        return NULL;
    len = sizeof(sb_header) + nslots * sizeof(sb_slot) + nlines * sizeof(sb_line);
    map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        free(sb);
        return NULL;
    }
    sb->map_len = len;
    sb->hdr = map;
    sb->slots = (sb_slot *)(sb->hdr + 1);
    sb->lines = (sb_line *)(sb->slots + nslots);
    sb->hdr->magic = SB_MAGIC;
    sb->hdr->version = SB_VERSION;
    sb->hdr->slot_size = sizeof(sb_slot);
    sb->hdr->nslots = nslots;
    sb->hdr->nlines = nlines;
    sb->hdr->line_size = sizeof(sb_line);
    return sb;
}

void cg_scoreboard_destroy(cg_scoreboard_t *sb)
{
    if (sb == NULL)
        return;
    munmap(sb->hdr, sb->map_len);
    if (current == sb)
        cg_scoreboard_bind(NULL, -1);
    free(sb);
}

/* Sequence lock, writer side (one writer per lock). */
static void seq_begin(_Atomic uint32_t *seq)
{
    uint32_t v = atomic_load_explicit(seq, memory_order_relaxed);
    atomic_store_explicit(seq, v + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static void seq_end(_Atomic uint32_t *seq)
{
    uint32_t v = atomic_load_explicit(seq, memory_order_relaxed);
    atomic_store_explicit(seq, v + 1, memory_order_release);
}

#define write_begin(s) seq_begin(&(s)->seq)
#define write_end(s) seq_end(&(s)->seq)

/* Reader side: copy n bytes from src under seq; false if it kept changing. */
static bool seq_copy(const _Atomic uint32_t *seq, void *dst, const void *src, size_t n)
{
    for (int tries = 0; tries < 1000; tries++) {
        uint32_t s1 = atomic_load_explicit(seq, memory_order_acquire);
        if (s1 & 1)
            continue;
        memcpy(dst, src, n);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(seq, memory_order_relaxed) == s1)
            return true;
    }
    return false;
}

int cg_scoreboard_claim(cg_scoreboard_t *sb, uint32_t generation)
{
    for (uint32_t i = 0; i < sb->hdr->nslots; i++) {
        sb_slot *s = &sb->slots[i];
        if (s->state != CG_WS_EMPTY)
            continue;
        /* no worker owns the slot: plain resets are safe; readers skip it
         * until the state below says it is in use */
        write_begin(s);
        s->pid = 0;
        s->generation = generation;
        s->boot_ns = mono_ns();
        atomic_store_explicit(&s->heartbeat_ns, s->boot_ns, memory_order_relaxed);
        atomic_store_explicit(&s->requests, 0, memory_order_relaxed);
        atomic_store_explicit(&s->bytes_sent, 0, memory_order_relaxed);
        atomic_store_explicit(&s->lat_sum_us, 0, memory_order_relaxed);
        for (int k = 0; k < 6; k++)
            atomic_store_explicit(&s->status[k], 0, memory_order_relaxed);
        for (int k = 0; k < CG_SB_LAT_BUCKETS; k++)
            atomic_store_explicit(&s->lat[k], 0, memory_order_relaxed);
        for (int k = 0; k < CG_SB_THREADS; k++) {
            seq_begin(&s->thr[k].seq);
            s->thr[k].busy = 0;
            seq_end(&s->thr[k].seq);
        }
        s->state = CG_WS_BOOTING;
        write_end(s);
        return (int)i;
    }
    return -1;
}

void cg_scoreboard_set_pid(cg_scoreboard_t *sb, int slot, pid_t pid)
{
    sb_slot *s = &sb->slots[slot];
    write_begin(s);
    s->pid = pid;
    write_end(s);
}

void cg_scoreboard_release(cg_scoreboard_t *sb, int slot)
{
    sb_slot *s;

    if (slot < 0 || (uint32_t)slot >= sb->hdr->nslots)
        return;
    s = &sb->slots[slot];
    write_begin(s);
    s->pid = 0;
    s->state = CG_WS_EMPTY;
    write_end(s);
}

void cg_scoreboard_bind_thread(int index)
{
    thread_index = index < 0 ? 0 : index >= CG_SB_THREADS ? CG_SB_THREADS - 1 : index;
}

void cg_scoreboard_bind(cg_scoreboard_t *sb, int slot)
{
    current = sb;
    mine = (sb && slot >= 0 && (uint32_t)slot < sb->hdr->nslots) ? &sb->slots[slot] : NULL;
}

cg_scoreboard_t *cg_scoreboard_current(void)
{
    return current;
}

/* Copy at most n bytes of src into a fixed field, NUL-terminated. */
static void set_field(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void cg_sb_request_start(const char *method, size_t method_len, const char *path, size_t path_len,
                         const char *client)
{
    if (mine == NULL)
        return;
    sb_thread *t = &mine->thr[thread_index];
    int64_t now = mono_ns();
    seq_begin(&t->seq);
    t->busy = 1;
    t->start_ns = now;
    set_field(t->method, sizeof(t->method), method, method_len);
    set_field(t->path, sizeof(t->path), path, path_len);
    set_field(t->client, sizeof(t->client), client, strlen(client));
    seq_end(&t->seq);
}

int cg_sb_lat_bucket(uint64_t us)
{
    int b, sub;

    if (us == 0)
        return 0;
    b = 63 - __builtin_clzll(us);
    if (b >= 28)
        return CG_SB_LAT_BUCKETS - 1;
    /* the two bits after the leading one pick the quarter */
    sub = b >= 2 ? (int)((us >> (b - 2)) & 3) : (int)((us << (2 - b)) & 3);
    return 1 + b * CG_SB_LAT_SUB + sub;
}

uint64_t cg_sb_lat_upper(int bucket)
{
    int b, sub;

    if (bucket <= 0)
        return 1;
    b = (bucket - 1) / CG_SB_LAT_SUB;
    sub = (bucket - 1) % CG_SB_LAT_SUB;
    /* exclusive, rounded up: below 4 us a quarter is less than 1 us */
    return (((uint64_t)(CG_SB_LAT_SUB + sub + 1) << b) + CG_SB_LAT_SUB - 1) / CG_SB_LAT_SUB;
}

void cg_sb_request_end(int status, uint64_t bytes, uint64_t duration_us)
{
    sb_slot *s = mine;
    int cls = status / 100;

    if (s == NULL)
        return;
    sb_thread *t = &s->thr[thread_index];
    seq_begin(&t->seq);
    t->busy = 0;
    seq_end(&t->seq);
    atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->bytes_sent, bytes, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->status[cls >= 1 && cls <= 5 ? cls : 0], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->lat_sum_us, duration_us, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->lat[cg_sb_lat_bucket(duration_us)], 1, memory_order_relaxed);
    atomic_store_explicit(&s->heartbeat_ns, mono_ns(), memory_order_relaxed);
}

void cg_sb_request_pause(void)
{
    if (mine == NULL)
        return;
    sb_thread *t = &mine->thr[thread_index];
    seq_begin(&t->seq);
    t->busy = 0;
    seq_end(&t->seq);
}

void cg_sb_set_state(cg_worker_state state)
{
    sb_slot *s = mine;
    if (s == NULL)
        return;
    write_begin(s);
    s->state = state;
    write_end(s);
    atomic_store_explicit(&s->heartbeat_ns, mono_ns(), memory_order_relaxed);
}

void cg_sb_heartbeat(void)
{
    if (mine)
        atomic_store_explicit(&mine->heartbeat_ns, mono_ns(), memory_order_relaxed);
}

/* Order busy requests oldest first. */
static int by_start(const void *a, const void *b)
{
    const cg_sb_request *x = a, *y = b;
    return (x->start_ns > y->start_ns) - (x->start_ns < y->start_ns);
}

size_t cg_scoreboard_snapshot(const cg_scoreboard_t *sb, cg_worker_row *rows, size_t max)
{
    size_t n = 0;

    for (uint32_t i = 0; i < sb->hdr->nslots && n < max; i++) {
        sb_slot *s = &sb->slots[i];
        struct {
            int32_t pid, state;
            uint32_t generation;
            int64_t boot_ns;
        } id;
        uint32_t s1;
        int tries = 0;

        do { /* the identity, consistently */
            s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
            id.pid = s->pid;
            id.state = s->state;
            id.generation = s->generation;
            id.boot_ns = s->boot_ns;
            atomic_thread_fence(memory_order_acquire);
        } while ((s1 & 1 || atomic_load_explicit(&s->seq, memory_order_relaxed) != s1) &&
                 ++tries < 1000);
        if (id.state == CG_WS_EMPTY)
            continue;
        cg_worker_row *r = &rows[n++];
        memset(r, 0, sizeof(*r));
        r->slot = (int)i;
        r->pid = id.pid;
        r->state = (cg_worker_state)id.state;
        r->generation = id.generation;
        r->boot_ns = id.boot_ns;
        r->heartbeat_ns = atomic_load_explicit(&s->heartbeat_ns, memory_order_relaxed);
        r->requests = atomic_load_explicit(&s->requests, memory_order_relaxed);
        r->bytes_sent = atomic_load_explicit(&s->bytes_sent, memory_order_relaxed);
        for (int k = 0; k < 6; k++)
            r->status[k] = atomic_load_explicit(&s->status[k], memory_order_relaxed);
        r->lat_sum_us = atomic_load_explicit(&s->lat_sum_us, memory_order_relaxed);
        for (int k = 0; k < CG_SB_LAT_BUCKETS; k++)
            r->lat[k] = atomic_load_explicit(&s->lat[k], memory_order_relaxed);
        for (int k = 0; k < CG_SB_THREADS; k++) {
            sb_thread t;
            if (!seq_copy(&s->thr[k].seq, &t, &s->thr[k], sizeof(t)) || !t.busy)
                continue;
            cg_sb_request *q = &r->reqs[r->nbusy++];
            q->start_ns = t.start_ns;
            memcpy(q->method, t.method, sizeof(q->method));
            memcpy(q->path, t.path, sizeof(q->path));
            memcpy(q->client, t.client, sizeof(q->client));
            q->method[sizeof(q->method) - 1] = q->path[sizeof(q->path) - 1] =
                q->client[sizeof(q->client) - 1] = '\0';
        }
        if (r->nbusy > 0) {
            qsort(r->reqs, (size_t)r->nbusy, sizeof(r->reqs[0]), by_start);
            r->req_start_ns = r->reqs[0].start_ns;
            memcpy(r->method, r->reqs[0].method, sizeof(r->method));
            memcpy(r->path, r->reqs[0].path, sizeof(r->path));
            memcpy(r->client, r->reqs[0].client, sizeof(r->client));
            if (r->state == CG_WS_IDLE)
                r->state = CG_WS_BUSY;
        }
    }
    return n;
}

void cg_sb_ring_push(cg_scoreboard_t *sb, bool access, const char *line, size_t len)
{
    uint64_t pos = atomic_fetch_add_explicit(&sb->hdr->ring_head, 1, memory_order_relaxed);
    sb_line *l = &sb->lines[pos % sb->hdr->nlines];

    atomic_store_explicit(&l->pos_plus1, 0, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    if (len > CG_SB_LINE)
        len = CG_SB_LINE;
    memcpy(l->text, line, len);
    l->len = (uint16_t)len;
    l->access = access;
    atomic_store_explicit(&l->pos_plus1, pos + 1, memory_order_release);
}

uint64_t cg_sb_ring_head(const cg_scoreboard_t *sb)
{
    return atomic_load_explicit(&sb->hdr->ring_head, memory_order_acquire);
}

int cg_sb_ring_get(const cg_scoreboard_t *sb, uint64_t pos, bool *access, char *out, size_t outlen)
{
    sb_line *l = &sb->lines[pos % sb->hdr->nlines];
    size_t n;

    if (atomic_load_explicit(&l->pos_plus1, memory_order_acquire) != pos + 1)
        return 0;
    n = l->len < outlen - 1 ? l->len : outlen - 1;
    memcpy(out, l->text, n);
    out[n] = '\0';
    *access = l->access;
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&l->pos_plus1, memory_order_relaxed) == pos + 1;
}
