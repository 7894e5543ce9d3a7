/*
 * The public header compiles as strict ISO C11 (-std=c11 -pedantic
 * -Werror, plus the project's warning level): no GNU extensions in it.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <mcrx/mcrx.h>
#include <mcrx/mcrx_metrics.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    mcrx_ctx_options opts;
    mcrx_ctx_options_init(&opts);

    mcrx_ip group;
    memset(&group, 0, sizeof group);
    if (mcrx_ip_parse(&group, "232.1.2.3") != MCRX_OK)
        return 1;
    mcrx_ip source = mcrx_ip4(192, 0, 2, 2);
    mcrx_config cfg;
    mcrx_config_ssm(&cfg, &group, &source, 5000);
    int st = mcrx_config_validate(&cfg);

    mcrx_packet pkt;
    mcrx_metadata meta;
    mcrx_sub_stats stats;
    mcrx_sub_parts parts;
    memset(&pkt, 0, sizeof pkt);
    memset(&meta, 0, sizeof meta);
    memset(&stats, 0, sizeof stats);
    memset(&parts, 0, sizeof parts);
    mcrx_backend_kind kind = MCRX_BACKEND_DEFAULT;
    mcrx_sub_state state = MCRX_SUB_BOUND;
    mcrx_status status = MCRX_E_PORT_ZERO;
    char text[MCRX_IP_STRLEN];
    if (mcrx_ip_format(&group, text, sizeof text) != MCRX_OK)
        return 1;

    printf("header_c11: mcrx %d.%d.%d, %s validate %s, max_batch %u, "
           "backend %s, state %d, %s, truncated flag %u\n",
           MCRX_VERSION_MAJOR, MCRX_VERSION_MINOR, MCRX_VERSION_PATCH, text,
           mcrx_status_name(st), (unsigned)opts.max_batch,
           mcrx_backend_name(kind), (int)state, mcrx_strerror(status),
           (unsigned)MCRX_PKT_TRUNCATED);
    return st == MCRX_OK ? 0 : 1;
}
