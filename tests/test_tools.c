/*
 * The demo tools (tools/): mcrx_recv, mcrx_recv_meta and mcrx_send run as
 * child processes (paths in MCRX_TOOL_RECV, MCRX_TOOL_RECV_META,
 * MCRX_TOOL_SEND), inside this program's private network namespace.
 * Command-line errors (exit 2 + usage on stderr), backend selection with
 * MCRX_BACKEND (ready banner, exit 3), and real delivery: IPv4 ASM on lo,
 * IPv4 SSM and IPv6 SSM across the veth pair (a second source is not
 * received), the --count / --timeout exit statuses, and the [meta] line.
 * Registered once per backend: the receivers get MCRX_BACKEND set to the
 * backend under test (MCRX_TEST_BACKEND).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FILE_NO 14
#define PORT(t) ((uint16_t)(MT_PORT_BASE_TOOLS + 10 * (t)))

TestSuite(tools, .timeout = 60);

#define HOOK "MCRX_TEST_IOURING_UNAVAILABLE"

static const char *tool_path(const char *var)
{
    const char *p = getenv(var);
    cr_assert_not_null(p, "%s (path of the tool) is not set", var);
    cr_assert_eq(access(p, X_OK), 0, "%s=%s: %s", var, p, strerror(errno));
    return p;
}
#define RECV tool_path("MCRX_TOOL_RECV")
#define RECV_META tool_path("MCRX_TOOL_RECV_META")
#define SEND tool_path("MCRX_TOOL_SEND")

/* ------------------------------------------------------------------ */
/* Child processes                                                     */
/* ------------------------------------------------------------------ */

struct buf {
    char *p;
    size_t len, cap;
};

struct proc {
    pid_t pid;
    int fd[2];         /* stdout, stderr; -1 after EOF */
    struct buf b[2];
    int status;        /* exit status, or -signal */
    int64_t t0;        /* start, ms */
};

static void buf_add(struct buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        cr_assert_not_null(b->p);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Environment of a tool: MCRX_BACKEND = backend (NULL: unset), the io_uring
 * hook set when hook is true. */
static void spawn(struct proc *c, const char *backend, bool hook,
                  char *const argv[])
{
    memset(c, 0, sizeof *c);
    int po[2], pe[2];
    cr_assert_eq(pipe2(po, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(pe, O_CLOEXEC), 0);
    fflush(NULL);
    c->t0 = mt_now_ms();
    c->pid = fork();
    cr_assert_geq(c->pid, 0, "fork: %s", strerror(errno));
    if (c->pid == 0) {
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, STDIN_FILENO);
        dup2(po[1], STDOUT_FILENO);
        dup2(pe[1], STDERR_FILENO);
        unsetenv("MCRX_BACKEND");
        unsetenv(HOOK);
        if (backend != NULL)
            setenv("MCRX_BACKEND", backend, 1);
        if (hook)
            setenv(HOOK, "1", 1);
        execv(argv[0], argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    c->fd[0] = po[0];
    c->fd[1] = pe[0];
    buf_add(&c->b[0], "", 0);
    buf_add(&c->b[1], "", 0);
}

/* Whether stdout has a complete line containing s. */
static bool has_line(const struct proc *c, const char *s)
{
    const char *p = strstr(c->b[0].p, s);
    return p != NULL && strchr(p, '\n') != NULL;
}

/* Read both pipes until a complete stdout line contains `until` (NULL:
 * until both pipes are closed) or timeout_ms pass. Returns whether the
 * condition was met. */
static bool pump(struct proc *c, const char *until, int timeout_ms)
{
    int64_t deadline = mt_now_ms() + timeout_ms;
    for (;;) {
        if (until != NULL && has_line(c, until))
            return true;
        if (c->fd[0] < 0 && c->fd[1] < 0)
            return until == NULL;
        int64_t left = deadline - mt_now_ms();
        if (left <= 0)
            return false;
        struct pollfd p[2];
        nfds_t n = 0;
        int which[2];
        for (int i = 0; i < 2; i++)
            if (c->fd[i] >= 0) {
                p[n].fd = c->fd[i];
                p[n].events = POLLIN;
                which[n++] = i;
            }
        int r = poll(p, n, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        cr_assert_geq(r, 0, "poll: %s", strerror(errno));
        for (nfds_t k = 0; k < n; k++) {
            if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char tmp[4096];
            ssize_t got = read(p[k].fd, tmp, sizeof tmp);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                close(c->fd[which[k]]);
                c->fd[which[k]] = -1;
            } else {
                buf_add(&c->b[which[k]], tmp, (size_t)got);
            }
        }
    }
}

static void kill_child(struct proc *c)
{
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
    for (int i = 0; i < 2; i++)
        if (c->fd[i] >= 0) {
            close(c->fd[i]);
            c->fd[i] = -1;
        }
}

/* Wait for the child to close its output and exit; fails the test (after
 * killing it) when that takes longer than timeout_ms. */
static void finish(struct proc *c, int timeout_ms)
{
    if (!pump(c, NULL, timeout_ms)) {
        kill_child(c);
        cr_assert_fail("%s did not finish within %d ms\nstdout:\n%s\nstderr:\n%s",
                       "tool", timeout_ms, c->b[0].p, c->b[1].p);
    }
    int st = 0;
    while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
        ;
    c->status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

static void proc_free(struct proc *c)
{
    free(c->b[0].p);
    free(c->b[1].p);
    c->b[0].p = c->b[1].p = NULL;
}

static void run(struct proc *c, const char *backend, bool hook,
                char *const argv[])
{
    spawn(c, backend, hook, argv);
    finish(c, 15000);
}

#define OUT(c) ((c)->b[0].p)
#define ERR(c) ((c)->b[1].p)

/* The first line starting with prefix (copied into line), or false. */
static bool line_with(const char *text, const char *prefix, char *line,
                      size_t cap)
{
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            snprintf(line, cap, "%.*s", (int)n, p);
            return true;
        }
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

static unsigned count_lines(const char *text, const char *prefix)
{
    unsigned n = 0;
    size_t pl = strlen(prefix);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, prefix, pl) == 0)
            n++;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Backend under test                                                  */
/* ------------------------------------------------------------------ */

/* MCRX_BACKEND for the receivers (NULL: leave unset = build default). */
static const char *test_backend_env(void)
{
    const char *b = getenv("MCRX_TEST_BACKEND");
    return b != NULL && *b != '\0' ? b : NULL;
}

/* The name the banner must show for the backend under test. */
static const char *test_backend_name(void)
{
    mcrx_backend_kind k = mt_backend();
    if (k == MCRX_BACKEND_DEFAULT)
        return NULL; /* whatever the build's default is */
    return mcrx_backend_name(k);
}

static void expect_banner_backend(const struct proc *c, const char *name)
{
    char line[512];
    cr_assert(line_with(OUT(c), "[ready] ", line, sizeof line),
              "no [ready] banner\nstdout:\n%s\nstderr:\n%s", OUT(c), ERR(c));
    const char *b = strstr(line, " backend: ");
    cr_assert_not_null(b, "banner without 'backend: ': %s", line);
    if (name != NULL)
        cr_expect_str_eq(b + 10, name, "banner '%s', want backend %s", line,
                         name);
    else
        cr_expect(strcmp(b + 10, "recvmmsg") == 0 ||
                      strcmp(b + 10, "io_uring") == 0,
                  "banner: %s", line);
}

/* ------------------------------------------------------------------ */
/* Bad command lines: exit 2, usage on stderr, nothing on stdout        */
/* ------------------------------------------------------------------ */

static void expect_usage(const char *exe, const char *prog,
                         const char *const args[], const char *mention)
{
    char *argv[16];
    size_t n = 0;
    argv[n++] = (char *)exe;
    char shown[512] = "";
    for (size_t i = 0; args[i] != NULL && n < 15; i++) {
        argv[n++] = (char *)args[i];
        strncat(shown, " ", sizeof shown - strlen(shown) - 1);
        strncat(shown, args[i], sizeof shown - strlen(shown) - 1);
    }
    argv[n] = NULL;
    struct proc c;
    run(&c, test_backend_env(), false, argv);
    char head[64], usage[64], try[64];
    snprintf(head, sizeof head, "%s: ", prog);
    snprintf(usage, sizeof usage, "Usage: %s ", prog);
    snprintf(try, sizeof try, "Try '%s --help'", prog);
    cr_expect_eq(c.status, 2, "%s%s: exit %d, want 2\nstderr:\n%s", prog, shown,
                 c.status, ERR(&c));
    cr_expect_str_eq(OUT(&c), "", "%s%s printed on stdout:\n%s", prog, shown,
                     OUT(&c));
    cr_expect_eq(strncmp(ERR(&c), head, strlen(head)), 0,
                 "%s%s: stderr does not start with '%s':\n%s", prog, shown,
                 head, ERR(&c));
    cr_expect_not_null(strstr(ERR(&c), usage), "%s%s: no usage line:\n%s",
                       prog, shown, ERR(&c));
    cr_expect_not_null(strstr(ERR(&c), try), "%s%s: stderr:\n%s", prog, shown,
                       ERR(&c));
    if (mention != NULL)
        cr_expect_not_null(strstr(ERR(&c), mention),
                           "%s%s: message does not mention '%s':\n%s", prog,
                           shown, mention, ERR(&c));
    proc_free(&c);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void recv_usage_cases(const char *exe, const char *prog)
{
    expect_usage(exe, prog, (const char *const[]){ NULL }, "missing GROUP");
    expect_usage(exe, prog, ARGS("239.77.14.1"), "missing PORT");
    expect_usage(exe, prog, ARGS("239.77.14.1", "0"), "port");
    expect_usage(exe, prog, ARGS("239.77.14.1", "65536"), "port");
    expect_usage(exe, prog, ARGS("239.77.14.1", "50x"), "port");
    expect_usage(exe, prog, ARGS("192.0.2.1", "5000"), NULL);
    expect_usage(exe, prog, ARGS("not-an-address", "5000"), "group");
    expect_usage(exe, prog, ARGS("232.77.14.1", "5000"), NULL); /* SSM, no source */
    expect_usage(exe, prog, ARGS("239.77.14.1", "5000", "--count", "0"), "--count");
    expect_usage(exe, prog, ARGS("239.77.14.1", "5000", "--count"), "needs a value");
    expect_usage(exe, prog, ARGS("239.77.14.1", "5000", "--timeout", "0"), "--timeout");
    expect_usage(exe, prog, ARGS("239.77.14.1", "5000", "--timeout", "soon"), "--timeout");
    expect_usage(exe, prog, ARGS("239.77.14.1", "5000", "--bogus"), "--bogus");
    expect_usage(exe, prog, ARGS("239.77.14.1", "5000", "-x"), "-x");
    expect_usage(exe, prog, ARGS("239.77.14.1", "5000", "--quiet=yes"), "takes no value");
    expect_usage(exe, prog, ARGS("239.77.14.1", "5000", "--max-payload", "70000"), "--max-payload");
    expect_usage(exe, prog, ARGS("239.77.14.1", "5000", "any", "lo", "extra"), "too many");
    expect_usage(exe, prog, ARGS("232.77.14.1", "5000", "192.0.2.2", "--source", "192.0.2.3"), "SOURCE");
    expect_usage(exe, prog, ARGS("232.77.14.1", "5000", "bad-source"), NULL);
    expect_usage(exe, prog, ARGS("239.77.14.1", "5000", "--interface", "nosuchif0"), "interface");
    expect_usage(exe, prog, ARGS("239.77.14.1", "5000", "--interface", "198.51.100.7"), "interface");
}

Test(tools, recv_bad_arguments_exit_2_with_usage)
{
    recv_usage_cases(RECV, "mcrx_recv");
}

Test(tools, recv_meta_bad_arguments_exit_2_with_usage)
{
    recv_usage_cases(RECV_META, "mcrx_recv_meta");
}

Test(tools, send_bad_arguments_exit_2_with_usage)
{
    const char *exe = SEND;
    const char *p = "mcrx_send";
    expect_usage(exe, p, (const char *const[]){ NULL }, "missing GROUP");
    expect_usage(exe, p, ARGS("239.77.14.1"), "missing PORT");
    expect_usage(exe, p, ARGS("239.77.14.1", "5000"), "missing MESSAGE");
    expect_usage(exe, p, ARGS("239.77.14.1", "0", "hi"), "port");
    expect_usage(exe, p, ARGS("239.77.14.1", "99999", "hi"), "port");
    expect_usage(exe, p, ARGS("192.0.2.1", "5000", "hi"), "not a multicast");
    expect_usage(exe, p, ARGS("nonsense", "5000", "hi"), "group");
    expect_usage(exe, p, ARGS("239.77.14.1", "5000", "hi", "ten"), "INTERVAL_MS");
    expect_usage(exe, p, ARGS("239.77.14.1", "5000", "hi", "10", "--rate", "5"), "not both");
    expect_usage(exe, p, ARGS("239.77.14.1", "5000", "hi", "--rate", "0"), "--rate");
    expect_usage(exe, p, ARGS("239.77.14.1", "5000", "hi", "--len", "65536"), "--len");
    expect_usage(exe, p, ARGS("239.77.14.1", "5000", "hi", "--count", "0"), "--count");
    expect_usage(exe, p, ARGS("239.77.14.1", "5000", "hi", "--interface", "nosuchif0"), "nosuchif0");
    expect_usage(exe, p, ARGS("239.77.14.1", "5000", "hi", "--source-addr", "2001:db8:77::2"), "differ in family");
    expect_usage(exe, p, ARGS("239.77.14.1", "5000", "hi", "--source-addr", "x.y"), "--source-addr");
    expect_usage(exe, p, ARGS("239.77.14.1", "5000", "hi", "--bogus"), "--bogus");
    expect_usage(exe, p, ARGS("239.77.14.1", "5000", "hi", "0", "lo", "extra"), "too many");
}

Test(tools, help_exits_0_with_usage_on_stdout)
{
    struct { const char *exe, *prog; } t[] = {
        { RECV, "mcrx_recv" }, { RECV_META, "mcrx_recv_meta" },
        { SEND, "mcrx_send" } };
    for (size_t i = 0; i < 3; i++) {
        char *argv[] = { (char *)t[i].exe, "--help", NULL };
        struct proc c;
        run(&c, test_backend_env(), false, argv);
        char usage[64];
        snprintf(usage, sizeof usage, "Usage: %s ", t[i].prog);
        cr_expect_eq(c.status, 0, "%s --help: exit %d", t[i].prog, c.status);
        cr_expect_eq(strncmp(OUT(&c), usage, strlen(usage)), 0,
                     "%s --help:\n%s", t[i].prog, OUT(&c));
        cr_expect_str_eq(ERR(&c), "");
        proc_free(&c);
    }
}

/* ------------------------------------------------------------------ */
/* Backend selection                                                   */
/* ------------------------------------------------------------------ */

/* A receiver that joins (IPv4 ASM on lo) and exits 0 at --timeout. */
static void quick_recv(struct proc *c, const char *exe, unsigned test,
                       const char *backend, bool hook)
{
    char port[16];
    snprintf(port, sizeof port, "%u", PORT(test));
    char *argv[] = { (char *)exe, (char *)mt_group_asm4(FILE_NO, test), port,
                     "--timeout", "0.2", NULL };
    run(c, backend, hook, argv);
}

/* The banner names the backend MCRX_BACKEND asks for, in both receivers. */
Test(tools, banner_names_the_backend)
{
    const char *exes[] = { RECV, RECV_META };
    for (int e = 0; e < 2; e++) {
        struct proc c;
        quick_recv(&c, exes[e], 1, test_backend_env(), false);
        cr_expect_eq(c.status, 0, "exit %d\nstderr:\n%s", c.status, ERR(&c));
        expect_banner_backend(&c, test_backend_name());
        cr_expect_not_null(strstr(OUT(&c), "[done] received=0\n"), "%s", OUT(&c));
        cr_expect_str_eq(ERR(&c), "", "stderr: %s", ERR(&c));
        proc_free(&c);

        /* every spelling of every compiled backend */
        struct { const char *env, *name; mcrx_backend_kind k; } sp[] = {
            { "recvmmsg", "recvmmsg", MCRX_BACKEND_RECVMMSG },
            { "iouring", "io_uring", MCRX_BACKEND_IOURING },
            { "io_uring", "io_uring", MCRX_BACKEND_IOURING },
        };
        for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++) {
            if (!mcrx_backend_compiled(sp[i].k))
                continue;
            quick_recv(&c, exes[e], 1, sp[i].env, false);
            cr_expect_eq(c.status, 0, "MCRX_BACKEND=%s: exit %d\nstderr:\n%s",
                         sp[i].env, c.status, ERR(&c));
            expect_banner_backend(&c, sp[i].name);
            proc_free(&c);
        }
    }
}

Test(tools, unknown_backend_exits_3)
{
    const char *exes[] = { RECV, RECV_META };
    const char *bad[] = { "bogus", "kqueue" };
    for (int e = 0; e < 2; e++) {
        for (int i = 0; i < 2; i++) {
            struct proc c;
            quick_recv(&c, exes[e], 2, bad[i], false);
            cr_expect_eq(c.status, 3, "MCRX_BACKEND=%s: exit %d, want 3",
                         bad[i], c.status);
            cr_expect_null(strstr(OUT(&c), "[ready]"),
                           "MCRX_BACKEND=%s still ran:\n%s", bad[i], OUT(&c));
            char want[64];
            snprintf(want, sizeof want, "MCRX_BACKEND=%s", bad[i]);
            cr_expect_not_null(strstr(ERR(&c), want), "stderr:\n%s", ERR(&c));
            proc_free(&c);
        }
    }
}

/* MCRX_BACKEND=iouring when io_uring cannot run: exit 3 and a message. */
Test(tools, iouring_unavailable_exits_3)
{
    const char *exes[] = { RECV, RECV_META };
    for (int e = 0; e < 2; e++) {
        struct proc c;
        quick_recv(&c, exes[e], 3, "iouring", true);
        cr_expect_eq(c.status, 3, "exit %d, want 3\nstdout:\n%s\nstderr:\n%s",
                     c.status, OUT(&c), ERR(&c));
        cr_expect_null(strstr(OUT(&c), "[ready]"), "it ran anyway:\n%s", OUT(&c));
        if (mcrx_backend_compiled(MCRX_BACKEND_IOURING)) {
            cr_expect_not_null(strstr(ERR(&c), "io_uring cannot run"),
                               "stderr:\n%s", ERR(&c));
            cr_expect_not_null(strstr(ERR(&c), strerror(ENOSYS)),
                               "no reason (ENOSYS) given:\n%s", ERR(&c));
        } else {
            cr_expect_not_null(strstr(ERR(&c), "not compiled"), "stderr:\n%s",
                               ERR(&c));
        }
        proc_free(&c);
    }
}

/* The default backend falls back to recvmmsg when io_uring cannot run,
 * and the banner says so. */
Test(tools, default_backend_falls_back_in_banner)
{
    const char *exes[] = { RECV, RECV_META };
    for (int e = 0; e < 2; e++) {
        struct proc c;
        quick_recv(&c, exes[e], 4, NULL, false);
        cr_assert_eq(c.status, 0, "exit %d\nstderr:\n%s", c.status, ERR(&c));
        char line[512];
        cr_assert(line_with(OUT(&c), "[ready] ", line, sizeof line));
        bool default_uring = strstr(line, "backend: io_uring") != NULL;
        cr_expect_str_eq(ERR(&c), "");
        proc_free(&c);

        quick_recv(&c, exes[e], 4, "default", true);
        cr_expect_eq(c.status, 0, "exit %d\nstderr:\n%s", c.status, ERR(&c));
        expect_banner_backend(&c, "recvmmsg");
        if (default_uring)
            cr_expect_not_null(strstr(ERR(&c), "using recvmmsg"),
                               "fallback not mentioned on stderr:\n%s", ERR(&c));
        proc_free(&c);

        quick_recv(&c, exes[e], 4, NULL, true);
        cr_expect_eq(c.status, 0);
        expect_banner_backend(&c, "recvmmsg");
        proc_free(&c);
    }
}

/* ------------------------------------------------------------------ */
/* Delivery                                                            */
/* ------------------------------------------------------------------ */

/* Start a receiver and wait for its ready banner (it has joined then). */
static void start_receiver(struct proc *c, char *const argv[])
{
    spawn(c, test_backend_env(), false, argv);
    if (!pump(c, "[ready] ", 5000)) {
        kill_child(c);
        cr_assert_fail("receiver not ready\nstdout:\n%s\nstderr:\n%s", OUT(c),
                       ERR(c));
    }
}

/* Run mcrx_send; returns the source it reported ("addr:port" or
 * "[addr]:port", static buffer). */
static const char *send_tool(const char *group, uint16_t port,
                             const char *msg, unsigned count,
                             const char *source_addr, const char *iface)
{
    static char src[128];
    char p[16], n[16];
    snprintf(p, sizeof p, "%u", port);
    snprintf(n, sizeof n, "%u", count);
    char *argv[16];
    int k = 0;
    argv[k++] = (char *)SEND;
    argv[k++] = (char *)group;
    argv[k++] = p;
    argv[k++] = (char *)msg;
    argv[k++] = "--count";
    argv[k++] = n;
    if (source_addr) {
        argv[k++] = "--source-addr";
        argv[k++] = (char *)source_addr;
    }
    if (iface) {
        argv[k++] = "--interface";
        argv[k++] = (char *)iface;
    }
    argv[k] = NULL;
    struct proc c;
    run(&c, NULL, false, argv);
    cr_assert_eq(c.status, 0, "mcrx_send exit %d\nstderr:\n%s", c.status, ERR(&c));
    char done[64];
    snprintf(done, sizeof done, "[send] done sent=%u\n", count);
    cr_assert_not_null(strstr(OUT(&c), done), "mcrx_send:\n%s", OUT(&c));
    cr_assert_eq(count_lines(OUT(&c), "[send] n="), count);
    src[0] = '\0';
    char line[512];
    if (source_addr && line_with(OUT(&c), "[send] n=1 ", line, sizeof line)) {
        const char *s = strstr(line, " src=");
        cr_assert_not_null(s, "%s", line);
        sscanf(s + 5, "%127s", src);
    }
    proc_free(&c);
    return src;
}

/* Every [recv] line is exactly the expected one and is followed by the
 * payload preview of msg; returns how many there were. */
static unsigned expect_recv_lines(const char *out, const char *src,
                                  const char *group, uint16_t port,
                                  const char *msg, bool meta)
{
    char want[512], pay[256];
    snprintf(want, sizeof want, "[recv] sub=1 src=%s group=%s dst_port=%u len=%zu",
             src, group, port, strlen(msg));
    snprintf(pay, sizeof pay, "       payload: %s", msg);
    unsigned n = 0;
    for (const char *p = strstr(out, "[recv] "); p; p = strstr(p + 1, "\n[recv] ")) {
        if (*p == '\n')
            p++;
        const char *nl = strchr(p, '\n');
        cr_assert_not_null(nl);
        cr_expect_eq((size_t)(nl - p), strlen(want), "line: %.*s\nwant: %s",
                     (int)(nl - p), p, want);
        cr_expect_eq(strncmp(p, want, strlen(want)), 0, "line: %.*s\nwant: %s",
                     (int)(nl - p), p, want);
        const char *l2 = nl + 1;
        cr_expect_eq(strncmp(l2, pay, strlen(pay)), 0 , "payload line: %.40s", l2);
        cr_expect_eq(l2[strlen(pay)], '\n');
        if (meta) {
            const char *l3 = strchr(l2, '\n') + 1;
            cr_expect_eq(strncmp(l3, "[meta] ", 7), 0, "no [meta] after the payload");
        }
        n++;
    }
    return n;
}

static const char *ipfmt(const char *text)
{
    mcrx_ip ip = mt_ip(text);
    return mt_ipstr(&ip);
}

/* The output starts with the [ready] banner of an ASM subscription on the
 * default interface, naming the backend under test. */
static void expect_asm_banner_first(const struct proc *c, const char *g,
                                    uint16_t port)
{
    char banner[256];
    snprintf(banner, sizeof banner,
             "[ready] group=%s dst_port=%u source=any interface=default backend: ",
             g, port);
    cr_expect_eq(strncmp(OUT(c), banner, strlen(banner)), 0, "%s", OUT(c));
    expect_banner_backend(c, test_backend_name());
}

Test(tools, ipv4_asm_on_lo)
{
    const char *g = mt_group_asm4(FILE_NO, 10);
    char port[16];
    snprintf(port, sizeof port, "%u", PORT(10));
    char *argv[] = { (char *)RECV, (char *)g, port, "--count", "3", "--timeout",
                     "10", NULL };
    struct proc c;
    start_receiver(&c, argv);
    const char *src = send_tool(g, PORT(10), "hello", 3, "127.0.0.1", NULL);
    cr_assert_eq(strncmp(src, "127.0.0.1:", 10), 0, "sender src %s", src);
    finish(&c, 15000);
    cr_expect_eq(c.status, 0, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
                 OUT(&c), ERR(&c));
    expect_asm_banner_first(&c, g, PORT(10));
    cr_expect_eq(expect_recv_lines(OUT(&c), src, g, PORT(10), "hello", false), 3u,
                 "%s", OUT(&c));
    cr_expect_not_null(strstr(OUT(&c), "\n[done] received=3\n"), "%s", OUT(&c));
    cr_expect_str_eq(ERR(&c), "");
    proc_free(&c);
}

/* SSM across the veth pair; a second sender (192.0.2.3) sends first and
 * is not received. */
Test(tools, ipv4_ssm_across_veth_rejects_other_source)
{
    const char *g = mt_group_ssm4(FILE_NO, 11);
    char port[16];
    snprintf(port, sizeof port, "%u", PORT(11));
    char *argv[] = { (char *)RECV, (char *)g, port, (char *)MT_V4_TX,
                     (char *)MT_V4_RX, "--count", "3", "--timeout", "10", NULL };
    struct proc c;
    start_receiver(&c, argv);
    send_tool(g, PORT(11), "wrong", 2, MT_V4_TX2, NULL);
    const char *src = send_tool(g, PORT(11), "right", 3, MT_V4_TX, NULL);
    char want_src[32];
    snprintf(want_src, sizeof want_src, "%s:", MT_V4_TX);
    cr_assert_eq(strncmp(src, want_src, strlen(want_src)), 0, "%s", src);
    finish(&c, 15000);
    cr_expect_eq(c.status, 0, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
                 OUT(&c), ERR(&c));
    char banner[256];
    snprintf(banner, sizeof banner,
             "[ready] group=%s dst_port=%u source=%s interface=%s backend: ", g,
             PORT(11), MT_V4_TX, MT_V4_RX);
    cr_expect_eq(strncmp(OUT(&c), banner, strlen(banner)), 0, "%s", OUT(&c));
    cr_expect_eq(expect_recv_lines(OUT(&c), src, g, PORT(11), "right", false), 3u,
                 "%s", OUT(&c));
    cr_expect_null(strstr(OUT(&c), "wrong"), "the other source got through:\n%s",
                   OUT(&c));
    cr_expect_null(strstr(OUT(&c), MT_V4_TX2), "%s", OUT(&c));
    cr_expect_not_null(strstr(OUT(&c), "\n[done] received=3\n"));
    proc_free(&c);

    /* ... and it is not merely late: with --count 4 only the 3 right ones
     * arrive, so the receiver times out with exit 1. */
    char *argv4[] = { (char *)RECV, (char *)g, port, "--source", (char *)MT_V4_TX,
                      "--interface", (char *)MT_V4_RX, "--count", "4",
                      "--timeout", "1.5", NULL };
    start_receiver(&c, argv4);
    send_tool(g, PORT(11), "right", 3, MT_V4_TX, NULL);
    send_tool(g, PORT(11), "wrong", 3, MT_V4_TX2, NULL);
    finish(&c, 15000);
    cr_expect_eq(c.status, 1, "exit %d\nstdout:\n%s", c.status, OUT(&c));
    cr_expect_eq(count_lines(OUT(&c), "[recv] "), 3u, "%s", OUT(&c));
    cr_expect_null(strstr(OUT(&c), "wrong"), "%s", OUT(&c));
    cr_expect_not_null(strstr(OUT(&c), "[done] received=3\n"), "%s", OUT(&c));
    proc_free(&c);
}

Test(tools, ipv6_ssm_across_veth_rejects_other_source)
{
    const char *g = mt_group_ssm6(FILE_NO, 12);
    char port[16];
    snprintf(port, sizeof port, "%u", PORT(12));
    char *argv[] = { (char *)RECV, (char *)g, port, (char *)MT_V6_TX,
                     (char *)MT_IF_RX, "--count", "3", "--timeout", "10", NULL };
    struct proc c;
    start_receiver(&c, argv);
    send_tool(g, PORT(12), "wrong6", 2, MT_V6_TX2, NULL);
    const char *src = send_tool(g, PORT(12), "right6", 3, MT_V6_TX, NULL);
    char want_src[64];
    snprintf(want_src, sizeof want_src, "[%s]:", MT_V6_TX);
    cr_assert_eq(strncmp(src, want_src, strlen(want_src)), 0, "%s", src);
    finish(&c, 15000);
    cr_expect_eq(c.status, 0, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
                 OUT(&c), ERR(&c));
    expect_banner_backend(&c, test_backend_name());
    cr_expect_eq(expect_recv_lines(OUT(&c), src, ipfmt(g), PORT(12), "right6",
                                   false), 3u, "%s", OUT(&c));
    cr_expect_null(strstr(OUT(&c), "wrong6"), "the other source got through:\n%s",
                   OUT(&c));
    cr_expect_not_null(strstr(OUT(&c), "\n[done] received=3\n"));
    proc_free(&c);
}

/* --count not reached by --timeout: exit 1 after about that long. */
Test(tools, timeout_with_too_few_packets_exits_1)
{
    const char *g = mt_group_asm4(FILE_NO, 13);
    char port[16];
    snprintf(port, sizeof port, "%u", PORT(13));
    char *argv[] = { (char *)RECV, (char *)g, port, "--count", "5", "--timeout",
                     "1", NULL };
    struct proc c;
    start_receiver(&c, argv);
    send_tool(g, PORT(13), "only", 2, "127.0.0.1", NULL);
    finish(&c, 15000);
    int64_t ms = mt_now_ms() - c.t0;
    cr_expect_eq(c.status, 1, "exit %d, want 1\nstdout:\n%s", c.status, OUT(&c));
    cr_expect_eq(count_lines(OUT(&c), "[recv] "), 2u, "%s", OUT(&c));
    cr_expect_not_null(strstr(OUT(&c), "[done] received=2\n"), "%s", OUT(&c));
    cr_expect_not_null(strstr(ERR(&c), "received 2 of 5"), "stderr:\n%s", ERR(&c));
    cr_expect_geq(ms, 900, "exited after %lld ms (--timeout 1)", (long long)ms);
    cr_expect_lt(ms, 6000, "exited after %lld ms (--timeout 1)", (long long)ms);
    proc_free(&c);

    /* without --count the timeout is a normal end */
    char *argv0[] = { (char *)RECV, (char *)g, port, "--timeout", "0.3", NULL };
    run(&c, test_backend_env(), false, argv0);
    cr_expect_eq(c.status, 0, "exit %d\nstderr:\n%s", c.status, ERR(&c));
    cr_expect_not_null(strstr(OUT(&c), "[done] received=0\n"), "%s", OUT(&c));
    proc_free(&c);
}

Test(tools, quiet_prints_no_packet_lines)
{
    const char *g = mt_group_asm4(FILE_NO, 14);
    char port[16];
    snprintf(port, sizeof port, "%u", PORT(14));
    char *argv[] = { (char *)RECV, (char *)g, port, "--count", "3", "--timeout",
                     "10", "--quiet", NULL };
    struct proc c;
    start_receiver(&c, argv);
    send_tool(g, PORT(14), "shh", 3, "127.0.0.1", NULL);
    finish(&c, 15000);
    cr_expect_eq(c.status, 0);
    cr_expect_eq(count_lines(OUT(&c), "[recv] "), 0u, "%s", OUT(&c));
    cr_expect_null(strstr(OUT(&c), "payload:"));
    cr_expect_not_null(strstr(OUT(&c), "[done] received=3\n"), "%s", OUT(&c));
    proc_free(&c);
}

/* "[meta] dst=<group> ifindex=<v0> local=<wild>:<port> cfg_if=.. cfg_ifindex=..
 * ts=<ns> drops=<- or n>" after every packet. */
static void expect_meta_lines(const char *out, unsigned n, const char *group,
                              unsigned ifindex, const char *local,
                              uint16_t port, const char *cfg_if,
                              const char *cfg_ifindex)
{
    char want[512];
    snprintf(want, sizeof want,
             "[meta] dst=%s ifindex=%u local=%s:%u cfg_if=%s cfg_ifindex=%s ts=",
             group, ifindex, local, port, cfg_if, cfg_ifindex);
    cr_expect_eq(count_lines(out, "[meta] "), n, "%s", out);
    int64_t now = mt_realtime_ns();
    for (const char *p = strstr(out, "[meta] "); p; p = strstr(p + 1, "\n[meta] ")) {
        if (*p == '\n')
            p++;
        const char *nl = strchr(p, '\n');
        cr_assert_not_null(nl);
        cr_expect_eq(strncmp(p, want, strlen(want)), 0, "line: %.*s\nwant: %s...",
                     (int)(nl - p), p, want);
        if (strncmp(p, want, strlen(want)) != 0)
            continue;
        long long ts = 0;
        char drops[32] = "";
        int k = sscanf(p + strlen(want), "%lld drops=%31s", &ts, drops);
        cr_expect_eq(k, 2, "line: %.*s", (int)(nl - p), p);
        cr_expect(ts > now - 60000000000LL && ts <= now,
                  "timestamp %lld not within the last minute (now %lld)", ts,
                  (long long)now);
        cr_expect(strcmp(drops, "-") == 0 || strspn(drops, "0123456789") == strlen(drops),
                  "drops=%s", drops);
    }
}

Test(tools, recv_meta_ipv4_ssm_meta_line)
{
    const char *g = mt_group_ssm4(FILE_NO, 15);
    char port[16];
    snprintf(port, sizeof port, "%u", PORT(15));
    char *argv[] = { (char *)RECV_META, (char *)g, port, "--source",
                     (char *)MT_V4_TX, "--interface", (char *)MT_V4_RX,
                     "--count", "2", "--timeout", "10", NULL };
    struct proc c;
    start_receiver(&c, argv);
    const char *src = send_tool(g, PORT(15), "meta4", 2, MT_V4_TX, NULL);
    finish(&c, 15000);
    cr_expect_eq(c.status, 0, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
                 OUT(&c), ERR(&c));
    expect_banner_backend(&c, test_backend_name());
    cr_expect_eq(expect_recv_lines(OUT(&c), src, g, PORT(15), "meta4", true), 2u,
                 "%s", OUT(&c));
    expect_meta_lines(OUT(&c), 2, g, mt_ifindex(MT_IF_RX), "0.0.0.0", PORT(15),
                      MT_V4_RX, "none");
    cr_expect_not_null(strstr(OUT(&c), "[done] received=2\n"));
    proc_free(&c);
}

Test(tools, recv_meta_ipv6_ssm_meta_line)
{
    const char *g = mt_group_ssm6(FILE_NO, 16);
    char port[16], idx[16];
    snprintf(port, sizeof port, "%u", PORT(16));
    snprintf(idx, sizeof idx, "%u", mt_ifindex(MT_IF_RX));
    char *argv[] = { (char *)RECV_META, (char *)g, port, (char *)MT_V6_TX,
                     (char *)MT_IF_RX, "--count", "2", "--timeout", "10", NULL };
    struct proc c;
    start_receiver(&c, argv);
    const char *src = send_tool(g, PORT(16), "meta6", 2, MT_V6_TX, NULL);
    finish(&c, 15000);
    cr_expect_eq(c.status, 0, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
                 OUT(&c), ERR(&c));
    cr_expect_eq(expect_recv_lines(OUT(&c), src, ipfmt(g), PORT(16), "meta6", true),
                 2u, "%s", OUT(&c));
    expect_meta_lines(OUT(&c), 2, ipfmt(g), mt_ifindex(MT_IF_RX), "[::]",
                      PORT(16), "none", idx);
    cr_expect_not_null(strstr(OUT(&c), "[done] received=2\n"));
    proc_free(&c);
}

/* As in the crate: an address given as mcrx_send's INTERFACE is also the
 * source it binds to, so an SSM receiver for that source gets the data.
 * IPv6 shows it (IPV6_MULTICAST_IF takes only an index: before, the kernel
 * picked v1's first address, never the second one, 2001:db8:77::3). An
 * interface of :: means "no interface". */
Test(tools, send_interface_address_is_the_source)
{
    const char *g = mt_group_ssm6(FILE_NO, 30);
    char port[16];
    snprintf(port, sizeof port, "%u", PORT(30));
    char *argv[] = { (char *)RECV, (char *)g, port, (char *)MT_V6_TX2,
                     (char *)MT_IF_RX, "--count", "2", "--timeout", "10", NULL };
    struct proc c;
    start_receiver(&c, argv);
    char *sargv[] = { (char *)SEND, (char *)g, port, "via-if", "10", (char *)MT_V6_TX2,
                      "--count", "2", NULL };
    struct proc s;
    run(&s, NULL, false, sargv);
    cr_assert_eq(s.status, 0, "mcrx_send exit %d\n%s", s.status, ERR(&s));
    proc_free(&s);
    finish(&c, 15000);
    cr_expect_eq(c.status, 0, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
                 OUT(&c), ERR(&c));
    cr_expect_eq(count_lines(OUT(&c), "[recv] "), 2u, "%s", OUT(&c));
    proc_free(&c);

    char *nargv[] = { (char *)SEND, (char *)mt_group_asm6(FILE_NO, 31), port, "x",
                      "0", "::", NULL };
    run(&s, NULL, false, nargv);
    cr_expect_eq(s.status, 0, "INTERFACE :: refused: exit %d\n%s", s.status, ERR(&s));
    proc_free(&s);
    proc_free(&c);
}

/* ------------------------------------------------------------------ */
/* The examples (examples/): built by meson, paths in MCRX_EXAMPLE_*    */
/* ------------------------------------------------------------------ */

/* Path of an example, or skip the test (reported as skipped) when that
 * example is not part of this build (uv_recv needs libuv). */
static const char *example_path(const char *var)
{
    const char *p = getenv(var);
    if (p == NULL || *p == '\0')
        cr_skip_test("%s not set: the example is not built here", var);
    return p;
}

/* Bursts of 1, 20, 100, 300 and 1000 datagrams, the next one sent once
 * the receiver has been given a moment to sleep again. */
static unsigned send_bursts(struct proc *c, const char *g, uint16_t port)
{
    static const unsigned sizes[] = { 1, 20, 100, 300, 1000 };
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    unsigned total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        mt_send_seq(&s, g, port, "ex", total, sizes[i]);
        total += sizes[i];
        pump(c, "\x01never", 50); /* read its output meanwhile */
    }
    mt_sender_close(&s);
    return total;
}

/* Run example `var` as "EXAMPLE GROUP PORT 1421 [last]" on test t's group,
 * send it the bursts once it says "ready", and wait for it to exit 0. */
static void run_example(struct proc *c, const char *var, unsigned t,
                        const char *last)
{
    const char *exe = example_path(var);
    const char *g = mt_group_asm4(FILE_NO, t);
    char port[16];
    snprintf(port, sizeof port, "%u", PORT(t));
    char *argv[] = { (char *)exe, (char *)g, port, "1421", (char *)last, NULL };
    spawn(c, test_backend_env(), false, argv);
    cr_assert(pump(c, "ready", 5000), "not ready\n%s\n%s", OUT(c), ERR(c));
    cr_assert_eq(send_bursts(c, g, PORT(t)), 1421u);
    finish(c, 30000);
    cr_expect_eq(c->status, 0, "exit %d\nstdout:\n%.300s\nstderr:\n%s", c->status,
                 OUT(c), ERR(c));
}

Test(tools, example_epoll_loop_receives_every_burst)
{
    struct proc c;
    run_example(&c, "MCRX_EXAMPLE_EPOLL_LOOP", 50, "20000");
    cr_expect_not_null(strstr(OUT(&c), "received 1421 "), "%s", OUT(&c));
    proc_free(&c);
}

Test(tools, example_uv_recv_receives_and_stops_at_count)
{
    struct proc c;
    run_example(&c, "MCRX_EXAMPLE_UV_RECV", 51, NULL);
    unsigned lines = 0;
    for (const char *p = OUT(&c); (p = strstr(p, " bytes from 127.0.0.1:")); p++)
        lines++;
    cr_expect_eq(lines, 1421u, "%.300s", OUT(&c));
    cr_expect_not_null(strstr(OUT(&c), "\nreceived 1421\n"), "%.300s", OUT(&c));
    proc_free(&c);
}

/* ------------------------------------------------------------------ */
/* mcrx_recv_async (built with mcrx-uv, path in MCRX_TOOL_RECV_ASYNC)  */
/* ------------------------------------------------------------------ */

static const char *async_path(void)
{
    const char *p = getenv("MCRX_TOOL_RECV_ASYNC");
    if (p == NULL || *p == '\0')
        cr_skip_test("MCRX_TOOL_RECV_ASYNC not set: mcrx_recv_async is not "
                     "built here (no libuv)");
    return p;
}

/* Same command line as mcrx_recv, plus --also. */
Test(tools, recv_async_bad_arguments_exit_2_with_usage)
{
    const char *exe = async_path();
    recv_usage_cases(exe, "mcrx_recv_async");
    expect_usage(exe, "mcrx_recv_async", ARGS("239.77.14.1", "5000", "--also"),
                 "needs a value");
    expect_usage(exe, "mcrx_recv_async",
                 ARGS("239.77.14.1", "5000", "--also", "not-a-group"), "group");
    expect_usage(exe, "mcrx_recv_async",
                 ARGS("239.77.14.1", "5000", "--also", "239.77.14.2,0"), "port");
    expect_usage(exe, "mcrx_recv_async",
                 ARGS("239.77.14.1", "5000", "--also", "232.77.14.2"), NULL);
}

/* The main subscription and two --also ones (one on another port, one SSM
 * across the veth pair with its source) print mcrx_recv's lines. */
Test(tools, recv_async_receives_every_subscription)
{
    const char *exe = async_path();
    const char *g1 = mt_group_asm4(FILE_NO, 40), *g2 = mt_group_asm4(FILE_NO, 41),
               *g3 = mt_group_ssm4(FILE_NO, 42);
    char port[16], also2[64], also3[96];
    snprintf(port, sizeof port, "%u", PORT(40));
    snprintf(also2, sizeof also2, "%s,%u", g2, PORT(40) + 1);
    snprintf(also3, sizeof also3, "%s,%u,%s", g3, PORT(40) + 2, MT_V4_TX);
    char *argv[] = { (char *)exe, (char *)g1, port, "--also", also2, "--also",
                     also3, "--count", "9", "--timeout", "10", NULL };
    struct proc c;
    start_receiver(&c, argv);
    char src1[128]; /* send_tool's buffer is reused by the next call */
    snprintf(src1, sizeof src1, "%s", send_tool(g1, PORT(40), "one", 3, "127.0.0.1", NULL));
    send_tool(g2, PORT(40) + 1, "two", 3, "127.0.0.1", NULL);
    send_tool(g3, PORT(40) + 2, "wrong", 2, MT_V4_TX2, NULL);
    send_tool(g3, PORT(40) + 2, "three", 3, MT_V4_TX, NULL);
    finish(&c, 15000);
    cr_expect_eq(c.status, 0, "exit %d\nstdout:\n%s\nstderr:\n%s", c.status,
                 OUT(&c), ERR(&c));
    expect_asm_banner_first(&c, g1, PORT(40));
    cr_expect_eq(count_lines(OUT(&c), "[ready] "), 3u, "%s", OUT(&c));
    char banner[256];
    snprintf(banner, sizeof banner, "\n[ready] group=%s dst_port=%u source=%s ",
             g3, PORT(40) + 2, MT_V4_TX);
    cr_expect_not_null(strstr(OUT(&c), banner), "%s", OUT(&c));
    cr_expect_eq(count_lines(OUT(&c), "[recv] sub=1 "), 3u, "%s", OUT(&c));
    cr_expect_eq(count_lines(OUT(&c), "[recv] sub=2 "), 3u, "%s", OUT(&c));
    cr_expect_eq(count_lines(OUT(&c), "[recv] sub=3 "), 3u, "%s", OUT(&c));
    char line[256];
    snprintf(line, sizeof line, "[recv] sub=1 src=%s group=%s dst_port=%u len=3\n"
             "       payload: one\n", src1, g1, PORT(40));
    cr_expect_not_null(strstr(OUT(&c), line), "want:\n%s\ngot:\n%s", line, OUT(&c));
    cr_expect_null(strstr(OUT(&c), "wrong"), "the other source got through");
    cr_expect_not_null(strstr(OUT(&c), "\n[done] received=9\n"), "%s", OUT(&c));
    cr_expect_str_eq(ERR(&c), "");
    proc_free(&c);
}

/* mcrx_recv_async's path (or skip), and test t's ASM group and port. */
struct async_run {
    const char *exe, *g;
    char port[16];
};

static void async_setup(struct async_run *r, unsigned t)
{
    r->exe = async_path();
    r->g = mt_group_asm4(FILE_NO, t);
    snprintf(r->port, sizeof r->port, "%u", PORT(t));
}

/* Ctrl-C: the loop ends, the groups are left, [done], exit 0 (no --count);
 * with --count not reached, exit 1 like mcrx_recv. --stats prints. */
Test(tools, recv_async_ctrl_c_leaves_cleanly)
{
    struct async_run r;
    async_setup(&r, 43);
    const char *g = r.g;
    char *argv[] = { (char *)r.exe, (char *)g, r.port, "--stats", NULL };
    struct proc c;
    start_receiver(&c, argv);
    cr_expect(mt_igmp_has("lo", g), "not joined after [ready]");
    send_tool(g, PORT(43), "x", 2, "127.0.0.1", NULL);
    cr_assert(pump(&c, "[stats] ", 5000), "no [stats] line\n%s", OUT(&c));
    kill(c.pid, SIGINT);
    finish(&c, 5000);
    cr_expect_eq(c.status, 0, "exit %d after SIGINT\nstdout:\n%s\nstderr:\n%s",
                 c.status, OUT(&c), ERR(&c));
    cr_expect_not_null(strstr(OUT(&c), "total=2\n"), "%s", OUT(&c));
    cr_expect_not_null(strstr(OUT(&c), "\n[done] received=2\n"), "%s", OUT(&c));
    cr_expect_str_eq(ERR(&c), "");
    cr_expect_not(mt_igmp_has("lo", g), "still joined after exit");
    proc_free(&c);

    char *argv2[] = { (char *)r.exe, (char *)g, r.port, "--count", "5", NULL };
    start_receiver(&c, argv2);
    kill(c.pid, SIGINT);
    finish(&c, 5000);
    cr_expect_eq(c.status, 1, "exit %d", c.status);
    cr_expect_not_null(strstr(ERR(&c), "interrupted: received 0 of 5"), "%s", ERR(&c));
    proc_free(&c);
}

/* --timeout with too few packets: exit 1; without --count: exit 0. */
Test(tools, recv_async_timeout)
{
    struct async_run r;
    async_setup(&r, 44);
    const char *g = r.g;
    char *argv[] = { (char *)r.exe, (char *)g, r.port, "--count", "5", "--timeout",
                     "1", "--quiet", NULL };
    struct proc c;
    start_receiver(&c, argv);
    send_tool(g, PORT(44), "only", 2, "127.0.0.1", NULL);
    finish(&c, 15000);
    cr_expect_eq(c.status, 1, "exit %d\nstdout:\n%s", c.status, OUT(&c));
    cr_expect_eq(count_lines(OUT(&c), "[recv] "), 0u, "--quiet printed packets");
    cr_expect_not_null(strstr(OUT(&c), "[done] received=2\n"), "%s", OUT(&c));
    cr_expect_not_null(strstr(ERR(&c), "timeout: received 2 of 5"), "%s", ERR(&c));
    proc_free(&c);
    char *argv0[] = { (char *)r.exe, (char *)g, r.port, "--timeout", "0.3", NULL };
    run(&c, test_backend_env(), false, argv0);
    cr_expect_eq(c.status, 0, "exit %d\nstderr:\n%s", c.status, ERR(&c));
    cr_expect_not_null(strstr(OUT(&c), "[done] received=0\n"), "%s", OUT(&c));
    proc_free(&c);
}
