/*
 * libFuzzer target: mcrx_send's own command-line pieces (tools/mcrx_send.c):
 * its address parser parse_addr() (address, "%zone" by index or name), the
 * interface resolution resolve_interface(), and its option walk
 * (send_parse_cli).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * As in fuzz_tools.c, the sources are compiled into this file with `exit`
 * renamed to a longjmp back to the harness (and `main` renamed, unused):
 * the tool's behaviour (exit 2 on a bad command line) is unchanged.
 *
 * Input: byte 0 picks the mode (% 4: parse_addr, resolve_interface for
 * IPv4, for IPv6, the option walk); the rest is the text, or for the walk
 * NUL-separated argv entries.
 */
#include <stdint.h>

#include "tool_exit.h"
#define main mcrx_send_main
#include "../tools/common.c"
#include "../tools/compat.c"
#include "../tools/mcrx_send.c"
#undef main
#undef exit

#define MAX_ARGS 16

/* Not inlined: its locals live past no setjmp of the caller. */
__attribute__((noinline)) static void walk(char *buf, size_t len)
{
    char *argv[MAX_ARGS + 2];
    int argc = fuzz_split_args(buf, len, "mcrx_send", argv, MAX_ARGS);
    struct send_args a;
    const char *pos[5] = {0};
    int npos = send_parse_cli(argc, argv, &a, pos);
    if (npos > 5)
        abort();
    if (npos >= 2)
        (void)tool_parse_port(pos[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    unsigned mode = data[0] % 4;
    char *buf = malloc(size);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    tool_cli_init("mcrx_send", send_usage);

    if (setjmp(fuzz_back) == 0) {
        struct addr ad;
        struct out_if oif;
        switch (mode) {
        case 0:
            if (parse_addr(buf, &ad) && ad.family != AF_INET && ad.family != AF_INET6)
                abort();
            if (parse_addr(buf, &ad) && ad.family == AF_INET && ad.zone)
                abort(); /* IPv4 has no zone */
            break;
        case 1: resolve_interface(buf, AF_INET, &oif); break;
        case 2: resolve_interface(buf, AF_INET6, &oif); break;
        default: walk(buf, size - 1); break;
        }
    } else {
        fuzz_check_exit();
    }
    free(buf);
    return 0;
}
