/* stats.h - arithmetic over scoreboard snapshots: percentiles from latency
 * histograms, request rates and their recent history, /proc CPU and RSS. */
#ifndef CGUNICORN_STATS_H
#define CGUNICORN_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The q-quantile (0 < q <= 1) of a latency histogram laid out as the
 * scoreboard's (CG_SB_LAT_BUCKETS buckets), in microseconds, interpolated
 * inside the bucket.  0 when the histogram is empty. */
double cg_stats_percentile(const uint64_t *hist, size_t nbuckets, double q);

/* Requests per second over a sliding window, plus one value per second of
 * history for a graph.  Feed it the running total now and then. */
#define CG_RATE_HISTORY 600
typedef struct {
    int64_t last_ns; /* when the last sample was taken */
    uint64_t last_total;
    double rate;          /* smoothed requests/s */
    int64_t sec_start_ns; /* start of the second being accumulated */
    uint64_t sec_start_total;
    double history[CG_RATE_HISTORY]; /* requests/s, one per second, newest last */
    size_t nhistory;
} cg_rate;

void cg_rate_init(cg_rate *r);
/* Record that total requests have been served as of now_ns (monotonic). */
void cg_rate_sample(cg_rate *r, uint64_t total, int64_t now_ns);

/* /proc/PID/stat and statm: CPU time used (utime+stime, seconds) and
 * resident memory (bytes).  0, or -1 if the process is gone. */
typedef struct {
    double cpu_s;
    uint64_t rss_bytes;
} cg_procstat;
int cg_procstat_read(pid_t pid, cg_procstat *out);

#endif
