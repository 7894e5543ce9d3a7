/*
 * mcrx-core: high-rate IPv4/IPv6 multicast receive (ASM and SSM).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * One public header. Everything is reached through opaque handles:
 *
 *   mcrx_ctx  a context: owns subscriptions, a receive backend (recvmmsg or
 *             io_uring on Linux) and a pool of receive slots.
 *   mcrx_sub  a subscription: one UDP socket bound to (family, port) and
 *             joined to one (source, group).
 *
 * Conventions
 * - Functions that can fail return an int: MCRX_OK (0) or a negative
 *   mcrx_status. Receive functions return a packet count (>= 0) or a
 *   negative status. "No packet right now" is 0, never an error.
 * - When a function fails with an OS-class status (see
 *   mcrx_status_is_os_error()), mcrx_last_os_error() returns the operating
 *   system's error code (errno on POSIX, WSAGetLastError() on Windows),
 *   captured where the OS call failed, so later calls of the library's
 *   clean-up or of other subscriptions cannot overwrite it. On POSIX errno
 *   is set to the same value on return.
 * - A failed call leaves every object exactly as it was before the call.
 *
 * Threading
 * - A context, and every subscription it owns, is used by one thread at a
 *   time. Different contexts are independent and may be used concurrently.
 * - Exception: an io_uring context created with coalesce_us > 0 is bound
 *   to the thread that created it (the kernel's DEFER_TASKRUN needs a
 *   single issuer). Join, leave, remove, take, receive and wait calls
 *   from any other thread fail with MCRX_E_WRONG_THREAD and change
 *   nothing; mcrx_ctx_free() must run on that thread too.
 * - A subscription extracted with mcrx_ctx_take() no longer belongs to any
 *   context: it may be moved to, and used from, another thread (one thread
 *   at a time).
 * - mcrx_ctx_fd() may be watched (poll/epoll/select) from any thread; the
 *   receive calls themselves stay on the context's thread.
 *
 * Zero-copy packets
 * - mcrx_packet.payload points into the library's receive slots. It stays
 *   valid until the next receive call (try_recv*, recv_batch*, wait) on the
 *   same context (or, for an extracted subscription, on that subscription),
 *   or until the context/subscription is freed. Copy what you need to keep.
 */
#ifndef MCRX_MCRX_H
#define MCRX_MCRX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Windows: <windows.h> defines `interface` as a macro (COM), which would
 * rename mcrx_config.interface; this header sets it aside while it
 * declares (a program that includes <windows.h> and uses the field writes
 * `#undef interface` first). <winsock2.h> is not needed here: SOCKET is a
 * UINT_PTR, the same type as uintptr_t. */
#ifdef _WIN32
#pragma push_macro("interface")
#undef interface
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* MCRX_API marks the public functions: the only symbols the library
 * exports (it is built with hidden visibility by default). On Windows it
 * is __declspec(dllexport) while building the DLL, dllimport for users of
 * the DLL; define MCRX_STATIC before including this header when linking
 * the static library there. */
#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(MCRX_BUILDING_LIBRARY)
#    define MCRX_API __declspec(dllexport)
#  elif defined(MCRX_STATIC)
#    define MCRX_API
#  else
#    define MCRX_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define MCRX_API __attribute__((visibility("default")))
#else
#  define MCRX_API
#endif

/* A socket: a file descriptor on POSIX systems, a SOCKET on Windows. */
#ifdef _WIN32
typedef uintptr_t mcrx_socket_t; /* SOCKET */
#define MCRX_INVALID_SOCKET (~(mcrx_socket_t)0) /* INVALID_SOCKET */
#else
typedef int mcrx_socket_t;
#define MCRX_INVALID_SOCKET (-1)
#endif

/* A context's wait object (see mcrx_ctx_fd()): a file descriptor on POSIX
 * systems (poll/epoll/kqueue/select it for readability), a HANDLE on
 * Windows (WaitForSingleObject / WaitForMultipleObjects it). */
#ifdef _WIN32
typedef void *mcrx_wait_handle_t; /* HANDLE */
#else
typedef int mcrx_wait_handle_t;
#endif

#define MCRX_VERSION_MAJOR 0
#define MCRX_VERSION_MINOR 1
#define MCRX_VERSION_PATCH 0

/* ------------------------------------------------------------------ */
/* Status codes                                                        */
/* ------------------------------------------------------------------ */

typedef enum mcrx_status {
    MCRX_OK = 0,

    /* Arguments and configuration validation (no OS call was made). */
    MCRX_E_INVALID_ARG = -1,          /* NULL pointer or unusable argument */
    MCRX_E_PORT_ZERO = -2,            /* dst_port is 0 */
    MCRX_E_GROUP_NOT_MULTICAST = -3,  /* group is not a multicast address */
    MCRX_E_SOURCE_MULTICAST = -4,     /* SSM source is a multicast address */
    MCRX_E_SOURCE_UNSPECIFIED = -5,   /* SSM source is 0.0.0.0 or :: */
    MCRX_E_SOURCE_BROADCAST = -6,     /* SSM source is 255.255.255.255 */
    MCRX_E_SOURCE_FAMILY_MISMATCH = -7, /* SSM source family != group's */
    MCRX_E_SSM_GROUP_V4_RANGE = -8,   /* IPv4 SSM group outside 232/8 */
    MCRX_E_ASM_ON_SSM_GROUP = -9,     /* SSM-range group without a source */
    MCRX_E_SSM_GROUP_V6_RANGE = -10,  /* IPv6 SSM group outside ff3x::/32 */
    MCRX_E_INTERFACE_INDEX_ZERO = -11,/* interface index set to 0 */
    MCRX_E_INTERFACE_INDEX_V4 = -12,  /* interface index given for IPv4 */
    MCRX_E_DUPLICATE = -13,           /* same config already in context */
    MCRX_E_BAD_ADDRESS = -14,         /* text is not an IPv4/IPv6 address */
    MCRX_E_UNKNOWN_INTERFACE = -15,   /* no such interface / no address */
    MCRX_E_BAD_OPTION = -16,          /* context option out of range */
    MCRX_E_FAMILY_UNSPEC = -17,       /* group has no address family */
    MCRX_E_INTERFACE_FAMILY_MISMATCH = -18, /* interface family != group's */
    MCRX_E_V6_SSM_NEEDS_INTERFACE = -19, /* macOS: an IPv6 SSM config needs
                                            an interface there */

    /* Object state. */
    MCRX_E_NOT_FOUND = -20,           /* no subscription with that id */
    MCRX_E_NOT_JOINED = -21,          /* leave/receive on a bound sub */
    MCRX_E_ALREADY_JOINED = -22,      /* join on a joined sub */
    MCRX_E_OWNED_BY_CONTEXT = -23,    /* needs an extracted subscription */
    MCRX_E_INTERRUPTED = -24,         /* a blocking wait was interrupted by
                                         a signal (EINTR): not a timeout */
    MCRX_E_WRONG_THREAD = -25,        /* a thread-bound context (io_uring
                                         with coalesce_us) called from a
                                         thread other than its creator's */

    /* Operating system failures: errno holds the OS error. */
    MCRX_E_SOCKET_CREATE = -30,
    MCRX_E_SOCKET_OPTION = -31,
    MCRX_E_SOCKET_BIND = -32,
    MCRX_E_LOCAL_ADDR = -33,
    MCRX_E_SOCKET_FAMILY = -34,       /* caller socket: wrong family/type */
    MCRX_E_SOCKET_PORT = -35,         /* caller socket: wrong/unbound port */
    MCRX_E_JOIN = -36,
    MCRX_E_LEAVE = -37,
    MCRX_E_RECV = -40,
    MCRX_E_WAIT = -41,
    MCRX_E_NO_MEMORY = -42,
    MCRX_E_BACKEND_UNAVAILABLE = -43, /* backend not built or not usable */

    /* Metrics (include/mcrx/mcrx_metrics.h). */
    MCRX_E_METRICS_DISABLED = -60,    /* built with -Dmetrics=false */
    MCRX_E_METRICS_WRONG_THREAD = -61 /* snapshot off the receive thread */
} mcrx_status;

/* Human-readable message for a status; never NULL. Static storage. */
MCRX_API const char *mcrx_strerror(int status);
/* Symbolic name ("MCRX_E_PORT_ZERO"); never NULL. Static storage. */
MCRX_API const char *mcrx_status_name(int status);
/* True when mcrx_last_os_error() carries the OS error for this status. */
MCRX_API bool mcrx_status_is_os_error(int status);
/* The OS error code (errno / WSAGetLastError()) of the last call on this
 * thread that failed with an OS-class status; 0 if none did yet. Like
 * errno it is not reset by successful calls. Thread-local. */
MCRX_API int mcrx_last_os_error(void);

/* ------------------------------------------------------------------ */
/* Addresses                                                           */
/* ------------------------------------------------------------------ */

enum { MCRX_AF_UNSPEC = 0, MCRX_AF_INET = 4, MCRX_AF_INET6 = 6 };

/* An IP address without a port. IPv4 uses addr[0..3] (network order). */
typedef struct mcrx_ip {
    uint8_t family;     /* MCRX_AF_UNSPEC, MCRX_AF_INET or MCRX_AF_INET6 */
    uint8_t addr[16];
    uint32_t scope_id;  /* IPv6 zone (interface index), else 0 */
} mcrx_ip;

#define MCRX_IP_STRLEN 64 /* enough for any mcrx_ip_format() output */

/* Parse "239.1.2.3", "ff3e::8000:1234" or "fe80::1%7" (numeric zone only;
 * interface names are resolved by mcrx_config_parse()). Returns MCRX_OK or
 * MCRX_E_BAD_ADDRESS; *out untouched on failure. */
MCRX_API int mcrx_ip_parse(mcrx_ip *out, const char *text);
/* Format into buf (at least MCRX_IP_STRLEN bytes advised). Returns MCRX_OK
 * or MCRX_E_INVALID_ARG when buf is too small or ip has no family. */
MCRX_API int mcrx_ip_format(const mcrx_ip *ip, char *buf, size_t buflen);
/* Build an IPv4 address a.b.c.d. */
MCRX_API mcrx_ip mcrx_ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
/* Same family and bytes (scope ignored). */
MCRX_API bool mcrx_ip_equal(const mcrx_ip *a, const mcrx_ip *b);

/* ------------------------------------------------------------------ */
/* Subscription configuration (a plain value; copy it freely)          */
/* ------------------------------------------------------------------ */

typedef struct mcrx_config {
    mcrx_ip group;            /* multicast group */
    mcrx_ip source;           /* SSM source; family UNSPEC = ASM (any) */
    uint16_t dst_port;        /* UDP destination port, non-zero */
    mcrx_ip interface;        /* local join interface address, optional */
    uint32_t interface_index; /* join interface index (IPv6 only) ... */
    bool has_interface_index; /* ... used only when this is true */
} mcrx_config;

/* Fill cfg for ASM (any source) / SSM. They do not validate. */
MCRX_API void mcrx_config_asm(mcrx_config *cfg, const mcrx_ip *group, uint16_t port);
MCRX_API void mcrx_config_ssm(mcrx_config *cfg, const mcrx_ip *group,
                     const mcrx_ip *source, uint16_t port);

/* Build and validate a config from text. source and interface may be NULL
 * or "". interface may be an address ("192.0.2.1", "::1"), an address with
 * a zone ("fe80::1%eth0", "fe80::1%7"), an interface name ("eth0") or an
 * index ("7"). For IPv4 groups a name or index is resolved to that
 * interface's first IPv4 address. On failure *out is untouched. */
MCRX_API int mcrx_config_parse(mcrx_config *out, const char *group, uint16_t port,
                      const char *source, const char *interface);

/* Check every rule (see docs/usage.md for the order). MCRX_OK or the status
 * of the first rule broken. Duplicates are checked by mcrx_ctx_add(). */
MCRX_API int mcrx_config_validate(const mcrx_config *cfg);

/* ------------------------------------------------------------------ */
/* Context                                                             */
/* ------------------------------------------------------------------ */

typedef struct mcrx_ctx mcrx_ctx;
typedef struct mcrx_sub mcrx_sub;

typedef enum mcrx_backend_kind {
    MCRX_BACKEND_DEFAULT = 0,   /* build-time default, with fallback */
    MCRX_BACKEND_RECVMMSG = 1,  /* Linux readiness + recvmmsg batches */
    MCRX_BACKEND_IOURING = 2,   /* Linux io_uring multishot recvmsg */
    MCRX_BACKEND_KQUEUE = 3,    /* macOS/FreeBSD kqueue (docs/platforms.md) */
    MCRX_BACKEND_IOCP = 4,      /* Windows I/O completion port + WSARecvMsg */
    MCRX_BACKEND_WSAPOLL = 5    /* Windows WSAPoll + WSARecvMsg (readiness;
                                   receives extracted subscriptions) */
} mcrx_backend_kind;

typedef struct mcrx_ctx_options {
    mcrx_backend_kind backend; /* default MCRX_BACKEND_DEFAULT */
    uint32_t max_payload;   /* payload bytes per datagram slot; default
                               9216 (whole jumbo-frame datagrams),
                               1..65535. Longer datagrams are delivered cut
                               with MCRX_PKT_TRUNCATED and their real
                               length (never silently). 65535 receives any
                               UDP datagram whole: see docs/usage.md
                               "Payload size and memory". */
    uint32_t max_batch;     /* receive slots = most packets one receive call
                               returns; default 256, 1..4096 */
    uint32_t turn_budget;   /* datagrams one subscription may read per
                               scheduling turn; default 64, 1..4096 */
    uint32_t rcvbuf_bytes;  /* SO_RCVBUF request per socket; default 4 MiB;
                               0 = keep the kernel default */
    uint32_t sub_ring_size; /* completion backends: receive buffers of
                               max_payload bytes per joined subscription,
                               power of two, 1..32768; default 64 (about
                               600 KiB per subscription with the default
                               max_payload) */
    bool timestamps;        /* kernel receive timestamps (SO_TIMESTAMPNS)
                               in the metadata; default false (they cost
                               ~8 % of the drain rate: bench/README.md) */
    uint32_t coalesce_us;   /* opt-in coalescing; default 0 (off),
                               0..100000. A blocking mcrx_ctx_wait() that
                               wakes up less than
                               coalesce_us after it started keeps waiting
                               until coalesce_us have passed, so more
                               datagrams arrive per wake-up: fewer wake-ups
                               and less CPU per datagram at moderate rates,
                               for at most coalesce_us of added latency (a
                               wake-up later than that returns at once, so
                               sparse traffic gets none). io_uring: a
                               DEFER_TASKRUN ring waiting for up to
                               max_batch completions with the kernel's
                               minimum wait; this binds the context to
                               its creating thread (see Threading).
                               recvmmsg: a timerfd sleep. Waiting on
                               mcrx_ctx_fd() yourself is not affected.
                               docs/usage.md "Latency and wake-ups". */
    uint32_t busy_poll_us;  /* opt-in busy polling; default 0 (off),
                               0..100000: SO_BUSY_POLL on every socket (the
                               kernel polls the device queue for up to
                               that long on a blocking read instead of
                               sleeping; only devices with NAPI, not
                               loopback or veth). Raising it needs
                               CAP_NET_ADMIN: otherwise adding a
                               subscription fails with
                               MCRX_E_SOCKET_OPTION (EPERM). */
} mcrx_ctx_options;

/* Fill opts with the defaults above. */
MCRX_API void mcrx_ctx_options_init(mcrx_ctx_options *opts);

/* Create a context. opts may be NULL (defaults). On success *out is a new
 * context the caller frees with mcrx_ctx_free(). With MCRX_BACKEND_DEFAULT
 * the build's default backend is tried and, if it cannot run here, the
 * next one (see mcrx_ctx_backend_fell_back()). An explicit backend that
 * cannot run fails with MCRX_E_BACKEND_UNAVAILABLE. Environment variable
 * MCRX_BACKEND is NOT read here (tools do that; see mcrx_backend_parse()). */
MCRX_API int mcrx_ctx_new(mcrx_ctx **out, const mcrx_ctx_options *opts);

/* Free a context: every subscription it still owns is left (if joined)
 * and its socket closed. Extracted subscriptions are not affected.
 * NULL is a no-op. */
MCRX_API void mcrx_ctx_free(mcrx_ctx *ctx);

/* Active backend of this context. */
MCRX_API mcrx_backend_kind mcrx_ctx_backend(const mcrx_ctx *ctx);
/* "recvmmsg", "io_uring", ... for a kind; "unknown" otherwise. */
MCRX_API const char *mcrx_backend_name(mcrx_backend_kind kind);
/* Parse "recvmmsg" / "iouring" / "io_uring" / "iocp" / "wsapoll" /
 * "default". MCRX_OK or
 * MCRX_E_BACKEND_UNAVAILABLE (unknown name or not compiled in). */
MCRX_API int mcrx_backend_parse(const char *name, mcrx_backend_kind *out);
/* Whether a backend is compiled into this build. */
MCRX_API bool mcrx_backend_compiled(mcrx_backend_kind kind);
/* True when MCRX_BACKEND_DEFAULT was asked and the preferred backend could
 * not be set up (any failure: not supported, no memory, memlock limits,
 * eventfd registration), so the next one was used. */
MCRX_API bool mcrx_ctx_backend_fell_back(const mcrx_ctx *ctx);
/* Why the preferred backend could not be set up: its status (MCRX_OK when
 * there was no fallback); *os_error (may be NULL) gets its OS error code. */
MCRX_API int mcrx_ctx_fallback_reason(const mcrx_ctx *ctx, int *os_error);
/* The options the context runs with (defaults filled in). */
MCRX_API void mcrx_ctx_get_options(const mcrx_ctx *ctx, mcrx_ctx_options *out);

MCRX_API size_t mcrx_ctx_count(const mcrx_ctx *ctx);
MCRX_API bool mcrx_ctx_contains(const mcrx_ctx *ctx, uint64_t id);
/* Copy up to max ids (ascending) into ids; returns how many exist in all
 * (may be > max: call again with a bigger array). */
MCRX_API size_t mcrx_ctx_list(const mcrx_ctx *ctx, uint64_t *ids, size_t max);

/* Validate cfg, open a UDP socket (see docs/usage.md for every option set),
 * bind it to the wildcard address and cfg->dst_port, and add it in state
 * BOUND. Ids start at 1 and are never reused by a context. The context owns
 * the socket. */
MCRX_API int mcrx_ctx_add(mcrx_ctx *ctx, const mcrx_config *cfg, uint64_t *id_out);

/* Like mcrx_ctx_add() with a socket the caller created and bound. The
 * socket must be UDP, of cfg's family, bound to cfg->dst_port
 * (MCRX_INVALID_SOCKET: MCRX_E_INVALID_ARG). The library
 * sets its receive options (pktinfo, non-blocking, ...). On success the
 * context owns fd (it closes it); on failure the caller still owns it (if
 * the failure came after the checks, some receive options may be set). */
MCRX_API int mcrx_ctx_add_with_socket(mcrx_ctx *ctx, const mcrx_config *cfg,
                                      mcrx_socket_t sock, uint64_t *id_out);

/* Join / leave the subscription's (source, group). Join on a joined sub is
 * MCRX_E_ALREADY_JOINED, leave on a bound one MCRX_E_NOT_JOINED; neither
 * makes a syscall. After a leave, datagrams that arrived before it and are
 * still in the socket's kernel queue stay there: a later join delivers
 * them; remove closes the socket and them with it. Datagrams the library
 * had already read for the sub are counted in stats.discarded. */
MCRX_API int mcrx_ctx_join(mcrx_ctx *ctx, uint64_t id);
MCRX_API int mcrx_ctx_leave(mcrx_ctx *ctx, uint64_t id);

/* Remove and free a subscription: leaves the group if joined, closes the
 * socket (and with it whatever the kernel still queued for it). */
MCRX_API int mcrx_ctx_remove(mcrx_ctx *ctx, uint64_t id);

/* Borrow a subscription; NULL if none. The context keeps ownership: the
 * pointer is valid until that subscription is removed or taken, or the
 * context is freed. Do not mcrx_sub_free() it. */
MCRX_API mcrx_sub *mcrx_ctx_get(mcrx_ctx *ctx, uint64_t id);

/* Extract a subscription. It keeps its id, socket and state (a joined sub
 * stays joined and keeps receiving through mcrx_sub_try_recv()), and gets a
 * small receiver of its own, so it may move to another thread. The caller
 * owns *out and frees it with mcrx_sub_free() or mcrx_sub_into_parts().
 * Its receiver always uses a readiness backend, whose socket readability
 * is meaningful (recvmmsg on Linux), so mcrx_sub_fd() can go into any
 * event loop; this is also what take means on a completion backend
 * (io_uring, IOCP): the socket's outstanding receives there are cancelled
 * and completed first. Datagrams the context had already read for it (read
 * ahead for a turn, or completed into a completion backend's buffers) move
 * along with it and are delivered first; only datagrams that complete
 * while the cancellation runs are counted in stats.discarded. On failure
 * nothing changed. */
MCRX_API int mcrx_ctx_take(mcrx_ctx *ctx, uint64_t id, mcrx_sub **out);

/* ------------------------------------------------------------------ */
/* Receiving                                                           */
/* ------------------------------------------------------------------ */

enum {
    MCRX_PKT_TRUNCATED = 1u << 0 /* wire_len > len: datagram was cut */
};

typedef struct mcrx_packet {
    uint64_t sub_id;
    mcrx_ip source;          /* sender address */
    uint16_t source_port;
    mcrx_ip group;           /* the subscription's group */
    uint16_t dst_port;
    const uint8_t *payload;  /* zero-copy view; see "Zero-copy packets" */
    size_t len;              /* bytes at payload */
    size_t wire_len;         /* datagram's real length (>= len); macOS and
                                FreeBSD cannot tell it for a truncated
                                datagram: there it is len */
    uint32_t flags;          /* MCRX_PKT_* */
} mcrx_packet;

enum {
    MCRX_META_DESTINATION = 1u << 0, /* destination from pktinfo */
    MCRX_META_IFINDEX = 1u << 1,     /* ingress_ifindex from pktinfo */
    MCRX_META_TIMESTAMP = 1u << 2,   /* kernel receive timestamp */
    MCRX_META_DROPS = 1u << 3        /* kernel_drops from SO_RXQ_OVFL */
};

typedef struct mcrx_metadata {
    mcrx_ip socket_local_addr;     /* what the socket is bound to */
    uint16_t socket_local_port;
    mcrx_ip configured_interface;  /* from the config (family may be 0) */
    uint32_t configured_interface_index; /* 0 = none configured */
    mcrx_ip destination;           /* pktinfo destination (the group) */
    uint32_t ingress_ifindex;      /* pktinfo interface index */
    int64_t timestamp_ns;          /* CLOCK_REALTIME ns of kernel receive */
    uint32_t kernel_drops;         /* socket's cumulative kernel drops as
                                      of this datagram (SO_RXQ_OVFL) */
    uint32_t flags;                /* MCRX_META_*: which fields are valid */
} mcrx_metadata;

/* Receive one packet from any joined subscription, fairly (deficit round
 * robin over ready subscriptions). Returns 1 (packet in *out), 0 (nothing
 * ready) or a negative status. */
MCRX_API int mcrx_ctx_try_recv_any(mcrx_ctx *ctx, mcrx_packet *out);
MCRX_API int mcrx_ctx_try_recv_any_meta(mcrx_ctx *ctx, mcrx_packet *out,
                               mcrx_metadata *meta);

/* Fill out[0..max) with packets from all ready subscriptions. Each
 * subscription reads at most turn_budget datagrams per turn before the next
 * ready one gets its turn; a turn cut short by a full array resumes on the
 * next call (what the turn already read waits in the library, counted as
 * delivered only when handed out). At most options.max_batch packets per
 * call. Returns the count (0 = nothing ready) or a negative status (only
 * when nothing was delivered). meta may be NULL in the _meta variant.
 * 0 without a syscall (this and try_recv_any; readiness backends:
 * recvmmsg, kqueue, wsapoll): the call right after one that emptied every
 * ready subscription returns 0 at once instead of asking the OS again (the
 * syscall a "read until EAGAIN" loop spends on every wake-up). Nothing is stranded: what arrived meanwhile keeps
 * mcrx_ctx_fd() readable, makes mcrx_ctx_wait() (which always asks)
 * return 1, and is returned by the call after. */
MCRX_API int mcrx_ctx_recv_batch(mcrx_ctx *ctx, mcrx_packet *out, size_t max);
MCRX_API int mcrx_ctx_recv_batch_meta(mcrx_ctx *ctx, mcrx_packet *out,
                             mcrx_metadata *meta, size_t max);

/* The context's wait object, for the caller's own event loop: a file
 * descriptor on POSIX (an epoll fd for recvmmsg, an eventfd for io_uring,
 * a kqueue fd for kqueue)
 * that polls readable while the context has, or may have, something for a
 * receive call: datagrams in a joined subscription's socket or in the
 * library's buffers, or buffers to re-post. Every receive call (try_recv*,
 * recv_batch*, wait, and mcrx_sub_try_recv* on a borrowed subscription)
 * brings it up to date before it returns. The rule for a loop: on each
 * wake-up, receive until a call returns fewer packets than asked (0 for
 * one-packet calls). A wake-up may be spurious (the first call returns 0);
 * it is not repeated while the context is idle. Owned by the context: do
 * not close, read or write it. */
MCRX_API mcrx_wait_handle_t mcrx_ctx_fd(const mcrx_ctx *ctx);

/* Block until a joined subscription has data or timeout_ms passes (-1:
 * forever, 0: just check). Returns 1 (data ready), 0 (timeout) or a
 * negative status: MCRX_E_INTERRUPTED when a signal interrupted the wait
 * (never reported as a timeout). A subscription counts as ready until a read of it comes
 * back short, so 1 may be returned once more after the last datagram was
 * taken (the next receive then returns 0). Invalidates packet views like a
 * receive call. */
MCRX_API int mcrx_ctx_wait(mcrx_ctx *ctx, int timeout_ms);

/* ------------------------------------------------------------------ */
/* Subscriptions                                                       */
/* ------------------------------------------------------------------ */

typedef enum mcrx_sub_state {
    MCRX_SUB_BOUND = 1,  /* socket bound, not joined */
    MCRX_SUB_JOINED = 2
} mcrx_sub_state;

typedef struct mcrx_sub_stats {
    uint64_t packets;            /* delivered to the caller */
    uint64_t bytes;              /* payload bytes delivered (wire length) */
    uint64_t truncated;          /* delivered with MCRX_PKT_TRUNCATED */
    uint64_t filtered_group;     /* pktinfo destination was not the group */
    uint64_t filtered_source;    /* SSM: source was not the configured one */
    uint64_t filtered_interface; /* ingress interface was not configured */
    uint64_t filtered_no_pktinfo;/* no pktinfo: destination unknown */
    uint64_t discarded;          /* read by the backend, never delivered
                                    (moved by take / into_parts) */
    uint64_t kernel_drops;       /* socket's kernel drop count (queue full) */
    uint64_t backend_drop_events;/* io_uring: times the buffer ring ran
                                    empty. Not a loss: the datagrams wait in
                                    the socket queue; real losses show up
                                    in kernel_drops. */
    uint64_t recv_errors;
    uint64_t joins;
    uint64_t leaves;
} mcrx_sub_stats;

MCRX_API uint64_t mcrx_sub_id(const mcrx_sub *sub);
/* The config the subscription was added with (owned by the sub). */
MCRX_API const mcrx_config *mcrx_sub_config(const mcrx_sub *sub);
MCRX_API mcrx_sub_state mcrx_sub_get_state(const mcrx_sub *sub);
/* The socket; borrowed: do not close it, and do not read from it while the
 * library receives on it (that would take datagrams out of the accounting).*/
MCRX_API mcrx_socket_t mcrx_sub_fd(const mcrx_sub *sub);
/* The socket's bound address and port. */
MCRX_API int mcrx_sub_local_addr(const mcrx_sub *sub, mcrx_ip *addr, uint16_t *port);
/* Receive buffer the kernel granted (getsockopt SO_RCVBUF: the kernel
 * doubles requests and clamps them to net.core.rmem_max unless forced). */
MCRX_API uint32_t mcrx_sub_rcvbuf(const mcrx_sub *sub);
/* Counters; kernel_drops is refreshed from the socket (SO_MEMINFO) too, so
 * drops are known even when no later datagram carried SO_RXQ_OVFL. */
MCRX_API int mcrx_sub_get_stats(const mcrx_sub *sub, mcrx_sub_stats *out);

/* Join / leave; same rules as mcrx_ctx_join() / mcrx_ctx_leave(). */
MCRX_API int mcrx_sub_join(mcrx_sub *sub);
MCRX_API int mcrx_sub_leave(mcrx_sub *sub);

/* Receive one packet of this subscription only. 1 / 0 / negative status;
 * MCRX_E_NOT_JOINED when not joined. On a borrowed sub this is a receive
 * call on its context (views of the previous call expire). */
MCRX_API int mcrx_sub_try_recv(mcrx_sub *sub, mcrx_packet *out);
MCRX_API int mcrx_sub_try_recv_meta(mcrx_sub *sub, mcrx_packet *out,
                           mcrx_metadata *meta);

/* Receive up to max packets of an extracted subscription in one call, as
 * mcrx_ctx_recv_batch() does for a context (one read fills the batch).
 * max is lowered to the subscription's receiver size (the context's
 * max_batch at take time, at most 64 unless more was read ahead), so
 * fewer than max also comes back when max was above it. Returns the count
 * (0 = nothing ready) or a negative status: MCRX_E_OWNED_BY_CONTEXT for a
 * borrowed sub (use the context's calls), MCRX_E_NOT_JOINED. meta may be
 * NULL. Views expire at the next receive call on the subscription. */
MCRX_API int mcrx_sub_recv_batch(mcrx_sub *sub, mcrx_packet *out, size_t max);
MCRX_API int mcrx_sub_recv_batch_meta(mcrx_sub *sub, mcrx_packet *out,
                                      mcrx_metadata *meta, size_t max);

/* Free an extracted subscription: leave if joined, close the socket.
 * MCRX_E_OWNED_BY_CONTEXT (and nothing done) for a borrowed one. NULL is
 * MCRX_OK. */
MCRX_API int mcrx_sub_free(mcrx_sub *sub);

typedef struct mcrx_sub_parts {
    uint64_t id;
    mcrx_config config;
    mcrx_socket_t fd;       /* now owned by the caller: close it yourself */
    mcrx_sub_state state;   /* JOINED: the membership stays on fd */
} mcrx_sub_parts;

/* Dismantle an extracted subscription: hand its socket (still joined if
 * it was) and config to the caller, and free the rest. On success sub is
 * gone. MCRX_E_OWNED_BY_CONTEXT for a borrowed one. */
MCRX_API int mcrx_sub_into_parts(mcrx_sub *sub, mcrx_sub_parts *out);

#ifdef __cplusplus
}
#endif

#ifdef _WIN32
#pragma pop_macro("interface")
#endif

#endif /* MCRX_MCRX_H */
