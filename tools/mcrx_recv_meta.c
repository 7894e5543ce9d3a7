/*
 * mcrx_recv_meta: like mcrx_recv, plus each datagram's receive metadata
 * (pktinfo destination and interface, socket address, configured
 * interface, kernel timestamp, kernel drop counter).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

int main(int argc, char **argv)
{
    return tool_recv_main(argc, argv, "mcrx_recv_meta", true);
}
