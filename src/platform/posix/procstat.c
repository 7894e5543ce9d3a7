/* Clocks, the calling thread and getrusage for the metrics: the same on
 * Linux, macOS and FreeBSD. Read at sampling time only, never on the
 * receive path. SPDX-License-Identifier: BSD-2-Clause */
#include "platform/posix/procstat.h"

#include <dirent.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

int64_t mcrx_plat_mono_ns(void) { return mcrx_posix_clock_ns(CLOCK_MONOTONIC); }
int64_t mcrx_plat_unix_ns(void) { return mcrx_posix_clock_ns(CLOCK_REALTIME); }

uintptr_t mcrx_plat_thread_id(void) { return (uintptr_t)pthread_self(); }

static uint64_t tv_ns(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

bool mcrx_posix_rusage(mcrx_process_metrics *out)
{
    memset(out, 0, sizeof *out);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return false;
    out->available = true;
    out->counter[MCRX_PC_CPU_USER_NS] = tv_ns(ru.ru_utime);
    out->counter[MCRX_PC_CPU_SYSTEM_NS] = tv_ns(ru.ru_stime);
    out->counter[MCRX_PC_MINOR_FAULTS] = (uint64_t)ru.ru_minflt;
    out->counter[MCRX_PC_MAJOR_FAULTS] = (uint64_t)ru.ru_majflt;
    out->counter[MCRX_PC_VOLUNTARY_CTXSW] = (uint64_t)ru.ru_nvcsw;
    out->counter[MCRX_PC_INVOLUNTARY_CTXSW] = (uint64_t)ru.ru_nivcsw;
    return true;
}

uint64_t mcrx_posix_count_fds(const char *dir)
{
    DIR *d = opendir(dir);
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
