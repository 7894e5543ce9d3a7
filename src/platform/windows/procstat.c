/* What the metrics ask of Windows: clocks, the calling thread, and process
 * metrics (GetProcessTimes, GetProcessMemoryInfo, GetProcessHandleCount).
 * Read at sampling time only, never on the receive path (except the
 * coarse clock: one GetSystemTimeAsFileTime per read that returned
 * datagrams). SPDX-License-Identifier: BSD-2-Clause
 *
 * Differences from Linux: Windows counts page faults without telling minor
 * from major (all go to minor_faults), keeps no context-switch counts per
 * process (0), and open_fds is the process's handle count (files, events,
 * threads, sockets...). threads is not read (0). */
#include <string.h>

#include "platform/windows/plat.h"

#include <psapi.h> /* after windows.h (plat.h) */

#include "core/metrics_int.h"

/* 100 ns ticks since 1601-01-01 -> ns since 1970-01-01. */
static int64_t filetime_unix_ns(FILETIME ft)
{
    uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
    return (int64_t)(t - 116444736000000000ull) * 100;
}

static uint64_t filetime_ns(FILETIME ft)
{
    return (((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime) * 100u;
}

int64_t mcrx_plat_mono_ns(void)
{
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (int64_t)(c.QuadPart / f.QuadPart) * 1000000000 +
           (int64_t)(c.QuadPart % f.QuadPart) * 1000000000 / f.QuadPart;
}

int64_t mcrx_plat_unix_ns(void)
{
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    return filetime_unix_ns(ft);
}

int64_t mcrx_plat_coarse_unix_ns(void)
{
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    return filetime_unix_ns(ft);
}

uintptr_t mcrx_plat_thread_id(void) { return (uintptr_t)GetCurrentThreadId(); }

#ifndef CREATE_WAITABLE_TIMER_HIGH_RESOLUTION
#define CREATE_WAITABLE_TIMER_HIGH_RESOLUTION 0x2
#endif

HANDLE mcrx_win_linger_timer(int64_t coalesce_ns)
{
    if (coalesce_ns <= 0)
        return NULL;
    /* High resolution where the system has it (Windows 10 1803 and later),
     * else the ordinary timer (the system's tick). */
    HANDLE t = CreateWaitableTimerExW(NULL, NULL, CREATE_WAITABLE_TIMER_HIGH_RESOLUTION,
                                      TIMER_ALL_ACCESS);
    return t ? t : CreateWaitableTimerExW(NULL, NULL, 0, TIMER_ALL_ACCESS);
}

void mcrx_win_linger(HANDLE timer, int64_t t0, int64_t coalesce_ns)
{
    int64_t left = t0 + coalesce_ns - mcrx_plat_mono_ns();
    if (!timer || left < 2000)
        return; /* not worth a timer */
    LARGE_INTEGER due;
    due.QuadPart = -(left / 100); /* relative, 100 ns units */
    if (SetWaitableTimer(timer, &due, 0, NULL, NULL, FALSE))
        WaitForSingleObject(timer, INFINITE);
}

void mcrx_plat_process_metrics(mcrx_process_metrics *out)
{
    memset(out, 0, sizeof *out);
    HANDLE self = GetCurrentProcess();
    FILETIME created, exited, kernel, user;
    if (!GetProcessTimes(self, &created, &exited, &kernel, &user))
        return;
    out->available = true;
    out->counter[MCRX_PC_CPU_USER_NS] = filetime_ns(user);
    out->counter[MCRX_PC_CPU_SYSTEM_NS] = filetime_ns(kernel);
    PROCESS_MEMORY_COUNTERS mem;
    if (GetProcessMemoryInfo(self, &mem, sizeof mem)) {
        out->counter[MCRX_PC_MINOR_FAULTS] = mem.PageFaultCount;
        out->gauge[MCRX_PG_RSS_BYTES] = mem.WorkingSetSize;
    }
    DWORD handles = 0;
    if (GetProcessHandleCount(self, &handles))
        out->gauge[MCRX_PG_OPEN_FDS] = handles;
}
