/* Links mcrx-core as a subproject and uses its public API (no network). */
#include <stdio.h>
#include <string.h>

#include <mcrx/mcrx.h>

int main(void)
{
    mcrx_config cfg;
    int st = mcrx_config_parse(&cfg, "239.1.2.3", 5000, NULL, NULL);
    if (st != MCRX_OK || strcmp(mcrx_status_name(MCRX_E_PORT_ZERO), "MCRX_E_PORT_ZERO") != 0) {
        fprintf(stderr, "consumer: parse %s\n", mcrx_strerror(st));
        return 1;
    }
    mcrx_ctx *ctx = NULL;
    st = mcrx_ctx_new(&ctx, NULL);
    if (st != MCRX_OK) {
        fprintf(stderr, "consumer: ctx_new %s\n", mcrx_strerror(st));
        return 1;
    }
    printf("consumer: backend %s\n", mcrx_backend_name(mcrx_ctx_backend(ctx)));
    mcrx_ctx_free(ctx);
    return 0;
}
