/*
 * Overload accounting: a sender outruns the receiver while the receiver
 * runs its normal loop (wait + recv_batch), with a small receive buffer.
 * Every datagram sent must be accounted for exactly:
 *     delivered + filtered + kernel drops + discarded == sent
 * and the sequence numbers in the payloads show no duplicate and no
 * reordering within one sender. Runs once per backend.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FILE_NO 20
#define PORT(t) ((uint16_t)(MT_PORT_BASE_OVERLOAD + 10 * (t)))
#define MAGIC 0x6d637278u /* "mcrx" */
#define SENDERS 2

TestSuite(overload, .timeout = 240);

struct flood {
    int fd[SENDERS];           /* one socket per sender (own source port) */
    struct sockaddr_in group;  /* multicast destination */
    struct sockaddr_in ucast;  /* unicast to the receiver's port: filtered */
    unsigned count;            /* datagrams in all */
    unsigned unicast_every;    /* every Nth datagram goes unicast */
    unsigned sent_mc[SENDERS], sent_uc;
    atomic_bool done;
};

/* The payload: magic, sender, sequence number (per sender, from 0). */
static size_t payload(uint8_t *p, uint32_t sender, uint32_t seq)
{
    uint32_t w[3] = {htonl(MAGIC), htonl(sender), htonl(seq)};
    memcpy(p, w, sizeof w);
    memset(p + sizeof w, 'x', 64 - sizeof w);
    return 64;
}

static bool send_one(int fd, const uint8_t *p, size_t len, const struct sockaddr_in *to)
{
    for (;;) {
        ssize_t r = sendto(fd, p, len, 0, (const struct sockaddr *)to, sizeof *to);
        if (r == (ssize_t)len)
            return true;
        if (r < 0 && (errno == EINTR || errno == ENOBUFS || errno == EAGAIN))
            continue; /* not sent: try again (never counted twice) */
        return false;
    }
}

/* Sender thread: alternate the senders, as fast as one core goes. */
static void *flood_run(void *arg)
{
    struct flood *f = arg;
    uint8_t p[64];
    uint32_t seq[SENDERS] = {0};
    for (unsigned i = 0; i < f->count; i++) {
        uint32_t s = i % SENDERS;
        if (f->unicast_every && i % f->unicast_every == f->unicast_every - 1) {
            size_t len = payload(p, 0xffffffffu, i);
            if (send_one(f->fd[s], p, len, &f->ucast))
                f->sent_uc++;
            continue;
        }
        size_t len = payload(p, s, seq[s]);
        if (!send_one(f->fd[s], p, len, &f->group))
            break;
        seq[s]++;
        f->sent_mc[s]++;
    }
    atomic_store(&f->done, true);
    return NULL;
}

/* veth: sender on v1, receiver joined on v0 (the kernel's receive path of
 * a real link); else both on lo. */
static void overload(unsigned test, unsigned count, bool veth)
{
    mcrx_ctx_options o = mt_opts();
    o.rcvbuf_bytes = 16384; /* small: the queue overflows */
    mcrx_ctx *ctx = mt_ctx_new(&o);
    const char *g = mt_group_asm4(FILE_NO, test);
    mcrx_config c = mt_cfg_asm4(g, PORT(test), veth ? MT_V4_RX : NULL);
    uint64_t id = mt_add_join(ctx, &c);

    struct flood f;
    memset(&f, 0, sizeof f);
    mt_sender snd[SENDERS];
    uint16_t sport[SENDERS];
    for (int s = 0; s < SENDERS; s++) {
        snd[s] = veth ? mt_sender_v4(MT_V4_TX, MT_IF_TX) : mt_sender_v4("127.0.0.1", "lo");
        f.fd[s] = snd[s].fd;
        sport[s] = snd[s].port;
    }
    f.group.sin_family = AF_INET;
    f.group.sin_port = htons(PORT(test));
    cr_assert_eq(inet_pton(AF_INET, g, &f.group.sin_addr), 1);
    f.ucast = f.group;
    cr_assert_eq(inet_pton(AF_INET, veth ? MT_V4_RX : "127.0.0.1", &f.ucast.sin_addr), 1);
    f.count = count;
    f.unicast_every = 100;
    atomic_init(&f.done, false);

    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, flood_run, &f), 0);

    /* The receiver's normal loop. */
    static mcrx_packet pkts[256];
    int64_t next[SENDERS] = {0}; /* lowest sequence number still allowed */
    uint64_t delivered = 0, bad_order = 0, foreign = 0;
    int64_t quiet_since = -1;
    for (;;) {
        int w = mcrx_ctx_wait(ctx, 20);
        cr_assert_geq(w, 0, "wait: %s", mcrx_status_name(w));
        int n = mcrx_ctx_recv_batch(ctx, pkts, 256);
        cr_assert_geq(n, 0, "receive: %s", mcrx_status_name(n));
        for (int i = 0; i < n; i++) {
            const mcrx_packet *p = &pkts[i];
            uint32_t w3[3];
            if (p->sub_id != id || p->len != 64) {
                foreign++;
                continue;
            }
            memcpy(w3, p->payload, sizeof w3);
            uint32_t sender = ntohl(w3[1]), seq = ntohl(w3[2]);
            if (ntohl(w3[0]) != MAGIC || sender >= SENDERS ||
                p->source_port != sport[sender]) {
                foreign++;
                continue;
            }
            if ((int64_t)seq < next[sender])
                bad_order++; /* a duplicate or a reordering */
            else
                next[sender] = (int64_t)seq + 1;
            delivered++;
        }
        if (n > 0) {
            quiet_since = -1;
        } else if (atomic_load(&f.done)) {
            if (quiet_since < 0)
                quiet_since = mt_now_ms();
            else if (mt_now_ms() - quiet_since > 300)
                break;
        }
    }
    pthread_join(th, NULL);

    mcrx_sub_stats st;
    cr_assert_eq(mcrx_sub_get_stats(mcrx_ctx_get(ctx, id), &st), MCRX_OK);
    uint64_t filtered = st.filtered_group + st.filtered_source +
                        st.filtered_interface + st.filtered_no_pktinfo;
    uint64_t sent = f.sent_uc;
    for (int s = 0; s < SENDERS; s++)
        sent += f.sent_mc[s];
    fprintf(stderr,
            "[overload] %s %s: sent %llu (unicast %u), delivered %llu, filtered %llu, "
            "kernel drops %llu, discarded %llu, backend drop events %llu, rcvbuf %u\n",
            mcrx_backend_name(mcrx_ctx_backend(ctx)), veth ? "veth" : "lo",
            (unsigned long long)sent,
            f.sent_uc, (unsigned long long)st.packets,
            (unsigned long long)filtered, (unsigned long long)st.kernel_drops,
            (unsigned long long)st.discarded,
            (unsigned long long)st.backend_drop_events,
            mcrx_sub_rcvbuf(mcrx_ctx_get(ctx, id)));
    cr_expect_eq(sent, count, "the sender gave up after %llu", (unsigned long long)sent);
    cr_expect_eq(foreign, 0u, "%llu datagrams nobody sent", (unsigned long long)foreign);
    cr_expect_eq(bad_order, 0u, "%llu duplicates or reorderings", (unsigned long long)bad_order);
    cr_expect_eq(delivered, st.packets, "delivered %llu, stats say %llu",
                 (unsigned long long)delivered, (unsigned long long)st.packets);
    cr_expect_eq(st.packets + filtered + st.kernel_drops + st.discarded, sent,
                 "delivered %llu + filtered %llu + kernel drops %llu + discarded %llu "
                 "!= sent %llu", (unsigned long long)st.packets,
                 (unsigned long long)filtered, (unsigned long long)st.kernel_drops,
                 (unsigned long long)st.discarded, (unsigned long long)sent);
    cr_expect_leq(st.filtered_group, f.sent_uc, "more filtered than sent unicast");
    if (st.kernel_drops == 0)
        fprintf(stderr, "[overload] note: the receiver kept up, no kernel drop\n");

    for (int s = 0; s < SENDERS; s++)
        mt_sender_close(&snd[s]);
    mcrx_ctx_free(ctx);
}

Test(overload, sender_outruns_receiver_every_datagram_accounted)
{
    overload(1, 200000, false);
}

Test(overload, over_a_veth_link_every_datagram_accounted)
{
    overload(2, 200000, true);
}
