/*
 * Clocks. Deadlines use CLOCK_MONOTONIC so that a wall-clock step (NTP,
 * a VM resuming) never shortens or stretches a scrape; timestamps that
 * leave the process use CLOCK_REALTIME.
 */
#include <time.h>

#include "frond/common.h"

double frond_now_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double frond_now_realtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
