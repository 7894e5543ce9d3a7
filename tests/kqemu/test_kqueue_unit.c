/*
 * kqueue-on-epoll (emulation), unit level: the kqueue backend's read loop
 * and hold event, driven directly (the behavioural suites cannot reach the
 * loop's early stop: the emulation's EVFILT_READ data is an overestimate,
 * see sys/event.h). Datagrams go over UDP on the namespace's loopback
 * (unicast: no multicast involved); the backend's own file is compiled
 * into this test.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "../../src/backend/kqueue/kqueue.c"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <poll.h>

#define LEN 100

struct bed {
    struct mcrx_backend *b;
    struct mcrx_backend_sub *s;
    int pair[2]; /* [0] is the "joined socket", [1] sends to it */
    struct mcrx_rx out[8];
};

static void bed_open(struct bed *t)
{
    struct mcrx_backend_params p = {.max_payload = 256, .max_batch = 8, .sub_ring_size = 0};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    t->pair[0] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    t->pair[1] = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert(t->pair[0] >= 0 && t->pair[1] >= 0);
    cr_assert_eq(bind(t->pair[0], (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(t->pair[0], (struct sockaddr *)&a, &len), 0);
    cr_assert_eq(connect(t->pair[1], (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(kq_create(&t->b, &p), MCRX_OK);
    cr_assert_eq(kq_attach(t->b, t->pair[0], (struct mcrx_sub *)t, &t->s), MCRX_OK);
}

static void bed_close(struct bed *t)
{
    kq_detach(t->b, t->s);
    kq_destroy(t->b);
    close(t->pair[0]);
    close(t->pair[1]);
}

static void send_n(struct bed *t, int n)
{
    uint8_t buf[LEN];
    for (int i = 0; i < n; i++) {
        memset(buf, i, sizeof buf);
        cr_assert_eq(send(t->pair[1], buf, sizeof buf, 0), LEN);
    }
}

/* One receive call of the core: release everything, read up to max. */
static int call(struct bed *t, unsigned max)
{
    kq_release(t->b, t->b->slots.head);
    return kq_recv(t->b, t->s, t->out, max);
}

static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

Test(kqueue_unit, read_loop_stops_at_the_event_byte_count)
{
    struct bed t;
    bed_open(&t);
    send_n(&t, 5);
    t.s->budget = 3 * LEN; /* the event saw three datagrams queued */
    cr_expect_eq(call(&t, 8), 3, "the bound: three datagrams, no fourth read");
    cr_expect_eq(t.s->budget, 0);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(t.out[i].payload[0], i, "datagram %d in order", i);
    /* bound used up: the next call reads what came since, until EAGAIN */
    cr_expect_eq(call(&t, 8), 2);
    cr_expect_eq(t.out[0].payload[0], 3);
    cr_expect_eq(call(&t, 8), 0, "drained");
    bed_close(&t);
}

Test(kqueue_unit, overestimate_ends_at_eagain)
{
    struct bed t;
    bed_open(&t);
    send_n(&t, 5);
    t.s->budget = 100000;
    cr_expect_eq(call(&t, 8), 5);
    cr_expect_eq(t.s->budget, 0, "EAGAIN clears the bound");
    bed_close(&t);
}

Test(kqueue_unit, full_batch_keeps_the_rest_of_the_bound)
{
    struct bed t;
    bed_open(&t);
    send_n(&t, 7);
    t.s->budget = 7 * LEN;
    cr_expect_eq(call(&t, 4), 4, "max first");
    cr_expect_eq(t.s->budget, 3 * LEN);
    cr_expect_eq(call(&t, 4), 3, "then the rest of what the event saw");
    cr_expect_eq(t.s->budget, 0);
    bed_close(&t);
}

Test(kqueue_unit, poll_reports_the_socket_with_its_byte_count)
{
    struct bed t;
    bed_open(&t);
    struct mcrx_sub *ready[4];
    cr_expect_eq(kq_poll(t.b, ready, 4, 0), 0, "nothing queued");
    send_n(&t, 2);
    cr_assert_eq(kq_poll(t.b, ready, 4, 0), 1);
    cr_expect_eq(ready[0], (struct mcrx_sub *)&t);
    cr_expect_geq(t.s->budget, 2 * LEN, "at least the queued payload bytes");
    cr_expect_eq(call(&t, 8), 2);
    cr_expect_eq(kq_poll(t.b, ready, 4, 0), 0, "level-triggered: gone once read");
    bed_close(&t);
}

Test(kqueue_unit, hold_event_keeps_the_wait_object_readable_and_is_not_a_sub)
{
    struct bed t;
    bed_open(&t);
    int fd = kq_wait_handle(t.b);
    struct mcrx_sub *ready[4];
    cr_expect_not(readable(fd), "idle");
    kq_service(t.b, true);
    cr_expect(readable(fd), "the core holds records");
    cr_expect_eq(kq_poll(t.b, ready, 4, 0), 0, "the hold event names no sub");
    cr_expect(readable(fd), "still held: stays readable");
    kq_service(t.b, true); /* no change: no syscall, still readable */
    cr_expect(readable(fd));
    kq_service(t.b, false);
    cr_expect_not(readable(fd), "released: idle again");
    send_n(&t, 1);
    cr_expect(readable(fd), "a readable socket makes it readable");
    bed_close(&t);
}

Test(kqueue_unit, detached_socket_no_longer_wakes)
{
    struct bed t;
    bed_open(&t);
    int fd = kq_wait_handle(t.b);
    kq_detach(t.b, t.s);
    send_n(&t, 1);
    cr_expect_not(readable(fd), "detached: its data is not the context's");
    /* re-attach for bed_close */
    cr_assert_eq(kq_attach(t.b, t.pair[0], (struct mcrx_sub *)&t, &t.s), MCRX_OK);
    cr_expect(readable(fd));
    bed_close(&t);
}
