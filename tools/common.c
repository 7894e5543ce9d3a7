/*
 * Shared code of the demo tools: command line, numbers, printing, backend.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"
#include "compat.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *g_prog = "mcrx-tool";
static const char *g_usage = "";

void tool_cli_init(const char *prog, const char *usage)
{
    g_prog = prog;
    g_usage = usage;
}

const char *tool_prog(void) { return g_prog; }

static void vreport(const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "%s: ", g_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void tool_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
}

void tool_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    /* The synopsis (first line of the usage text), then a pointer. */
    const char *nl = strchr(g_usage, '\n');
    int n = nl ? (int)(nl - g_usage) : (int)strlen(g_usage);
    fprintf(stderr, "%.*s\nTry '%s --help' for more.\n", n, g_usage, g_prog);
    exit(TOOL_EXIT_USAGE);
}

/* ---- command line ---------------------------------------------------- */

static const struct tool_opt *find_opt(const struct tool_opt *opts,
                                       size_t nopts, const char *name,
                                       size_t namelen)
{
    for (size_t i = 0; i < nopts; i++)
        if (strlen(opts[i].name) == namelen &&
            memcmp(opts[i].name, name, namelen) == 0)
            return &opts[i];
    return NULL;
}

int tool_parse_cli(int argc, char **argv, const struct tool_opt *opts,
                   size_t nopts, tool_opt_fn fn, void *ud, const char **pos,
                   int max_pos)
{
    int npos = 0;
    bool opts_done = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool is_opt = !opts_done && a[0] == '-' && a[1] != '\0';
        if (!is_opt) {
            if (npos >= max_pos)
                tool_usage_error("too many arguments (unexpected '%s')", a);
            pos[npos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            opts_done = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(g_usage, stdout);
            exit(TOOL_EXIT_OK);
        }
        if (a[1] != '-')
            tool_usage_error("unknown option '%s'", a);
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t namelen = eq ? (size_t)(eq - name) : strlen(name);
        const struct tool_opt *o = find_opt(opts, nopts, name, namelen);
        if (!o)
            tool_usage_error("unknown option '--%.*s'", (int)namelen, name);
        const char *value = NULL;
        if (o->has_value) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                tool_usage_error("option '--%s' needs a value", o->name);
        } else if (eq) {
            tool_usage_error("option '--%s' takes no value", o->name);
        }
        fn(ud, o->id, o->name, value);
    }
    return npos;
}

uint64_t tool_parse_u64(const char *what, const char *text, uint64_t min,
                        uint64_t max)
{
    const char *p = text;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p < '0' || *p > '9') /* rejects "", "-1", "+1", "abc" */
        tool_usage_error("bad %s '%s': not a number", what, text);
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno == ERANGE || *end != '\0')
        tool_usage_error("bad %s '%s': not a number", what, text);
    if (v < min || v > max)
        tool_usage_error("bad %s '%s': must be %" PRIu64 "..%" PRIu64, what,
                         text, min, max);
    return (uint64_t)v;
}

double tool_parse_positive_double(const char *what, const char *text)
{
    errno = 0;
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v))
        tool_usage_error("bad %s '%s': not a number", what, text);
    if (!(v > 0))
        tool_usage_error("bad %s '%s': must be greater than 0", what, text);
    return v;
}

uint16_t tool_parse_port(const char *text)
{
    return (uint16_t)tool_parse_u64("port", text, 1, 65535);
}

/* ---- printing -------------------------------------------------------- */

const char *tool_ip_str(const mcrx_ip *ip, char buf[MCRX_IP_STRLEN])
{
    if (ip->family == MCRX_AF_UNSPEC ||
        mcrx_ip_format(ip, buf, MCRX_IP_STRLEN) != MCRX_OK)
        snprintf(buf, MCRX_IP_STRLEN, "none");
    return buf;
}

const char *tool_addr_str(const mcrx_ip *ip, uint16_t port,
                          char buf[TOOL_ADDR_STRLEN])
{
    char a[MCRX_IP_STRLEN];
    tool_ip_str(ip, a);
    if (ip->family == MCRX_AF_INET6)
        snprintf(buf, TOOL_ADDR_STRLEN, "[%s]:%u", a, (unsigned)port);
    else
        snprintf(buf, TOOL_ADDR_STRLEN, "%s:%u", a, (unsigned)port);
    return buf;
}

#define PREVIEW_MAX 64

void tool_print_payload(FILE *f, const uint8_t *p, size_t len)
{
    size_t n = len < PREVIEW_MAX ? len : PREVIEW_MAX;
    bool text = true;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7e)
            text = false;

    fputs("       payload: ", f);
    if (len == 0) {
        fputs("(empty)\n", f);
        return;
    }
    if (text) {
        fwrite(p, 1, n, f);
    } else {
        fputs("hex", f);
        for (size_t i = 0; i < n; i++)
            fprintf(f, " %02x", p[i]);
    }
    if (len > n)
        fprintf(f, " ... (%zu bytes)", len);
    fputc('\n', f);
}

void tool_print_packet(FILE *f, const mcrx_packet *pkt)
{
    char src[TOOL_ADDR_STRLEN], grp[MCRX_IP_STRLEN];
    fprintf(f, "[recv] sub=%" PRIu64 " src=%s group=%s dst_port=%u len=%zu",
            pkt->sub_id, tool_addr_str(&pkt->source, pkt->source_port, src),
            tool_ip_str(&pkt->group, grp), (unsigned)pkt->dst_port, pkt->len);
    if (pkt->flags & MCRX_PKT_TRUNCATED)
        fprintf(f, " truncated wire_len=%zu", pkt->wire_len);
    fputc('\n', f);
}

void tool_print_meta(FILE *f, const mcrx_metadata *m)
{
    char dst[MCRX_IP_STRLEN] = "-", local[TOOL_ADDR_STRLEN], cfg_if[MCRX_IP_STRLEN];
    char ifindex[16] = "-", cfg_ifindex[16] = "none", ts[32] = "-", drops[16] = "-";

    if (m->flags & MCRX_META_DESTINATION)
        tool_ip_str(&m->destination, dst);
    if (m->flags & MCRX_META_IFINDEX)
        snprintf(ifindex, sizeof ifindex, "%" PRIu32, m->ingress_ifindex);
    if (m->configured_interface_index)
        snprintf(cfg_ifindex, sizeof cfg_ifindex, "%" PRIu32,
                 m->configured_interface_index);
    if (m->flags & MCRX_META_TIMESTAMP)
        snprintf(ts, sizeof ts, "%" PRId64, m->timestamp_ns);
    if (m->flags & MCRX_META_DROPS)
        snprintf(drops, sizeof drops, "%" PRIu32, m->kernel_drops);

    fprintf(f, "[meta] dst=%s ifindex=%s local=%s cfg_if=%s cfg_ifindex=%s "
               "ts=%s drops=%s\n",
            dst, ifindex,
            tool_addr_str(&m->socket_local_addr, m->socket_local_port, local),
            tool_ip_str(&m->configured_interface, cfg_if), cfg_ifindex, ts,
            drops);
}

/* ---- library --------------------------------------------------------- */

void tool_report_status(const char *what, int status)
{
    int err = mcrx_last_os_error();
    if (mcrx_status_is_os_error(status) && err != 0)
        tool_err("%s: %s (%s): %s", what, mcrx_strerror(status),
                 mcrx_status_name(status), tool_os_strerror(err));
    else
        tool_err("%s: %s (%s)", what, mcrx_strerror(status),
                 mcrx_status_name(status));
}

static void compiled_list(char *buf, size_t len)
{
    static const mcrx_backend_kind kinds[] = {
        MCRX_BACKEND_RECVMMSG, MCRX_BACKEND_IOURING, MCRX_BACKEND_KQUEUE,
        MCRX_BACKEND_IOCP, MCRX_BACKEND_WSAPOLL};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (!mcrx_backend_compiled(kinds[i]))
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                         mcrx_backend_name(kinds[i]));
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
}

mcrx_ctx *tool_ctx_create(uint32_t max_payload, bool timestamps)
{
    mcrx_ctx_options opts;
    mcrx_ctx_options_init(&opts);
    opts.timestamps = timestamps;
    if (max_payload)
        opts.max_payload = max_payload;

    const char *env = getenv("MCRX_BACKEND");
    if (env && *env) {
        int st = mcrx_backend_parse(env, &opts.backend);
        if (st != MCRX_OK) {
            char list[128];
            compiled_list(list, sizeof list);
            tool_err("MCRX_BACKEND=%s: unknown backend or not compiled into "
                     "this build (compiled: %s; or 'default')",
                     env, list);
            exit(TOOL_EXIT_BACKEND);
        }
    }

    mcrx_ctx *ctx = NULL;
    int st = mcrx_ctx_new(&ctx, &opts);
    if (st == MCRX_E_BACKEND_UNAVAILABLE) {
        int err = mcrx_last_os_error();
        tool_err("backend %s cannot run on this machine%s%s%s",
                 mcrx_backend_name(opts.backend),
                 err ? " (" : "", err ? tool_os_strerror(err) : "", err ? ")" : "");
        if (env && *env)
            tool_err("unset MCRX_BACKEND or pick another backend");
        exit(TOOL_EXIT_BACKEND);
    }
    if (st != MCRX_OK) {
        tool_report_status("cannot create context", st);
        exit(TOOL_EXIT_FAIL);
    }
    if (mcrx_ctx_backend_fell_back(ctx)) {
        int os_error = 0;
        int why = mcrx_ctx_fallback_reason(ctx, &os_error);
        tool_err("note: preferred backend unavailable here (%s%s%s%s), using %s",
                 mcrx_strerror(why), os_error ? ": " : "",
                 os_error ? tool_os_strerror(os_error) : "", "",
                 mcrx_backend_name(mcrx_ctx_backend(ctx)));
    }
    return ctx;
}

/* ---- time ------------------------------------------------------------ */

double tool_now(void)
{
    return (double)tool_mono_ns() / 1e9;
}

void tool_set_once(const char **slot, const char *name, const char *value)
{
    if (*slot)
        tool_usage_error("--%s given twice", name);
    *slot = value;
}
