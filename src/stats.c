/* stats.c - percentiles, rates, /proc readings. */
#include "cgunicorn/stats.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgunicorn/scoreboard.h"

double cg_stats_percentile(const uint64_t *hist, size_t nbuckets, double q)
{
    uint64_t total = 0, seen = 0;
    double want;

    for (size_t i = 0; i < nbuckets; i++)
        total += hist[i];
    if (total == 0)
        return 0.0;
    if (q > 1.0)
        q = 1.0;
    want = q * (double)total;
    for (size_t i = 0; i < nbuckets; i++) {
        if (hist[i] == 0)
            continue;
        if ((double)(seen + hist[i]) >= want) {
            /* linear inside the bucket, between its bounds */
            double lo = i == 0 ? 0.0 : (double)cg_sb_lat_upper((int)i - 1);
            double hi = (double)cg_sb_lat_upper((int)i);
            double frac = (want - (double)seen) / (double)hist[i];
            return lo + (hi - lo) * frac;
        }
        seen += hist[i];
    }
    return (double)cg_sb_lat_upper((int)nbuckets - 1);
}

void cg_rate_init(cg_rate *r)
{
    memset(r, 0, sizeof(*r));
}

void cg_rate_sample(cg_rate *r, uint64_t total, int64_t now_ns)
{
    if (r->last_ns == 0) {
        r->last_ns = r->sec_start_ns = now_ns;
        r->last_total = r->sec_start_total = total;
        return;
    }
    /* totals only grow, but a worker that exits takes its count with it */
    if (total < r->last_total || total < r->sec_start_total) {
        r->last_total = r->sec_start_total = total;
        r->last_ns = now_ns;
        return;
    }
    double dt = (double)(now_ns - r->last_ns) / 1e9;
    if (dt > 0) {
        double inst = (double)(total - r->last_total) / dt;
        /* smooth over about two seconds so the number is readable */
        double alpha = dt >= 2.0 ? 1.0 : dt / 2.0;
        r->rate = r->rate + alpha * (inst - r->rate);
    }
    r->last_ns = now_ns;
    r->last_total = total;
    /* one history point per whole second */
    while (now_ns - r->sec_start_ns >= 1000000000LL) {
        double secs = (double)(now_ns - r->sec_start_ns) / 1e9;
        double v = (double)(total - r->sec_start_total) / secs;
        if (r->nhistory == CG_RATE_HISTORY) {
            memmove(r->history, r->history + 1, (CG_RATE_HISTORY - 1) * sizeof(double));
            r->nhistory--;
        }
        r->history[r->nhistory++] = v;
        r->sec_start_ns = now_ns;
        r->sec_start_total = total;
    }
}

int cg_procstat_read(pid_t pid, cg_procstat *out)
{
    char path[64], buf[1024];
    FILE *f;
    unsigned long utime = 0, stime = 0;
    long pages = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
    f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%*d %ld", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    out->cpu_s = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
    out->rss_bytes = (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
    return 0;
}
