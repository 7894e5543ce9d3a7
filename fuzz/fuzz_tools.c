/*
 * libFuzzer target: the demo tools' command-line parsing (tools/common.c:
 * tool_parse_cli, tool_parse_u64, tool_parse_positive_double,
 * tool_parse_port; tools/recv_main.c: tool_recv_parse, which ends in
 * mcrx_config_parse, with and without a receiver's extra options).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The tools answer a bad command line with exit(2) (and --help with
 * exit(0)); that is their documented behaviour and stays as it is. Here
 * both sources are compiled into this file with `exit` renamed to
 * fuzz_exit(), which longjmps back to the harness: the parsers run
 * unchanged, and an exit is just the end of one input. Nothing they run
 * before exiting holds memory (checked by LeakSanitizer at the end).
 *
 * Input: argv entries separated by NUL bytes (at most 16), after
 * argv[0] = "mcrx_recv". The first byte picks the mode: even = the whole
 * receiver command line, odd = one number parser on the rest.
 */
#include <stdint.h>

#include "tool_exit.h"
#include "../tools/common.c"
#include "../tools/compat.c"
#include "../tools/recv_main.c"
#include "../tools/metrics_out.c"
#undef exit

#define MAX_ARGS 16

static void extra_opt(void *ud, int id, const char *name, const char *value)
{
    (void)ud;
    (void)name;
    if (id == TOOL_RECV_OPT_EXTRA && value)
        (void)tool_parse_u64("--extra", value, 1, 1000);
}

static const struct tool_opt extra_opts[] = {
    {"extra", true, TOOL_RECV_OPT_EXTRA},
    {"flag", false, TOOL_RECV_OPT_EXTRA + 1},
};
static const struct tool_recv_extra extra = {
    extra_opts, sizeof extra_opts / sizeof extra_opts[0], extra_opt, NULL,
    "  --extra N          (fuzz) an extra option with a value\n"};

static void run_numbers(const char *text, unsigned which)
{
    switch (which % 3) {
    case 0: (void)tool_parse_u64("n", text, 1, UINT64_MAX); break;
    case 1: (void)tool_parse_positive_double("t", text); break;
    default: (void)tool_parse_port(text); break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    unsigned mode = data[0];
    /* One NUL-terminated copy of everything after the mode byte; argv
     * points into it. */
    char *buf = malloc(size);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';

    char *argv[MAX_ARGS + 2];
    /* volatile: read after the setjmp below (gcc's -Wclobbered) */
    volatile int argc = fuzz_split_args(buf, size - 1, "mcrx_recv", argv, MAX_ARGS);
    if (size == 1) { /* one empty argument */
        argv[argc] = buf;
        argv[++argc] = NULL;
    }

    if (setjmp(fuzz_back) == 0) {
        if (mode & 1) {
            run_numbers(argv[1], mode >> 1);
        } else {
            /* Bit 1: with an extra option, as mcrx_recv_async adds its own. */
            struct tool_recv_args a;
            tool_recv_parse(argc, argv, "mcrx_recv", mode & 4,
                            (mode & 2) ? &extra : NULL, &a);
            if (mcrx_config_validate(&a.cfg) != MCRX_OK)
                abort(); /* accepted arguments must make a valid config */
        }
    } else {
        fuzz_check_exit();
    }
    free(buf);
    return 0;
}
