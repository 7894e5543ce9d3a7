/* Quick start: join an ASM group, wait for one datagram, print it. */
#include <stdio.h>
#include <stdlib.h>

#include <mcrx/mcrx.h>

int main(int argc, char **argv)
{
    const char *group = argc > 1 ? argv[1] : "239.1.2.3";
    uint16_t port = (uint16_t)(argc > 2 ? atoi(argv[2]) : 5000);

    mcrx_ctx *ctx;
    int rc = mcrx_ctx_new(&ctx, NULL); /* default options and backend */
    if (rc != MCRX_OK) {
        fprintf(stderr, "mcrx_ctx_new: %s\n", mcrx_strerror(rc));
        return 1;
    }

    mcrx_config cfg;
    uint64_t id;
    rc = mcrx_config_parse(&cfg, group, port, NULL, NULL); /* any source */
    if (rc == MCRX_OK)
        rc = mcrx_ctx_add(ctx, &cfg, &id);
    if (rc == MCRX_OK)
        rc = mcrx_ctx_join(ctx, id);
    if (rc != MCRX_OK) {
        fprintf(stderr, "%s:%u: %s\n", group, port, mcrx_strerror(rc));
        mcrx_ctx_free(ctx);
        return 1;
    }

    /* Wait (up to 10 s at a time) until a packet is there. */
    mcrx_packet pkt;
    int n = 0;
    while (n == 0 && (n = mcrx_ctx_wait(ctx, 10000)) == 1)
        n = mcrx_ctx_try_recv_any(ctx, &pkt);

    if (n == 1) {
        char src[MCRX_IP_STRLEN];
        mcrx_ip_format(&pkt.source, src, sizeof src);
        printf("%zu bytes from %s:%u: %.*s\n", pkt.len, src, pkt.source_port,
               (int)pkt.len, (const char *)pkt.payload);
    } else {
        fprintf(stderr, "no packet: %s\n", n == 0 ? "timeout" : mcrx_strerror(n));
    }
    mcrx_ctx_free(ctx); /* leaves the group, closes the socket */
    return n == 1 ? 0 : 1;
}
