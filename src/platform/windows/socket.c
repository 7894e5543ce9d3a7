/* Windows socket set-up shared by the Windows backends (iocp, wsapoll).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Decisions against the Linux layer (docs/platforms.md, "Windows"):
 * - SO_REUSEADDR: set, as on Linux, so several subscriptions (and other
 *   programs) can share a port; Windows then hands every multicast
 *   datagram to each socket on the port that joined its group. (On
 *   Windows it would also let another socket take over a unicast port;
 *   SO_EXCLUSIVEADDRUSE would forbid the sharing we need.)
 * - IP_MULTICAST_ALL: does not exist; Windows delivers a group's datagrams
 *   only to sockets that joined it. The core still checks the pktinfo
 *   destination, source and interface of every datagram.
 * - SO_RXQ_OVFL, SO_MEMINFO: no per-socket drop count on Windows; drops
 *   are reported as unknown (no MCRX_META_DROPS, stats.kernel_drops 0).
 * - SO_TIMESTAMPNS: no per-datagram receive timestamp through WSARecvMsg
 *   before Windows 11's SO_TIMESTAMP; the option is accepted and ignored.
 * - Sockets are non-blocking (FIONBIO) and overlapped (WSA_FLAG_OVERLAPPED)
 *   so both backends can use them; not inherited by child processes.
 */
#include <stdlib.h>
#include <string.h>

#include "platform/windows/plat.h"

int mcrx_win_wsa_acquire(int status_on_failure)
{
    WSADATA d;
    int rc = WSAStartup(MAKEWORD(2, 2), &d);
    return rc == 0 ? MCRX_OK : mcrx_plat_fail_with(status_on_failure, rc);
}

void mcrx_win_wsa_release(void)
{
    WSACleanup();
}

void *mcrx_win_backend_alloc(size_t size, int *st)
{
    if ((*st = mcrx_win_wsa_acquire(MCRX_E_BACKEND_UNAVAILABLE)) != MCRX_OK)
        return NULL;
    void *b = calloc(1, size);
    if (!b) {
        mcrx_win_wsa_release();
        *st = mcrx_plat_fail_with(MCRX_E_NO_MEMORY, ERROR_NOT_ENOUGH_MEMORY);
    }
    return b;
}

void mcrx_win_backend_free(void *b)
{
    free(b);
    mcrx_win_wsa_release();
}

static int setopt(SOCKET fd, int level, int name, DWORD value)
{
    return setsockopt(fd, level, name, (const char *)&value, sizeof value);
}

/* Windows grants SO_RCVBUF as asked (no doubling, no rmem_max clamp). */
static int set_rcvbuf(SOCKET fd, uint32_t want, uint32_t *granted)
{
    DWORD got = 0;
    int len = sizeof got;
    if (want && setopt(fd, SOL_SOCKET, SO_RCVBUF,
                       want > INT32_MAX ? (DWORD)INT32_MAX : want) != 0)
        return mcrx_plat_fail_with(MCRX_E_SOCKET_OPTION, WSAGetLastError());
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, (char *)&got, &len) != 0)
        return mcrx_plat_fail_with(MCRX_E_SOCKET_OPTION, WSAGetLastError());
    *granted = (uint32_t)got;
    return MCRX_OK;
}

/* Receive options every subscription socket gets, caller's or ours. */
static int set_receive_options(SOCKET fd, int af, const struct mcrx_sock_opts *so,
                               uint32_t *granted)
{
    u_long nonblocking = 1;
    int ok = af == AF_INET ? setopt(fd, IPPROTO_IP, IP_PKTINFO, 1) == 0
                           : setopt(fd, IPPROTO_IPV6, IPV6_PKTINFO, 1) == 0;
    if (!ok || ioctlsocket(fd, FIONBIO, &nonblocking) != 0)
        return mcrx_plat_fail_with(MCRX_E_SOCKET_OPTION, WSAGetLastError());
    return set_rcvbuf(fd, so->rcvbuf, granted);
}

/* WSA_FLAG_NO_HANDLE_INHERIT is Windows 7 SP1+; older systems (and some
 * Wine versions) answer WSAEINVAL: retry without it. */
static SOCKET open_udp(int af)
{
    DWORD flags = WSA_FLAG_OVERLAPPED;
#ifdef WSA_FLAG_NO_HANDLE_INHERIT
    SOCKET fd = WSASocketW(af, SOCK_DGRAM, IPPROTO_UDP, NULL, 0,
                           flags | WSA_FLAG_NO_HANDLE_INHERIT);
    if (fd != INVALID_SOCKET || WSAGetLastError() != WSAEINVAL)
        return fd;
#endif
    return WSASocketW(af, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, flags);
}

int mcrx_plat_socket_open(const mcrx_config *cfg, const struct mcrx_sock_opts *so,
                          mcrx_socket_t *fd_out, uint32_t *rcvbuf_granted)
{
    int st = mcrx_win_wsa_acquire(MCRX_E_SOCKET_CREATE);
    if (st != MCRX_OK)
        return st;
    int af = mcrx_sa_family(&cfg->group);
    SOCKET fd = open_udp(af);
    if (fd == INVALID_SOCKET) {
        st = mcrx_plat_fail_with(MCRX_E_SOCKET_CREATE, WSAGetLastError());
        mcrx_win_wsa_release();
        return st;
    }
    if ((af == AF_INET6 && setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) != 0) ||
        setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1) != 0)
        st = mcrx_plat_fail_with(MCRX_E_SOCKET_OPTION, WSAGetLastError());
    if (st == MCRX_OK)
        st = set_receive_options(fd, af, so, rcvbuf_granted);
    if (st == MCRX_OK) {
        mcrx_ip any = {.family = cfg->group.family};
        struct sockaddr_storage ss;
        int len = mcrx_to_sockaddr(&any, cfg->dst_port, &ss);
        if (bind(fd, (struct sockaddr *)&ss, len) != 0)
            st = mcrx_plat_fail_with(MCRX_E_SOCKET_BIND, WSAGetLastError());
    }
    if (st != MCRX_OK) {
        int err = mcrx_last_os_error();
        closesocket(fd);
        mcrx_win_wsa_release();
        return mcrx_plat_fail_with(st, err);
    }
    *fd_out = fd;
    return MCRX_OK;
}

int mcrx_plat_socket_adopt(mcrx_socket_t fd, const mcrx_config *cfg,
                           const struct mcrx_sock_opts *so, uint32_t *rcvbuf_granted)
{
    /* SO_PROTOCOL_INFOW answers for an unbound socket too (getsockname
     * fails there with WSAEINVAL, where Linux reports port 0). */
    WSAPROTOCOL_INFOW pi;
    int len = sizeof pi;
    if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&pi, &len) != 0)
        return mcrx_plat_fail_with(MCRX_E_SOCKET_FAMILY, WSAGetLastError()); /* WSAENOTSOCK */
    if (pi.iAddressFamily != mcrx_sa_family(&cfg->group) || pi.iSocketType != SOCK_DGRAM ||
        pi.iProtocol != IPPROTO_UDP)
        return mcrx_plat_fail_with(MCRX_E_SOCKET_FAMILY, WSAEPROTOTYPE);
    struct sockaddr_storage ss;
    mcrx_ip ip;
    uint16_t port = 0;
    len = sizeof ss;
    bool bound = getsockname(fd, (struct sockaddr *)&ss, &len) == 0;
    if (!bound && WSAGetLastError() != WSAEINVAL) /* WSAEINVAL: not bound */
        return mcrx_plat_fail_with(MCRX_E_LOCAL_ADDR, WSAGetLastError());
    if (!bound || !mcrx_from_sockaddr((struct sockaddr *)&ss, &ip, &port) ||
        port != cfg->dst_port)
        return mcrx_plat_fail_with(MCRX_E_SOCKET_PORT, WSAEADDRNOTAVAIL);
    int st = set_receive_options(fd, mcrx_sa_family(&cfg->group), so, rcvbuf_granted);
    /* The socket now holds a Winsock reference like ours (see plat.h);
     * socket_close() drops it. */
    return st == MCRX_OK ? mcrx_win_wsa_acquire(MCRX_E_SOCKET_OPTION) : st;
}

void mcrx_plat_socket_close(mcrx_socket_t fd)
{
    if (fd == INVALID_SOCKET)
        return;
    closesocket(fd);
    mcrx_win_wsa_release();
}

int mcrx_plat_local_addr(mcrx_socket_t fd, mcrx_ip *addr, uint16_t *port)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return mcrx_plat_fail_with(MCRX_E_LOCAL_ADDR, WSAGetLastError());
    if (!mcrx_from_sockaddr((struct sockaddr *)&ss, addr, port))
        return mcrx_plat_fail_with(MCRX_E_LOCAL_ADDR, WSAEAFNOSUPPORT);
    return MCRX_OK;
}

uint32_t mcrx_plat_socket_drops(mcrx_socket_t fd)
{
    (void)fd; /* Windows keeps no per-socket drop count */
    return 0;
}

/* ---- OS errors (platform.h) ---- */

int mcrx_plat_fail(int status)
{
    mcrx_os_error_set(WSAGetLastError());
    return status;
}

int mcrx_plat_fail_with(int status, int os_error)
{
    mcrx_os_error_set(os_error);
    WSASetLastError(os_error);
    return status;
}

void mcrx_plat_os_error_restore(void)
{
    WSASetLastError(mcrx_last_os_error());
}
