/*
 * libmcrx_alloccount.so: a malloc-counting shim for mcrx_bench.
 *   LD_PRELOAD=bench/libmcrx_alloccount.so mcrx_bench drain --backend ...
 * It interposes malloc, calloc, realloc, free and the aligned allocators,
 * counts every call and forwards to glibc's __libc_* entry points (no dlsym,
 * so no allocation of its own). mcrx_bench finds
 * mcrx_alloccount_snapshot() with dlsym(RTLD_DEFAULT) and reports the heap
 * allocations made during its timed receive loop.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static uint64_t n_alloc, n_free, n_bytes;

#define COUNT(sz)                                                              \
    do {                                                                       \
        __atomic_fetch_add(&n_alloc, 1, __ATOMIC_RELAXED);                     \
        __atomic_fetch_add(&n_bytes, (uint64_t)(sz), __ATOMIC_RELAXED);        \
    } while (0)

__attribute__((visibility("default"))) void
mcrx_alloccount_snapshot(uint64_t *allocs, uint64_t *frees, uint64_t *bytes)
{
    *allocs = __atomic_load_n(&n_alloc, __ATOMIC_RELAXED);
    *frees = __atomic_load_n(&n_free, __ATOMIC_RELAXED);
    *bytes = __atomic_load_n(&n_bytes, __ATOMIC_RELAXED);
}

__attribute__((visibility("default"))) void *malloc(size_t n)
{
    COUNT(n);
    return __libc_malloc(n);
}

__attribute__((visibility("default"))) void *calloc(size_t a, size_t b)
{
    COUNT(a * b);
    return __libc_calloc(a, b);
}

__attribute__((visibility("default"))) void *realloc(void *p, size_t n)
{
    COUNT(n);
    return __libc_realloc(p, n);
}

__attribute__((visibility("default"))) void free(void *p)
{
    if (p)
        __atomic_fetch_add(&n_free, 1, __ATOMIC_RELAXED);
    __libc_free(p);
}

__attribute__((visibility("default"))) void *memalign(size_t al, size_t n)
{
    COUNT(n);
    return __libc_memalign(al, n);
}

__attribute__((visibility("default"))) void *aligned_alloc(size_t al, size_t n)
{
    COUNT(n);
    return __libc_memalign(al, n);
}

__attribute__((visibility("default"))) int posix_memalign(void **out,
                                                          size_t al, size_t n)
{
    if (al < sizeof(void *) || (al & (al - 1)))
        return EINVAL;
    COUNT(n);
    void *p = __libc_memalign(al, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

__attribute__((visibility("default"))) void *valloc(size_t n)
{
    COUNT(n);
    return __libc_memalign(4096, n);
}

__attribute__((visibility("default"))) void *pvalloc(size_t n)
{
    COUNT(n);
    return __libc_memalign(4096, (n + 4095) & ~(size_t)4095);
}
