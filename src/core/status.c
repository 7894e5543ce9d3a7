/* Status codes: names and messages. SPDX-License-Identifier: BSD-2-Clause */
#include "core/internal.h"
#include "mcrx/mcrx_metrics.h"

#define MCRX_STATUS_TABLE(X)                                                   \
    X(MCRX_OK, "success")                                                      \
    X(MCRX_E_INVALID_ARG, "invalid argument (NULL pointer or unusable value)") \
    X(MCRX_E_PORT_ZERO, "destination port must not be 0")                      \
    X(MCRX_E_GROUP_NOT_MULTICAST, "group is not a multicast address")          \
    X(MCRX_E_SOURCE_MULTICAST, "SSM source must not be a multicast address")   \
    X(MCRX_E_SOURCE_UNSPECIFIED, "SSM source must not be the unspecified address") \
    X(MCRX_E_SOURCE_BROADCAST, "SSM source must not be the broadcast address") \
    X(MCRX_E_SOURCE_FAMILY_MISMATCH, "SSM source and group must be of one address family") \
    X(MCRX_E_SSM_GROUP_V4_RANGE, "IPv4 SSM group must be in 232.0.0.0/8")      \
    X(MCRX_E_ASM_ON_SSM_GROUP, "group is in the SSM range: a source is required") \
    X(MCRX_E_SSM_GROUP_V6_RANGE, "IPv6 SSM group must be in ff3x::/32")        \
    X(MCRX_E_INTERFACE_INDEX_ZERO, "interface index must not be 0")            \
    X(MCRX_E_INTERFACE_INDEX_V4, "an interface index is for IPv6; give IPv4 an interface address") \
    X(MCRX_E_DUPLICATE, "a subscription with the same configuration exists")  \
    X(MCRX_E_BAD_ADDRESS, "not an IPv4 or IPv6 address")                       \
    X(MCRX_E_UNKNOWN_INTERFACE, "no such interface, or it has no address of that family") \
    X(MCRX_E_BAD_OPTION, "context option out of range")                       \
    X(MCRX_E_FAMILY_UNSPEC, "group address has no address family")            \
    X(MCRX_E_INTERFACE_FAMILY_MISMATCH, "interface address and group must be of one address family") \
    X(MCRX_E_V6_SSM_NEEDS_INTERFACE, "IPv6 SSM needs an interface on this platform") \
    X(MCRX_E_NOT_FOUND, "no subscription with that id")                       \
    X(MCRX_E_NOT_JOINED, "subscription is not joined")                        \
    X(MCRX_E_ALREADY_JOINED, "subscription is already joined")                \
    X(MCRX_E_OWNED_BY_CONTEXT, "subscription is owned by a context; take it first") \
    X(MCRX_E_INTERRUPTED, "the wait was interrupted by a signal")             \
    X(MCRX_E_WRONG_THREAD, "this context is bound to the thread that created it (io_uring with coalesce_us)") \
    X(MCRX_E_SOCKET_CREATE, "socket creation failed")                         \
    X(MCRX_E_SOCKET_OPTION, "setting a socket option failed")                 \
    X(MCRX_E_SOCKET_BIND, "binding the socket failed")                        \
    X(MCRX_E_LOCAL_ADDR, "reading the socket's local address failed")         \
    X(MCRX_E_SOCKET_FAMILY, "socket is not a UDP socket of the config's address family") \
    X(MCRX_E_SOCKET_PORT, "socket is not bound to the config's port")         \
    X(MCRX_E_JOIN, "joining the group failed")                                \
    X(MCRX_E_LEAVE, "leaving the group failed")                               \
    X(MCRX_E_RECV, "receiving failed")                                        \
    X(MCRX_E_WAIT, "waiting for readiness failed")                            \
    X(MCRX_E_NO_MEMORY, "out of memory")                                      \
    X(MCRX_E_BACKEND_UNAVAILABLE, "receive backend not compiled in or not usable on this system") \
    X(MCRX_E_METRICS_DISABLED, "metrics are not compiled into this build (-Dmetrics=false)") \
    X(MCRX_E_METRICS_WRONG_THREAD, "metrics snapshot taken off the thread that receives on the context")

const char *mcrx_strerror(int status)
{
    switch (status) {
#define X(code, msg) case code: return msg;
    MCRX_STATUS_TABLE(X)
#undef X
    default: return "unknown mcrx status";
    }
}

const char *mcrx_status_name(int status)
{
    switch (status) {
#define X(code, msg) case code: return #code;
    MCRX_STATUS_TABLE(X)
#undef X
    default: return "MCRX_E_UNKNOWN";
    }
}

bool mcrx_status_is_os_error(int status)
{
    return status <= MCRX_E_SOCKET_CREATE && status >= MCRX_E_NO_MEMORY &&
           status != MCRX_E_SOCKET_FAMILY && status != MCRX_E_SOCKET_PORT;
}

/* The OS error of the last failed call on this thread (see mcrx.h). Set
 * through mcrx_os_error_set() by the platform layer where the OS call
 * failed. */
static _Thread_local int last_os_error;

void mcrx_os_error_set(int os_error) { last_os_error = os_error; }

int mcrx_last_os_error(void) { return last_os_error; }

int mcrx_os_status(int status)
{
    if (mcrx_status_is_os_error(status))
        mcrx_plat_os_error_restore();
    return status;
}
