/* model.c - sampling: scoreboard rows and /proc readings in, a ui_frame out.
 * No curses here. */
#include "model.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* A worker the model has seen, with what it needs for deltas and for
 * keeping its counts once it is gone. */
typedef struct {
    pid_t pid;
    int64_t boot_ns; /* with pid: the identity (pids get reused) */
    uint64_t requests;
    int64_t req_ns;
    double rps;
    bool cpu_known;
    double cpu_s;
    int64_t cpu_ns;
    double cpu_pct;
    int64_t rss;
    uint64_t status[6];
    uint64_t lat[CG_SB_LAT_BUCKETS];
    bool seen;
} tracked;

#define MAX_TRACKED (2 * CG_SB_MAX_SLOTS)
#define LAT_RING (UI_LAT_WINDOW + 1)

struct ui_model {
    double stuck_after_s;
    tracked t[MAX_TRACKED];
    size_t nt;
    /* what workers that are gone had served (as last seen) */
    uint64_t gone_requests;
    uint64_t gone_status[6];
    uint64_t gone_lat[CG_SB_LAT_BUCKETS];
    cg_rate rate;
    /* cumulative latency histogram, one per second, for the window */
    uint64_t lat_ring[LAT_RING][CG_SB_LAT_BUCKETS];
    int64_t lat_ring_ns[LAT_RING];
    size_t lat_head, lat_n; /* next slot to write, slots in use */
    int64_t last_proc_ns;
    /* scratch for ui_model_sample */
    cg_worker_row rows[CG_SB_MAX_SLOTS];
    ui_proc procs[CG_SB_MAX_SLOTS];
    size_t map[CG_SB_MAX_SLOTS];
    uint64_t cum[CG_SB_LAT_BUCKETS];
    ui_frame frame;
};

ui_model *ui_model_new(double stuck_after_s)
{
    ui_model *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->stuck_after_s = stuck_after_s > 0 ? stuck_after_s : UI_STUCK_DEFAULT_S;
    cg_rate_init(&m->rate);
    m->frame.p50_ms = m->frame.p99_ms = -1;
    return m;
}

void ui_model_free(ui_model *m)
{
    free(m);
}

double ui_model_stuck_after(const ui_model *m)
{
    return m->stuck_after_s;
}

const ui_frame *ui_model_frame(const ui_model *m)
{
    return &m->frame;
}

void ui_frame_copy(ui_frame *dst, const ui_frame *src)
{
    memcpy(dst, src, offsetof(ui_frame, w));
    memcpy(dst->w, src->w, src->n * sizeof(src->w[0]));
    memcpy((char *)dst + offsetof(ui_frame, n), (const char *)src + offsetof(ui_frame, n),
           sizeof(*dst) - offsetof(ui_frame, n));
}

void ui_model_sample(ui_model *m, const cg_scoreboard_t *sb, int64_t now_ns)
{
    size_t n = sb ? cg_scoreboard_snapshot(sb, m->rows, CG_SB_MAX_SLOTS) : 0;
    bool read_proc = m->last_proc_ns == 0 || now_ns - m->last_proc_ns >= UI_PROC_MS * 1000000LL;

    if (read_proc) {
        for (size_t i = 0; i < n; i++) {
            cg_procstat ps;
            m->procs[i].ok = m->rows[i].pid > 0 && cg_procstat_read(m->rows[i].pid, &ps) == 0;
            m->procs[i].cpu_s = m->procs[i].ok ? ps.cpu_s : 0;
            m->procs[i].rss_bytes = m->procs[i].ok ? ps.rss_bytes : 0;
        }
        m->last_proc_ns = now_ns;
    }
    ui_model_feed(m, m->rows, n, read_proc ? m->procs : NULL, now_ns);
}

/* The tracked entry of worker (pid, boot_ns), or -1. */
static long find_tracked(const ui_model *m, pid_t pid, int64_t boot_ns)
{
    for (size_t i = 0; i < m->nt; i++)
        if (m->t[i].pid == pid && m->t[i].boot_ns == boot_ns)
            return (long)i;
    return -1;
}

/* The tracked entry of row r, added if new (or -1 when full). */
static long track(ui_model *m, const cg_worker_row *r, int64_t now_ns)
{
    long i = find_tracked(m, r->pid, r->boot_ns);

    if (i >= 0)
        return i;
    if (m->nt == MAX_TRACKED)
        return -1;
    tracked *t = &m->t[m->nt];
    memset(t, 0, sizeof(*t));
    t->pid = r->pid;
    t->boot_ns = r->boot_ns;
    t->requests = r->requests;
    t->req_ns = now_ns;
    t->cpu_pct = -1;
    t->rss = -1;
    return (long)m->nt++;
}

/* Keep the counts of a worker that is gone. */
static void retire(ui_model *m, const tracked *t)
{
    m->gone_requests += t->requests;
    for (int k = 0; k < 6; k++)
        m->gone_status[k] += t->status[k];
    for (int b = 0; b < CG_SB_LAT_BUCKETS; b++)
        m->gone_lat[b] += t->lat[b];
}

/* Fold a new sample of a worker into its tracked entry: req/s (smoothed
 * over about two seconds, as cg_rate), CPU% from the CPU-time delta, RSS. */
static void update_rates(tracked *t, const cg_worker_row *r, const ui_proc *p, int64_t now_ns)
{
    double dt = (double)(now_ns - t->req_ns) / 1e9;

    if (dt > 0) {
        double inst = r->requests >= t->requests ? (double)(r->requests - t->requests) / dt : 0;
        double alpha = dt >= 2.0 ? 1.0 : dt / 2.0;
        t->rps += alpha * (inst - t->rps);
        if (t->rps < 1e-3)
            t->rps = 0;
        t->req_ns = now_ns;
    }
    t->requests = r->requests;
    memcpy(t->status, r->status, sizeof(t->status));
    memcpy(t->lat, r->lat, sizeof(t->lat));
    if (p == NULL)
        return;
    if (!p->ok) {
        t->cpu_pct = -1;
        t->rss = -1;
        t->cpu_known = false;
        return;
    }
    if (t->cpu_known) {
        double cdt = (double)(now_ns - t->cpu_ns) / 1e9;
        if (cdt > 0) {
            double pct = (p->cpu_s - t->cpu_s) / cdt * 100.0;
            t->cpu_pct = pct < 0 ? 0 : pct;
        }
    }
    t->cpu_known = true;
    t->cpu_s = p->cpu_s;
    t->cpu_ns = now_ns;
    t->rss = (int64_t)p->rss_bytes;
}

static void fill_worker(const ui_model *m, ui_worker *w, const cg_worker_row *r, const tracked *t,
                        int64_t now_ns)
{
    memset(w, 0, sizeof(*w));
    w->pid = r->pid;
    w->slot = r->slot;
    w->state = r->state;
    w->generation = r->generation;
    w->requests = r->requests;
    w->bytes_sent = r->bytes_sent;
    memcpy(w->status, r->status, sizeof(w->status));
    w->rps = t->rps;
    w->avg_ms = r->requests ? (double)r->lat_sum_us / (double)r->requests / 1000.0 : -1;
    w->p99_ms = r->requests ? cg_stats_percentile(r->lat, CG_SB_LAT_BUCKETS, 0.99) / 1000.0 : -1;
    w->cpu_pct = t->cpu_pct;
    w->rss = t->rss;
    w->age_s = r->boot_ns > 0 && now_ns > r->boot_ns ? (double)(now_ns - r->boot_ns) / 1e9 : 0;
    w->busy_s = -1;
    w->nbusy = r->nbusy;
    if (r->state == CG_WS_BUSY && r->req_start_ns > 0) {
        w->busy_s = now_ns > r->req_start_ns ? (double)(now_ns - r->req_start_ns) / 1e9 : 0;
        w->stuck = w->busy_s > m->stuck_after_s;
        memcpy(w->method, r->method, sizeof(w->method));
        memcpy(w->path, r->path, sizeof(w->path));
        memcpy(w->client, r->client, sizeof(w->client));
        w->method[sizeof(w->method) - 1] = w->path[sizeof(w->path) - 1] =
            w->client[sizeof(w->client) - 1] = '\0';
    }
}

/* p50/p99 over the last UI_LAT_WINDOW seconds, from the cumulative
 * histogram now (m->cum) and the one about a window ago. */
static void window_percentiles(ui_model *m, int64_t now_ns)
{
    ui_frame *f = &m->frame;
    size_t oldest;
    uint64_t diff[CG_SB_LAT_BUCKETS], total = 0;

    if (m->lat_n == 0 ||
        now_ns - m->lat_ring_ns[(m->lat_head + LAT_RING - 1) % LAT_RING] >= 1000000000LL) {
        memcpy(m->lat_ring[m->lat_head], m->cum, sizeof(m->cum));
        m->lat_ring_ns[m->lat_head] = now_ns;
        m->lat_head = (m->lat_head + 1) % LAT_RING;
        if (m->lat_n < LAT_RING)
            m->lat_n++;
    }
    oldest = (m->lat_head + LAT_RING - m->lat_n) % LAT_RING;
    for (int b = 0; b < CG_SB_LAT_BUCKETS; b++) {
        diff[b] = m->cum[b] >= m->lat_ring[oldest][b] ? m->cum[b] - m->lat_ring[oldest][b] : 0;
        total += diff[b];
    }
    f->lat_window_s = (double)(now_ns - m->lat_ring_ns[oldest]) / 1e9;
    if (total == 0) {
        f->p50_ms = f->p99_ms = -1;
        return;
    }
    f->p50_ms = cg_stats_percentile(diff, CG_SB_LAT_BUCKETS, 0.50) / 1000.0;
    f->p99_ms = cg_stats_percentile(diff, CG_SB_LAT_BUCKETS, 0.99) / 1000.0;
}

void ui_model_feed(ui_model *m, const cg_worker_row *rows, size_t n, const ui_proc *procs,
                   int64_t now_ns)
{
    ui_frame *f = &m->frame;
    size_t used = 0;

    if (n > CG_SB_MAX_SLOTS)
        n = CG_SB_MAX_SLOTS;
    for (size_t i = 0; i < m->nt; i++)
        m->t[i].seen = false;
    /* 1. match rows to what we knew */
    for (size_t i = 0; i < n; i++) {
        long k = rows[i].pid > 0 ? track(m, &rows[i], now_ns) : -1;
        m->map[i] = k < 0 ? (size_t)-1 : (size_t)k;
        if (k >= 0)
            m->t[k].seen = true;
    }
    /* 2. the workers that are gone keep counting in the totals */
    for (size_t i = 0; i < m->nt; i++)
        if (!m->t[i].seen)
            retire(m, &m->t[i]);
    /* 3. this sample */
    f->now_ns = now_ns;
    f->requests = m->gone_requests;
    memcpy(f->status, m->gone_status, sizeof(f->status));
    memcpy(m->cum, m->gone_lat, sizeof(m->cum));
    f->nbooting = f->nidle = f->nbusy = f->nstuck = f->nstopping = 0;
    for (size_t i = 0; i < n; i++) {
        if (m->map[i] == (size_t)-1)
            continue;
        tracked *t = &m->t[m->map[i]];
        update_rates(t, &rows[i], procs ? &procs[i] : NULL, now_ns);
        ui_worker *w = &f->w[used++];
        fill_worker(m, w, &rows[i], t, now_ns);
        f->requests += rows[i].requests;
        for (int k = 0; k < 6; k++)
            f->status[k] += rows[i].status[k];
        for (int b = 0; b < CG_SB_LAT_BUCKETS; b++)
            m->cum[b] += rows[i].lat[b];
        switch (w->state) {
        case CG_WS_BOOTING:
            f->nbooting++;
            break;
        case CG_WS_BUSY:
            f->nbusy++;
            f->nstuck += w->stuck;
            break;
        case CG_WS_STOPPING:
            f->nstopping++;
            break;
        default:
            f->nidle++;
            break;
        }
    }
    f->n = used;
    /* 4. forget the gone */
    size_t keep = 0;
    for (size_t i = 0; i < m->nt; i++)
        if (m->t[i].seen)
            m->t[keep++] = m->t[i];
    m->nt = keep;
    /* 5. rates and latency window */
    cg_rate_sample(&m->rate, f->requests, now_ns);
    f->rps = m->rate.rate < 1e-3 ? 0 : m->rate.rate;
    f->nhist = m->rate.nhistory;
    memcpy(f->rps_hist, m->rate.history, f->nhist * sizeof(double));
    window_percentiles(m, now_ns);
}

/* --- ordering and selection ---------------------------------------- */

static const char *const column_names[UI_COL__COUNT] = {
    "PID", "STATE", "REQS", "REQ/S", "AVG", "P99", "CPU%", "RSS", "AGE", "REQUEST",
};

const char *ui_column_name(ui_column col)
{
    return col >= 0 && col < UI_COL__COUNT ? column_names[col] : "?";
}

bool ui_column_desc_default(ui_column col)
{
    return col != UI_COL_PID && col != UI_COL_AGE;
}

/* How interesting a state is: stuck first, idle last. */
static int state_rank(const ui_worker *w)
{
    if (w->stuck)
        return 5;
    switch (w->state) {
    case CG_WS_BUSY:
        return 4;
    case CG_WS_BOOTING:
        return 3;
    case CG_WS_STOPPING:
        return 2;
    case CG_WS_IDLE:
        return 1;
    default:
        return 0;
    }
}

/* The number a column sorts by (n/a values are negative: last when
 * descending). */
static double sort_key(const ui_worker *w, ui_column col)
{
    switch (col) {
    case UI_COL_PID:
        return (double)w->pid;
    case UI_COL_STATE:
        return state_rank(w);
    case UI_COL_REQS:
        return (double)w->requests;
    case UI_COL_RPS:
        return w->rps;
    case UI_COL_AVG:
        return w->avg_ms;
    case UI_COL_P99:
        return w->p99_ms;
    case UI_COL_CPU:
        return w->cpu_pct;
    case UI_COL_RSS:
        return (double)w->rss;
    case UI_COL_AGE:
        return w->age_s;
    case UI_COL_REQUEST:
        return w->busy_s;
    default:
        return 0;
    }
}

typedef struct {
    ui_column col;
    bool desc;
} sort_spec;

/* qsort_r comparator: by the column, then by pid ascending. */
static int compare_workers(const void *pa, const void *pb, void *arg)
{
    const ui_worker *a = pa, *b = pb;
    const sort_spec *s = arg;
    double ka = sort_key(a, s->col), kb = sort_key(b, s->col);

    if (ka != kb) {
        int c = ka < kb ? -1 : 1;
        return s->desc ? -c : c;
    }
    return a->pid < b->pid ? -1 : a->pid > b->pid;
}

void ui_frame_sort(ui_frame *f, ui_column col, bool desc)
{
    sort_spec s = {col, desc};
    qsort_r(f->w, f->n, sizeof(f->w[0]), compare_workers, &s);
}

long ui_frame_find(const ui_frame *f, pid_t pid)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->w[i].pid == pid)
            return (long)i;
    return -1;
}

void ui_select_track(ui_selection *s, const ui_frame *f)
{
    long i;

    if (f->n == 0) {
        s->pid = 0;
        s->index = 0;
        return;
    }
    i = s->pid > 0 ? ui_frame_find(f, s->pid) : -1;
    if (i >= 0) {
        s->index = i;
        return;
    }
    if (s->index < 0)
        s->index = 0;
    if (s->index >= (long)f->n)
        s->index = (long)f->n - 1;
    s->pid = f->w[s->index].pid;
}

void ui_select_move(ui_selection *s, const ui_frame *f, long delta)
{
    long i;

    ui_select_track(s, f);
    if (f->n == 0)
        return;
    i = s->index + delta;
    if (i < 0)
        i = 0;
    if (i >= (long)f->n)
        i = (long)f->n - 1;
    s->index = i;
    s->pid = f->w[i].pid;
}

void ui_select_edge(ui_selection *s, const ui_frame *f, int to_end)
{
    if (f->n == 0) {
        s->pid = 0;
        s->index = 0;
        return;
    }
    s->index = to_end > 0 ? (long)f->n - 1 : 0;
    s->pid = f->w[s->index].pid;
}

/* --- the rate graph -------------------------------------------------- */

size_t ui_graph_fold(const double *hist, size_t nhist, size_t width, double *out,
                     unsigned *secs_per_col)
{
    static const unsigned steps[] = {1, 2, 5, 10, 15, 30, 60};
    unsigned k = steps[sizeof(steps) / sizeof(steps[0]) - 1];
    size_t ncol;

    if (width == 0 || nhist == 0) {
        *secs_per_col = 1;
        return 0;
    }
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if ((nhist + steps[i] - 1) / steps[i] <= width) {
            k = steps[i];
            break;
        }
    ncol = (nhist + k - 1) / k;
    if (ncol > width)
        ncol = width;
    for (size_t j = 0; j < ncol; j++) {
        /* column j from the right covers [end - k, end) */
        size_t end = nhist - j * k;
        size_t start = end > k ? end - k : 0;
        double sum = 0;
        for (size_t i = start; i < end; i++)
            sum += hist[i];
        out[ncol - 1 - j] = sum / (double)(end - start);
    }
    *secs_per_col = k;
    return ncol;
}

int ui_graph_level(double v, double max, int levels)
{
    int l;

    if (v <= 0 || max <= 0 || levels <= 0)
        return 0;
    l = (int)ceil(v / max * levels - 1e-9);
    if (l < 1)
        l = 1;
    if (l > levels)
        l = levels;
    return l;
}
