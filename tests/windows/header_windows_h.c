/*
 * mcrx.h after <windows.h>: the header must declare mcrx_config.interface
 * although <windows.h> defines `interface` as a macro (COM), and leave
 * that macro as it found it. SPDX-License-Identifier: BSD-2-Clause
 */
#include <winsock2.h>
#include <windows.h>

#include <mcrx/mcrx.h>

#ifndef interface
#error "mcrx.h removed <windows.h>'s interface macro"
#endif
#undef interface /* what a program that uses the field writes */

int main(void)
{
    mcrx_config cfg;
    if (mcrx_config_parse(&cfg, "239.1.2.3", 5000, NULL, "127.0.0.1") != MCRX_OK)
        return 1;
    mcrx_socket_t s = (SOCKET)INVALID_SOCKET; /* one type with SOCKET */
    return cfg.interface.family == MCRX_AF_INET && s == MCRX_INVALID_SOCKET ? 0 : 1;
}
