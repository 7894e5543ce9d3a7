/* What the metrics ask of every POSIX system in the same way (clocks, the
 * calling thread, getrusage); each platform's procstat.c adds the coarse
 * clock and the gauges (RSS, threads, open fds). SPDX-License-Identifier: BSD-2-Clause */
#ifndef MCRX_PLATFORM_POSIX_PROCSTAT_H
#define MCRX_PLATFORM_POSIX_PROCSTAT_H

#include <stdbool.h>
#include <time.h>

#include "core/metrics_int.h"

/* clock_gettime(id) in ns; 0 if the clock fails. Inline: the coarse
 * clock is read once per backend read that returned datagrams. */
static inline int64_t mcrx_posix_clock_ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
/* out zeroed, then getrusage's counters (CPU, faults, context switches);
 * false (and out->available false) when getrusage fails. */
bool mcrx_posix_rusage(mcrx_process_metrics *out);
/* Entries of a directory that lists the process's open descriptors
 * (/proc/self/fd, /dev/fd), minus the one the listing itself opened; 0 if
 * it cannot be read. */
uint64_t mcrx_posix_count_fds(const char *dir);

#endif
