/*
 * mcrx_bench soak: churn subscriptions under steady traffic for a while
 * and check that nothing is lost from the books, nothing leaks and the
 * memory stays flat.
 *
 *   mcrx_bench soak [--seconds N] [--backend recvmmsg|iouring|default]
 *                   [--groups G] [--rate PPS] [--op-ms MS] [--seed S]
 *                   [--warmup SECONDS] [--max-rss-growth-kb KB]
 *
 * A sender thread sends at a fixed total rate (--rate, default 20000/s)
 * over G groups (default 100; 239.7.x.y, port 7000 + i, on lo), round
 * robin, with a per-group sequence number in each payload. The receiver
 * runs its normal loop (wait + recv_batch on the context, try_recv on the
 * extracted subscriptions) and every few milliseconds (--op-ms, default
 * 5, jittered) does one random operation: add, join, leave, remove (of a
 * bound or joined sub), take, or free an extracted sub (weighted 25, 30,
 * 10, 15, 10, 10 %, on a random group that allows it). At most one
 * subscription per group exists at a time.
 *
 * Exact accounting per subscription lifetime (add to remove, or to
 * mcrx_sub_free after take): the sender's sequence counters are shared
 * under a lock, and join, leave, remove and free take that lock, so the
 * receiver knows exactly which datagrams were sent to the group while the
 * sub held the membership: sent = sum over its join intervals of
 * (counter at leave - counter at join). Before leaving (or removing, or
 * freeing) a joined sub, the receiver receives until its books close:
 *     delivered + filtered + kernel drops + discarded == sent
 * (waiting at most 2 s; the datagrams are in flight through the kernel).
 * A lifetime whose books do not close, or overflow, is a failure. Also
 * checked: every delivered datagram carries the right group, and its
 * sequence number is above every earlier one of the lifetime (no
 * duplicate, no reordering); the caller's count equals stats.packets. A
 * datagram sent just before a join but still on its way through the
 * kernel when the membership came is delivered; it is counted apart
 * ("early") and added to what the lifetime was sent.
 *
 * Resources: at the end of the warm-up (--warmup, default a third of the
 * run, at most 30 s) every lifetime is ended and RSS (/proc/self/statm)
 * read after malloc_trim(0); at the end the same again: the second figure may exceed the first
 * by at most --max-rss-growth-kb (default 1024; 0 = report only, e.g.
 * under AddressSanitizer, whose quarantine grows by design). The peak is
 * sampled every second and reported. Open descriptors at the end must
 * equal those at the start.
 *
 * Prints one line "mode=soak ..." and exits 0 (all checks passed), 1 (a
 * check failed), 2 (usage) or 3 (set-up failure).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "bench.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mcrx/mcrx.h"

#define SOAK_MAGIC 0x736f616bu /* "soak" */
#define SOAK_LEN 64
#define SOAK_MAX_GROUPS 1000
#define SETTLE_MS 2000

struct soak_opts {
    double seconds, warmup;
    uint32_t groups, op_ms, seed;
    uint64_t rate;
    long max_rss_growth_kb;
    mcrx_backend_kind backend;
};

/* ---- the sender ---------------------------------------------------- */

struct soak_sender {
    pthread_mutex_t lock;   /* held while sending a tick's burst */
    uint32_t *next_seq;     /* per group: sequence number sent next */
    uint64_t sent;
    uint32_t groups;
    uint64_t rate;
    int fd;
    atomic_bool stop;
    int error;              /* errno of a failed send, 0 if none */
};

static void group_addr(uint32_t g, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)(7000 + g));
    uint8_t a[4] = {239, 7, (uint8_t)(g / 250), (uint8_t)(1 + g % 250)};
    memcpy(&sa->sin_addr, a, 4);
}

static void sleep_until_ns(int64_t t)
{
    int64_t now = bench_now_ns();
    if (t <= now)
        return;
    struct timespec ts = {(time_t)((t - now) / 1000000000),
                          (long)((t - now) % 1000000000)};
    nanosleep(&ts, NULL);
}

/* One burst per millisecond, on an absolute schedule (a tick delayed by
 * the receiver holding the lock is made up later). */
static void *sender_run(void *arg)
{
    struct soak_sender *s = arg;
    uint8_t p[SOAK_LEN];
    memset(p, 's', sizeof p);
    uint32_t g = 0;
    int64_t start = bench_now_ns();
    for (uint64_t tick = 1; !atomic_load(&s->stop); tick++) {
        uint64_t due = s->rate * tick / 1000;
        pthread_mutex_lock(&s->lock);
        while (s->sent < due && !s->error) {
            struct sockaddr_in to;
            group_addr(g, &to);
            uint32_t w[3] = {htonl(SOAK_MAGIC), htonl(g), htonl(s->next_seq[g])};
            memcpy(p, w, sizeof w);
            ssize_t r = sendto(s->fd, p, sizeof p, 0, (struct sockaddr *)&to, sizeof to);
            if (r == (ssize_t)sizeof p) {
                s->next_seq[g]++;
                s->sent++;
                g = (g + 1) % s->groups;
            } else if (r < 0 && errno != EINTR && errno != ENOBUFS && errno != EAGAIN) {
                s->error = errno;
            }
        }
        pthread_mutex_unlock(&s->lock);
        if (s->error)
            break;
        sleep_until_ns(start + (int64_t)tick * 1000000);
    }
    return NULL;
}

static int sender_socket(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        bench_die("socket");
    struct sockaddr_in me = {.sin_family = AF_INET};
    me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct in_addr lo = {htonl(INADDR_LOOPBACK)};
    unsigned char ttl = 1, loop = 1;
    int sndbuf = 4 << 20;
    if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) < 0)
        bench_die("sender socket");
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    return fd;
}

/* ---- the receiver's books ------------------------------------------ */

enum life_state { LIFE_NONE, LIFE_BOUND, LIFE_JOINED };

/* One subscription lifetime; at most one per group at a time. */
struct life {
    enum life_state state;
    uint64_t id;
    mcrx_sub *taken;        /* extracted: received through this */
    uint32_t join_seq;      /* sender's counter at the current join */
    uint64_t sent;          /* sent while joined, closed intervals */
    uint64_t early;         /* sent just before a join, delivered after */
    int64_t prev_end;       /* counter at the last leave (0 before) */
    uint64_t delivered;     /* counted by us */
    int64_t min_next;       /* lowest sequence number still acceptable */
};

struct soak {
    struct soak_opts o;
    struct soak_sender snd;
    mcrx_ctx *ctx;
    struct life *life;      /* per group */
    uint32_t *group_of;     /* sub id -> group + 1 (0: unknown) */
    size_t group_of_len;
    uint64_t ops[6];        /* add, join, leave, remove, take, free */
    uint64_t lifetimes, exact, bad_books, bad_seq, bad_pkt, errors, early;
    uint64_t delivered, drops, discarded, filtered, sent_in_lifetimes;
    uint32_t rng;
};

enum { OP_ADD, OP_JOIN, OP_LEAVE, OP_REMOVE, OP_TAKE, OP_FREE };
static const char *const op_names[] = {"add", "join", "leave", "remove", "take", "free"};

static uint32_t rnd(struct soak *k)
{
    k->rng ^= k->rng << 13; /* xorshift32 */
    k->rng ^= k->rng >> 17;
    k->rng ^= k->rng << 5;
    return k->rng;
}

static void map_id(struct soak *k, uint64_t id, uint32_t g)
{
    if (id >= k->group_of_len) {
        size_t n = k->group_of_len ? k->group_of_len : 1024;
        while (n <= id)
            n *= 2;
        uint32_t *m = realloc(k->group_of, n * sizeof *m);
        if (!m)
            bench_die("realloc");
        memset(m + k->group_of_len, 0, (n - k->group_of_len) * sizeof *m);
        k->group_of = m;
        k->group_of_len = n;
    }
    k->group_of[id] = g + 1;
}

static void account_pkt(struct soak *k, const mcrx_packet *p)
{
    uint32_t w[3];
    uint32_t g = p->sub_id < k->group_of_len ? k->group_of[p->sub_id] : 0;
    if (!g || p->len != SOAK_LEN) {
        k->bad_pkt++;
        return;
    }
    g--;
    memcpy(w, p->payload, sizeof w);
    struct life *l = &k->life[g];
    if (ntohl(w[0]) != SOAK_MAGIC || ntohl(w[1]) != g || l->id != p->sub_id) {
        k->bad_pkt++;
        return;
    }
    int64_t seq = ntohl(w[2]);
    if (l->state == LIFE_JOINED && seq < l->join_seq && seq >= l->prev_end) {
        /* Sent before the join, still on its way through the kernel when
         * the membership came: delivered, and counted as such. */
        l->early++;
        k->early++;
    } else if (seq < l->min_next) {
        k->bad_seq++; /* a duplicate or a reordering */
    } else {
        l->min_next = seq + 1;
    }
    l->delivered++;
}

/* One pass of the normal loop: the context, then every extracted sub. */
static void receive_once(struct soak *k, int timeout_ms)
{
    static mcrx_packet pkts[256];
    int w = mcrx_ctx_wait(k->ctx, timeout_ms);
    if (w < 0 && w != MCRX_E_INTERRUPTED)
        k->errors++;
    for (int round = 0; round < 16; round++) {
        int n = mcrx_ctx_recv_batch(k->ctx, pkts, 256);
        if (n < 0) {
            k->errors++;
            break;
        }
        for (int i = 0; i < n; i++)
            account_pkt(k, &pkts[i]);
        if (n < 256)
            break;
    }
    for (uint32_t g = 0; g < k->o.groups; g++) {
        if (!k->life[g].taken)
            continue;
        mcrx_packet p;
        int r, budget = 256;
        while (budget-- > 0 && (r = mcrx_sub_try_recv(k->life[g].taken, &p)) == 1)
            account_pkt(k, &p);
    }
}

static mcrx_sub *sub_of(struct soak *k, uint32_t g)
{
    struct life *l = &k->life[g];
    return l->taken ? l->taken : mcrx_ctx_get(k->ctx, l->id);
}

/* delivered + filtered + kernel drops + discarded of the lifetime. */
static uint64_t books(struct soak *k, uint32_t g, mcrx_sub_stats *st)
{
    if (mcrx_sub_get_stats(sub_of(k, g), st) != MCRX_OK) {
        k->errors++;
        memset(st, 0, sizeof *st);
    }
    return st->packets + st->filtered_group + st->filtered_source +
           st->filtered_interface + st->filtered_no_pktinfo + st->kernel_drops +
           st->discarded;
}

/* With the sender's lock held: end the current join interval of g and
 * receive until its books close (or SETTLE_MS pass). */
static void close_interval(struct soak *k, uint32_t g)
{
    struct life *l = &k->life[g];
    l->sent += k->snd.next_seq[g] - l->join_seq;
    l->prev_end = k->snd.next_seq[g];
    mcrx_sub_stats st;
    int64_t end = bench_now_ns() + (int64_t)SETTLE_MS * 1000000;
    while (books(k, g, &st) < l->sent + l->early && bench_now_ns() < end)
        receive_once(k, 1);
}

/* A lifetime ends (the sub is not joined any more, or about to be freed
 * and its interval closed): check its books. */
static void end_life(struct soak *k, uint32_t g)
{
    struct life *l = &k->life[g];
    mcrx_sub_stats st;
    uint64_t total = books(k, g, &st);
    k->lifetimes++;
    if (total == l->sent + l->early && st.packets == l->delivered) {
        k->exact++;
    } else {
        k->bad_books++;
        fprintf(stderr,
                "soak: group %u sub %" PRIu64 ": sent %" PRIu64 " + early %" PRIu64
                " != delivered %" PRIu64
                " (ours %" PRIu64 ") + filtered + drops %" PRIu64 " + discarded %" PRIu64
                " = %" PRIu64 "\n",
                g, l->id, l->sent, l->early, st.packets, l->delivered, st.kernel_drops,
                st.discarded, total);
    }
    k->delivered += st.packets;
    k->drops += st.kernel_drops;
    k->discarded += st.discarded;
    k->filtered += total - st.packets - st.kernel_drops - st.discarded;
    k->sent_in_lifetimes += l->sent + l->early;
}

static int op_add(struct soak *k, uint32_t g)
{
    struct life *l = &k->life[g];
    struct sockaddr_in sa;
    group_addr(g, &sa);
    mcrx_config c;
    mcrx_ip grp = {.family = MCRX_AF_INET};
    memcpy(grp.addr, &sa.sin_addr, 4);
    mcrx_config_asm(&c, &grp, ntohs(sa.sin_port));
    memset(l, 0, sizeof *l);
    int rc = mcrx_ctx_add(k->ctx, &c, &l->id);
    if (rc != MCRX_OK)
        return rc;
    map_id(k, l->id, g);
    l->state = LIFE_BOUND;
    return MCRX_OK;
}

static int op_join(struct soak *k, uint32_t g)
{
    struct life *l = &k->life[g];
    pthread_mutex_lock(&k->snd.lock);
    int rc = l->taken ? mcrx_sub_join(l->taken) : mcrx_ctx_join(k->ctx, l->id);
    if (rc == MCRX_OK) {
        l->join_seq = k->snd.next_seq[g];
        l->min_next = l->join_seq;
        l->state = LIFE_JOINED;
    }
    pthread_mutex_unlock(&k->snd.lock);
    return rc;
}

static int op_leave(struct soak *k, uint32_t g)
{
    struct life *l = &k->life[g];
    pthread_mutex_lock(&k->snd.lock);
    close_interval(k, g);
    int rc = l->taken ? mcrx_sub_leave(l->taken) : mcrx_ctx_leave(k->ctx, l->id);
    if (rc == MCRX_OK)
        l->state = LIFE_BOUND;
    pthread_mutex_unlock(&k->snd.lock);
    return rc;
}

/* remove (context) or free (extracted): joined subs close their interval
 * first, under the lock, so nothing new arrives before the books are
 * checked. */
static int op_end(struct soak *k, uint32_t g)
{
    struct life *l = &k->life[g];
    bool joined = l->state == LIFE_JOINED;
    if (joined) {
        pthread_mutex_lock(&k->snd.lock);
        close_interval(k, g);
    }
    end_life(k, g);
    int rc = l->taken ? mcrx_sub_free(l->taken) : mcrx_ctx_remove(k->ctx, l->id);
    if (joined)
        pthread_mutex_unlock(&k->snd.lock);
    l->state = LIFE_NONE;
    l->taken = NULL;
    return rc;
}

/* End every open lifetime (checked like any other). */
static void end_all(struct soak *k)
{
    for (uint32_t g = 0; g < k->o.groups; g++)
        if (k->life[g].state != LIFE_NONE && op_end(k, g) != MCRX_OK)
            k->errors++;
}

static int op_take(struct soak *k, uint32_t g)
{
    return mcrx_ctx_take(k->ctx, k->life[g].id, &k->life[g].taken);
}

/* One random operation on a random group that allows it. */
static void random_op(struct soak *k)
{
    /* Weights keep most groups subscribed and most subs joined, so most of
     * the traffic flows through subscriptions being churned. */
    static const uint8_t weight[6] = {25, 30, 10, 15, 10, 10};
    uint32_t r = rnd(k) % 100, op = 0;
    while (r >= weight[op])
        r -= weight[op++];
    uint32_t start = rnd(k) % k->o.groups;
    for (uint32_t i = 0; i < k->o.groups; i++) {
        uint32_t g = (start + i) % k->o.groups;
        struct life *l = &k->life[g];
        bool ok = false;
        switch (op) {
        case OP_ADD: ok = l->state == LIFE_NONE; break;
        case OP_JOIN: ok = l->state == LIFE_BOUND; break;
        case OP_LEAVE: ok = l->state == LIFE_JOINED; break;
        case OP_REMOVE: ok = l->state != LIFE_NONE && !l->taken; break;
        case OP_TAKE: ok = l->state != LIFE_NONE && !l->taken; break;
        case OP_FREE: ok = l->taken != NULL; break;
        }
        if (!ok)
            continue;
        int rc = MCRX_OK;
        switch (op) {
        case OP_ADD: rc = op_add(k, g); break;
        case OP_JOIN: rc = op_join(k, g); break;
        case OP_LEAVE: rc = op_leave(k, g); break;
        case OP_REMOVE:
        case OP_FREE: rc = op_end(k, g); break;
        case OP_TAKE: rc = op_take(k, g); break;
        }
        if (rc != MCRX_OK) {
            k->errors++;
            fprintf(stderr, "soak: %s on group %u: %s\n", op_names[op], g,
                    mcrx_status_name(rc));
        }
        k->ops[op]++;
        return;
    }
}

/* ---- resources ------------------------------------------------------ */

static long rss_kb(void);

/* RSS after handing free heap memory back to the OS (malloc_trim): what
 * stays is in use or fragmentation, not what the allocator keeps cached
 * from an earlier peak of open subscriptions. */
static long rss_trimmed_kb(void)
{
    malloc_trim(0);
    return rss_kb();
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = -1;
    fclose(f);
    return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;
}

/* ---- options ---------------------------------------------------------- */

static void soak_usage(FILE *f)
{
    fputs("usage: mcrx_bench soak [--seconds N] [--backend recvmmsg|iouring|default]\n"
          "         [--groups G] [--rate PPS] [--op-ms MS] [--seed S]\n"
          "         [--warmup SECONDS] [--max-rss-growth-kb KB]\n"
          "Churns subscriptions under traffic; exact accounting per subscription\n"
          "lifetime, flat RSS after warm-up, no descriptor leak (bench/soak.c).\n",
          f);
}

static double soak_num(const char *opt, const char *v, double min, double max)
{
    char *end;
    double d = v ? strtod(v, &end) : 0;
    if (!v || end == v || *end || !(d >= min && d <= max)) {
        fprintf(stderr, "mcrx_bench soak: bad value for %s (%g..%g)\n", opt, min, max);
        soak_usage(stderr);
        exit(2);
    }
    return d;
}

static void soak_args(struct soak_opts *o, int argc, char **argv)
{
    *o = (struct soak_opts){.seconds = 30, .warmup = -1, .groups = 100,
                            .op_ms = 5, .seed = 1, .rate = 20000,
                            .max_rss_growth_kb = 1024,
                            .backend = MCRX_BACKEND_DEFAULT};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            soak_usage(stdout);
            exit(0);
        }
        if (!v) {
            fprintf(stderr, "mcrx_bench soak: %s needs a value\n", a);
            exit(2);
        }
        i++;
        if (!strcmp(a, "--seconds"))
            o->seconds = soak_num(a, v, 0.1, 1e6);
        else if (!strcmp(a, "--warmup"))
            o->warmup = soak_num(a, v, 0, 1e6);
        else if (!strcmp(a, "--groups"))
            o->groups = (uint32_t)soak_num(a, v, 1, SOAK_MAX_GROUPS);
        else if (!strcmp(a, "--rate"))
            o->rate = (uint64_t)soak_num(a, v, 1, 1e7);
        else if (!strcmp(a, "--op-ms"))
            o->op_ms = (uint32_t)soak_num(a, v, 1, 10000);
        else if (!strcmp(a, "--seed"))
            o->seed = (uint32_t)soak_num(a, v, 1, 4294967295.0);
        else if (!strcmp(a, "--max-rss-growth-kb"))
            o->max_rss_growth_kb = (long)soak_num(a, v, 0, 1e9);
        else if (!strcmp(a, "--backend")) {
            if (mcrx_backend_parse(v, &o->backend) != MCRX_OK) {
                fprintf(stderr, "mcrx_bench soak: backend %s not available\n", v);
                exit(77);
            }
        } else {
            fprintf(stderr, "mcrx_bench soak: unknown option %s\n", a);
            soak_usage(stderr);
            exit(2);
        }
    }
    if (o->warmup < 0)
        o->warmup = o->seconds / 3 < 30 ? o->seconds / 3 : 30;
}

/* ---- the run ---------------------------------------------------------- */

int bench_soak_main(int argc, char **argv)
{
    static struct soak soak;
    struct soak *k = &soak;
    soak_args(&k->o, argc, argv);
    k->rng = k->o.seed;
    int fds_start = count_fds();

    mcrx_ctx_options opts;
    mcrx_ctx_options_init(&opts);
    opts.backend = k->o.backend;
    int rc = mcrx_ctx_new(&k->ctx, &opts);
    if (rc != MCRX_OK) {
        fprintf(stderr, "mcrx_bench soak: ctx_new: %s\n", mcrx_status_name(rc));
        return rc == MCRX_E_BACKEND_UNAVAILABLE ? 77 : 3;
    }
    mcrx_backend_kind used = mcrx_ctx_backend(k->ctx);
    k->life = calloc(k->o.groups, sizeof *k->life);
    k->snd.next_seq = calloc(k->o.groups, sizeof *k->snd.next_seq);
    if (!k->life || !k->snd.next_seq)
        bench_die("calloc");
    k->snd.groups = k->o.groups;
    k->snd.rate = k->o.rate;
    k->snd.fd = sender_socket();
    pthread_mutex_init(&k->snd.lock, NULL);
    atomic_init(&k->snd.stop, false);
    pthread_t th;
    if (pthread_create(&th, NULL, sender_run, &k->snd) != 0)
        bench_die("pthread_create");

    int64_t t0 = bench_now_ns();
    int64_t end = t0 + (int64_t)(k->o.seconds * 1e9);
    int64_t warm = t0 + (int64_t)(k->o.warmup * 1e9);
    int64_t next_op = t0, next_rss = t0;
    long rss_start = rss_kb(), rss_warm = -1, rss_max = rss_start, rss_end;
    while (bench_now_ns() < end) {
        receive_once(k, 1);
        int64_t now = bench_now_ns();
        if (now >= next_op) {
            random_op(k);
            next_op = now + (int64_t)(1 + rnd(k) % (2 * k->o.op_ms)) * 1000000;
        }
        if (now >= warm && rss_warm < 0) {
            /* Checkpoint: RSS is compared with no subscription open,
             * here and at the end (the number open at a random moment
             * would decide the figure otherwise: each joined io_uring
             * sub holds sub_ring_size x max_payload of buffers). */
            end_all(k);
            rss_warm = rss_trimmed_kb();
        }
        if (now >= next_rss) {
            long r = rss_kb();
            rss_max = r > rss_max ? r : rss_max;
            next_rss = now + 1000000000;
        }
    }

    /* Stop the sender, then close every lifetime still open. */
    atomic_store(&k->snd.stop, true);
    pthread_join(th, NULL);
    end_all(k);
    rss_end = rss_trimmed_kb();
    if (rss_warm < 0)
        rss_warm = rss_end;
    mcrx_ctx_free(k->ctx);
    close(k->snd.fd);
    pthread_mutex_destroy(&k->snd.lock);
    int fds_end = count_fds();

    long growth = rss_end - rss_warm;
    bool rss_ok = k->o.max_rss_growth_kb == 0 || growth <= k->o.max_rss_growth_kb;
    bool ok = k->bad_books == 0 && k->bad_seq == 0 && k->bad_pkt == 0 &&
              k->errors == 0 && k->snd.error == 0 && fds_end == fds_start &&
              rss_ok && k->lifetimes > 0;
    printf("mode=soak backend=%s seconds=%.1f groups=%u rate=%" PRIu64
           " sent=%" PRIu64 " ops=add:%" PRIu64 ",join:%" PRIu64 ",leave:%" PRIu64
           ",remove:%" PRIu64 ",take:%" PRIu64 ",free:%" PRIu64
           " lifetimes=%" PRIu64 " exact=%" PRIu64 " bad_books=%" PRIu64
           " sent_to_subs=%" PRIu64 " delivered=%" PRIu64 " filtered=%" PRIu64
           " kernel_drops=%" PRIu64 " discarded=%" PRIu64 " bad_seq=%" PRIu64
           " early=%" PRIu64 " bad_pkt=%" PRIu64 " errors=%" PRIu64 " rss_kb_start/warm/end/max=%ld/%ld/%ld/%ld"
           " rss_growth_after_warmup_kb=%ld fds=%d/%d result=%s\n",
           mcrx_backend_name(used),
           k->o.seconds, k->o.groups, k->o.rate, k->snd.sent, k->ops[OP_ADD],
           k->ops[OP_JOIN], k->ops[OP_LEAVE], k->ops[OP_REMOVE], k->ops[OP_TAKE],
           k->ops[OP_FREE], k->lifetimes, k->exact, k->bad_books,
           k->sent_in_lifetimes, k->delivered, k->filtered, k->drops, k->discarded,
           k->bad_seq, k->early, k->bad_pkt, k->errors, rss_start, rss_warm, rss_end,
           rss_max, growth, fds_start, fds_end, ok ? "ok" : "FAILED");
    if (k->snd.error)
        fprintf(stderr, "soak: sender: %s\n", strerror(k->snd.error));
    if (!rss_ok)
        fprintf(stderr, "soak: RSS grew %ld KiB after warm-up (limit %ld)\n", growth,
                k->o.max_rss_growth_kb);
    if (fds_end != fds_start)
        fprintf(stderr, "soak: %d descriptors at start, %d at the end\n", fds_start,
                fds_end);
    free(k->life);
    free(k->snd.next_seq);
    free(k->group_of);
    return ok ? 0 : 1;
}
