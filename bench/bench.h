/*
 * mcrx_bench: shared declarations (internal to bench/).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MCRX_BENCH_H
#define MCRX_BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

enum bench_mode { MODE_DRAIN, MODE_SUSTAINED, MODE_SCALE, MODE_FAIRNESS,
                  MODE_LATENCY };
enum bench_api { API_BATCH, API_SINGLE, API_UV };

struct bench_opts {
    enum bench_mode mode;
    const char *backend;
    uint64_t count;       /* drain/scale: datagrams queued; fairness: flood */
    uint32_t len;         /* datagram payload bytes */
    uint32_t subs;        /* subscriptions (sockets) */
    uint32_t active;      /* scale: how many of them receive traffic */
    uint64_t rate;        /* sustained: datagrams per second */
    double seconds;       /* sustained: sender run time */
    enum bench_api api;   /* library backends: batch or single call */
    uint64_t rcvbuf;      /* receive buffer request per socket */
    uint32_t vlen;        /* raw-recvmmsg: datagrams per call (32) */
    uint32_t max_batch;   /* library: max_batch option (0 = default) */
    uint32_t turn_budget; /* library: turn_budget option (0 = default) */
    uint32_t quiet_us;    /* fairness: interval between quiet rounds */
    int cpu_rx, cpu_tx;   /* cores to pin receiver and sender to */
    bool strict;          /* exit 1 on any drop, not only on lost count */
    bool expect_zero_allocs; /* exit 1 if steady-state allocations > 0 */
    bool no_timestamps;   /* library: mcrx_ctx_options.timestamps = false */
    uint32_t metrics_sample_ms; /* library: metrics snapshot + delta every
                                   this many ms, from the receive loop
                                   (0: never) */
    double min_jain;      /* fairness: exit 1 if Jain's index is lower */
    long max_wait_rounds; /* fairness: exit 1 if a quiet packet waited more
                             rounds (-1: no check) */
    const char *out_path; /* also append the result line to this file */
    unsigned raw_cmsg;    /* raw/naive: RAW_CMSG_* enabled on the socket */
    const char *perf_ctl; /* "ctl-fifo,ack-fifo" of perf record --control:
                             profiling is enabled around the timed loop */
    uint32_t coalesce_us; /* library: mcrx_ctx_options.coalesce_us */
    uint32_t busy_poll_us; /* library: mcrx_ctx_options.busy_poll_us */
    uint32_t send_batch;  /* paced sender: datagrams per sendmmsg, at most
                             (latency: 1, each stamped before its call) */
};

/* Per-subscription traffic description. */
struct bench_sub {
    uint32_t group_be;  /* IPv4 group, network order */
    uint16_t port;      /* host order */
};

/* Fairness bookkeeping (see fairness mode in mcrx_bench.c). */
struct fair_call {
    int64_t t_ns;        /* CLOCK_MONOTONIC when a receive call started */
    uint64_t rx_before;  /* packets delivered before that call */
    uint64_t flood_before;
};

struct fair_state {
    struct fair_call *log;   /* ring of receive-call starts */
    uint64_t log_mask;
    uint64_t log_n;          /* calls logged so far */
    uint64_t quiet_rx;
    int64_t *queued_ns;      /* shared with the quiet sender: CLOCK_MONOTONIC
                                after sendmsg returned for quiet seq i (the
                                datagram is in the socket queue by then) */
    uint64_t queued_cap;
    uint64_t max_wait_pkts;  /* packets delivered by receive calls that
                                started after a quiet datagram was queued,
                                before it (lower bound of its wait) */
    uint64_t max_wait_flood; /* flood datagrams among them (lower bound:
                                calls that started after its sendmsg
                                returned, when it was in the queue) */
    uint64_t max_wait_flood_ub; /* flood datagrams delivered from the start
                                   of the receive call in progress when its
                                   sendmsg was called (before it could be
                                   queued), that call counted whole: upper
                                   bound */
    uint64_t max_wait_slack; /* largest ub - lb of one quiet datagram:
                                how far apart the bounds can be */
    uint64_t max_wait_calls; /* whole receive calls it missed */
    int64_t max_wait_ns;
    int64_t max_sendmsg_ns;  /* widest sendmsg of a quiet datagram: the
                                window in which it entered its queue */
    uint64_t wait_overflow;  /* waits older than the ring (lower bounds) */
    double sum_wait_pkts;
};

struct bench;

/* A receiver implementation (raw-recvmmsg, naive, libuv, library). */
struct bench_backend {
    const char *name;
    /* Open one socket (or subscription) per b->subs[i], joined; 0 or an
     * exit code (77: unavailable here). */
    int (*open)(struct bench *b);
    /* The socket of sub i (for SO_MEMINFO), or -1. */
    int (*fd)(struct bench *b, uint32_t i);
    /* Cumulative kernel drops over all subs. */
    uint64_t (*kernel_drops)(struct bench *b);
    /* Receive until b->rx >= b->target or bench_idle() says stop. */
    int (*run)(struct bench *b);
    void (*close)(struct bench *b);
    /* Extra "key=value" fields for the result line (may be NULL). */
    void (*describe)(struct bench *b, char *buf, size_t len);
};

enum { PP_COUNT = 0, PP_FAIR = 1, PP_LAT = 2 };

/* Control messages the reference receivers enable (--raw-cmsg). */
enum {
    RAW_CMSG_PKTINFO = 1u << 0,
    RAW_CMSG_TIMESTAMP = 1u << 1, /* SO_TIMESTAMPNS */
    RAW_CMSG_OVFL = 1u << 2       /* SO_RXQ_OVFL */
};

struct bench {
    struct bench_opts o;
    const struct bench_backend *be;
    void *priv;                 /* backend state */
    uint32_t nsubs;
    struct bench_sub *subs;
    uint64_t *rx_per_sub;
    uint64_t rx;                /* packets delivered */
    uint64_t bytes;
    uint64_t target;            /* stop when rx reaches it */
    uint64_t sink;              /* payload words read (keeps loads live) */
    uint64_t bad_dst;           /* raw: pktinfo destination != group */
    int per_pkt;                /* PP_COUNT / PP_FAIR / PP_LAT */
    uint32_t *lat_ns;           /* latency mode: receive - send time of
                                   each datagram, in arrival order */
    uint64_t lat_n, lat_cap;
    struct fair_state fair;
    uint32_t flood_idx;         /* fairness: index of the flooded sub */
    /* Jain windows (fairness phase A) */
    uint64_t *win_base;
    uint64_t win_size, win_next;
    double jain_min_window;
    uint32_t jain_windows;
    /* idle / stop control */
    uint64_t idle_calls;        /* bench_idle() calls: receive passes that
                                   found nothing */
    int64_t idle_since_ns;
    uint64_t idle_rx_mark;
    int64_t idle_limit_ns;      /* stop after this long with no progress */
    pid_t child;                /* sender child, 0 if none */
    bool child_done;            /* reaped */
    bool sender_finished;       /* the child said it sent everything */
    int stop_fd;                /* write end: tells the child to stop */
};

int64_t bench_now_ns(void);

/* Called by a backend when a receive pass found nothing. Returns < 0 to
 * stop, else the number of milliseconds the backend may block waiting. */
int bench_idle(struct bench *b);

void bench_fair_pkt(struct bench *b, uint32_t idx, const uint8_t *p,
                    size_t len);
void bench_fair_window(struct bench *b);
void bench_lat_pkt(struct bench *b, const uint8_t *p);

/* Payload layout written by every sender. */
struct bench_hdr {
    uint64_t seq;
    int64_t send_ns;   /* CLOCK_MONOTONIC: fairness quiet packets, and
                          every datagram of the latency mode (stamped just
                          before its own sendmsg) */
    uint32_t sub;      /* destination sub index */
    uint32_t kind;     /* 0 bulk/flood, 1 quiet, 2 latency */
};
#define BENCH_MIN_LEN ((uint32_t)sizeof(struct bench_hdr))

/* Start of a receive call (fairness mode logs it). */
static inline void bench_call(struct bench *b)
{
    if (__builtin_expect(b->per_pkt == PP_FAIR, 0)) {
        struct fair_call *c = &b->fair.log[b->fair.log_n & b->fair.log_mask];
        c->t_ns = bench_now_ns();
        c->rx_before = b->rx;
        c->flood_before = b->rx_per_sub[b->flood_idx];
        b->fair.log_n++;
    }
}

/* Every backend calls this once per delivered datagram: identical work. */
static inline void bench_pkt(struct bench *b, uint32_t idx, const uint8_t *p,
                             size_t len)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    b->sink += w;
    b->bytes += len;
    b->rx_per_sub[idx]++;
    if (__builtin_expect(b->per_pkt == PP_FAIR, 0))
        bench_fair_pkt(b, idx, p, len);
    else if (b->per_pkt == PP_LAT)
        bench_lat_pkt(b, p);
    b->rx++;
    if (__builtin_expect(b->rx == b->win_next, 0))
        bench_fair_window(b);
}

extern const struct bench_backend bench_backend_raw_recvmmsg;
extern const struct bench_backend bench_backend_naive;
#ifdef MCRX_BENCH_HAVE_LIBUV
extern const struct bench_backend bench_backend_libuv;
#endif
#ifndef MCRX_BENCH_NO_LIB
extern const struct bench_backend bench_backend_lib;
#endif

#ifdef MCRX_BENCH_HAVE_MCRX_UV
/* --api uv (rx_lib_uv.c): the library's context through mcrx-uv on a libuv
 * loop, batch packets per callback; idx_of maps sub ids to bench subs. */
struct mcrx_ctx;
int bench_lib_run_uv(struct bench *b, struct mcrx_ctx *ctx,
                     const uint32_t *idx_of, uint32_t batch);
#endif

/* Helpers shared by the socket-level receivers. */
int bench_set_rcvbuf(int fd, uint64_t bytes);
uint32_t bench_sock_drops(int fd);
uint32_t bench_sock_rmem(int fd);
void bench_die(const char *what) __attribute__((noreturn));
/* soak.c: the whole `mcrx_bench soak` mode (argv[0] = "soak"). */
int bench_soak_main(int argc, char **argv);

#endif
