/*
 * What the core asks of the operating system (internal).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * src/core/ makes no OS calls itself; each platform folder
 * (src/platform/linux/, bsd/, windows/, on top of posix/ and common/, the
 * code they share) implements these once, and every backend of that
 * platform shares them: socket set-up, joins and the parsing of received
 * control data.
 */
#ifndef MCRX_CORE_PLATFORM_H
#define MCRX_CORE_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mcrx/mcrx.h"

struct mcrx_rx;

/* Where a subscription joins: resolved once at add time. */
struct mcrx_join_if {
    mcrx_ip addr;            /* IPv4: interface address used in the join */
    uint32_t ifindex;        /* IPv6: interface index used in the join */
    uint32_t filter_ifindex; /* ingress interface a datagram must come in
                                on (configured interface); 0 = any */
};

/* Receive options of a context's sockets. */
struct mcrx_sock_opts {
    uint32_t rcvbuf;  /* SO_RCVBUF request; 0 = kernel default */
    bool timestamps;  /* SO_TIMESTAMPNS */
    uint32_t busy_poll_us; /* SO_BUSY_POLL; 0 = leave the socket's own */
};

/* Open a UDP socket for cfg: family, V6ONLY, SO_REUSEADDR,
 * non-blocking, close-on-exec, pktinfo, *_MULTICAST_ALL=0, SO_RXQ_OVFL,
 * SO_TIMESTAMPNS (if asked), receive buffer; bound to the wildcard and the
 * port. *rcvbuf_granted gets what the kernel granted. */
int mcrx_plat_socket_open(const mcrx_config *cfg, const struct mcrx_sock_opts *so,
                          mcrx_socket_t *fd_out, uint32_t *rcvbuf_granted);
/* Check a caller's socket (UDP, family, bound port) and set the same
 * receive options. Does not close fd on failure. */
int mcrx_plat_socket_adopt(mcrx_socket_t fd, const mcrx_config *cfg,
                           const struct mcrx_sock_opts *so, uint32_t *rcvbuf_granted);
void mcrx_plat_socket_close(mcrx_socket_t fd);
int mcrx_plat_local_addr(mcrx_socket_t fd, mcrx_ip *addr, uint16_t *port);
/* Kernel drop count of the socket (SO_MEMINFO); 0 if unknown. */
uint32_t mcrx_plat_socket_drops(mcrx_socket_t fd);

/* Resolve the join interface of a validated cfg (IPv4 SSM without an
 * interface: the local address that routes toward the source). */
int mcrx_plat_resolve_join_if(const mcrx_config *cfg, struct mcrx_join_if *out);
int mcrx_plat_join(mcrx_socket_t fd, const mcrx_config *cfg,
                   const struct mcrx_join_if *jif);
int mcrx_plat_leave(mcrx_socket_t fd, const mcrx_config *cfg,
                    const struct mcrx_join_if *jif);

/* Resolve the interface text of mcrx_config_parse() for a family. Sets
 * addr and/or index (has_index) as the text gives them. */
int mcrx_plat_parse_interface(const char *text, int family, mcrx_ip *addr,
                              uint32_t *index, bool *has_index);

/* ---- OS errors ---- */

/* Provided by the core (status.c): set the thread's mcrx_last_os_error(). */
void mcrx_os_error_set(int os_error);

/* Record the calling thread's OS error (errno / WSAGetLastError()) as the
 * one mcrx_last_os_error() reports, and return status. Called right where
 * an OS call failed, before anything can overwrite the error. */
int mcrx_plat_fail(int status);
/* Record an explicit OS error code (e.g. -cqe->res) and return status. */
int mcrx_plat_fail_with(int status, int os_error);
/* Make errno (WSASetLastError on Windows) equal mcrx_last_os_error() again,
 * for callers that read errno after a failed call. */
void mcrx_plat_os_error_restore(void);

/* ---- shared by the platform's backends ---- */

/* A monotonic clock in nanoseconds (waits and coalescing deadlines). */
int64_t mcrx_plat_mono_ns(void);
/* A value unique to the calling thread while it runs (no syscall): the
 * metrics' receive thread, and the owner of a thread-bound backend. */
uintptr_t mcrx_plat_thread_id(void);

/* Bytes of control buffer one datagram needs for every cmsg we enable
 * (IPv6: pktinfo 40 + timestamp 32 + drop count 24 = 96 bytes; a longer
 * list would show as MSG_CTRUNC, i.e. no pktinfo: filtered and counted). */
#define MCRX_PLAT_CONTROL_LEN 128
/* Bytes for the source socket address. */
#define MCRX_PLAT_NAME_LEN 32

/* Parse what recvmsg/recvmmsg/io_uring returned for one datagram into rx
 * (everything but payload/len). name/control as the kernel filled them;
 * msg_flags are the recvmsg flags (MSG_TRUNC, MSG_CTRUNC). */
void mcrx_plat_parse_rx(const void *name, uint32_t namelen,
                        const void *control, size_t controllen,
                        int msg_flags, struct mcrx_rx *rx);

#endif /* MCRX_CORE_PLATFORM_H */
