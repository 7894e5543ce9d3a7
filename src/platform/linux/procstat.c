/* What the metrics ask of Linux: clocks, the calling thread, and process
 * metrics (getrusage, /proc/self). Read at sampling time only, never on
 * the receive path (except the coarse clock: one vDSO read per backend
 * read that returned datagrams).
 * SPDX-License-Identifier: BSD-2-Clause */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/metrics_int.h"

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t mcrx_plat_mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
int64_t mcrx_plat_unix_ns(void) { return clock_ns(CLOCK_REALTIME); }
int64_t mcrx_plat_coarse_unix_ns(void) { return clock_ns(CLOCK_REALTIME_COARSE); }

uintptr_t mcrx_plat_thread_id(void) { return (uintptr_t)pthread_self(); }

static uint64_t tv_ns(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

/* Entries of /proc/self/fd, minus the one the listing itself opened. */
static uint64_t open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    uint64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n ? n - 1 : 0;
}

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
    memset(out, 0, sizeof *out);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return;
    out->available = true;
    out->counter[MCRX_PC_CPU_USER_NS] = tv_ns(ru.ru_utime);
    out->counter[MCRX_PC_CPU_SYSTEM_NS] = tv_ns(ru.ru_stime);
    out->counter[MCRX_PC_MINOR_FAULTS] = (uint64_t)ru.ru_minflt;
    out->counter[MCRX_PC_MAJOR_FAULTS] = (uint64_t)ru.ru_majflt;
    out->counter[MCRX_PC_VOLUNTARY_CTXSW] = (uint64_t)ru.ru_nvcsw;
    out->counter[MCRX_PC_INVOLUNTARY_CTXSW] = (uint64_t)ru.ru_nivcsw;
    rss_threads(&out->gauge[MCRX_PG_RSS_BYTES], &out->gauge[MCRX_PG_THREADS]);
    out->gauge[MCRX_PG_OPEN_FDS] = open_fds();
}
