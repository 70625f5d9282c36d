/* format.c - numbers into the table's short fixed-width texts.  No curses. */
#include "model.h"

#include <stdio.h>

void ui_fmt_age(char *out, size_t len, double s)
{
    long t;

    if (s < 0) {
        snprintf(out, len, "-");
        return;
    }
    if (s < 1) {
        snprintf(out, len, "%dms", (int)(s * 1000));
        return;
    }
    if (s < 10) {
        snprintf(out, len, "%.1fs", s);
        return;
    }
    t = (long)s;
    if (t < 60)
        snprintf(out, len, "%lds", t);
    else if (t < 3600)
        snprintf(out, len, "%ldm%02lds", t / 60, t % 60);
    else if (t < 86400)
        snprintf(out, len, "%ldh%02ldm", t / 3600, t % 3600 / 60);
    else
        snprintf(out, len, "%ldd%02ldh", t / 86400, t % 86400 / 3600);
}

void ui_fmt_ms(char *out, size_t len, double ms)
{
    if (ms < 0)
        snprintf(out, len, "-");
    else if (ms < 1)
        snprintf(out, len, "%.2fms", ms);
    else if (ms < 10)
        snprintf(out, len, "%.1fms", ms);
    else if (ms < 999.5)
        snprintf(out, len, "%.0fms", ms);
    else if (ms < 9950)
        snprintf(out, len, "%.1fs", ms / 1000);
    else if (ms < 599500)
        snprintf(out, len, "%.0fs", ms / 1000);
    else
        snprintf(out, len, "%.0fm", ms / 60000);
}

void ui_fmt_bytes(char *out, size_t len, int64_t bytes)
{
    double k = (double)bytes / 1024, m = k / 1024, g = m / 1024;

    if (bytes < 0)
        snprintf(out, len, "n/a");
    else if (bytes < 1024)
        snprintf(out, len, "%dB", (int)bytes);
    else if (k < 999.5)
        snprintf(out, len, "%.0fK", k);
    else if (m < 9.95)
        snprintf(out, len, "%.1fM", m);
    else if (m < 999.5)
        snprintf(out, len, "%.0fM", m);
    else if (g < 9.95)
        snprintf(out, len, "%.1fG", g);
    else
        snprintf(out, len, "%.0fG", g);
}

void ui_fmt_count(char *out, size_t len, uint64_t n)
{
    double d = (double)n;

    if (n < 100000)
        snprintf(out, len, "%llu", (unsigned long long)n);
    else if (n < 999500)
        snprintf(out, len, "%.0fk", d / 1e3);
    else if (n < 99950000)
        snprintf(out, len, "%.1fM", d / 1e6);
    else if (n < 999500000)
        snprintf(out, len, "%.0fM", d / 1e6);
    else
        snprintf(out, len, "%.1fG", d / 1e9);
}

void ui_fmt_rate(char *out, size_t len, double r)
{
    if (r <= 0)
        snprintf(out, len, "0");
    else if (r < 9.95)
        snprintf(out, len, "%.1f", r);
    else if (r < 9999.5)
        snprintf(out, len, "%.0f", r);
    else if (r < 999500)
        snprintf(out, len, "%.1fk", r / 1e3);
    else
        snprintf(out, len, "%.1fM", r / 1e6);
}
