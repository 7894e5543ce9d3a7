/*
 * Runner of the Criterion stand-in (win/criterion/criterion.h): runs every
 * registered test in source order and prints Criterion's report lines.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "criterion/criterion.h"

static struct mtc_test *tests;
static jmp_buf test_exit;
static bool failed;
static char skip_reason[512];

void mtc_register(struct mtc_test *t)
{
    struct mtc_test **pp = &tests; /* keep file and line order */
    while (*pp && (strcmp((*pp)->file, t->file) < 0 ||
                   (strcmp((*pp)->file, t->file) == 0 && (*pp)->line < t->line)))
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
}

void mtc_fail(bool fatal, const char *file, int line, const char *what,
              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[----] %s:%d: Assertion Failed: %s\n[----]   ", file, line, what);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failed = true;
    if (fatal)
        longjmp(test_exit, 1);
}

void mtc_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(skip_reason, sizeof skip_reason, fmt, ap);
    va_end(ap);
    longjmp(test_exit, 2);
}

void mtc_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("[----] ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Counters outside main's frame: main calls setjmp. */
static unsigned tested, passing, failing;

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    for (struct mtc_test *t = tests; t; t = t->next) {
        failed = false;
        skip_reason[0] = '\0';
        int how = setjmp(test_exit);
        if (how == 0) {
            t->fn();
        }
        if (how == 2) {
            fprintf(stderr, "[SKIP] %s::%s: %s\n", t->suite, t->name, skip_reason);
            continue;
        }
        tested++;
        if (failed) {
            failing++;
            fprintf(stderr, "[FAIL] %s::%s\n", t->suite, t->name);
        } else {
            passing++;
            fprintf(stderr, "[PASS] %s::%s\n", t->suite, t->name);
        }
    }
    fprintf(stderr, "[====] Synthesis: Tested: %u | Passing: %u | Failing: %u | Crashing: 0\n",
            tested, passing, failing);
    return failing ? 1 : 0;
}
