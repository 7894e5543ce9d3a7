/*
 * Shared code of the demo tools (mcrx_recv, mcrx_recv_meta, mcrx_send):
 * command-line parsing, number parsing, printing, backend selection and the
 * receive loop both receivers run.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Exit statuses of every tool:
 *   0  success
 *   1  run-time failure (socket, join, receive, send), or fewer packets than
 *      --count arrived before --timeout
 *   2  bad command line (usage printed on stderr)
 *   3  the backend named by MCRX_BACKEND is unknown, not compiled in, or
 *      cannot run on this machine
 */
#ifndef MCRX_TOOLS_COMMON_H
#define MCRX_TOOLS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mcrx/mcrx.h"
#include "metrics_out.h"

enum {
    TOOL_EXIT_OK = 0,
    TOOL_EXIT_FAIL = 1,
    TOOL_EXIT_USAGE = 2,
    TOOL_EXIT_BACKEND = 3
};

/* ---- command line ---------------------------------------------------- */

/* One long option ("--name" or "--name=value" / "--name value"). */
struct tool_opt {
    const char *name;  /* without the leading "--" */
    bool has_value;
    int id;            /* handed to the callback */
};

/* Program name and usage text of the running tool (set by tool_cli_init). */
void tool_cli_init(const char *prog, const char *usage);
const char *tool_prog(void);

/* Print "prog: message", the synopsis (first usage line) and a pointer
 * to --help on stderr; exit 2. */
void tool_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* Print "prog: message" on stderr (no exit). */
void tool_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Called once per option found; value is NULL for options without one.
 * To reject a value the callback calls tool_usage_error(). */
typedef void (*tool_opt_fn)(void *ud, int id, const char *name,
                            const char *value);

/* Walk argv[1..argc): options (from opts, plus -h/--help which prints the
 * usage on stdout and exits 0) may appear anywhere among the positionals;
 * "--" ends the options. Positionals are stored in pos[0..max_pos); more
 * than max_pos is a usage error. Returns how many positionals there were.
 * Unknown options and missing values are usage errors (exit 2). */
int tool_parse_cli(int argc, char **argv, const struct tool_opt *opts,
                   size_t nopts, tool_opt_fn fn, void *ud, const char **pos,
                   int max_pos);

/* Strict number parsing: the whole text must be a number in [min, max].
 * On failure these print a usage error naming `what` and exit 2. */
uint64_t tool_parse_u64(const char *what, const char *text, uint64_t min,
                        uint64_t max);
double tool_parse_positive_double(const char *what, const char *text);
uint16_t tool_parse_port(const char *text);
/* Store an option's value once; a second occurrence is a usage error. */
void tool_set_once(const char **slot, const char *name, const char *value);

/* ---- printing -------------------------------------------------------- */

/* "192.0.2.1" / "2001:db8::1" / "fe80::1%7"; "none" without a family. */
const char *tool_ip_str(const mcrx_ip *ip, char buf[MCRX_IP_STRLEN]);
/* "192.0.2.1:5000" / "[2001:db8::1]:5000". buf >= TOOL_ADDR_STRLEN. */
#define TOOL_ADDR_STRLEN (MCRX_IP_STRLEN + 8)
const char *tool_addr_str(const mcrx_ip *ip, uint16_t port,
                          char buf[TOOL_ADDR_STRLEN]);

/* "       payload: <text>" (printable ASCII) or "       payload: hex ..."
 * (first 64 bytes; "..." and the total when longer). */
void tool_print_payload(FILE *f, const uint8_t *p, size_t len);
/* "[recv] sub=.. src=.. group=.. dst_port=.. len=.." (+ truncation). */
void tool_print_packet(FILE *f, const mcrx_packet *pkt);
/* "[meta] dst=.. ifindex=.. local=..:.. cfg_if=.. cfg_ifindex=.. ts=..
 * drops=.." ("-" for a field the platform did not give). */
void tool_print_meta(FILE *f, const mcrx_metadata *m);

/* ---- library --------------------------------------------------------- */

/* Message for a failed library call: "what: text (NAME)[: errno text]". */
void tool_report_status(const char *what, int status);

/* Create a context with the backend named by $MCRX_BACKEND (unset, empty or
 * "default": the build's default). Exits 3 when that backend is unknown,
 * not compiled in or cannot run; exits 1 on other failures. */
mcrx_ctx *tool_ctx_create(uint32_t max_payload, bool timestamps);

/* ---- time ------------------------------------------------------------ */

/* CLOCK_MONOTONIC in seconds. */
double tool_now(void);

/* ---- receivers ------------------------------------------------------- */

/* The whole program of mcrx_recv (meta = false) and mcrx_recv_meta
 * (meta = true). Returns the exit status. */
int tool_recv_main(int argc, char **argv, const char *prog, bool meta);

/* Building blocks of that program (recv_main.c), shared with
 * mcrx_recv_async so every receiver has the same arguments and output. */
struct tool_recv_args {
    const char *group;
    const char *source;     /* NULL: ASM */
    const char *interface;  /* NULL: default */
    uint16_t port;
    uint64_t count;         /* 0: unlimited */
    double timeout_s;       /* < 0: none */
    bool quiet;
    struct tool_metrics_args metrics; /* --stats, --metrics-* */
    uint32_t max_payload;   /* 0: library default */
    mcrx_config cfg;
};

/* Options a receiver adds to the common ones: ids >= TOOL_RECV_OPT_EXTRA,
 * handed to fn; usage: their lines for --help ("  --x   ...\n"). */
enum { TOOL_RECV_OPT_EXTRA = 100 };
struct tool_recv_extra {
    const struct tool_opt *opts;
    size_t nopts;
    tool_opt_fn fn;
    void *ud;
    const char *usage;
};

/* Parse the receiver command line (usage errors exit 2). extra may be
 * NULL. meta only changes the --help text. */
void tool_recv_parse(int argc, char **argv, const char *prog, bool meta,
                     const struct tool_recv_extra *extra,
                     struct tool_recv_args *a);
/* mcrx_config_parse() with the receivers' usage errors (exit 2). */
void tool_recv_config(mcrx_config *cfg, const char *group, uint16_t port,
                      const char *source, const char *interface);
/* "", "any": no SSM source. */
bool tool_is_any(const char *s);
/* Add and join; returns the id, or 0 after printing why (an interface no
 * address has is a usage error: ctx freed, exit 2). */
uint64_t tool_recv_add_join(mcrx_ctx *ctx, const mcrx_config *cfg,
                            const char *interface);
/* The "[ready] group=.. dst_port=.. source=.. interface=.. backend: .."
 * line of one subscription. */
void tool_recv_banner(const mcrx_config *cfg, const char *source,
                      const char *interface, const mcrx_ctx *ctx);
/* The [recv] and payload lines (and [meta] when m), unless --quiet. */
void tool_recv_packet(const struct tool_recv_args *a, const mcrx_packet *p,
                      const mcrx_metadata *m);
/* --stats and the metrics outputs: struct tool_metrics (metrics_out.h),
 * one sampler of the whole context for every receiver. */
/* "[done] received=N" and the exit status (--count not reached: 1). */
int tool_recv_done(const struct tool_recv_args *a, uint64_t got, bool timed_out);

#endif /* MCRX_TOOLS_COMMON_H */
