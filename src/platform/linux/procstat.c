/* What the metrics ask of Linux beyond src/platform/posix/procstat.c: the
 * coarse clock and the process gauges (/proc/self). Read at sampling
 * time only, never on the receive path (except the coarse clock: one vDSO
 * read per backend read that returned datagrams).
 * SPDX-License-Identifier: BSD-2-Clause */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "platform/posix/procstat.h"

/* CLOCK_REALTIME_COARSE: the vDSO's last tick, no syscall. */
int64_t mcrx_plat_coarse_unix_ns(void) { return mcrx_posix_clock_ns(CLOCK_REALTIME_COARSE); }

/* Resident pages (statm's second field) and threads (stat's 20th). */
static void rss_threads(uint64_t *rss_bytes, uint64_t *threads)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    *rss_bytes = (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
    *threads = 0;
    char buf[1024];
    f = fopen("/proc/self/stat", "re");
    if (!f)
        return;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    /* The command name may hold spaces and parentheses: count fields from
     * the last ')' (field 2 ends there; threads is field 20). */
    char *p = strrchr(buf, ')');
    long v = 0;
    if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                           "%*u %*u %*d %*d %*d %*d %ld", &v) == 1)
        *threads = (uint64_t)v;
}

void mcrx_plat_process_metrics(mcrx_process_metrics *out)
{
    if (!mcrx_posix_rusage(out))
        return;
    rss_threads(&out->gauge[MCRX_PG_RSS_BYTES], &out->gauge[MCRX_PG_THREADS]);
    out->gauge[MCRX_PG_OPEN_FDS] = mcrx_posix_count_fds("/proc/self/fd");
}
