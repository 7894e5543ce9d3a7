/*
 * POSIX names the test sources use, mapped to Winsock for the Windows
 * build (force-included with -include by tests/meson.build; the empty
 * <poll.h>, <sys/socket.h>, ... next to it stand in for the POSIX
 * headers). Only what the behavioural tests need.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MCRX_TESTS_WIN_POSIX_H
#define MCRX_TESTS_WIN_POSIX_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <iphlpapi.h>
#include <windows.h>
#include <io.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#undef interface /* COM macro; mcrx_config has a field of that name */

#define SOCK_CLOEXEC 0
#define SOCK_NONBLOCK 0
#define MSG_DONTWAIT 0 /* the library made the socket non-blocking */
#define strcasecmp _stricmp

/* close() on a socket is closesocket() on Windows. */
static inline int mt_win_close(uintptr_t fd)
{
    if (closesocket((SOCKET)fd) == 0)
        return 0;
    return WSAGetLastError() == WSAENOTSOCK ? _close((int)fd) : -1;
}
#define close(fd) mt_win_close((uintptr_t)(fd))
#define poll(fds, n, timeout) WSAPoll((fds), (n), (timeout))

/* Winsock must be started before the first socket call of a test. */
__attribute__((constructor)) static void mt_win_wsa_start(void)
{
    WSADATA d;
    WSAStartup(MAKEWORD(2, 2), &d);
}

#endif
