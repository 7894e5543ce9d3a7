/*
 * mcrx_recv: join a multicast group (ASM or SSM) and print what arrives.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

int main(int argc, char **argv)
{
    return tool_recv_main(argc, argv, "mcrx_recv", false);
}
