/* test_scoreboard.c - shared slots, the log ring, latency buckets, and the
 * rate/percentile arithmetic (stats.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgunicorn/scoreboard.h"
#include "cgunicorn/stats.h"

/* A slot claimed by the master, written by a forked child, read back. */
static void test_scoreboard_child_writes_slot(void **state)
{
    (void)state;
    cg_scoreboard_t *sb = cg_scoreboard_create(8, 16);
    cg_worker_row rows[8];
    assert_non_null(sb);
    int slot = cg_scoreboard_claim(sb, 3);
    assert_true(slot >= 0);
    pid_t pid = fork();
    if (pid == 0) {
        cg_scoreboard_bind(sb, slot);
        cg_sb_set_state(CG_WS_IDLE);
        cg_sb_request_start("GET", 3, "/a/long/path?q=1", 16, "127.0.0.1");
        cg_sb_request_end(200, 12, 150);
        cg_sb_request_start("POST", 4, "/x", 2, "10.0.0.1");
        cg_sb_request_end(503, 0, 3000);
        cg_sb_request_start("GET", 3, "/slow", 5, "::1");
        _exit(0);
    }
    cg_scoreboard_set_pid(sb, slot, pid);
    waitpid(pid, NULL, 0);
    assert_int_equal(cg_scoreboard_snapshot(sb, rows, 8), 1);
    assert_int_equal(rows[0].pid, pid);
    assert_int_equal(rows[0].generation, 3);
    assert_int_equal(rows[0].state, CG_WS_BUSY);
    assert_int_equal(rows[0].requests, 2);
    assert_int_equal(rows[0].bytes_sent, 12);
    assert_int_equal(rows[0].status[2], 1);
    assert_int_equal(rows[0].status[5], 1);
    assert_int_equal(rows[0].lat_sum_us, 3150);
    assert_int_equal(rows[0].lat[cg_sb_lat_bucket(150)], 1);
    assert_string_equal(rows[0].method, "GET");
    assert_string_equal(rows[0].path, "/slow");
    assert_string_equal(rows[0].client, "::1");
    cg_scoreboard_release(sb, slot);
    assert_int_equal(cg_scoreboard_snapshot(sb, rows, 8), 0);
    cg_scoreboard_destroy(sb);
}

/* Slots are reused, and claiming fails when all are taken. */
static void test_scoreboard_claim_release(void **state)
{
    (void)state;
    cg_scoreboard_t *sb = cg_scoreboard_create(2, 4);
    int a = cg_scoreboard_claim(sb, 0), b = cg_scoreboard_claim(sb, 0);
    assert_true(a >= 0 && b >= 0 && a != b);
    assert_int_equal(cg_scoreboard_claim(sb, 0), -1);
    cg_scoreboard_release(sb, a);
    assert_int_equal(cg_scoreboard_claim(sb, 1), a);
    cg_scoreboard_destroy(sb);
}

/* Overlong request fields are cut, never overflow. */
static void test_scoreboard_truncates_fields(void **state)
{
    (void)state;
    cg_scoreboard_t *sb = cg_scoreboard_create(1, 4);
    cg_worker_row row;
    char path[500];
    memset(path, 'p', sizeof(path));
    int slot = cg_scoreboard_claim(sb, 0);
    cg_scoreboard_bind(sb, slot);
    cg_sb_request_start("VERYLONGMETHODNAMEXX", 20, path, sizeof(path), "client");
    assert_int_equal(cg_scoreboard_snapshot(sb, &row, 1), 1);
    assert_int_equal(strlen(row.method), sizeof(row.method) - 1);
    assert_int_equal(strlen(row.path), sizeof(row.path) - 1);
    cg_scoreboard_bind(NULL, -1);
    cg_scoreboard_destroy(sb);
}

/* The ring keeps the newest lines and says which were overwritten. */
static void test_scoreboard_ring(void **state)
{
    (void)state;
    cg_scoreboard_t *sb = cg_scoreboard_create(1, 4);
    char line[64], out[CG_SB_LINE + 1];
    bool access;
    for (int i = 0; i < 6; i++) {
        int n = snprintf(line, sizeof(line), "line %d", i);
        cg_sb_ring_push(sb, i % 2 == 0, line, (size_t)n);
    }
    assert_int_equal(cg_sb_ring_head(sb), 6);
    assert_int_equal(cg_sb_ring_get(sb, 0, &access, out, sizeof(out)), 0); /* overwritten */
    assert_int_equal(cg_sb_ring_get(sb, 1, &access, out, sizeof(out)), 0);
    assert_int_equal(cg_sb_ring_get(sb, 2, &access, out, sizeof(out)), 1);
    assert_string_equal(out, "line 2");
    assert_true(access);
    assert_int_equal(cg_sb_ring_get(sb, 5, &access, out, sizeof(out)), 1);
    assert_string_equal(out, "line 5");
    assert_false(access);
    assert_int_equal(cg_sb_ring_get(sb, 6, &access, out, sizeof(out)), 0); /* not yet */
    /* a line longer than a slot is cut to CG_SB_LINE */
    char big[1000];
    memset(big, 'x', sizeof(big));
    cg_sb_ring_push(sb, false, big, sizeof(big));
    assert_int_equal(cg_sb_ring_get(sb, 6, &access, out, sizeof(out)), 1);
    assert_int_equal(strlen(out), CG_SB_LINE);
    cg_scoreboard_destroy(sb);
}

/* Buckets: monotonic, each value below its bucket's upper bound. */
static void test_scoreboard_lat_buckets(void **state)
{
    (void)state;
    assert_int_equal(cg_sb_lat_bucket(0), 0);
    int prev = 0;
    for (uint64_t us = 1; us < (1ULL << 29); us = us * 5 / 4 + 1) {
        int b = cg_sb_lat_bucket(us);
        assert_true(b >= prev);
        assert_true(b < CG_SB_LAT_BUCKETS);
        if (b < CG_SB_LAT_BUCKETS - 1) {
            assert_true(us < cg_sb_lat_upper(b));
            assert_true(us >= cg_sb_lat_upper(b - 1));
        }
        prev = b;
    }
    assert_int_equal(cg_sb_lat_bucket(UINT64_MAX), CG_SB_LAT_BUCKETS - 1);
}

/* Percentiles from a histogram, within a bucket's width of the truth. */
static void test_stats_percentile(void **state)
{
    (void)state;
    uint64_t h[CG_SB_LAT_BUCKETS] = {0};
    assert_true(cg_stats_percentile(h, CG_SB_LAT_BUCKETS, 0.5) == 0.0);
    /* 1..1000 us, one each */
    for (uint64_t us = 1; us <= 1000; us++)
        h[cg_sb_lat_bucket(us)]++;
    double p50 = cg_stats_percentile(h, CG_SB_LAT_BUCKETS, 0.50);
    double p99 = cg_stats_percentile(h, CG_SB_LAT_BUCKETS, 0.99);
    assert_true(p50 > 500 * 0.85 && p50 < 500 * 1.15);
    assert_true(p99 > 990 * 0.85 && p99 < 990 * 1.15);
    assert_true(cg_stats_percentile(h, CG_SB_LAT_BUCKETS, 1.0) >= 1000);
    /* all in one bucket: inside that bucket's bounds */
    memset(h, 0, sizeof(h));
    h[cg_sb_lat_bucket(2000)] = 10;
    double p = cg_stats_percentile(h, CG_SB_LAT_BUCKETS, 0.5);
    assert_true(p >= cg_sb_lat_upper(cg_sb_lat_bucket(2000) - 1));
    assert_true(p <= cg_sb_lat_upper(cg_sb_lat_bucket(2000)));
}

/* Rates: a steady 100 req/s reads as 100, one history point per second. */
static void test_stats_rate(void **state)
{
    (void)state;
    cg_rate r;
    cg_rate_init(&r);
    int64_t t = 1000000000LL;
    uint64_t total = 0;
    for (int i = 0; i <= 40; i++) { /* 10 s, sampled every 250 ms */
        cg_rate_sample(&r, total, t);
        t += 250000000LL;
        total += 25;
    }
    assert_true(r.rate > 95 && r.rate < 105);
    assert_int_equal(r.nhistory, 10);
    for (size_t i = 0; i < r.nhistory; i++)
        assert_true(r.history[i] > 99 && r.history[i] < 101);
    /* a worker exits with its count: the total drops, no negative rate */
    cg_rate_sample(&r, 10, t);
    assert_true(r.rate >= 0);
    cg_rate_sample(&r, 35, t + 250000000LL);
    assert_true(r.rate >= 0);
}

/* /proc readings of this process. */
static void test_stats_procstat(void **state)
{
    (void)state;
    cg_procstat ps;
    assert_int_equal(cg_procstat_read(getpid(), &ps), 0);
    assert_true(ps.rss_bytes > 1024 * 1024);
    assert_true(ps.cpu_s >= 0);
    assert_int_equal(cg_procstat_read(999999999, &ps), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scoreboard_child_writes_slot),
        cmocka_unit_test(test_scoreboard_claim_release),
        cmocka_unit_test(test_scoreboard_truncates_fields),
        cmocka_unit_test(test_scoreboard_ring),
        cmocka_unit_test(test_scoreboard_lat_buckets),
        cmocka_unit_test(test_stats_percentile),
        cmocka_unit_test(test_stats_rate),
        cmocka_unit_test(test_stats_procstat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
