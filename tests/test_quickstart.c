/*
 * Runs tests/quickstart.c (the README example) and feeds it one datagram.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FILE_NO 12
#define PORT(t) ((uint16_t)(MT_PORT_BASE_QUICKSTART + 10 * (t)))

TestSuite(quickstart, .timeout = 30);

struct child {
    pid_t pid;
    int out; /* its stdout */
};

static struct child start(const char *exe, char *const argv[])
{
    int p[2];
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    fflush(NULL);
    struct child c = { fork(), p[0] };
    cr_assert_geq(c.pid, 0);
    if (c.pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        execv(exe, argv);
        _exit(127);
    }
    close(p[1]);
    return c;
}

static void read_all(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (got += (size_t)n) >= cap - 1)
            break;
    }
    buf[got] = '\0';
}

/* The program prints nothing before a packet, so we learn that it joined
 * from the kernel's membership table. */
static bool wait_joined(const char *ifname, const char *group, int ms)
{
    int64_t deadline = mt_now_ms() + ms;
    while (mt_now_ms() < deadline) {
        if (mt_igmp_has(ifname, group))
            return true;
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return false;
}

Test(quickstart, receives_and_prints_one_datagram)
{
    const char *exe = getenv("MCRX_QUICKSTART");
    cr_assert_not_null(exe, "MCRX_QUICKSTART (path of the quickstart program) unset");
    const char *g = mt_group_asm4(FILE_NO, 1);
    char port[16];
    snprintf(port, sizeof port, "%u", PORT(1));
    char *argv[] = { (char *)exe, (char *)g, port, NULL };
    struct child c = start(exe, argv);
    if (!wait_joined("lo", g, 5000)) {
        kill(c.pid, SIGKILL);
        waitpid(c.pid, NULL, 0);
        cr_assert_fail("quickstart never joined %s", g);
    }
    mt_sender s = mt_sender_v4("127.0.0.1", "lo");
    mt_send(&s, g, PORT(1), "hello, multicast", 16);
    char out[512];
    read_all(c.out, out, sizeof out);
    close(c.out);
    int status = 0;
    cr_assert_eq(waitpid(c.pid, &status, 0), c.pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "quickstart status %#x", status);
    char want[128];
    snprintf(want, sizeof want, "16 bytes from 127.0.0.1:%u: hello, multicast\n",
             s.port);
    cr_expect_str_eq(out, want);
    cr_expect_not(mt_igmp_has("lo", g), "quickstart left its membership behind");
    mt_sender_close(&s);
}

Test(quickstart, reports_a_bad_group)
{
    const char *exe = getenv("MCRX_QUICKSTART");
    cr_assert_not_null(exe);
    char *argv[] = { (char *)exe, "192.0.2.1", "5000", NULL };
    struct child c = start(exe, argv);
    char out[256];
    read_all(c.out, out, sizeof out);
    close(c.out);
    int status = 0;
    cr_assert_eq(waitpid(c.pid, &status, 0), c.pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x", status);
    cr_expect_str_eq(out, "", "printed to stdout on error");
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* README.md shows tests/quickstart.c verbatim: keep them in step. */
Test(quickstart, readme_shows_this_program)
{
    const char *root = getenv("MCRX_SOURCE_ROOT");
    cr_assert_not_null(root, "MCRX_SOURCE_ROOT unset");
    char path[4096];
    snprintf(path, sizeof path, "%s/README.md", root);
    char *readme = slurp(path);
    if (readme == NULL)
        cr_skip_test("no README.md");
    snprintf(path, sizeof path, "%s/tests/quickstart.c", root);
    char *prog = slurp(path);
    cr_assert_not_null(prog);
    const char *sec = strstr(readme, "## Quick start");
    if (sec == NULL) {
        free(readme);
        free(prog);
        cr_skip_test("README.md has no Quick start section");
    }
    const char *start = strstr(sec, "```c\n");
    cr_assert_not_null(start, "no ```c block in the Quick start section");
    start += 5;
    const char *end = strstr(start, "```");
    cr_assert_not_null(end);
    size_t len = (size_t)(end - start);
    cr_expect_eq(len, strlen(prog), "README block (%zu bytes) differs from "
                 "tests/quickstart.c (%zu bytes)", len, strlen(prog));
    cr_expect_eq(strncmp(start, prog, len), 0,
                 "README's Quick start is not tests/quickstart.c");
    free(readme);
    free(prog);
}
