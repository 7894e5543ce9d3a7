/*
 * What the demo tools need from the OS, for POSIX and Windows (Winsock).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MCRX_TOOLS_COMPAT_H
#define MCRX_TOOLS_COMPAT_H

#include <stdint.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#undef interface /* COM macro; mcrx_config has a field of that name */
typedef SOCKET tool_sock;
#define TOOL_BAD_SOCK INVALID_SOCKET
#define TOOL_E_INTR WSAEINTR
#define TOOL_E_NOBUFS WSAENOBUFS
#define TOOL_E_AGAIN WSAEWOULDBLOCK
#define tool_sock_close closesocket
#else
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
typedef int tool_sock;
#define TOOL_BAD_SOCK (-1)
#define TOOL_E_INTR EINTR
#define TOOL_E_NOBUFS ENOBUFS
#define TOOL_E_AGAIN EAGAIN
#define tool_sock_close close
#endif

/* Start the socket API (WSAStartup on Windows; nothing on POSIX). */
void tool_net_init(void);
/* The last socket error (errno / WSAGetLastError()). */
int tool_sock_error(void);
/* Text of an OS error code (strerror / FormatMessage). Static buffer. */
const char *tool_os_strerror(int err);
/* Call fn on Ctrl-C / SIGINT and SIGTERM (no SA_RESTART on POSIX). */
void tool_on_interrupt(void (*fn)(int));
/* Monotonic clock in nanoseconds, and sleep until such a time. */
uint64_t tool_mono_ns(void);
void tool_sleep_until_ns(uint64_t t, volatile const int *stop);
/* Interface index by name ("eth0", Windows friendly name) / owner of an
 * IPv6 address (16 bytes); 0 if none. */
unsigned tool_ifindex_by_name(const char *name);
unsigned tool_ifindex_of_v6(const void *addr16);

#endif
