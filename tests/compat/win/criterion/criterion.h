/*
 * A thin stand-in for Criterion on Windows (mingw-w64; Criterion has no
 * Windows build here): the subset of its macros the suite uses, so the
 * same test sources run under Wine. tests/compat/criterion_win.c holds the
 * runner (main), which prints Criterion's "[SKIP] suite::name: reason",
 * "[FAIL] suite::name" and "Synthesis: Tested: N | Passing: N | Failing: N
 * | Crashing: N" lines, so scripts/test.sh counts the cases the same way.
 * Differences: tests run one after another in one process (no fork), so
 * a crash ends the program (meson reports it failed); .timeout and the
 * other test attributes are accepted and ignored (meson's timeout holds).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MCRX_TESTS_CRITERION_WIN_H
#define MCRX_TESTS_CRITERION_WIN_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct mtc_test {
    const char *suite, *name, *file;
    int line;
    void (*fn)(void);
    struct mtc_test *next;
};

void mtc_register(struct mtc_test *t);
void mtc_fail(bool fatal, const char *file, int line, const char *what,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void mtc_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void mtc_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define Test(suite, name, ...)                                                 \
    static void suite##_##name##_impl(void);                                   \
    static struct mtc_test suite##_##name##_reg = {                            \
        #suite, #name, __FILE__, __LINE__, suite##_##name##_impl, NULL};       \
    __attribute__((constructor)) static void suite##_##name##_ctor(void)       \
    {                                                                          \
        mtc_register(&suite##_##name##_reg);                                   \
    }                                                                          \
    static void suite##_##name##_impl(void)
#define TestSuite(name, ...) extern int mtc_suite_##name

/* The message arguments are optional and start with a string literal. */
#define MTC_CHECK(fatal, cond, what, ...)                                      \
    do {                                                                       \
        if (!(cond))                                                           \
            mtc_fail(fatal, __FILE__, __LINE__, what, "" __VA_ARGS__);         \
    } while (0)

#define cr_assert(c, ...) MTC_CHECK(true, (c), #c, __VA_ARGS__)
#define cr_expect(c, ...) MTC_CHECK(false, (c), #c, __VA_ARGS__)
#define cr_assert_not(c, ...) MTC_CHECK(true, !(c), "!(" #c ")", __VA_ARGS__)
#define cr_expect_not(c, ...) MTC_CHECK(false, !(c), "!(" #c ")", __VA_ARGS__)
#define MTC_CMP(f, a, op, b, ...) MTC_CHECK(f, (a) op (b), #a " " #op " " #b, __VA_ARGS__)
#define cr_assert_eq(a, b, ...) MTC_CMP(true, a, ==, b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) MTC_CMP(false, a, ==, b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) MTC_CMP(true, a, !=, b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) MTC_CMP(false, a, !=, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) MTC_CMP(true, a, <, b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) MTC_CMP(false, a, <, b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) MTC_CMP(true, a, <=, b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) MTC_CMP(false, a, <=, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) MTC_CMP(true, a, >, b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) MTC_CMP(false, a, >, b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) MTC_CMP(true, a, >=, b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) MTC_CMP(false, a, >=, b, __VA_ARGS__)
#define cr_assert_null(p, ...) MTC_CHECK(true, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_null(p, ...) MTC_CHECK(false, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) MTC_CHECK(true, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_expect_not_null(p, ...) MTC_CHECK(false, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) MTC_CHECK(true, strcmp((a), (b)) == 0, #a " eq " #b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...) MTC_CHECK(false, strcmp((a), (b)) == 0, #a " eq " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) MTC_CHECK(true, strcmp((a), (b)) != 0, #a " neq " #b, __VA_ARGS__)
#define cr_expect_str_neq(a, b, ...) MTC_CHECK(false, strcmp((a), (b)) != 0, #a " neq " #b, __VA_ARGS__)
#define cr_assert_arr_eq(a, b, n, ...) MTC_CHECK(true, memcmp((a), (b), (n)) == 0, #a " arr_eq " #b, __VA_ARGS__)
#define cr_expect_arr_eq(a, b, n, ...) MTC_CHECK(false, memcmp((a), (b), (n)) == 0, #a " arr_eq " #b, __VA_ARGS__)
#define cr_assert_fail(...) mtc_fail(true, __FILE__, __LINE__, "fail", "" __VA_ARGS__)
#define cr_expect_fail(...) mtc_fail(false, __FILE__, __LINE__, "fail", "" __VA_ARGS__)
#define cr_skip_test(...) mtc_skip("" __VA_ARGS__)
#define cr_log_info(...) mtc_log(__VA_ARGS__)
#define cr_log_warn(...) mtc_log(__VA_ARGS__)

#endif
