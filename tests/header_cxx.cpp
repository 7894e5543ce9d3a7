/*
 * The public header is usable from C++ (-std=c++11 -pedantic -Werror):
 * extern "C" linkage, no C-only constructs.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <mcrx/mcrx.h>
#include <mcrx/mcrx_metrics.h>

#include <cstdio>
#include <cstring>

int main()
{
    mcrx_ctx_options opts;
    mcrx_ctx_options_init(&opts);
    mcrx_ip group;
    std::memset(&group, 0, sizeof group);
    int st = mcrx_ip_parse(&group, "ff3e::8000:1234");
    mcrx_config cfg;
    mcrx_config_asm(&cfg, &group, 5000);
    mcrx_packet pkt = mcrx_packet();
    mcrx_backend_kind kind = MCRX_BACKEND_RECVMMSG;
    const char *msg = mcrx_strerror(MCRX_E_SSM_GROUP_V6_RANGE);
    if (msg == nullptr || st != MCRX_OK)
        return 1;
    std::printf("header_cxx: %s; %s; validate(asm on ff3e::) = %s; "
                "packet len %zu; backend %s compiled: %d\n",
                msg, mcrx_status_name(MCRX_E_SSM_GROUP_V6_RANGE),
                mcrx_status_name(mcrx_config_validate(&cfg)), pkt.len,
                mcrx_backend_name(kind), (int)mcrx_backend_compiled(kind));
    return mcrx_config_validate(&cfg) == MCRX_E_ASM_ON_SSM_GROUP ? 0 : 1;
}
