/*
 * Caller-provided sockets (mcrx_ctx_add_with_socket).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <errno.h>
#ifndef _WIN32
#include <fcntl.h>
#endif
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FILE_NO 4
#define PORT(t) ((uint16_t)(MT_PORT_BASE_SOCKETS + 10 * (t)))

TestSuite(sockets, .timeout = 30);

/* A refused socket: status `want`, still open and unchanged in flags, the
 * context untouched, id_out untouched. */
static void expect_refused(mcrx_ctx *ctx, const mcrx_config *c, int fd, int want,
                           const char *what)
{
    size_t before = mcrx_ctx_count(ctx);
    uint64_t id = 0xabcdu;
    int rc = mcrx_ctx_add_with_socket(ctx, c, fd, &id);
    cr_expect_eq(rc, want, "%s: %s, want %s", what, mcrx_status_name(rc),
                 mcrx_status_name(want));
    cr_expect(mt_fd_open(fd), "%s: the library closed the caller's fd", what);
    cr_expect_eq(id, 0xabcdu, "%s: id_out written", what);
    cr_expect_eq(mcrx_ctx_count(ctx), before, "%s: count changed", what);
}

/* Whether fd is in non-blocking mode. Windows cannot read the mode back:
 * a receive with a 1 ms timeout on the (empty) socket tells, WSAEWOULDBLOCK
 * at once (non-blocking) or WSAETIMEDOUT (blocking). */
static bool is_nonblocking(int fd)
{
#ifdef _WIN32
    DWORD ms = 1;
    char b;
    cr_assert_eq(setsockopt((SOCKET)fd, SOL_SOCKET, SO_RCVTIMEO, (char *)&ms, sizeof ms), 0);
    int r = recv((SOCKET)fd, &b, 1, 0);
    int err = WSAGetLastError();
    cr_assert_eq(r, -1, "the socket held a datagram");
    cr_assert(err == WSAEWOULDBLOCK || err == WSAETIMEDOUT, "recv: error %d", err);
    return err == WSAEWOULDBLOCK;
#else
    return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
#endif
}

Test(sockets, accepted_v4_and_receives)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 1);
    mcrx_config c = mt_cfg_asm4(g, PORT(1), MT_V4_RX);
    int fd = mt_udp_socket(AF_INET, PORT(1));
    uint64_t id = 0;
    cr_assert_eq(mcrx_ctx_add_with_socket(ctx, &c, fd, &id), MCRX_OK);
    cr_expect_eq(id, 1u);
    mcrx_sub *sub = mcrx_ctx_get(ctx, id);
    cr_assert_not_null(sub);
    cr_expect_eq(mcrx_sub_fd(sub), fd, "the sub must use the caller's socket");
    cr_expect_eq(mcrx_sub_get_state(sub), MCRX_SUB_BOUND);
    cr_expect(is_nonblocking(fd), "library did not make the socket non-blocking");
    mcrx_ip a;
    uint16_t p = 0;
    cr_assert_eq(mcrx_sub_local_addr(sub, &a, &p), MCRX_OK);
    cr_expect_eq(p, PORT(1));
    cr_expect_eq(a.family, MCRX_AF_INET);

    cr_assert_eq(mcrx_ctx_join(ctx, id), MCRX_OK);
    cr_expect(mt_igmp_has("v0", g));
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    mt_send(&s, g, PORT(1), "caller-socket", 13);
    mt_pkt k;
    int r = mt_recv(ctx, &k, false, 2000);
    cr_assert_eq(r, 1, "%s", r == 0 ? "timeout" : mcrx_status_name(r));
    cr_expect_eq(k.p.sub_id, id);
    cr_expect_eq(k.p.len, 13u);
    cr_expect_arr_eq(k.data, "caller-socket", 13);
    mt_pkt_free(&k);
    mt_sender_close(&s);

    /* The context owns it now: remove closes it. */
    cr_assert_eq(mcrx_ctx_remove(ctx, id), MCRX_OK);
#ifdef _WIN32
    cr_expect_not(mt_fd_open(fd), "socket still open after remove");
#else
    errno = 0;
    cr_expect_eq(fcntl(fd, F_GETFD), -1, "fd still open after remove");
    cr_expect_eq(errno, EBADF);
#endif
    cr_expect_not(mt_igmp_has("v0", g));
    mcrx_ctx_free(ctx);
}

Test(sockets, accepted_v6_and_receives)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_ssm6(FILE_NO, 2);
    mcrx_config c = mt_cfg_ssm6(g, MT_V6_TX, PORT(2), "v0");
    int fd = mt_udp_socket(AF_INET6, PORT(2));
    uint64_t id = 0;
    cr_assert_eq(mcrx_ctx_add_with_socket(ctx, &c, fd, &id), MCRX_OK);
    int rc = mcrx_ctx_join(ctx, id);
    mt_skip_unsupported_join(rc, &c);
    cr_assert_eq(rc, MCRX_OK);
    mt_sender s = mt_sender_v6(MT_V6_TX, "v1");
    mt_send(&s, g, PORT(2), "caller-v6", 9);
    mt_pkt k;
    int r = mt_recv(ctx, &k, true, 2000);
    cr_assert_eq(r, 1, "%s", r == 0 ? "timeout" : mcrx_status_name(r));
    cr_expect_eq(k.p.len, 9u);
    cr_expect_arr_eq(k.data, "caller-v6", 9);
    mcrx_ip gi = mt_ip(g);
    cr_expect(k.m.flags & MCRX_META_DESTINATION,
              "no pktinfo on a caller socket: library did not enable it");
    cr_expect(mcrx_ip_equal(&k.m.destination, &gi));
    mt_pkt_free(&k);
    mt_sender_close(&s);
    /* Freeing the context closes it too. */
    mcrx_ctx_free(ctx);
    cr_expect_not(mt_fd_open(fd), "fd still open after ctx_free");
}

Test(sockets, wrong_family)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_config c4 = mt_cfg_asm4(mt_group_asm4(FILE_NO, 3), PORT(3), NULL);
    mcrx_config c6 = mt_cfg_asm6(mt_group_asm6(FILE_NO, 3), PORT(3), "v0");
    int fd6 = mt_udp_socket(AF_INET6, PORT(3));
    int fd4 = mt_udp_socket(AF_INET, PORT(3));
    expect_refused(ctx, &c4, fd6, MCRX_E_SOCKET_FAMILY, "v4 config, v6 socket");
    expect_refused(ctx, &c6, fd4, MCRX_E_SOCKET_FAMILY, "v6 config, v4 socket");
    close(fd6);
    close(fd4);
    mcrx_ctx_free(ctx);
}

Test(sockets, tcp_socket_refused)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_config c = mt_cfg_asm4(mt_group_asm4(FILE_NO, 4), PORT(4), NULL);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(PORT(4)) };
    cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    expect_refused(ctx, &c, fd, MCRX_E_SOCKET_FAMILY, "TCP socket");
    close(fd);

#ifndef _WIN32 /* Windows: a pipe is no SOCKET value at all */
    /* A raw-ish datagram that is not UDP is not available unprivileged;
     * a non-socket fd must be refused as well (any negative status). */
    int p[2];
    cr_assert_eq(pipe(p), 0);
    uint64_t id = 0;
    int rc = mcrx_ctx_add_with_socket(ctx, &c, p[0], &id);
    cr_expect_lt(rc, 0, "a pipe was accepted as a socket");
    cr_expect(mt_fd_open(p[0]));
    cr_expect_eq(mcrx_ctx_count(ctx), 0u);
    close(p[0]);
    close(p[1]);
#endif
    mcrx_ctx_free(ctx);
}

Test(sockets, wrong_or_unbound_port)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_config c = mt_cfg_asm4(mt_group_asm4(FILE_NO, 5), PORT(5), NULL);
    int wrong = mt_udp_socket(AF_INET, PORT(5) + 1);
    int unbound = mt_udp_socket(AF_INET, 0);
    expect_refused(ctx, &c, wrong, MCRX_E_SOCKET_PORT, "wrong port");
    expect_refused(ctx, &c, unbound, MCRX_E_SOCKET_PORT, "unbound socket");
    mcrx_config c6 = mt_cfg_asm6(mt_group_asm6(FILE_NO, 5), PORT(5), "v0");
    int wrong6 = mt_udp_socket(AF_INET6, PORT(5) + 2);
    expect_refused(ctx, &c6, wrong6, MCRX_E_SOCKET_PORT, "wrong v6 port");
    /* Still usable by the caller: e.g. it may close it. */
    cr_expect_eq(close(wrong), 0);
    cr_expect_eq(close(unbound), 0);
    cr_expect_eq(close(wrong6), 0);
    mcrx_ctx_free(ctx);
}

Test(sockets, invalid_config_keeps_fd)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    int fd = mt_udp_socket(AF_INET, PORT(6));
    mcrx_config c = mt_cfg_asm4("192.0.2.1", PORT(6), NULL);
    expect_refused(ctx, &c, fd, MCRX_E_GROUP_NOT_MULTICAST, "unicast group");
    mcrx_config ok = mt_cfg_asm4(mt_group_asm4(FILE_NO, 6), PORT(6), NULL);
    uint64_t id = 0;
    cr_assert_eq(mcrx_ctx_add(ctx, &ok, &id), MCRX_OK);
    int fd2 = mt_udp_socket(AF_INET, PORT(6));
    expect_refused(ctx, &ok, fd2, MCRX_E_DUPLICATE, "duplicate config");
    cr_expect_lt(mcrx_ctx_add_with_socket(ctx, &ok, -1, &id), 0, "fd -1 accepted");
    cr_expect_eq(mcrx_ctx_add_with_socket(NULL, &ok, fd2, &id), MCRX_E_INVALID_ARG);
    cr_expect(mt_fd_open(fd2));
    close(fd);
    close(fd2);
    mcrx_ctx_free(ctx);
}

Test(sockets, caller_fd_unaffected_by_failure_flags)
{
    /* A refused socket keeps its blocking mode: the library must not have
     * half-configured it. */
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_config c = mt_cfg_asm4(mt_group_asm4(FILE_NO, 7), PORT(7), NULL);
    int fd = mt_udp_socket(AF_INET, PORT(7) + 1);
    cr_assert_not(is_nonblocking(fd));
    expect_refused(ctx, &c, fd, MCRX_E_SOCKET_PORT, "wrong port");
    cr_expect_not(is_nonblocking(fd), "a refused socket was made non-blocking");
    close(fd);
    mcrx_ctx_free(ctx);
}
