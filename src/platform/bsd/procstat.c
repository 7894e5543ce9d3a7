/* What the metrics ask of macOS / FreeBSD beyond src/platform/posix/
 * procstat.c: the coarse clock and the process gauges. Read at sampling
 * time only, never on the receive path (except the coarse clock: one read
 * per backend read that returned datagrams).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * macOS: resident size and threads from Mach (task_info, task_threads),
 * open descriptors from /dev/fd (devfs lists every one of the process).
 * FreeBSD: resident size and threads from kinfo_proc (sysctl
 * kern.proc.pid), open descriptors from kern.proc.nfds; its /dev/fd shows
 * only 0-2 unless fdescfs is mounted. FreeBSD's branch is not compiled
 * here (docs/platforms.md). */
#include "platform/posix/procstat.h"

#include <unistd.h>

#ifdef __APPLE__
#include <mach/mach.h>
#else
#include <sys/param.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#endif

/* FreeBSD: CLOCK_REALTIME_FAST (the last tick). macOS: CLOCK_REALTIME is
 * read from the commpage without a syscall already. */
#ifdef CLOCK_REALTIME_FAST
int64_t mcrx_plat_coarse_unix_ns(void) { return mcrx_posix_clock_ns(CLOCK_REALTIME_FAST); }
#else
int64_t mcrx_plat_coarse_unix_ns(void) { return mcrx_posix_clock_ns(CLOCK_REALTIME); }
#endif

#ifdef __APPLE__
static void gauges(mcrx_process_metrics *out)
{
    mach_task_basic_info_data_t info;
    mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;
    if (task_info(mach_task_self(), MACH_TASK_BASIC_INFO, (task_info_t)&info,
                  &count) == KERN_SUCCESS)
        out->gauge[MCRX_PG_RSS_BYTES] = info.resident_size;
    thread_act_array_t threads;
    mach_msg_type_number_t n = 0;
    if (task_threads(mach_task_self(), &threads, &n) == KERN_SUCCESS) {
        for (mach_msg_type_number_t i = 0; i < n; i++)
            mach_port_deallocate(mach_task_self(), threads[i]);
        vm_deallocate(mach_task_self(), (vm_address_t)threads, n * sizeof threads[0]);
        out->gauge[MCRX_PG_THREADS] = n;
    }
    out->gauge[MCRX_PG_OPEN_FDS] = mcrx_posix_count_fds("/dev/fd");
}
#else /* FreeBSD */
static void gauges(mcrx_process_metrics *out)
{
    struct kinfo_proc kp;
    size_t len = sizeof kp;
    int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)getpid()};
    if (sysctl(mib, 4, &kp, &len, NULL, 0) == 0 && len >= sizeof kp) {
        out->gauge[MCRX_PG_RSS_BYTES] = (uint64_t)kp.ki_rssize * (uint64_t)getpagesize();
        out->gauge[MCRX_PG_THREADS] = (uint64_t)kp.ki_numthreads;
    }
#ifdef KERN_PROC_NFDS /* FreeBSD 13 */
    int nfds = 0;
    int mib_fds[4] = {CTL_KERN, KERN_PROC, KERN_PROC_NFDS, 0};
    len = sizeof nfds;
    if (sysctl(mib_fds, 4, &nfds, &len, NULL, 0) == 0)
        out->gauge[MCRX_PG_OPEN_FDS] = (uint64_t)nfds;
#endif
}
#endif

void mcrx_plat_process_metrics(mcrx_process_metrics *out)
{
    if (mcrx_posix_rusage(out))
        gauges(out);
}
