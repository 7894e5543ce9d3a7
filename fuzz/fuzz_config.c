/*
 * libFuzzer target: the text parsers of subscriptions.
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Input: up to four fields separated by '\n' -- group, port (decimal),
 * source, interface -- fed to mcrx_config_parse(); every field is also fed
 * to mcrx_ip_parse(). Interface texts reach every form: addresses,
 * addresses with a %zone (name or index), names and indexes (resolved
 * against the interfaces of the namespace the fuzzer runs in).
 *
 * Properties checked besides "no crash, no sanitizer report":
 * - a parsed address formats, and the text parses back to the same value;
 * - a parsed config validates (mcrx_config_parse promises a valid config);
 * - on failure the output is untouched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcrx/mcrx.h"

#define FIELDS 4

static void check_ip(const char *text)
{
    mcrx_ip ip, back;
    memset(&ip, 0xa5, sizeof ip);
    mcrx_ip saved = ip;
    int st = mcrx_ip_parse(&ip, text);
    if (st != MCRX_OK) {
        if (memcmp(&ip, &saved, sizeof ip) != 0)
            abort(); /* failure must leave *out untouched */
        return;
    }
    char buf[MCRX_IP_STRLEN];
    if (mcrx_ip_format(&ip, buf, sizeof buf) != MCRX_OK)
        abort();
    if (mcrx_ip_parse(&back, buf) != MCRX_OK || !mcrx_ip_equal(&ip, &back) ||
        back.scope_id != ip.scope_id)
        abort(); /* format and parse disagree */
    /* A too-small buffer is a status, never an overflow. */
    size_t n = strlen(buf);
    char *tight = malloc(n);
    if (tight && n && mcrx_ip_format(&ip, tight, n) != MCRX_E_INVALID_ARG)
        abort();
    free(tight);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Each field in its own exact-size heap copy: an over-read of any of
     * them is an ASan report. */
    char *field[FIELDS] = {0};
    size_t start = 0;
    for (int f = 0; f < FIELDS && start <= size; f++) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - data) : size;
        if (f == FIELDS - 1)
            end = size; /* the interface field takes the rest */
        field[f] = malloc(end - start + 1);
        if (!field[f])
            goto out;
        memcpy(field[f], data + start, end - start);
        field[f][end - start] = '\0';
        start = end + 1;
    }
    for (int f = 0; f < FIELDS; f++)
        if (field[f])
            check_ip(field[f]);

    if (field[0]) {
        uint16_t port = field[1] ? (uint16_t)strtoul(field[1], NULL, 10) : 0;
        mcrx_config cfg;
        memset(&cfg, 0x5a, sizeof cfg);
        mcrx_config saved = cfg;
        int st = mcrx_config_parse(&cfg, field[0], port, field[2], field[3]);
        if (st == MCRX_OK) {
            if (mcrx_config_validate(&cfg) != MCRX_OK)
                abort();
        } else if (memcmp(&cfg, &saved, sizeof cfg) != 0) {
            abort();
        }
        if (mcrx_strerror(st) == NULL || mcrx_status_name(st) == NULL)
            abort();
    }
out:
    for (int f = 0; f < FIELDS; f++)
        free(field[f]);
    return 0;
}
