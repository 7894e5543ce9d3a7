/*
 * mcrx_bench: receive-path benchmarks for mcrx-core and its peers.
 *
 *   mcrx_bench MODE --backend NAME [--count N] [--len L] [--subs K]
 *              [--active A] [--rate PPS] [--seconds T] [--api single|batch]
 *              [--rcvbuf BYTES] [--vlen V] [--max-batch B] [--turn-budget T]
 *              [--quiet-us U] [--cpu-rx C] [--cpu-tx C] [--strict]
 *              [--expect-zero-allocs] [--min-jain J] [--max-wait-rounds R]
 *              [--no-timestamps] [--raw-cmsg LIST] [--out FILE]
 *
 *   MODE     drain | sustained | scale | fairness
 *   NAME     raw-recvmmsg | naive | libuv | recvmmsg | iouring | default
 *
 * Prints one line: mode=... backend=... pkts=... secs=... mpps=... drops=...
 * plus mode-specific fields. Exit status: 0 ok, 1 a check failed (lost
 * datagrams, --strict drops, fairness thresholds, allocations), 2 usage,
 * 3 set-up/receive error, 77 backend not available here (meson: skipped).
 *
 * It refuses to run outside the private namespace made by
 * scripts/mcrx-netns (MCRX_NETNS_READY=1 and no interface but lo, v0, v1):
 * it joins and sends multicast and must never do so on the machine's own
 * network.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "bench.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sock_diag.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

/* ------------------------------------------------------------------ */
/* small helpers                                                        */
/* ------------------------------------------------------------------ */

void bench_die(const char *what)
{
    fprintf(stderr, "mcrx_bench: %s: %s\n", what, strerror(errno));
    exit(3);
}

int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int bench_set_rcvbuf(int fd, uint64_t bytes)
{
    if (bytes == 0)
        return 0;
    int v = bytes > INT32_MAX / 2 ? INT32_MAX / 2 : (int)bytes;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) == 0)
        return 0;
    return setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
}

static int sock_meminfo(int fd, uint32_t mi[SK_MEMINFO_VARS])
{
    socklen_t l = sizeof(uint32_t) * SK_MEMINFO_VARS;
    memset(mi, 0, l);
    if (fd < 0)
        return -1;
    return getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &l);
}

uint32_t bench_sock_drops(int fd)
{
    uint32_t mi[SK_MEMINFO_VARS];
    if (sock_meminfo(fd, mi) < 0)
        return 0;
    return mi[SK_MEMINFO_DROPS];
}

uint32_t bench_sock_rmem(int fd)
{
    uint32_t mi[SK_MEMINFO_VARS];
    if (sock_meminfo(fd, mi) < 0)
        return 0;
    return mi[SK_MEMINFO_RMEM_ALLOC];
}

static void pin_to(int cpu)
{
    if (cpu < 0)
        return;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n > 0 && cpu >= n)
        cpu = (int)(n - 1);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0)
        fprintf(stderr, "mcrx_bench: sched_setaffinity(%d): %s\n", cpu,
                strerror(errno));
}

static long invol_switches(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_nivcsw;
}

static double cpu_secs(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Allocation counting through the LD_PRELOAD shim, when it is loaded. */
typedef void (*alloc_snap_fn)(uint64_t *, uint64_t *, uint64_t *);
static alloc_snap_fn alloc_snap;
static uint64_t alloc_at_start, alloc_at_steady, alloc_at_end;
static bool alloc_steady_taken;

static uint64_t allocs_now(void)
{
    uint64_t a = 0, f = 0, by = 0;
    if (alloc_snap)
        alloc_snap(&a, &f, &by);
    return a;
}

/* perf record -D -1 --control fifo:CTL,ACK: enable sampling only around the
 * timed receive loop (drain and scale). */
static int perf_ctl_fd = -1, perf_ack_fd = -1;

static void perf_open(const char *spec)
{
    if (!spec)
        return;
    char ctl[512];
    snprintf(ctl, sizeof ctl, "%s", spec);
    char *ack = strchr(ctl, ',');
    if (!ack) {
        fprintf(stderr, "mcrx_bench: --perf-ctl CTL_FIFO,ACK_FIFO\n");
        exit(2);
    }
    *ack++ = 0;
    perf_ctl_fd = open(ctl, O_WRONLY | O_CLOEXEC);
    perf_ack_fd = open(ack, O_RDONLY | O_CLOEXEC);
    if (perf_ctl_fd < 0 || perf_ack_fd < 0)
        bench_die("--perf-ctl open");
}

static void perf_cmd(const char *cmd)
{
    if (perf_ctl_fd < 0)
        return;
    char buf[32];
    if (write(perf_ctl_fd, cmd, strlen(cmd)) < 0 ||
        read(perf_ack_fd, buf, sizeof buf) < 0)
        perror("mcrx_bench: perf control");
}

/* ------------------------------------------------------------------ */
/* the network-namespace guard                                          */
/* ------------------------------------------------------------------ */

static void require_private_netns(void)
{
    const char *r = getenv("MCRX_NETNS_READY");
    if (!r || strcmp(r, "1") != 0) {
        fprintf(stderr,
                "mcrx_bench: refusing to run: MCRX_NETNS_READY is not 1.\n"
                "  It sends and joins multicast, so it only runs in the "
                "private namespace\n  made by scripts/mcrx-netns, e.g.:\n"
                "  scripts/mcrx-netns build/bench/mcrx_bench drain --backend "
                "raw-recvmmsg\n");
        exit(2);
    }
    struct if_nameindex *ifs = if_nameindex();
    if (!ifs)
        bench_die("if_nameindex");
    for (struct if_nameindex *i = ifs; i->if_index; i++) {
        if (strcmp(i->if_name, "lo") && strcmp(i->if_name, "v0") &&
            strcmp(i->if_name, "v1")) {
            fprintf(stderr,
                    "mcrx_bench: refusing to run: interface %s is present, "
                    "this is not the test namespace of scripts/mcrx-netns\n",
                    i->if_name);
            exit(2);
        }
    }
    if_freenameindex(ifs);
}

/* ------------------------------------------------------------------ */
/* the sender                                                           */
/* ------------------------------------------------------------------ */

#define SEND_BATCH 64

struct sender {
    int fd;
    uint32_t len;
    struct mmsghdr msgs[SEND_BATCH];
    struct iovec iov[SEND_BATCH];
    uint8_t *bufs;
    struct sockaddr_in *dst; /* per bench sub */
    uint64_t seq;
    uint64_t sent;
};

static void sender_open(struct sender *s, const struct bench *b)
{
    memset(s, 0, sizeof *s);
    s->len = b->o.len;
    s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        bench_die("sender socket");
    struct ip_mreqn mr = {.imr_address.s_addr = htonl(INADDR_LOOPBACK),
                          .imr_ifindex = (int)if_nametoindex("lo")};
    if (setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr) < 0)
        bench_die("IP_MULTICAST_IF");
    int one = 1, sndbuf = 64 << 20;
    setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one);
    setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_TTL, &one, sizeof one);
    if (setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf))
        setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    struct sockaddr_in src = {.sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(s->fd, (struct sockaddr *)&src, sizeof src) < 0)
        bench_die("sender bind");
    s->bufs = calloc(SEND_BATCH, s->len);
    s->dst = calloc(b->nsubs, sizeof *s->dst);
    if (!s->bufs || !s->dst)
        bench_die("calloc");
    for (uint32_t i = 0; i < b->nsubs; i++) {
        s->dst[i].sin_family = AF_INET;
        s->dst[i].sin_port = htons(b->subs[i].port);
        s->dst[i].sin_addr.s_addr = b->subs[i].group_be;
    }
    for (int k = 0; k < SEND_BATCH; k++) {
        s->iov[k].iov_base = s->bufs + (size_t)k * s->len;
        s->iov[k].iov_len = s->len;
        s->msgs[k].msg_hdr.msg_iov = &s->iov[k];
        s->msgs[k].msg_hdr.msg_iovlen = 1;
        s->msgs[k].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
    }
}

static void sender_close(struct sender *s)
{
    close(s->fd);
    free(s->bufs);
    free(s->dst);
}

/* Send n datagrams (n <= SEND_BATCH) to subs pick[0..n) of kind. */
static void sender_send(struct sender *s, const uint32_t *pick, int n,
                        uint32_t kind, int64_t send_ns)
{
    if (kind == 2) /* latency: stamped just before its own call */
        send_ns = bench_now_ns();
    for (int k = 0; k < n; k++) {
        struct bench_hdr h = {.seq = s->seq++, .send_ns = send_ns,
                              .sub = pick[k], .kind = kind};
        memcpy(s->iov[k].iov_base, &h, sizeof h);
        s->msgs[k].msg_hdr.msg_name = &s->dst[pick[k]];
    }
    int off = 0;
    while (off < n) {
        int r = sendmmsg(s->fd, s->msgs + off, (unsigned)(n - off), 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOBUFS || errno == EAGAIN) {
                sched_yield();
                continue;
            }
            bench_die("sendmmsg");
        }
        off += r;
    }
    s->sent += (uint64_t)n;
}

/* Queue count datagrams round-robin over the subs in active[0..na). */
static double sender_queue(struct sender *s, uint64_t count,
                           const uint32_t *active, uint32_t na)
{
    uint32_t pick[SEND_BATCH];
    uint32_t rr = 0;
    int64_t t0 = bench_now_ns();
    while (count) {
        int n = count < SEND_BATCH ? (int)count : SEND_BATCH;
        for (int k = 0; k < n; k++) {
            pick[k] = active[rr];
            rr = rr + 1 == na ? 0 : rr + 1;
        }
        sender_send(s, pick, n, 0, 0);
        count -= (uint64_t)n;
    }
    return (double)(bench_now_ns() - t0) / 1e9;
}

/* Wait until the receive queues stop growing (all datagrams landed). */
static void settle(struct bench *b)
{
    uint64_t prev = UINT64_MAX;
    for (int stable = 0, i = 0; stable < 2 && i < 500; i++) {
        uint64_t sum = 0;
        for (uint32_t k = 0; k < b->nsubs; k++)
            sum += bench_sock_rmem(b->be->fd(b, k));
        stable = sum == prev ? stable + 1 : 0;
        prev = sum;
        sleep_ms(2);
    }
}

/* ------------------------------------------------------------------ */
/* sender child processes (sustained, fairness)                          */
/* ------------------------------------------------------------------ */

struct child_report {
    uint64_t sent;
    int64_t elapsed_ns;
};

/* Set by the sender child once it has sent everything: a shared page, so
 * the receiver's idle check costs no syscall (a waitpid per wake-up would
 * add one to every receiver's wake-up path, the thing the latency mode
 * measures). */
static uint32_t *sender_finished_flag;

static void child_say_finished(void)
{
    __atomic_store_n(sender_finished_flag, 1, __ATOMIC_RELEASE);
}

/* Paced sender: rate datagrams/s for secs, round-robin over active subs.
 * Latency mode: one datagram per sendmmsg (send_batch 1), each stamped with
 * CLOCK_MONOTONIC just before its call. */
static void child_paced(struct bench *b, const uint32_t *active, uint32_t na,
                        int result_fd)
{
    pin_to(b->o.cpu_tx);
    struct sender s;
    sender_open(&s, b);
    uint32_t pick[SEND_BATCH];
    uint32_t rr = 0;
    int64_t t0 = bench_now_ns();
    int64_t end = t0 + (int64_t)(b->o.seconds * 1e9);
    double per_ns = (double)b->o.rate / 1e9;
    if (b->o.mode == MODE_LATENCY) {
        /* An even flow, as a feed at a fixed rate is: no timer slack, and
         * the last stretch before each due time is spun, not slept, so
         * the datagrams leave 1/rate apart instead of in bursts. */
        prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
        for (uint64_t i = 0;; i++) {
            int64_t due = t0 + (int64_t)((double)i / per_ns);
            if (due >= end)
                break;
            int64_t now = bench_now_ns();
            if (due - now > 100000) {
                struct timespec ts = {0, due - now - 50000};
                nanosleep(&ts, NULL);
            }
            while (bench_now_ns() < due)
                ;
            pick[0] = active[rr];
            rr = rr + 1 == na ? 0 : rr + 1;
            sender_send(&s, pick, 1, 2, 0);
        }
        goto done;
    }
    for (;;) {
        int64_t now = bench_now_ns();
        if (now >= end)
            break;
        uint64_t due = (uint64_t)((double)(now - t0) * per_ns);
        if (due <= s.sent) {
            if (b->o.rate < 400000) {
                struct timespec ts = {0, 10000};
                nanosleep(&ts, NULL);
            }
            continue;
        }
        uint64_t want = due - s.sent;
        int n = want < SEND_BATCH ? (int)want : SEND_BATCH;
        /* small batches at low rates keep the flow smooth */
        if (b->o.rate <= 200000 && n > 8)
            n = 8;
        if (b->o.send_batch && n > (int)b->o.send_batch)
            n = (int)b->o.send_batch;
        for (int k = 0; k < n; k++) {
            pick[k] = active[rr];
            rr = rr + 1 == na ? 0 : rr + 1;
        }
        sender_send(&s, pick, n, 0, 0);
    }
done:;
    struct child_report rep = {s.sent, bench_now_ns() - t0};
    child_say_finished();
    if (write(result_fd, &rep, sizeof rep) != sizeof rep)
        _exit(3);
    sender_close(&s);
    _exit(0);
}

/* Quiet sender: every quiet_us one datagram to each sub but the flooded
 * one, stamped with its send time, until told to stop (stop_rd readable) or
 * secs pass. */
static void child_quiet(struct bench *b, int stop_rd, int result_fd)
{
    pin_to(b->o.cpu_tx);
    struct sender s;
    sender_open(&s, b);
    fcntl(stop_rd, F_SETFL, O_NONBLOCK);
    int64_t t0 = bench_now_ns();
    int64_t end = t0 + (int64_t)(b->o.seconds * 1e9);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        char c;
        if (read(stop_rd, &c, 1) == 1 || bench_now_ns() >= end)
            break;
        if (s.seq + b->nsubs > b->fair.queued_cap)
            break;
        for (uint32_t i = 0; i < b->nsubs; i++) {
            if (i == b->flood_idx)
                continue;
            uint64_t q = s.seq;
            sender_send(&s, &i, 1, 1, bench_now_ns());
            __atomic_store_n(&b->fair.queued_ns[q], bench_now_ns(),
                             __ATOMIC_RELEASE);
        }
        next.tv_nsec += (long)b->o.quiet_us * 1000L;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    struct child_report rep = {s.sent, bench_now_ns() - t0};
    child_say_finished();
    if (write(result_fd, &rep, sizeof rep) != sizeof rep)
        _exit(3);
    sender_close(&s);
    _exit(0);
}


/* Sender children are forked before the receiver opens anything (so they
 * inherit no receive socket or ring) and wait for a "go" byte. */
struct child {
    pid_t pid;
    int go_wr;   /* parent writes one byte: start */
    int stop_wr; /* parent writes one byte: stop (quiet sender) */
    int res_rd;  /* child's struct child_report */
};

enum { CHILD_PACED, CHILD_QUIET };

static void spawn_sender(struct bench *b, struct child *c, int kind)
{
    if (kind == CHILD_QUIET) {
        uint64_t rounds = (uint64_t)(b->o.seconds * 1e6 / b->o.quiet_us) + 2;
        b->fair.queued_cap = rounds * b->nsubs;
        b->fair.queued_ns = mmap(NULL, b->fair.queued_cap * sizeof(int64_t),
                                 PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (b->fair.queued_ns == MAP_FAILED)
            bench_die("mmap");
    }
    if (!sender_finished_flag) {
        sender_finished_flag = mmap(NULL, sizeof *sender_finished_flag,
                                    PROT_READ | PROT_WRITE,
                                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (sender_finished_flag == MAP_FAILED)
            bench_die("mmap");
    }
    int go[2], stop[2], res[2];
    if (pipe2(go, O_CLOEXEC) < 0 || pipe2(stop, O_CLOEXEC) < 0 ||
        pipe2(res, O_CLOEXEC) < 0)
        bench_die("pipe");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        bench_die("fork");
    if (pid == 0) {
        close(go[1]);
        close(stop[1]);
        close(res[0]);
        char ch;
        if (read(go[0], &ch, 1) != 1)
            _exit(0); /* parent gave up */
        uint32_t na = b->o.active;
        uint32_t *active = calloc(na, sizeof *active);
        if (!active)
            _exit(3);
        for (uint32_t i = 0; i < na; i++)
            active[i] = (uint32_t)((uint64_t)i * b->nsubs / na);
        if (kind == CHILD_PACED)
            child_paced(b, active, na, res[1]);
        else
            child_quiet(b, stop[0], res[1]);
        _exit(0);
    }
    close(go[0]);
    close(stop[0]);
    close(res[1]);
    c->pid = pid;
    c->go_wr = go[1];
    c->stop_wr = stop[1];
    c->res_rd = res[0];
}

static void child_go(struct bench *b, struct child *c)
{
    __atomic_store_n(sender_finished_flag, 0, __ATOMIC_RELAXED);
    b->sender_finished = false;
    if (write(c->go_wr, "g", 1) != 1)
        bench_die("go pipe");
    b->child = c->pid;
    b->child_done = false;
}

/* Make sure a child that never got "go" (or is still running) ends. */
static void child_reap(struct bench *b, struct child *c)
{
    if (!c->pid)
        return;
    if (c->go_wr >= 0)
        close(c->go_wr);
    if (c->stop_wr >= 0)
        close(c->stop_wr);
    if (c->res_rd >= 0)
        close(c->res_rd);
    c->go_wr = c->stop_wr = c->res_rd = -1;
    if (!b->child_done) {
        int st;
        waitpid(c->pid, &st, 0);
        b->child_done = true;
    }
    c->pid = 0;
}

static struct child the_child = {0, -1, -1, -1};

static void read_child_report(struct bench *b, struct child *c,
                              struct child_report *rep)
{
    memset(rep, 0, sizeof *rep);
    if (read(c->res_rd, rep, sizeof *rep) != (ssize_t)sizeof *rep)
        fprintf(stderr, "mcrx_bench: no report from the sender child\n");
    child_reap(b, c);
}

/* ------------------------------------------------------------------ */
/* idle / stop control                                                  */
/* ------------------------------------------------------------------ */

int bench_idle(struct bench *b)
{
    b->idle_calls++;
    int64_t now = bench_now_ns();
    if (b->rx != b->idle_rx_mark || b->idle_since_ns == 0) {
        b->idle_rx_mark = b->rx;
        b->idle_since_ns = now;
    }
    if (b->child) {
        if (!b->sender_finished) {
            if (__atomic_load_n(sender_finished_flag, __ATOMIC_ACQUIRE)) {
                b->sender_finished = true;
                b->idle_since_ns = now;
            }
            return 10;
        }
        return now - b->idle_since_ns >= 50000000LL ? -1 : 10;
    }
    return now - b->idle_since_ns >= b->idle_limit_ns ? -1 : 10;
}

/* ------------------------------------------------------------------ */
/* fairness bookkeeping                                                 */
/* ------------------------------------------------------------------ */

static uint64_t flood_target;      /* flood datagrams queued (phase B) */
static bool flood_done;
static uint64_t quiet_rx_backlog;  /* quiet delivered while flood backlog */
static uint64_t rx_at_flood_done;
static uint64_t flood_at_flood_done;

/* Index of the first logged receive call (from oldest on) that started
 * at or after t; f->log_n if none. */
static uint64_t fair_first_call_at(const struct fair_state *f, uint64_t oldest,
                                   int64_t t)
{
    uint64_t lo = oldest, hi = f->log_n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (f->log[mid & f->log_mask].t_ns >= t)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

void bench_fair_pkt(struct bench *b, uint32_t idx, const uint8_t *p,
                    size_t len)
{
    (void)len;
    struct fair_state *f = &b->fair;
    if (idx == b->flood_idx) {
        /* rx_per_sub already counts this one */
        if (!flood_done && b->rx_per_sub[idx] == flood_target) {
            flood_done = true;
            rx_at_flood_done = b->rx + 1;
            flood_at_flood_done = b->rx_per_sub[idx];
            if (b->stop_fd >= 0 && write(b->stop_fd, "x", 1) < 0)
                perror("mcrx_bench: stop pipe");
        }
        return;
    }
    struct bench_hdr h;
    memcpy(&h, p, sizeof h);
    if (h.kind != 1)
        return;
    f->quiet_rx++;
    if (flood_done)
        return;
    quiet_rx_backlog++;
    /* The datagram entered its socket queue somewhere inside the quiet
     * sender's sendmsg: not before h.send_ns (stamped before the call), and
     * by queued_ns (noted after it returned; on loopback the datagram has
     * been delivered to the socket by then). */
    int64_t queued = h.seq < f->queued_cap
                         ? __atomic_load_n(&f->queued_ns[h.seq], __ATOMIC_ACQUIRE)
                         : 0;
    if (queued == 0)
        return; /* delivered before the sender even noted the time */
    int64_t sending = h.send_ns ? h.send_ns : queued;
    if (queued - sending > f->max_sendmsg_ns)
        f->max_sendmsg_ns = queued - sending;
    uint64_t oldest = f->log_n > f->log_mask + 1 ? f->log_n - (f->log_mask + 1)
                                                  : 0;
    if (f->log_n > oldest && oldest > 0 &&
        f->log[oldest & f->log_mask].t_ns > sending)
        f->wait_overflow++;
    /* lo: first logged call that started at or after sendmsg returned;
     * lo_ub: first that started at or after sendmsg was called. */
    uint64_t lo = fair_first_call_at(f, oldest, queued);
    uint64_t lo_ub = fair_first_call_at(f, oldest, sending);
    uint64_t flood_now = b->rx_per_sub[b->flood_idx];
    uint64_t wait = 0, wflood = 0, wflood_ub = 0, calls = 0;
    if (lo < f->log_n) {
        const struct fair_call *c = &f->log[lo & f->log_mask];
        wait = b->rx - c->rx_before;
        wflood = flood_now - c->flood_before;
        calls = f->log_n - 1 - lo; /* calls started after it, before the one
                                      that delivered it */
    }
    if (lo_ub > oldest) /* the call in progress when sendmsg was called */
        lo_ub--;
    if (lo_ub < f->log_n)
        wflood_ub = flood_now - f->log[lo_ub & f->log_mask].flood_before;
    if (wflood_ub < wflood)
        wflood_ub = wflood;
    int64_t wns = bench_now_ns() - queued;
    if (wait > f->max_wait_pkts)
        f->max_wait_pkts = wait;
    if (wflood > f->max_wait_flood)
        f->max_wait_flood = wflood;
    if (wflood_ub > f->max_wait_flood_ub)
        f->max_wait_flood_ub = wflood_ub;
    if (wflood_ub - wflood > f->max_wait_slack)
        f->max_wait_slack = wflood_ub - wflood;
    if (calls > f->max_wait_calls)
        f->max_wait_calls = calls;
    if (wns > f->max_wait_ns)
        f->max_wait_ns = wns;
    f->sum_wait_pkts += (double)wait;
}

/* Jain windows (fairness phase A) and the steady-state allocation mark. */
static uint64_t jain_load;       /* datagrams queued per sub (phase A) */
static double jain_half = -1;

static double jain(const uint64_t *x, const uint64_t *base, uint32_t n)
{
    double s = 0, s2 = 0;
    for (uint32_t i = 0; i < n; i++) {
        double v = (double)(x[i] - (base ? base[i] : 0));
        s += v;
        s2 += v * v;
    }
    return s2 > 0 ? s * s / ((double)n * s2) : 1.0;
}

void bench_fair_window(struct bench *b)
{
    if (!b->win_base) {
        /* steady-state mark for the allocation count */
        alloc_at_steady = allocs_now();
        alloc_steady_taken = true;
        b->win_next = UINT64_MAX;
        return;
    }
    bool all_backlogged = true;
    for (uint32_t i = 0; i < b->nsubs; i++)
        if (b->rx_per_sub[i] >= jain_load)
            all_backlogged = false;
    if (all_backlogged) {
        double j = jain(b->rx_per_sub, b->win_base, b->nsubs);
        if (j < b->jain_min_window)
            b->jain_min_window = j;
        b->jain_windows++;
    }
    if (b->rx * 2 >= jain_load * b->nsubs && jain_half < 0)
        jain_half = jain(b->rx_per_sub, NULL, b->nsubs);
    memcpy(b->win_base, b->rx_per_sub, b->nsubs * sizeof *b->win_base);
    b->win_next += b->win_size;
}

/* ------------------------------------------------------------------ */
/* options                                                              */
/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mcrx_bench MODE --backend NAME [options]\n"
        "  MODE: drain | sustained | scale | fairness | latency\n"
        "        (and soak: mcrx_bench soak --help)\n"
        "  NAME: raw-recvmmsg | naive | libuv | recvmmsg | iouring | default\n"
        "        (default: the library's default backend, or $MCRX_BACKEND)\n"
        "  --count N        datagrams queued (drain, scale; fairness: flood)"
        " [500000]\n"
        "  --len L          datagram payload bytes [64] (>= %u)\n"
        "  --subs K         subscriptions [1; fairness 10]\n"
        "  --active A       subs receiving traffic [scale 1, else K]\n"
        "  --rate PPS       sustained, latency: sender rate [100000]\n"
        "  --seconds T      sustained, latency: sender time [2]; fairness:"
        " max [10]\n"
        "  --send-batch N   paced sender: datagrams per sendmmsg at most"
        " [latency 1]\n"
        "  --coalesce-us U  library: mcrx_ctx_options.coalesce_us [0]\n"
        "  --busy-poll-us U library: mcrx_ctx_options.busy_poll_us [0]\n"
        "  --api batch|single|uv  library call used [batch]; uv: the batch\n"
        "                   call driven by mcrx-uv on a libuv loop\n"
        "  --rcvbuf BYTES   receive buffer per socket [1 GiB; sustained 4 MiB]\n"
        "  --vlen V         raw-recvmmsg datagrams per call [32]\n"
        "  --max-batch B    library max_batch [library default]\n"
        "  --turn-budget T  library turn_budget [library default]\n"
        "  --no-timestamps  library: timestamps = false (no SO_TIMESTAMPNS)\n"
        "  --metrics-sample-ms M  library: take a metrics snapshot and delta\n"
        "                   every M ms in the receive loop [0: never]\n"
        "  --quiet-us U     fairness: quiet round interval [500]\n"
        "  --cpu-rx C --cpu-tx C  cores for receiver / sender child [0 / 1]\n"
        "  --strict         fail (exit 1) on any kernel drop\n"
        "  --expect-zero-allocs  fail unless the alloc shim saw no steady-state"
        " allocation\n"
        "  --min-jain J     fairness: fail if Jain's index < J\n"
        "  --max-wait-rounds R  fairness: fail if a quiet datagram provably"
        " waited more\n"
        "                   than R rounds (its lower bound; bench/README.md)\n"
        "  --out FILE       also append the result line to FILE\n"
        "  --raw-cmsg LIST  raw-recvmmsg/naive control messages: none, all or\n"
        "                   a comma list of pktinfo,ts,ovfl [pktinfo]\n"
        "  --perf-ctl C,A   perf record --control fifo:C,A: sample only the\n"
        "                   timed drain loop (start perf with -D -1)\n"
        "Runs only inside scripts/mcrx-netns (MCRX_NETNS_READY=1).\n",
        BENCH_MIN_LEN);
}

static uint64_t parse_u64(const char *s, const char *opt)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0) {
        fprintf(stderr, "mcrx_bench: bad value for %s: %s\n", opt, s);
        exit(2);
    }
    if (*end == 'k' || *end == 'K')
        v *= 1e3, end++;
    else if (*end == 'M')
        v *= 1e6, end++;
    else if (*end == 'G')
        v *= 1073741824.0, end++;
    if (*end) {
        fprintf(stderr, "mcrx_bench: bad value for %s: %s\n", opt, s);
        exit(2);
    }
    return (uint64_t)v;
}

/* Plain uint32_t options (the latency mode's), by table. */
static bool set_u32_opt(struct bench_opts *o, const char *name, const char *v)
{
    static const struct { const char *name; size_t off; } opts[] = {
        {"--send-batch", offsetof(struct bench_opts, send_batch)},
        {"--coalesce-us", offsetof(struct bench_opts, coalesce_us)},
        {"--busy-poll-us", offsetof(struct bench_opts, busy_poll_us)},
    };
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        if (!strcmp(name, opts[k].name)) {
            uint32_t x = (uint32_t)parse_u64(v, name);
            memcpy((char *)o + opts[k].off, &x, sizeof x);
            return true;
        }
    }
    return false;
}

static void parse_args(struct bench_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->count = 500000;
    o->len = 64;
    o->rate = 100000;
    o->seconds = -1;
    o->api = API_BATCH;
    o->rcvbuf = UINT64_MAX;
    o->vlen = 32;
    o->quiet_us = 500;
    o->cpu_rx = 0;
    o->cpu_tx = 1;
    o->min_jain = -1;
    o->max_wait_rounds = -1;
    o->raw_cmsg = RAW_CMSG_PKTINFO;
    if (argc < 2) {
        usage(stderr);
        exit(2);
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        exit(0);
    }
    if (!strcmp(argv[1], "drain"))
        o->mode = MODE_DRAIN;
    else if (!strcmp(argv[1], "sustained"))
        o->mode = MODE_SUSTAINED;
    else if (!strcmp(argv[1], "scale"))
        o->mode = MODE_SCALE;
    else if (!strcmp(argv[1], "fairness"))
        o->mode = MODE_FAIRNESS;
    else if (!strcmp(argv[1], "latency"))
        o->mode = MODE_LATENCY;
    else {
        fprintf(stderr, "mcrx_bench: unknown mode %s\n", argv[1]);
        usage(stderr);
        exit(2);
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && v && (i++, 1))
        if (ARG("--backend"))
            o->backend = v;
        else if (ARG("--count"))
            o->count = parse_u64(v, a);
        else if (ARG("--len"))
            o->len = (uint32_t)parse_u64(v, a);
        else if (ARG("--subs"))
            o->subs = (uint32_t)parse_u64(v, a);
        else if (ARG("--active"))
            o->active = (uint32_t)parse_u64(v, a);
        else if (ARG("--rate"))
            o->rate = parse_u64(v, a);
        else if (ARG("--seconds"))
            o->seconds = strtod(v, NULL);
        else if (ARG("--api")) {
            if (!strcmp(v, "batch"))
                o->api = API_BATCH;
            else if (!strcmp(v, "single"))
                o->api = API_SINGLE;
#ifdef MCRX_BENCH_HAVE_MCRX_UV
            else if (!strcmp(v, "uv"))
                o->api = API_UV;
#endif
            else {
                fprintf(stderr, "mcrx_bench: --api batch|single|uv (uv: "
                                "only when built with mcrx-uv)\n");
                exit(2);
            }
        } else if (ARG("--rcvbuf"))
            o->rcvbuf = parse_u64(v, a);
        else if (ARG("--vlen"))
            o->vlen = (uint32_t)parse_u64(v, a);
        else if (ARG("--max-batch"))
            o->max_batch = (uint32_t)parse_u64(v, a);
        else if (ARG("--turn-budget"))
            o->turn_budget = (uint32_t)parse_u64(v, a);
        else if (v && set_u32_opt(o, a, v))
            i++;
        else if (ARG("--quiet-us"))
            o->quiet_us = (uint32_t)parse_u64(v, a);
        else if (ARG("--cpu-rx"))
            o->cpu_rx = atoi(v);
        else if (ARG("--cpu-tx"))
            o->cpu_tx = atoi(v);
        else if (ARG("--min-jain"))
            o->min_jain = strtod(v, NULL);
        else if (ARG("--max-wait-rounds"))
            o->max_wait_rounds = atol(v);
        else if (ARG("--out"))
            o->out_path = v;
        else if (ARG("--perf-ctl"))
            o->perf_ctl = v;
        else if (ARG("--raw-cmsg")) {
            o->raw_cmsg = 0;
            if (strstr(v, "pktinfo") || strstr(v, "all"))
                o->raw_cmsg |= RAW_CMSG_PKTINFO;
            if (strstr(v, "ts") || strstr(v, "all"))
                o->raw_cmsg |= RAW_CMSG_TIMESTAMP;
            if (strstr(v, "ovfl") || strstr(v, "all"))
                o->raw_cmsg |= RAW_CMSG_OVFL;
        }
        else if (!strcmp(a, "--strict"))
            o->strict = true;
        else if (!strcmp(a, "--expect-zero-allocs"))
            o->expect_zero_allocs = true;
        else if (!strcmp(a, "--no-timestamps"))
            o->no_timestamps = true;
        else if (ARG("--metrics-sample-ms"))
            o->metrics_sample_ms = (uint32_t)parse_u64(v, a);
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "mcrx_bench: unknown or incomplete option %s\n", a);
            usage(stderr);
            exit(2);
        }
#undef ARG
    }
    if (!o->backend) {
        fprintf(stderr, "mcrx_bench: --backend is required\n");
        exit(2);
    }
    if (o->len < BENCH_MIN_LEN || o->len > 65507) {
        fprintf(stderr, "mcrx_bench: --len must be %u..65507\n", BENCH_MIN_LEN);
        exit(2);
    }
    if (o->vlen < 1 || o->vlen > 1024) {
        fprintf(stderr, "mcrx_bench: --vlen must be 1..1024\n");
        exit(2);
    }
    if (!o->subs)
        o->subs = o->mode == MODE_FAIRNESS ? 10 : 1;
    if (o->subs > 4000) {
        fprintf(stderr, "mcrx_bench: --subs must be <= 4000\n");
        exit(2);
    }
    if (!o->active)
        o->active = o->mode == MODE_SCALE ? 1 : o->subs;
    if (o->active > o->subs) {
        fprintf(stderr, "mcrx_bench: --active must be <= --subs\n");
        exit(2);
    }
    if (o->mode == MODE_FAIRNESS && o->subs < 2) {
        fprintf(stderr, "mcrx_bench: fairness needs --subs >= 2\n");
        exit(2);
    }
    if (o->seconds < 0)
        o->seconds = o->mode == MODE_FAIRNESS ? 10 : 2;
    if (o->rcvbuf == UINT64_MAX)
        o->rcvbuf = o->mode == MODE_SUSTAINED || o->mode == MODE_LATENCY
                        ? (4u << 20) : (1u << 30);
    if (o->mode == MODE_LATENCY && !o->send_batch)
        o->send_batch = 1;
    if (o->no_timestamps && (!strcmp(o->backend, "raw-recvmmsg") ||
                             !strcmp(o->backend, "raw") ||
                             !strcmp(o->backend, "naive") ||
                             !strcmp(o->backend, "libuv"))) {
        fprintf(stderr, "mcrx_bench: --no-timestamps is for the library "
                        "backends (raw-recvmmsg/naive: --raw-cmsg)\n");
        exit(2);
    }
    if (o->count == 0 || o->rate == 0) {
        fprintf(stderr, "mcrx_bench: --count and --rate must be > 0\n");
        exit(2);
    }
}

static const struct bench_backend *pick_backend(const char *name)
{
    if (!strcmp(name, "raw-recvmmsg") || !strcmp(name, "raw"))
        return &bench_backend_raw_recvmmsg;
    if (!strcmp(name, "naive"))
        return &bench_backend_naive;
    if (!strcmp(name, "libuv")) {
#ifdef MCRX_BENCH_HAVE_LIBUV
        return &bench_backend_libuv;
#else
        fprintf(stderr, "mcrx_bench: built without libuv\n");
        exit(77);
#endif
    }
#ifndef MCRX_BENCH_NO_LIB
    if (!strcmp(name, "recvmmsg") || !strcmp(name, "iouring") ||
        !strcmp(name, "io_uring") || !strcmp(name, "default"))
        return &bench_backend_lib;
#endif
    fprintf(stderr, "mcrx_bench: unknown backend %s\n", name);
    exit(2);
}

static bool is_lib(const struct bench *b)
{
#ifndef MCRX_BENCH_NO_LIB
    return b->be == &bench_backend_lib;
#else
    (void)b;
    return false;
#endif
}

/* ------------------------------------------------------------------ */
/* result line                                                          */
/* ------------------------------------------------------------------ */

static char line[4096];
static size_t line_len;

static void put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void put(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (line_len < sizeof line) {
        int n = vsnprintf(line + line_len, sizeof line - line_len, fmt, ap);
        if (n > 0)
            line_len += (size_t)n;
    }
    va_end(ap);
}

static void emit(struct bench *b)
{
    if (b->be->describe && b->priv) {
        char extra[1024];
        b->be->describe(b, extra, sizeof extra);
        put(" %s", extra);
    }
    int fd0 = b->be->fd(b, 0);
    int granted = 0;
    socklen_t gl = sizeof granted;
    if (fd0 >= 0)
        getsockopt(fd0, SOL_SOCKET, SO_RCVBUF, &granted, &gl);
    put(" sock_rcvbuf=%d", granted);
    if (alloc_snap) {
        uint64_t loop = alloc_at_end - alloc_at_start;
        uint64_t steady = alloc_steady_taken ? alloc_at_end - alloc_at_steady
                                             : loop;
        put(" allocs_loop=%llu allocs_steady=%llu allocs_per_pkt=%.6f",
            (unsigned long long)loop, (unsigned long long)steady,
            b->rx ? (double)steady / (double)b->rx : 0.0);
    }
    printf("%s\n", line);
    fflush(stdout);
    if (b->o.out_path) {
        FILE *f = fopen(b->o.out_path, "a");
        if (f) {
            fprintf(f, "%s\n", line);
            fclose(f);
        } else {
            perror("mcrx_bench: --out");
        }
    }
}

/* ------------------------------------------------------------------ */
/* modes                                                                */
/* ------------------------------------------------------------------ */

static void reset_counts(struct bench *b)
{
    b->rx = 0;
    b->bytes = 0;
    memset(b->rx_per_sub, 0, b->nsubs * sizeof *b->rx_per_sub);
    b->idle_since_ns = 0;
    b->idle_rx_mark = 0;
}

/* drain and scale: queue, settle, then time the receive loop alone. */
static int mode_drain(struct bench *b)
{
    uint32_t na = b->o.active;
    uint32_t *active = calloc(na, sizeof *active);
    if (!active)
        bench_die("calloc");
    /* spread the active subs over the whole set */
    for (uint32_t i = 0; i < na; i++)
        active[i] = (uint32_t)((uint64_t)i * b->nsubs / na);

    struct sender s;
    sender_open(&s, b);
    double send_secs = sender_queue(&s, b->o.count, active, na);
    settle(b);
    uint64_t drops_pre = b->be->kernel_drops(b);
    uint64_t sent = s.sent;
    sender_close(&s);

    b->target = sent > drops_pre ? sent - drops_pre : 0;
    b->idle_limit_ns = 2000000000LL;
    b->win_next = b->target / 10 ? b->target / 10 : UINT64_MAX;

    perf_cmd("enable\n");
    long cs0 = invol_switches();
    double c0 = cpu_secs();
    alloc_at_start = allocs_now();
    int64_t t0 = bench_now_ns();
    int rc = b->be->run(b);
    int64_t t1 = bench_now_ns();
    perf_cmd("disable\n");
    alloc_at_end = allocs_now();
    double c1 = cpu_secs();
    long cs1 = invol_switches();
    if (rc)
        return rc;

    uint64_t drops = b->be->kernel_drops(b);
    double secs = (double)(t1 - t0) / 1e9;
    uint64_t lost = sent > b->rx + drops ? sent - b->rx - drops : 0;
    put("mode=%s backend=%s pkts=%llu secs=%.6f mpps=%.4f drops=%llu",
        b->o.mode == MODE_SCALE ? "scale" : "drain", b->o.backend,
        (unsigned long long)b->rx, secs, secs > 0 ? b->rx / secs / 1e6 : 0,
        (unsigned long long)drops);
    put(" sent=%llu lost=%llu len=%u subs=%u active=%u ns_per_pkt=%.1f"
        " cpu_ns_per_pkt=%.1f cpu_mpps=%.4f invol_cs=%ld idle=%llu"
        " send_secs=%.3f bad_dst=%llu",
        (unsigned long long)sent, (unsigned long long)lost, b->o.len,
        b->nsubs, na, b->rx ? secs * 1e9 / b->rx : 0,
        b->rx ? (c1 - c0) * 1e9 / b->rx : 0,
        c1 > c0 ? b->rx / (c1 - c0) / 1e6 : 0, cs1 - cs0,
        (unsigned long long)b->idle_calls, send_secs,
        (unsigned long long)b->bad_dst);
    emit(b);
    free(active);
    int bad = 0;
    if (b->rx + drops != sent || b->rx == 0 || b->bad_dst) {
        fprintf(stderr, "mcrx_bench: FAIL: received %llu + dropped %llu != "
                        "sent %llu (bad_dst %llu)\n",
                (unsigned long long)b->rx, (unsigned long long)drops,
                (unsigned long long)sent, (unsigned long long)b->bad_dst);
        bad = 1;
    }
    if (b->o.strict && drops) {
        fprintf(stderr, "mcrx_bench: FAIL: %llu kernel drops (--strict)\n",
                (unsigned long long)drops);
        bad = 1;
    }
    return bad;
}

static int mode_sustained(struct bench *b)
{
    uint32_t na = b->o.active;
    b->target = UINT64_MAX;
    b->win_next = UINT64_MAX;
    double c0 = cpu_secs();
    int64_t t0 = bench_now_ns();
    child_go(b, &the_child);
    alloc_at_start = allocs_now();
    int rc = b->be->run(b);
    alloc_at_end = allocs_now();
    int64_t t1 = bench_now_ns();
    double c1 = cpu_secs();
    struct child_report rep;
    read_child_report(b, &the_child, &rep);
    if (rc)
        return rc;
    uint64_t drops = b->be->kernel_drops(b);
    double tx_secs = rep.elapsed_ns / 1e9;
    double rx_secs = (double)(t1 - t0) / 1e9;
    uint64_t lost = rep.sent > b->rx + drops ? rep.sent - b->rx - drops : 0;
    double cpu = c1 - c0;
    put("mode=sustained backend=%s pkts=%llu secs=%.3f mpps=%.4f drops=%llu",
        b->o.backend, (unsigned long long)b->rx, tx_secs,
        tx_secs > 0 ? b->rx / tx_secs / 1e6 : 0, (unsigned long long)drops);
    put(" sent=%llu lost=%llu rate=%llu rate_sent=%.0f len=%u subs=%u "
        "active=%u cpu_secs=%.3f cpu_ns_per_pkt=%.1f cpu_util=%.3f "
        "rx_secs=%.3f bad_dst=%llu",
        (unsigned long long)rep.sent, (unsigned long long)lost,
        (unsigned long long)b->o.rate, tx_secs > 0 ? rep.sent / tx_secs : 0,
        b->o.len, b->nsubs, na, cpu, b->rx ? cpu * 1e9 / b->rx : 0,
        rx_secs > 0 ? cpu / rx_secs : 0, rx_secs,
        (unsigned long long)b->bad_dst);
    emit(b);
    int bad = 0;
    if (b->rx + drops != rep.sent || b->rx == 0 || b->bad_dst) {
        fprintf(stderr, "mcrx_bench: FAIL: received %llu + dropped %llu != "
                        "sent %llu\n",
                (unsigned long long)b->rx, (unsigned long long)drops,
                (unsigned long long)rep.sent);
        bad = 1;
    }
    if (b->o.strict && drops) {
        fprintf(stderr, "mcrx_bench: FAIL: %llu kernel drops (--strict)\n",
                (unsigned long long)drops);
        bad = 1;
    }
    return bad;
}

/* latency: receive time minus send time of one datagram (the sender
 * stamped CLOCK_MONOTONIC just before its sendmsg). */
void bench_lat_pkt(struct bench *b, const uint8_t *p)
{
    struct bench_hdr h;
    memcpy(&h, p, sizeof h);
    int64_t d = bench_now_ns() - h.send_ns;
    if (h.kind != 2 || d < 0)
        d = 0; /* cannot happen: same clock, sent before received */
    if (b->lat_n < b->lat_cap)
        b->lat_ns[b->lat_n] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    b->lat_n++;
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, c = *(const uint32_t *)y;
    return (a > c) - (a < c);
}

/* Nearest-rank percentile q (0..1] of the sorted v[0..n), in us. */
static double pct_us(const uint32_t *v, uint64_t n, double q)
{
    if (n == 0)
        return 0;
    uint64_t r = (uint64_t)ceil(q * (double)n);
    return v[(r ? r : 1) - 1] / 1e3;
}

/* latency: like sustained (paced sender on core 1, receiver on core 0
 * blocking when idle), but every datagram carries its send time and the
 * receiver notes receive - send per datagram; p50/p99/p99.9/max of all of
 * them, the receiver's CPU time per datagram and its voluntary context
 * switches (wake-ups) per 1000 datagrams. */
static int mode_latency(struct bench *b)
{
    b->lat_cap = (uint64_t)((double)b->o.rate * b->o.seconds * 1.2) + 4096;
    b->lat_ns = malloc(b->lat_cap * sizeof *b->lat_ns);
    if (!b->lat_ns)
        bench_die("malloc");
    memset(b->lat_ns, 0, b->lat_cap * sizeof *b->lat_ns); /* no page
                                                    faults while timed */
    b->per_pkt = PP_LAT;
    b->target = UINT64_MAX;
    b->win_next = UINT64_MAX;
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double c0 = cpu_secs();
    int64_t t0 = bench_now_ns();
    child_go(b, &the_child);
    int rc = b->be->run(b);
    int64_t t1 = bench_now_ns();
    double c1 = cpu_secs();
    getrusage(RUSAGE_SELF, &r1);
    struct child_report rep;
    read_child_report(b, &the_child, &rep);
    if (rc)
        return rc;
    uint64_t drops = b->be->kernel_drops(b);
    uint64_t n = b->lat_n < b->lat_cap ? b->lat_n : b->lat_cap;
    qsort(b->lat_ns, n, sizeof *b->lat_ns, cmp_u32);
    double sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum += b->lat_ns[i];
    double tx_secs = rep.elapsed_ns / 1e9;
    double cpu = c1 - c0;
    uint64_t lost = rep.sent > b->rx + drops ? rep.sent - b->rx - drops : 0;
    long vcs = r1.ru_nvcsw - r0.ru_nvcsw;
    put("mode=latency backend=%s pkts=%llu secs=%.3f mpps=%.4f drops=%llu",
        b->o.backend, (unsigned long long)b->rx, tx_secs,
        tx_secs > 0 ? b->rx / tx_secs / 1e6 : 0, (unsigned long long)drops);
    put(" sent=%llu lost=%llu rate=%llu rate_sent=%.0f len=%u subs=%u "
        "lat_n=%llu lat_p50_us=%.2f lat_p99_us=%.2f lat_p999_us=%.2f "
        "lat_max_us=%.2f lat_mean_us=%.2f cpu_secs=%.3f cpu_ns_per_pkt=%.1f "
        "cpu_util=%.3f wakeups_per_kpkt=%.1f invol_cs=%ld coalesce_us=%u "
        "busy_poll_us=%u rx_secs=%.3f bad_dst=%llu",
        (unsigned long long)rep.sent, (unsigned long long)lost,
        (unsigned long long)b->o.rate, tx_secs > 0 ? rep.sent / tx_secs : 0,
        b->o.len, b->nsubs, (unsigned long long)b->lat_n,
        pct_us(b->lat_ns, n, 0.50), pct_us(b->lat_ns, n, 0.99),
        pct_us(b->lat_ns, n, 0.999), pct_us(b->lat_ns, n, 1.0),
        n ? sum / (double)n / 1e3 : 0, cpu, b->rx ? cpu * 1e9 / b->rx : 0,
        t1 > t0 ? cpu / ((double)(t1 - t0) / 1e9) : 0,
        b->rx ? vcs * 1000.0 / (double)b->rx : 0,
        r1.ru_nivcsw - r0.ru_nivcsw, b->o.coalesce_us, b->o.busy_poll_us,
        (double)(t1 - t0) / 1e9, (unsigned long long)b->bad_dst);
    emit(b);
    int bad = 0;
    if (b->rx + drops != rep.sent || b->rx == 0 || b->bad_dst ||
        b->lat_n != b->rx || b->lat_n > b->lat_cap) {
        fprintf(stderr, "mcrx_bench: FAIL: received %llu + dropped %llu != "
                        "sent %llu, or %llu latencies for %llu datagrams\n",
                (unsigned long long)b->rx, (unsigned long long)drops,
                (unsigned long long)rep.sent, (unsigned long long)b->lat_n,
                (unsigned long long)b->rx);
        bad = 1;
    }
    if (b->o.strict && drops) {
        fprintf(stderr, "mcrx_bench: FAIL: %llu kernel drops (--strict)\n",
                (unsigned long long)drops);
        bad = 1;
    }
    free(b->lat_ns);
    b->lat_ns = NULL;
    return bad;
}

/* fairness:
 * A) equal loads: count/K datagrams queued to each of the K subs
 *    (interleaved), then drained; Jain's index over the per-sub counts at
 *    half-way, and the lowest over windows of count/20 datagrams while every
 *    sub still had a backlog.
 * B) flood + quiet: count datagrams queued to sub 0 (the flood); while the
 *    receiver drains that backlog, a child sends one datagram to each other
 *    sub every quiet_us and notes (in shared memory) the time its sendmsg
 *    returned: on loopback the datagram is in the socket queue by then.
 *    Every receive call start is logged (time, datagrams delivered so far).
 *    For each quiet datagram delivered during the backlog, the flood
 *    datagrams delivered ahead of it after it entered its socket queue
 *    (somewhere inside the sender's sendmsg) are bracketed:
 *      max_wait_flood (lower bound): delivered by receive calls that
 *        started after its sendmsg returned;
 *      max_wait_flood_ub (upper bound): delivered since the start of the
 *        receive call in progress when its sendmsg was called, that call
 *        counted whole (a batch call may have served up to max_batch - 1
 *        datagrams before the quiet one existed).
 *    With one flooded sub a scheduling round is one flood turn (turn
 *    budget datagrams): max_wait_rounds = ceil(max_wait_flood / turn),
 *    max_wait_rounds_ub likewise. --max-wait-rounds R checks the lower
 *    bound: above R it proves a wait of more than R rounds, whatever the
 *    API; the upper bound cannot be held to R without failing correct
 *    schedulers (it counts datagrams served before the quiet one was
 *    queued). */
static int mode_fairness(struct bench *b)
{
    uint32_t k = b->nsubs;
    uint32_t *all = calloc(k, sizeof *all);
    if (!all)
        bench_die("calloc");
    for (uint32_t i = 0; i < k; i++)
        all[i] = i;

    /* ---- phase A ---- */
    struct sender s;
    sender_open(&s, b);
    jain_load = b->o.count / k;
    if (jain_load == 0)
        jain_load = 1;
    sender_queue(&s, jain_load * k, all, k);
    settle(b);
    uint64_t sent_a = s.sent;
    uint64_t drops_a = b->be->kernel_drops(b);
    b->target = sent_a - drops_a;
    b->idle_limit_ns = 2000000000LL;
    b->win_base = calloc(k, sizeof *b->win_base);
    if (!b->win_base)
        bench_die("calloc");
    b->win_size = sent_a / 20 ? sent_a / 20 : 1;
    b->win_next = b->win_size;
    b->jain_min_window = 1.0;
    int64_t t0 = bench_now_ns();
    int rc = b->be->run(b);
    int64_t t1 = bench_now_ns();
    if (rc)
        return rc;
    uint64_t rx_a = b->rx;
    if (jain_half < 0)
        jain_half = jain(b->rx_per_sub, NULL, k);
    b->win_next = UINT64_MAX;

    /* ---- phase B ---- */
    reset_counts(b);
    b->flood_idx = 0;
    uint32_t flood = 0;
    sender_queue(&s, b->o.count, &flood, 1);
    settle(b);
    uint64_t sent_flood = s.sent - sent_a;
    sender_close(&s);
    uint64_t drops_b0 = b->be->kernel_drops(b);
    flood_target = sent_flood - (drops_b0 - drops_a);
    flood_done = false;
    b->fair.log_mask = (1u << 21) - 1;
    b->fair.log = calloc(b->fair.log_mask + 1, sizeof *b->fair.log);
    if (!b->fair.log)
        bench_die("calloc");
    b->target = UINT64_MAX;
    b->per_pkt = PP_FAIR;
    b->stop_fd = the_child.stop_wr;
    child_go(b, &the_child);
    int64_t t2 = bench_now_ns();
    rc = b->be->run(b);
    int64_t t3 = bench_now_ns();
    struct child_report rep;
    b->stop_fd = -1;
    if (write(the_child.stop_wr, "x", 1) < 0) { /* already stopped */ }
    read_child_report(b, &the_child, &rep);
    if (rc)
        return rc;
    uint64_t drops = b->be->kernel_drops(b);

    uint32_t budget = 0;
    if (is_lib(b)) {
        budget = b->o.turn_budget ? b->o.turn_budget : 64;
    } else if (!strcmp(b->be->name, "libuv")) {
        budget = 32;
    } else {
        budget = 64;
    }
    const struct fair_state *f = &b->fair;
    /* rounds waited, from the lower bound (what the check uses: more than R
     * rounds there proves a wait of more than R rounds) and from the upper
     * bound (reported) */
    long rounds = (long)((f->max_wait_flood + budget - 1) / budget);
    long rounds_ub = (long)((f->max_wait_flood_ub + budget - 1) / budget);
    uint64_t rx_b = rx_at_flood_done ? rx_at_flood_done : b->rx;
    uint64_t flood_b = flood_at_flood_done ? flood_at_flood_done
                                           : b->rx_per_sub[0];
    double flood_share = rx_b ? (double)flood_b / (double)rx_b : 0;
    uint64_t quiet_sent = rep.sent;
    uint64_t quiet_rx = f->quiet_rx;

    put("mode=fairness backend=%s pkts=%llu secs=%.6f mpps=%.4f drops=%llu",
        b->o.backend, (unsigned long long)(rx_a + b->rx),
        (double)(t1 - t0 + t3 - t2) / 1e9,
        (double)rx_a / ((double)(t1 - t0) / 1e9) / 1e6,
        (unsigned long long)drops);
    put(" subs=%u len=%u jain=%.5f jain_min_window=%.5f jain_windows=%u "
        "flood_pkts=%llu quiet_sent=%llu quiet_rx=%llu quiet_in_backlog=%llu "
        "flood_share=%.5f max_wait_pkts=%llu max_wait_flood=%llu "
        "max_wait_flood_ub=%llu max_wait_slack=%llu max_wait_calls=%llu "
        "mean_wait_pkts=%.1f max_wait_us=%.1f turn=%u max_wait_rounds=%ld "
        "max_wait_rounds_ub=%ld max_sendmsg_us=%.1f wait_overflow=%llu",
        k, b->o.len, jain_half, b->jain_min_window, b->jain_windows,
        (unsigned long long)b->rx_per_sub[0], (unsigned long long)quiet_sent,
        (unsigned long long)quiet_rx, (unsigned long long)quiet_rx_backlog,
        flood_share, (unsigned long long)f->max_wait_pkts,
        (unsigned long long)f->max_wait_flood,
        (unsigned long long)f->max_wait_flood_ub,
        (unsigned long long)f->max_wait_slack,
        (unsigned long long)f->max_wait_calls,
        quiet_rx_backlog ? f->sum_wait_pkts / quiet_rx_backlog : 0,
        f->max_wait_ns / 1e3, budget, rounds, rounds_ub,
        f->max_sendmsg_ns / 1e3,
        (unsigned long long)f->wait_overflow);
    emit(b);

    int bad = 0;
    if (rx_a + drops_a != sent_a) {
        fprintf(stderr, "mcrx_bench: FAIL: phase A received %llu of %llu\n",
                (unsigned long long)rx_a, (unsigned long long)sent_a);
        bad = 1;
    }
    if (b->rx + (drops - drops_a) != sent_flood + quiet_sent ||
        b->rx_per_sub[0] != flood_target || quiet_rx + 0 != quiet_sent) {
        fprintf(stderr, "mcrx_bench: FAIL: phase B received %llu (flood "
                        "%llu/%llu, quiet %llu/%llu), drops %llu\n",
                (unsigned long long)b->rx,
                (unsigned long long)b->rx_per_sub[0],
                (unsigned long long)sent_flood, (unsigned long long)quiet_rx,
                (unsigned long long)quiet_sent,
                (unsigned long long)(drops - drops_a));
        bad = 1;
    }
    for (uint32_t i = 1; i < k; i++) {
        if (b->rx_per_sub[i] == 0) {
            fprintf(stderr, "mcrx_bench: FAIL: quiet sub %u got nothing\n", i);
            bad = 1;
            break;
        }
    }
    if (b->o.min_jain >= 0 && jain_half < b->o.min_jain) {
        fprintf(stderr, "mcrx_bench: FAIL: Jain's index %.5f < %.5f\n",
                jain_half, b->o.min_jain);
        bad = 1;
    }
    if (b->o.max_wait_rounds >= 0 && rounds > b->o.max_wait_rounds) {
        fprintf(stderr, "mcrx_bench: FAIL: a quiet datagram waited %ld "
                        "rounds (> %ld): %llu flood datagrams were delivered "
                        "by receive calls that started after it was queued "
                        "(turn %u)\n",
                rounds, b->o.max_wait_rounds,
                (unsigned long long)f->max_wait_flood, budget);
        bad = 1;
    }
    if (b->o.strict && drops) {
        fprintf(stderr, "mcrx_bench: FAIL: %llu kernel drops (--strict)\n",
                (unsigned long long)drops);
        bad = 1;
    }
    free(all);
    return bad;
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    static struct bench bench;
    struct bench *b = &bench;
    if (argc > 1 && !strcmp(argv[1], "soak")) { /* bench/soak.c */
        require_private_netns();
        return bench_soak_main(argc - 1, argv + 1);
    }
    parse_args(&b->o, argc, argv);
    require_private_netns();
    signal(SIGPIPE, SIG_IGN);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    perf_open(b->o.perf_ctl);
    alloc_snap = (alloc_snap_fn)dlsym(RTLD_DEFAULT, "mcrx_alloccount_snapshot");
    b->be = pick_backend(b->o.backend);
    b->stop_fd = -1;
    b->nsubs = b->o.subs;
    b->subs = calloc(b->nsubs, sizeof *b->subs);
    b->rx_per_sub = calloc(b->nsubs, sizeof *b->rx_per_sub);
    if (!b->subs || !b->rx_per_sub)
        bench_die("calloc");
    /* sub i: 239.1.(1 + i/250).(1 + i%250), port 5000 + i
     * (sub 0 = 239.1.1.1:5000) */
    for (uint32_t i = 0; i < b->nsubs; i++) {
        uint8_t g[4] = {239, 1, (uint8_t)(1 + i / 250), (uint8_t)(1 + i % 250)};
        memcpy(&b->subs[i].group_be, g, 4);
        b->subs[i].port = (uint16_t)(5000 + i);
    }
    b->win_next = UINT64_MAX;

    if (b->o.mode == MODE_SUSTAINED || b->o.mode == MODE_LATENCY)
        spawn_sender(b, &the_child, CHILD_PACED);
    else if (b->o.mode == MODE_FAIRNESS)
        spawn_sender(b, &the_child, CHILD_QUIET);
    pin_to(b->o.cpu_rx);
    int rc = b->be->open(b);
    if (rc) {
        child_reap(b, &the_child);
        b->be->close(b);
        return rc;
    }
    switch (b->o.mode) {
    case MODE_DRAIN:
    case MODE_SCALE:
        rc = mode_drain(b);
        break;
    case MODE_SUSTAINED:
        rc = mode_sustained(b);
        break;
    case MODE_FAIRNESS:
        rc = mode_fairness(b);
        break;
    case MODE_LATENCY:
        rc = mode_latency(b);
        break;
    }
    if (b->o.expect_zero_allocs) {
        if (!alloc_snap) {
            fprintf(stderr, "mcrx_bench: FAIL: --expect-zero-allocs without "
                            "the alloc shim (LD_PRELOAD)\n");
            rc = rc ? rc : 1;
        } else {
            uint64_t steady = alloc_steady_taken
                                  ? alloc_at_end - alloc_at_steady
                                  : alloc_at_end - alloc_at_start;
            if (steady) {
                fprintf(stderr, "mcrx_bench: FAIL: %llu heap allocations in "
                                "the steady-state receive loop\n",
                        (unsigned long long)steady);
                rc = rc ? rc : 1;
            }
        }
    }
    child_reap(b, &the_child);
    b->be->close(b);
    return rc;
}
