/*
 * The latency options on the Windows backends: coalesce_us (a waitable
 * timer lingers after an early wake-up) loses nothing and an idle wait
 * still times out; busy_poll_us (no such option on Windows) is accepted
 * and has no effect. The Linux side of this is in tests/test_eventloop.c.
 * No timing asserted. SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#define FILE_NO 21
#define PORT(t) ((uint16_t)(MT_PORT_BASE_EVENTLOOP + 500 + 10 * (t)))

TestSuite(latency_win, .timeout = 60);

struct sending {
    const char *group;
    uint16_t port;
};

/* 40 bursts of 5, ~1 ms apart, while the test thread waits. */
static DWORD WINAPI send_bursts(void *p)
{
    const struct sending *sd = p;
    mt_sender s = mt_sender_v4(MT_V4_TX, "v1");
    for (unsigned k = 0; k < 40; k++) {
        mt_send_seq(&s, sd->group, sd->port, "c", 5 * k, 5);
        Sleep(1);
    }
    mt_sender_close(&s);
    return 0;
}

/* Blocking waits (mcrx_ctx_wait) woken by datagrams that arrive while the
 * context waits: where coalescing lingers. */
static long receive_while_sending(uint32_t coalesce_us, uint32_t busy_poll_us, unsigned t)
{
    mcrx_ctx_options o = mt_opts();
    o.coalesce_us = coalesce_us;
    o.busy_poll_us = busy_poll_us;
    mcrx_ctx *ctx = mt_ctx_new(&o);
    struct sending sd = {mt_group_asm4(FILE_NO, t), PORT(t)};
    mcrx_config c = mt_cfg_asm4(sd.group, sd.port, MT_V4_RX);
    (void)mt_add_join(ctx, &c);
    cr_expect_eq(mcrx_ctx_wait(ctx, 50), 0, "idle wait");
    HANDLE th = CreateThread(NULL, 0, send_bursts, &sd, 0, NULL);
    cr_assert_not_null(th);
    long got = 0, wakeups = 0;
    mcrx_packet p[64];
    while (got < 200 && mcrx_ctx_wait(ctx, 2000) == 1) {
        wakeups++;
        for (int n; (n = mcrx_ctx_recv_batch(ctx, p, 64)) > 0;)
            got += n;
    }
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);
    mcrx_ctx_free(ctx);
    cr_log_info("coalesce_us %u: %ld datagrams in %ld wake-ups", coalesce_us, got, wakeups);
    return got;
}

Test(latency_win, coalescing_wait_delivers_every_datagram)
{
    long got = receive_while_sending(2000, 0, 1);
    cr_expect_eq(got, 200, "%ld of 200 with coalesce_us 2000", got);
}

Test(latency_win, busy_poll_is_accepted_without_effect)
{
    long got = receive_while_sending(0, 50, 2);
    cr_expect_eq(got, 200, "%ld of 200 with busy_poll_us 50", got);
}
