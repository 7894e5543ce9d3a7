/*
 * Shared by the fuzz targets of the demo tools (fuzz_tools.c, fuzz_send.c).
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Include first, then the tools' sources, then `#undef exit`: their exit()
 * calls become fuzz_exit(), which longjmps back to the setjmp(fuzz_back)
 * of the harness with the status in fuzz_status. The tools themselves are
 * unchanged (a bad command line still exits 2 there).
 */
#ifndef MCRX_FUZZ_TOOL_EXIT_H
#define MCRX_FUZZ_TOOL_EXIT_H

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

static jmp_buf fuzz_back;
static int fuzz_status;

__attribute__((noreturn)) static void fuzz_exit(int status)
{
    fuzz_status = status;
    longjmp(fuzz_back, 1);
}
#define exit fuzz_exit

/* argv[0] = prog, then the NUL-separated strings of buf[0..len) (at most
 * max of them); argv[argc] = NULL. argv has room for max + 2. */
static int fuzz_split_args(char *buf, size_t len, const char *prog, char **argv,
                           int max)
{
    int argc = 0;
    argv[argc++] = (char *)prog;
    for (char *p = buf; p < buf + len && argc <= max; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;
    return argc;
}

/* After a longjmp: parsing may only end in usage (2) or --help (0). */
static void fuzz_check_exit(void)
{
    if (fuzz_status != 2 && fuzz_status != 0)
        abort();
}

#endif
