/* scoreboard.c - shared-memory worker slots and log ring. */
#include "cgunicorn/scoreboard.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SB_MAGIC 0x43475342u /* "CGSB" */
#define SB_VERSION 1u

/* One worker's slot.  Only its worker writes it (the master only between
 * fork and reap boundaries, when the worker cannot). */
typedef struct {
    _Atomic uint32_t seq; /* odd while being written */
    int32_t pid;
    int32_t state;
    uint32_t generation;
    int64_t boot_ns;
    int64_t heartbeat_ns;
    uint64_t requests;
    uint64_t bytes_sent;
    uint64_t status[6];
    uint64_t lat_sum_us;
    uint64_t lat[CG_SB_LAT_BUCKETS];
    int64_t req_start_ns;
    char method[16];
    char path[112];
    char client[48];
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

/* Sequence lock, writer side. */
static void write_begin(sb_slot *s)
{
    uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static void write_end(sb_slot *s)
{
    uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 1, memory_order_release);
}

int cg_scoreboard_claim(cg_scoreboard_t *sb, uint32_t generation)
{
    for (uint32_t i = 0; i < sb->hdr->nslots; i++) {
        sb_slot *s = &sb->slots[i];
        if (s->state != CG_WS_EMPTY)
            continue;
        write_begin(s);
        memset((char *)s + sizeof(s->seq), 0, sizeof(*s) - sizeof(s->seq));
        s->state = CG_WS_BOOTING;
        s->generation = generation;
        s->boot_ns = s->heartbeat_ns = mono_ns();
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

void cg_sb_request_start(const char *method, size_t method_len, const char *path,
                         size_t path_len, const char *client)
{
    sb_slot *s = mine;
    if (s == NULL)
        return;
    write_begin(s);
    s->state = CG_WS_BUSY;
    s->req_start_ns = s->heartbeat_ns = mono_ns();
    set_field(s->method, sizeof(s->method), method, method_len);
    set_field(s->path, sizeof(s->path), path, path_len);
    set_field(s->client, sizeof(s->client), client, strlen(client));
    write_end(s);
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
    write_begin(s);
    s->state = CG_WS_IDLE;
    s->requests++;
    s->bytes_sent += bytes;
    s->status[cls >= 1 && cls <= 5 ? cls : 0]++;
    s->lat_sum_us += duration_us;
    s->lat[cg_sb_lat_bucket(duration_us)]++;
    s->heartbeat_ns = mono_ns();
    write_end(s);
}

void cg_sb_set_state(cg_worker_state state)
{
    sb_slot *s = mine;
    if (s == NULL)
        return;
    write_begin(s);
    s->state = state;
    s->heartbeat_ns = mono_ns();
    write_end(s);
}

void cg_sb_heartbeat(void)
{
    sb_slot *s = mine;
    if (s == NULL)
        return;
    write_begin(s);
    s->heartbeat_ns = mono_ns();
    write_end(s);
}

size_t cg_scoreboard_snapshot(const cg_scoreboard_t *sb, cg_worker_row *rows, size_t max)
{
    size_t n = 0;

    for (uint32_t i = 0; i < sb->hdr->nslots && n < max; i++) {
        sb_slot *s = &sb->slots[i];
        sb_slot copy;
        uint32_t s1, s2;
        int tries = 0;

        do {
            s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
            memcpy(&copy, s, sizeof(copy));
            atomic_thread_fence(memory_order_acquire);
            s2 = atomic_load_explicit(&s->seq, memory_order_relaxed);
        } while ((s1 != s2 || (s1 & 1)) && ++tries < 1000);
        if (copy.state == CG_WS_EMPTY)
            continue;
        cg_worker_row *r = &rows[n++];
        r->slot = (int)i;
        r->pid = copy.pid;
        r->state = (cg_worker_state)copy.state;
        r->generation = copy.generation;
        r->boot_ns = copy.boot_ns;
        r->heartbeat_ns = copy.heartbeat_ns;
        r->requests = copy.requests;
        r->bytes_sent = copy.bytes_sent;
        memcpy(r->status, copy.status, sizeof(r->status));
        r->lat_sum_us = copy.lat_sum_us;
        memcpy(r->lat, copy.lat, sizeof(r->lat));
        r->req_start_ns = copy.req_start_ns;
        memcpy(r->method, copy.method, sizeof(r->method));
        memcpy(r->path, copy.path, sizeof(r->path));
        memcpy(r->client, copy.client, sizeof(r->client));
        r->method[sizeof(r->method) - 1] = r->path[sizeof(r->path) - 1] =
            r->client[sizeof(r->client) - 1] = '\0';
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

int cg_sb_ring_get(const cg_scoreboard_t *sb, uint64_t pos, bool *access, char *out,
                   size_t outlen)
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
