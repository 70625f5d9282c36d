/* iowait.c - poll(2), unless a hub took over the waiting. */
#include "iowait.h"

#include <poll.h>

static cg_io_wait_fn hook;

void cg_io_wait_set(cg_io_wait_fn fn)
{
    hook = fn;
}

int cg_io_wait(int fd, short events, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = events};

    if (hook)
        return hook(fd, events, timeout_ms);
    return poll(&p, 1, timeout_ms);
}
