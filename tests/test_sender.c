/*
 * Independent senders: Python's socket module, and iperf 2.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <stdio.h>
#include <string.h>

#define FILE_NO 11
#define PORT(t) ((uint16_t)(MT_PORT_BASE_SENDER + 10 * (t)))

TestSuite(sender, .timeout = 60);

static void python_case(bool v6, bool ssm, unsigned test)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g;
    const char *src;
    mcrx_config c;
    if (v6) {
        g = ssm ? mt_group_ssm6(FILE_NO, test) : mt_group_asm6(FILE_NO, test);
        src = MT_V6_TX;
        c = ssm ? mt_cfg_ssm6(g, src, PORT(test), "v0")
                : mt_cfg_asm6(g, PORT(test), "v0");
    } else {
        g = ssm ? mt_group_ssm4(FILE_NO, test) : mt_group_asm4(FILE_NO, test);
        src = MT_V4_TX;
        c = ssm ? mt_cfg_ssm4(g, src, PORT(test), MT_V4_RX)
                : mt_cfg_asm4(g, PORT(test), MT_V4_RX);
    }
    uint64_t id = mt_add_join(ctx, &c);
    char payload[64];
    snprintf(payload, sizeof payload, "from-python-%u", test);
    uint16_t sport = 0;
    int rc = mt_python_send_port(g, PORT(test), src, "v1", payload, 5, &sport);
    cr_assert_eq(rc, 0, "python3 sender exited with %d", rc);
    cr_assert_neq(sport, 0, "python did not report its port");
    if (ssm) {
        /* and the wrong source, which must not arrive */
        rc = mt_python_send(g, PORT(test), v6 ? MT_V6_TX2 : MT_V4_TX2, "v1",
                            "wrong-source", 5);
        cr_assert_eq(rc, 0);
    }
    mcrx_ip srcip = mt_ip(src), gip = mt_ip(g);
    for (int i = 0; i < 5; i++) {
        mt_pkt k;
        int r = mt_recv(ctx, &k, true, 3000);
        cr_assert_eq(r, 1, "datagram %d from python: %s", i,
                     r == 0 ? "timeout" : mcrx_status_name(r));
        cr_expect_eq(k.p.sub_id, id);
        cr_expect_eq(k.p.len, strlen(payload));
        if (k.p.len == strlen(payload))
            cr_expect_arr_eq(k.data, payload, strlen(payload));
        cr_expect(mcrx_ip_equal(&k.p.source, &srcip), "source %s",
                  mt_ipstr(&k.p.source));
        cr_expect_eq(k.p.source_port, sport);
        cr_expect(mcrx_ip_equal(&k.p.group, &gip));
        cr_expect_eq(k.p.dst_port, PORT(test));
        cr_expect_eq(k.m.ingress_ifindex, mt_ifindex("v0"));
        mt_pkt_free(&k);
    }
    mt_pkt k;
    int r = mt_recv(ctx, &k, false, 150);
    cr_expect_eq(r, 0, "unexpected extra datagram");
    if (r == 1)
        mt_pkt_free(&k);
    mcrx_ctx_free(ctx);
}

Test(sender, python_v4_asm)
{
    python_case(false, false, 1);
}

Test(sender, python_v4_ssm)
{
    python_case(false, true, 2);
}

Test(sender, python_v6_asm)
{
    python_case(true, false, 3);
}

Test(sender, python_v6_ssm)
{
    python_case(true, true, 4);
}

Test(sender, iperf2_udp_multicast)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    const char *g = mt_group_asm4(FILE_NO, 5);
    mcrx_config c = mt_cfg_asm4(g, PORT(5), MT_V4_RX);
    uint64_t id = mt_add_join(ctx, &c);
    char port[16];
    snprintf(port, sizeof port, "%u", PORT(5));
    char *argv[] = { "iperf", "-c", (char *)g, "-p", port, "-u", "-T", "1",
                     "-B", (char *)MT_V4_TX, "-l", "100", "-b", "200k", "-n",
                     "1000", NULL };
    int rc = mt_run(argv, false);
    if (rc == 127)
        cr_skip_test("iperf (2) is not installed");
    cr_assert_eq(rc, 0, "iperf exited with %d", rc);
    /* iperf 2 sends 10 datagrams of 100 bytes for -n 1000, then its final
     * datagram(s) of the same size */
    mt_pkt got[64];
    int n = mt_drain(ctx, got, 64, 300);
    cr_assert_geq(n, 10, "received %d iperf datagrams, want >= 10", n);
    mcrx_ip src = mt_ip(MT_V4_TX);
    for (int i = 0; i < n; i++) {
        cr_expect_eq(got[i].p.sub_id, id);
        cr_expect_eq(got[i].p.len, 100u);
        cr_expect(mcrx_ip_equal(&got[i].p.source, &src));
        cr_expect_eq(got[i].p.source_port, got[0].p.source_port);
        mt_pkt_free(&got[i]);
    }
    mcrx_ctx_free(ctx);
}
