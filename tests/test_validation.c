/*
 * Validation: status codes and strings, addresses, configuration rules,
 * mcrx_config_parse forms, context options, backend names.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "common.h"

#include <net/if.h>
#include <stdio.h>
#include <string.h>

#define FILE_NO 1
#define PORT(t) ((uint16_t)(MT_PORT_BASE_VALIDATION + 10 * (t)))

TestSuite(validation, .timeout = 30);

/* ------------------------------------------------------------------ */
/* Status codes                                                        */
/* ------------------------------------------------------------------ */

#define S(x) { x, #x }
static const struct {
    int code;
    const char *name;
} all_status[] = {
    S(MCRX_OK),
    S(MCRX_E_INVALID_ARG), S(MCRX_E_PORT_ZERO), S(MCRX_E_GROUP_NOT_MULTICAST),
    S(MCRX_E_SOURCE_MULTICAST), S(MCRX_E_SOURCE_UNSPECIFIED),
    S(MCRX_E_SOURCE_BROADCAST), S(MCRX_E_SOURCE_FAMILY_MISMATCH),
    S(MCRX_E_INTERFACE_FAMILY_MISMATCH), S(MCRX_E_INTERRUPTED),
    S(MCRX_E_SSM_GROUP_V4_RANGE), S(MCRX_E_ASM_ON_SSM_GROUP),
    S(MCRX_E_SSM_GROUP_V6_RANGE), S(MCRX_E_INTERFACE_INDEX_ZERO),
    S(MCRX_E_INTERFACE_INDEX_V4), S(MCRX_E_DUPLICATE), S(MCRX_E_BAD_ADDRESS),
    S(MCRX_E_UNKNOWN_INTERFACE), S(MCRX_E_BAD_OPTION), S(MCRX_E_FAMILY_UNSPEC),
    S(MCRX_E_NOT_FOUND), S(MCRX_E_NOT_JOINED), S(MCRX_E_ALREADY_JOINED),
    S(MCRX_E_OWNED_BY_CONTEXT), S(MCRX_E_WRONG_THREAD),
    S(MCRX_E_SOCKET_CREATE), S(MCRX_E_SOCKET_OPTION), S(MCRX_E_SOCKET_BIND),
    S(MCRX_E_LOCAL_ADDR), S(MCRX_E_SOCKET_FAMILY), S(MCRX_E_SOCKET_PORT),
    S(MCRX_E_JOIN), S(MCRX_E_LEAVE), S(MCRX_E_V6_SSM_NEEDS_INTERFACE),
    S(MCRX_E_RECV), S(MCRX_E_WAIT),
    S(MCRX_E_NO_MEMORY), S(MCRX_E_BACKEND_UNAVAILABLE),
    S(MCRX_E_METRICS_DISABLED), S(MCRX_E_METRICS_WRONG_THREAD),
};
#undef S
#define N_STATUS (sizeof all_status / sizeof all_status[0])

Test(validation, status_names_are_the_enum_identifiers)
{
    for (size_t i = 0; i < N_STATUS; i++) {
        const char *n = mcrx_status_name(all_status[i].code);
        cr_assert_not_null(n, "status_name(%d) is NULL", all_status[i].code);
        cr_expect_str_eq(n, all_status[i].name, "status_name(%d)",
                         all_status[i].code);
    }
}

Test(validation, strerror_nonempty_and_distinct)
{
    for (size_t i = 0; i < N_STATUS; i++) {
        const char *a = mcrx_strerror(all_status[i].code);
        cr_assert_not_null(a, "strerror(%s) is NULL", all_status[i].name);
        cr_expect_gt(strlen(a), 0u, "strerror(%s) is empty", all_status[i].name);
        for (size_t j = 0; j < i; j++) {
            const char *b = mcrx_strerror(all_status[j].code);
            cr_expect_str_neq(a, b, "strerror(%s) == strerror(%s): \"%s\"",
                              all_status[i].name, all_status[j].name, a);
            cr_expect_str_neq(mcrx_status_name(all_status[i].code),
                              mcrx_status_name(all_status[j].code));
        }
    }
}

Test(validation, unknown_status_has_text)
{
    const int unknown[] = { -999, 1, 12345, -29, -38 };
    for (size_t k = 0; k < sizeof unknown / sizeof unknown[0]; k++) {
        const char *e = mcrx_strerror(unknown[k]);
        const char *n = mcrx_status_name(unknown[k]);
        cr_assert_not_null(e);
        cr_assert_not_null(n);
        cr_expect_gt(strlen(e), 0u);
        cr_expect_gt(strlen(n), 0u);
        for (size_t i = 0; i < N_STATUS; i++)
            cr_expect_str_neq(n, all_status[i].name,
                              "unknown code %d named like a real one",
                              unknown[k]);
    }
}

Test(validation, os_error_classification)
{
    /* Validation and state codes never carry errno. */
    for (size_t i = 0; i < N_STATUS; i++)
        if (all_status[i].code > MCRX_E_SOCKET_CREATE)
            cr_expect_not(mcrx_status_is_os_error(all_status[i].code),
                          "%s classified as OS error", all_status[i].name);
    /* Plain OS failures do. */
    const int os[] = { MCRX_E_SOCKET_CREATE, MCRX_E_SOCKET_OPTION,
                       MCRX_E_SOCKET_BIND, MCRX_E_LOCAL_ADDR, MCRX_E_JOIN,
                       MCRX_E_LEAVE, MCRX_E_RECV, MCRX_E_WAIT };
    for (size_t i = 0; i < sizeof os / sizeof os[0]; i++)
        cr_expect(mcrx_status_is_os_error(os[i]), "%s not an OS error",
                  mcrx_status_name(os[i]));
}

/* ------------------------------------------------------------------ */
/* Addresses                                                           */
/* ------------------------------------------------------------------ */

Test(validation, ip_parse_and_format)
{
    mcrx_ip ip;
    cr_assert_eq(mcrx_ip_parse(&ip, "239.1.2.3"), MCRX_OK);
    cr_expect_eq(ip.family, MCRX_AF_INET);
    const uint8_t v4[4] = { 239, 1, 2, 3 };
    cr_expect_arr_eq(ip.addr, v4, 4);

    mcrx_ip b = mcrx_ip4(239, 1, 2, 3);
    cr_expect_eq(b.family, MCRX_AF_INET);
    cr_expect_arr_eq(b.addr, v4, 4);
    cr_expect(mcrx_ip_equal(&ip, &b));

    cr_assert_eq(mcrx_ip_parse(&ip, "ff3e::8000:1234"), MCRX_OK);
    cr_expect_eq(ip.family, MCRX_AF_INET6);
    const uint8_t v6[16] = { 0xff, 0x3e, 0, 0, 0, 0, 0, 0,
                             0, 0, 0, 0, 0x80, 0, 0x12, 0x34 };
    cr_expect_arr_eq(ip.addr, v6, 16);
    cr_expect_eq(ip.scope_id, 0u);
    cr_expect_not(mcrx_ip_equal(&ip, &b));

    char buf[MCRX_IP_STRLEN];
    cr_assert_eq(mcrx_ip_format(&ip, buf, sizeof buf), MCRX_OK);
    cr_expect_str_eq(buf, "ff3e::8000:1234");
    cr_assert_eq(mcrx_ip_format(&b, buf, sizeof buf), MCRX_OK);
    cr_expect_str_eq(buf, "239.1.2.3");

    mcrx_ip z;
    cr_assert_eq(mcrx_ip_parse(&z, "fe80::1%7"), MCRX_OK);
    cr_expect_eq(z.family, MCRX_AF_INET6);
    cr_expect_eq(z.scope_id, 7u);
    mcrx_ip z2 = mt_ip("fe80::1");
    cr_expect(mcrx_ip_equal(&z, &z2), "mcrx_ip_equal must ignore the scope");
}

Test(validation, ip_parse_rejects_bad_text_and_leaves_out)
{
    const char *bad[] = { "", "239.1.2", "239.1.2.3.4", "256.1.1.1", "gg::1",
                          "239.1.2.3 ", "fe80::1%v0", "fe80::1%", "::1::2",
                          "hello" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mcrx_ip ip, before;
        memset(&ip, 0x5a, sizeof ip);
        before = ip;
        int rc = mcrx_ip_parse(&ip, bad[i]);
        cr_expect_eq(rc, MCRX_E_BAD_ADDRESS, "mcrx_ip_parse(\"%s\") = %s",
                     bad[i], mcrx_status_name(rc));
        cr_expect_arr_eq(&ip, &before, sizeof ip, "out changed on failure (\"%s\")",
                         bad[i]);
    }
}

Test(validation, ip_format_errors)
{
    mcrx_ip ip = mt_ip("ff3e::8000:1234");
    char small[4];
    cr_expect_eq(mcrx_ip_format(&ip, small, sizeof small), MCRX_E_INVALID_ARG);
    mcrx_ip none;
    memset(&none, 0, sizeof none);
    char buf[MCRX_IP_STRLEN];
    cr_expect_eq(mcrx_ip_format(&none, buf, sizeof buf), MCRX_E_INVALID_ARG);
}

/* ------------------------------------------------------------------ */
/* Config rules                                                        */
/* ------------------------------------------------------------------ */

static mcrx_config asm4(const char *group)
{
    return mt_cfg_asm4(group, PORT(1), NULL);
}

static mcrx_config ssm4(const char *group, const char *source)
{
    return mt_cfg_ssm4(group, source, PORT(1), NULL);
}

static mcrx_config asm6(const char *group)
{
    return mt_cfg_asm6(group, PORT(1), NULL);
}

static mcrx_config ssm6(const char *group, const char *source)
{
    return mt_cfg_ssm6(group, source, PORT(1), NULL);
}

/* validate() gives `want`, and mcrx_ctx_add() gives the same and leaves the
 * context untouched (count, id_out, next id). */
static void expect_rule(mcrx_ctx *ctx, const mcrx_config *cfg, int want,
                        const char *what)
{
    int rc = mcrx_config_validate(cfg);
    cr_expect_eq(rc, want, "%s: validate = %s, want %s", what,
                 mcrx_status_name(rc), mcrx_status_name(want));
    size_t before = mcrx_ctx_count(ctx);
    uint64_t id = 0xdeadbeefu;
    rc = mcrx_ctx_add(ctx, cfg, &id);
    cr_expect_eq(rc, want, "%s: ctx_add = %s, want %s", what,
                 mcrx_status_name(rc), mcrx_status_name(want));
    cr_expect_eq(id, 0xdeadbeefu, "%s: id_out written on failure", what);
    cr_expect_eq(mcrx_ctx_count(ctx), before, "%s: count changed", what);
}

Test(validation, config_constructors)
{
    mcrx_config c;
    memset(&c, 0x77, sizeof c);
    mcrx_ip g = mt_ip("239.1.2.3"), s = mt_ip("192.0.2.2");
    mcrx_config_asm(&c, &g, 5000);
    cr_expect(mcrx_ip_equal(&c.group, &g));
    cr_expect_eq(c.source.family, MCRX_AF_UNSPEC);
    cr_expect_eq(c.dst_port, 5000);
    cr_expect_eq(c.interface.family, MCRX_AF_UNSPEC);
    cr_expect_not(c.has_interface_index);

    memset(&c, 0x77, sizeof c);
    mcrx_ip g2 = mt_ip("232.1.2.3");
    mcrx_config_ssm(&c, &g2, &s, 5001);
    cr_expect(mcrx_ip_equal(&c.group, &g2));
    cr_expect(mcrx_ip_equal(&c.source, &s));
    cr_expect_eq(c.dst_port, 5001);
    cr_expect_eq(c.interface.family, MCRX_AF_UNSPEC);
    cr_expect_not(c.has_interface_index);
}

Test(validation, valid_configs)
{
    mcrx_config ok[] = {
        asm4("239.77.1.1"),
        asm4("224.0.0.0"),
        asm4("239.255.255.255"),
        ssm4("232.77.1.1", "192.0.2.2"),
        ssm4("232.0.0.1", "10.0.0.1"),
        ssm4("232.255.255.255", "192.0.2.3"),
        asm6("ff15::77:1"),
        asm6("ff02::1:3"),
        ssm6("ff3e::8000:1", "2001:db8:77::2"),
        ssm6("ff31::8000:1", "2001:db8:77::2"),
        mt_cfg_asm4("239.77.1.2", PORT(1), "192.0.2.1"),
        mt_cfg_ssm4("232.77.1.2", "192.0.2.2", PORT(1), "192.0.2.1"),
        mt_cfg_asm6("ff15::77:2", PORT(1), "v0"),
        mt_cfg_ssm6("ff3e::8000:2", "2001:db8:77::2", PORT(1), "v0"),
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int rc = mcrx_config_validate(&ok[i]);
        cr_expect_eq(rc, MCRX_OK, "config %zu (%s): %s", i,
                     mt_ipstr(&ok[i].group), mcrx_status_name(rc));
    }
}

Test(validation, every_rule_has_its_status)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_config c;

    cr_expect_eq(mcrx_config_validate(NULL), MCRX_E_INVALID_ARG);

    c = asm4("239.77.1.1");
    c.dst_port = 0;
    expect_rule(ctx, &c, MCRX_E_PORT_ZERO, "port 0");

    c = asm4("192.0.2.1");
    expect_rule(ctx, &c, MCRX_E_GROUP_NOT_MULTICAST, "unicast v4 group");
    c = asm4("223.255.255.255");
    expect_rule(ctx, &c, MCRX_E_GROUP_NOT_MULTICAST, "223.255.255.255");
    c = asm4("240.0.0.1");
    expect_rule(ctx, &c, MCRX_E_GROUP_NOT_MULTICAST, "240.0.0.1");
    c = asm6("2001:db8::1");
    expect_rule(ctx, &c, MCRX_E_GROUP_NOT_MULTICAST, "unicast v6 group");

    memset(&c, 0, sizeof c);
    c.dst_port = PORT(1);
    expect_rule(ctx, &c, MCRX_E_FAMILY_UNSPEC, "group without family");

    c = ssm4("232.77.1.1", "239.1.1.1");
    expect_rule(ctx, &c, MCRX_E_SOURCE_MULTICAST, "v4 multicast source");
    c = ssm6("ff3e::8000:1", "ff02::1");
    expect_rule(ctx, &c, MCRX_E_SOURCE_MULTICAST, "v6 multicast source");

    c = ssm4("232.77.1.1", "0.0.0.0");
    expect_rule(ctx, &c, MCRX_E_SOURCE_UNSPECIFIED, "0.0.0.0 source");
    c = ssm6("ff3e::8000:1", "::");
    expect_rule(ctx, &c, MCRX_E_SOURCE_UNSPECIFIED, ":: source");

    c = ssm4("232.77.1.1", "255.255.255.255");
    expect_rule(ctx, &c, MCRX_E_SOURCE_BROADCAST, "broadcast source");

    c = ssm4("232.77.1.1", "2001:db8:77::2");
    expect_rule(ctx, &c, MCRX_E_SOURCE_FAMILY_MISMATCH, "v4 group, v6 source");
    c = ssm6("ff3e::8000:1", "192.0.2.2");
    expect_rule(ctx, &c, MCRX_E_SOURCE_FAMILY_MISMATCH, "v6 group, v4 source");
    c = mt_cfg_asm4("239.77.1.1", PORT(1), "2001:db8:77::1");
    expect_rule(ctx, &c, MCRX_E_INTERFACE_FAMILY_MISMATCH, "v4 group, v6 interface");
    c = asm6("ff15::77:1");
    c.interface = mt_ip("192.0.2.1");
    expect_rule(ctx, &c, MCRX_E_INTERFACE_FAMILY_MISMATCH, "v6 group, v4 interface");

    c = ssm4("239.77.1.1", "192.0.2.2");
    expect_rule(ctx, &c, MCRX_E_SSM_GROUP_V4_RANGE, "v4 SSM on 239/8");
    c = ssm4("231.255.255.255", "192.0.2.2");
    expect_rule(ctx, &c, MCRX_E_SSM_GROUP_V4_RANGE, "v4 SSM on 231.255.255.255");
    c = ssm4("233.0.0.1", "192.0.2.2");
    expect_rule(ctx, &c, MCRX_E_SSM_GROUP_V4_RANGE, "v4 SSM on 233.0.0.1");

    c = asm4("232.77.1.1");
    expect_rule(ctx, &c, MCRX_E_ASM_ON_SSM_GROUP, "v4 ASM on 232/8");
    c = asm6("ff3e::8000:1");
    expect_rule(ctx, &c, MCRX_E_ASM_ON_SSM_GROUP, "v6 ASM on ff3e::/32");
    c = asm6("ff35::1");
    expect_rule(ctx, &c, MCRX_E_ASM_ON_SSM_GROUP, "v6 ASM on ff35::/32");

    c = ssm6("ff1e::1", "2001:db8:77::2");
    expect_rule(ctx, &c, MCRX_E_SSM_GROUP_V6_RANGE, "v6 SSM on ff1e::1");
    c = ssm6("ff3e:1::1", "2001:db8:77::2");
    expect_rule(ctx, &c, MCRX_E_SSM_GROUP_V6_RANGE, "v6 SSM on ff3e:1::1");
    c = ssm6("ff3e:0:1::1", "2001:db8:77::2");
    cr_expect_eq(mcrx_config_validate(&c), MCRX_OK,
                 "ff3e:0:1::1 is inside ff3e::/32");

    c = asm6("ff15::77:1");
    c.has_interface_index = true;
    c.interface_index = 0;
    expect_rule(ctx, &c, MCRX_E_INTERFACE_INDEX_ZERO, "v6 interface index 0");

    c = asm4("239.77.1.1");
    c.has_interface_index = true;
    c.interface_index = mt_ifindex("v0");
    expect_rule(ctx, &c, MCRX_E_INTERFACE_INDEX_V4, "v4 interface index");

    /* interface_index without has_interface_index is ignored. */
    c = asm4("239.77.1.1");
    c.interface_index = 0;
    c.has_interface_index = false;
    cr_expect_eq(mcrx_config_validate(&c), MCRX_OK);

    /* Nothing was added and no id consumed: the first valid add gets 1. */
    cr_expect_eq(mcrx_ctx_count(ctx), 0u);
    uint64_t id = 0;
    c = asm4("239.77.1.1");
    cr_assert_eq(mcrx_ctx_add(ctx, &c, &id), MCRX_OK);
    cr_expect_eq(id, 1u, "failed adds consumed ids: first id is %llu",
                 (unsigned long long)id);
    mcrx_ctx_free(ctx);
}

/* The order of the checks is the crate's (docs/usage.md): port, group
 * family, group multicast, ASM on an SSM group, source validity, source
 * family, SSM ranges, interface family, index 0, index on IPv4. Each step
 * below breaks two rules and expects the earlier one. */
Test(validation, first_broken_rule_wins)
{
    mcrx_config c = asm4("192.0.2.1");
    c.dst_port = 0;
    cr_expect_eq(mcrx_config_validate(&c), MCRX_E_PORT_ZERO);

    memset(&c, 0, sizeof c);
    c.dst_port = 0;
    cr_expect_eq(mcrx_config_validate(&c), MCRX_E_PORT_ZERO, "port before family");

    c = ssm4("192.0.2.9", "239.1.1.1");
    cr_expect_eq(mcrx_config_validate(&c), MCRX_E_GROUP_NOT_MULTICAST);

    /* ASM on an SSM group before anything about interfaces */
    c = mt_cfg_asm4("232.77.1.1", PORT(1), "2001:db8:77::1");
    cr_expect_eq(mcrx_config_validate(&c), MCRX_E_ASM_ON_SSM_GROUP);

    /* source validity before the source's family */
    c = ssm4("232.77.1.1", "ff02::1");
    cr_expect_eq(mcrx_config_validate(&c), MCRX_E_SOURCE_MULTICAST);
    c = ssm4("232.77.1.1", "::");
    cr_expect_eq(mcrx_config_validate(&c), MCRX_E_SOURCE_UNSPECIFIED);

    /* source family before the SSM ranges */
    c = ssm4("239.77.1.1", "2001:db8:77::2");
    cr_expect_eq(mcrx_config_validate(&c), MCRX_E_SOURCE_FAMILY_MISMATCH);

    /* source rules before the interface family */
    c = mt_cfg_ssm4("232.77.1.1", "239.1.1.1", PORT(1), "2001:db8:77::1");
    cr_expect_eq(mcrx_config_validate(&c), MCRX_E_SOURCE_MULTICAST);

    /* SSM ranges before the interface family */
    c = mt_cfg_ssm4("239.77.1.1", "192.0.2.2", PORT(1), "2001:db8:77::1");
    cr_expect_eq(mcrx_config_validate(&c), MCRX_E_SSM_GROUP_V4_RANGE);
    c = ssm6("ff1e::1", "2001:db8:77::2");
    c.interface = mt_ip("192.0.2.1");
    cr_expect_eq(mcrx_config_validate(&c), MCRX_E_SSM_GROUP_V6_RANGE);

    /* interface family before the index rules */
    c = asm6("ff15::77:1");
    c.interface = mt_ip("192.0.2.1");
    c.has_interface_index = true;
    c.interface_index = 0;
    cr_expect_eq(mcrx_config_validate(&c), MCRX_E_INTERFACE_FAMILY_MISMATCH);

    c = asm4("239.77.1.1");
    c.has_interface_index = true;
    c.interface_index = 0;
    cr_expect_eq(mcrx_config_validate(&c), MCRX_E_INTERFACE_INDEX_ZERO,
                 "index 0 is checked before index-on-IPv4");
}

/* An interface of 0.0.0.0 or :: means "no interface" (as in the crate):
 * valid for either family, and stored as no interface. */
Test(validation, unspecified_interface_means_none)
{
    mcrx_config c = asm4("239.77.1.70");
    c.interface = mt_ip("::");
    cr_expect_eq(mcrx_config_validate(&c), MCRX_OK, ":: on an IPv4 group");
    c = asm6("ff15::77:170");
    c.interface = mt_ip("0.0.0.0");
    cr_expect_eq(mcrx_config_validate(&c), MCRX_OK, "0.0.0.0 on an IPv6 group");

    mcrx_config p;
    cr_assert_eq(mcrx_config_parse(&p, "239.77.1.71", PORT(7), NULL, "0.0.0.0"), MCRX_OK);
    cr_expect_eq(p.interface.family, MCRX_AF_UNSPEC, "parsed 0.0.0.0 is no interface");
    cr_assert_eq(mcrx_config_parse(&p, "ff15::77:171", PORT(7), NULL, "::"), MCRX_OK);
    cr_expect_eq(p.interface.family, MCRX_AF_UNSPEC, "parsed :: is no interface");

    mcrx_ctx *ctx = mt_ctx_new(NULL);
    c = asm4("239.77.1.72");
    c.interface = mt_ip("0.0.0.0");
    uint64_t id;
    cr_assert_eq(mcrx_ctx_add(ctx, &c, &id), MCRX_OK);
    cr_expect_eq(mcrx_sub_config(mcrx_ctx_get(ctx, id))->interface.family,
                 MCRX_AF_UNSPEC, "added with 0.0.0.0: stored as no interface");
    mcrx_ctx_free(ctx);
}

/* Duplicates are refused by add only (validate does not see contexts). */
static void expect_dup(mcrx_ctx *ctx, const mcrx_config *cfg, const char *what)
{
    cr_expect_eq(mcrx_config_validate(cfg), MCRX_OK, "%s: validate", what);
    size_t before = mcrx_ctx_count(ctx);
    uint64_t id = 0xdeadbeefu;
    int rc = mcrx_ctx_add(ctx, cfg, &id);
    cr_expect_eq(rc, MCRX_E_DUPLICATE, "%s: ctx_add = %s", what,
                 mcrx_status_name(rc));
    cr_expect_eq(id, 0xdeadbeefu, "%s: id_out written on failure", what);
    cr_expect_eq(mcrx_ctx_count(ctx), before, "%s: count changed", what);
}

Test(validation, duplicate_add)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_config a = mt_cfg_asm4("239.77.1.9", PORT(2), NULL);
    mcrx_config s = mt_cfg_ssm4("232.77.1.9", "192.0.2.2", PORT(2), "192.0.2.1");
    mcrx_config v6 = mt_cfg_ssm6("ff3e::8000:109", "2001:db8:77::2", PORT(2), "v0");
    uint64_t ia = 0, is = 0, i6 = 0, id;
    cr_assert_eq(mcrx_ctx_add(ctx, &a, &ia), MCRX_OK);
    cr_assert_eq(mcrx_ctx_add(ctx, &s, &is), MCRX_OK);
    cr_assert_eq(mcrx_ctx_add(ctx, &v6, &i6), MCRX_OK);
    cr_expect_eq(mcrx_config_validate(&a), MCRX_OK,
                 "validate does not look at contexts");

    expect_dup(ctx, &a, "same ASM config");
    expect_dup(ctx, &s, "same SSM config");
    expect_dup(ctx, &v6, "same v6 SSM config");
    /* the copy of a config a sub holds is a duplicate too */
    mcrx_config held = *mcrx_sub_config(mcrx_ctx_get(ctx, is));
    expect_dup(ctx, &held, "config returned by mcrx_sub_config");

    /* Not duplicates: another port, another source, another group. */
    mcrx_config other = a;
    other.dst_port = PORT(2) + 1;
    id = 0;
    cr_expect_eq(mcrx_ctx_add(ctx, &other, &id), MCRX_OK);
    cr_expect_eq(id, 4u);
    other = s;
    other.source = mt_ip("192.0.2.3");
    cr_expect_eq(mcrx_ctx_add(ctx, &other, &id), MCRX_OK);
    cr_expect_eq(id, 5u);
    other = a;
    other.group = mt_ip("239.77.1.10");
    cr_expect_eq(mcrx_ctx_add(ctx, &other, &id), MCRX_OK);
    cr_expect_eq(id, 6u);
    cr_expect_eq(mcrx_ctx_count(ctx), 6u);

    /* Another interface is another config (docs/usage.md rule 12). */
    other = a;
    other.interface = mt_ip("127.0.0.1");
    cr_expect_eq(mcrx_ctx_add(ctx, &other, &id), MCRX_OK, "other interface");
    other = v6;
    other.interface_index = mt_ifindex("v1");
    cr_expect_eq(mcrx_ctx_add(ctx, &other, &id), MCRX_OK, "other interface index");
    cr_expect_eq(id, 8u);

    /* After removing it, the same config may be added again (new id). */
    cr_assert_eq(mcrx_ctx_remove(ctx, ia), MCRX_OK);
    cr_expect_eq(mcrx_ctx_add(ctx, &a, &id), MCRX_OK);
    cr_expect_eq(id, 9u);
    mcrx_ctx_free(ctx);
}

Test(validation, add_null_arguments)
{
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    mcrx_config c = asm4("239.77.1.11");
    uint64_t id = 0;
    cr_expect_eq(mcrx_ctx_add(NULL, &c, &id), MCRX_E_INVALID_ARG);
    cr_expect_eq(mcrx_ctx_add(ctx, NULL, &id), MCRX_E_INVALID_ARG);
    cr_expect_eq(mcrx_ctx_count(ctx), 0u);
    mcrx_ctx_free(ctx);
    mcrx_ctx_free(NULL); /* no-op */
}

/* ------------------------------------------------------------------ */
/* mcrx_config_parse                                                   */
/* ------------------------------------------------------------------ */

static void expect_parse_fails(const char *g, uint16_t port, const char *s,
                               const char *i, int want)
{
    mcrx_config c, before;
    memset(&c, 0xa5, sizeof c);
    before = c;
    int rc = mcrx_config_parse(&c, g, port, s, i);
    cr_expect_eq(rc, want, "parse(%s, %u, %s, %s) = %s, want %s", g, port,
                 s ? s : "NULL", i ? i : "NULL", mcrx_status_name(rc),
                 mcrx_status_name(want));
    cr_expect_arr_eq(&c, &before, sizeof c, "out changed on failure");
}

Test(validation, config_parse_plain)
{
    mcrx_config c;
    cr_assert_eq(mcrx_config_parse(&c, "239.77.1.50", PORT(3), NULL, NULL), MCRX_OK);
    mcrx_ip g = mt_ip("239.77.1.50");
    cr_expect(mcrx_ip_equal(&c.group, &g));
    cr_expect_eq(c.dst_port, PORT(3));
    cr_expect_eq(c.source.family, MCRX_AF_UNSPEC);
    cr_expect_eq(c.interface.family, MCRX_AF_UNSPEC);
    cr_expect_not(c.has_interface_index);

    mcrx_config e;
    cr_assert_eq(mcrx_config_parse(&e, "239.77.1.50", PORT(3), "", ""), MCRX_OK);
    cr_expect_eq(e.source.family, MCRX_AF_UNSPEC, "\"\" source means ASM");
    cr_expect_eq(e.interface.family, MCRX_AF_UNSPEC);
    cr_expect_not(e.has_interface_index);

    cr_assert_eq(mcrx_config_parse(&c, "232.77.1.51", PORT(3), "192.0.2.2",
                                   "192.0.2.1"), MCRX_OK);
    mcrx_ip s = mt_ip("192.0.2.2"), i = mt_ip("192.0.2.1");
    cr_expect(mcrx_ip_equal(&c.source, &s));
    cr_expect(mcrx_ip_equal(&c.interface, &i));
    cr_expect_not(c.has_interface_index);
}

Test(validation, config_parse_v4_interface_name_and_index)
{
    mcrx_config c;
    mcrx_ip rx = mt_ip(MT_V4_RX), lo = mt_ip("127.0.0.1");
    cr_assert_eq(mcrx_config_parse(&c, "239.77.1.52", PORT(4), NULL, "v0"), MCRX_OK);
    cr_expect(mcrx_ip_equal(&c.interface, &rx), "v0 resolved to %s",
              mt_ipstr(&c.interface));
    cr_expect_not(c.has_interface_index, "IPv4 config must not carry an index");
    cr_expect_eq(mcrx_config_validate(&c), MCRX_OK);

    char idx[16];
    snprintf(idx, sizeof idx, "%u", mt_ifindex("v0"));
    cr_assert_eq(mcrx_config_parse(&c, "239.77.1.53", PORT(4), NULL, idx), MCRX_OK);
    cr_expect(mcrx_ip_equal(&c.interface, &rx), "index %s resolved to %s", idx,
              mt_ipstr(&c.interface));
    cr_expect_not(c.has_interface_index);

    /* v1 has 192.0.2.2 and then 192.0.2.3: the first one is used */
    mcrx_ip tx = mt_ip(MT_V4_TX);
    cr_assert_eq(mcrx_config_parse(&c, "239.77.1.55", PORT(4), NULL, "v1"), MCRX_OK);
    cr_expect(mcrx_ip_equal(&c.interface, &tx), "v1 resolved to %s, want %s",
              mt_ipstr(&c.interface), MT_V4_TX);

    cr_assert_eq(mcrx_config_parse(&c, "232.77.1.54", PORT(4), "192.0.2.2", "lo"),
                 MCRX_OK);
    cr_expect(mcrx_ip_equal(&c.interface, &lo), "lo resolved to %s",
              mt_ipstr(&c.interface));
}

Test(validation, config_parse_v6_interface_forms)
{
    unsigned v0 = mt_ifindex("v0");
    char idx[16], zidx[48];
    snprintf(idx, sizeof idx, "%u", v0);
    snprintf(zidx, sizeof zidx, "fe80::1%%%u", v0);
    mcrx_ip ll = mt_ip("fe80::1");
    mcrx_config c;

    cr_assert_eq(mcrx_config_parse(&c, "ff3e::8000:155", PORT(5),
                                   "2001:db8:77::2", "v0"), MCRX_OK);
    cr_expect(c.has_interface_index, "\"v0\" gives an interface index");
    cr_expect_eq(c.interface_index, v0);

    cr_assert_eq(mcrx_config_parse(&c, "ff3e::8000:156", PORT(5),
                                   "2001:db8:77::2", idx), MCRX_OK);
    cr_expect(c.has_interface_index, "\"%s\" gives an interface index", idx);
    cr_expect_eq(c.interface_index, v0);

    const char *zoned[] = { "fe80::1%v0", zidx };
    for (size_t k = 0; k < 2; k++) {
        cr_assert_eq(mcrx_config_parse(&c, "ff15::77:157", PORT(5), NULL,
                                       zoned[k]), MCRX_OK, "%s", zoned[k]);
        cr_expect_eq(c.interface.family, MCRX_AF_INET6, "%s", zoned[k]);
        cr_expect(mcrx_ip_equal(&c.interface, &ll), "%s -> %s", zoned[k],
                  mt_ipstr(&c.interface));
        /* The zone must survive somewhere a join can use it. */
        cr_expect((c.has_interface_index && c.interface_index == v0) ||
                      c.interface.scope_id == v0,
                  "%s: zone lost (has_index %d index %u scope %u)", zoned[k],
                  c.has_interface_index, c.interface_index,
                  c.interface.scope_id);
        cr_expect_eq(mcrx_config_validate(&c), MCRX_OK);
    }

    /* An address (its interface is found at join time: see
     * test_state.c v6_join_by_interface_address). */
    mcrx_ip rx6 = mt_ip(MT_V6_RX);
    cr_assert_eq(mcrx_config_parse(&c, "ff15::77:158", PORT(5), NULL, MT_V6_RX),
                 MCRX_OK);
    cr_expect(mcrx_ip_equal(&c.interface, &rx6));
    cr_expect(!c.has_interface_index || c.interface_index == v0,
              "%s parsed to index %u", MT_V6_RX, c.interface_index);
}

Test(validation, config_parse_errors)
{
    expect_parse_fails("239.1.2", PORT(6), NULL, NULL, MCRX_E_BAD_ADDRESS);
    expect_parse_fails("not-an-address", PORT(6), NULL, NULL, MCRX_E_BAD_ADDRESS);
    expect_parse_fails("232.77.1.60", PORT(6), "192.0.2", NULL, MCRX_E_BAD_ADDRESS);
    expect_parse_fails("239.77.1.60", PORT(6), NULL, "nosuchif0",
                       MCRX_E_UNKNOWN_INTERFACE);
    expect_parse_fails("ff15::77:160", PORT(6), NULL, "nosuchif0",
                       MCRX_E_UNKNOWN_INTERFACE);
    expect_parse_fails("ff15::77:160", PORT(6), NULL, "fe80::1%nosuchif0",
                       MCRX_E_UNKNOWN_INTERFACE);
    expect_parse_fails("239.77.1.60", PORT(6), NULL, "4000000",
                       MCRX_E_UNKNOWN_INTERFACE);
    /* parse validates */
    expect_parse_fails("239.77.1.60", 0, NULL, NULL, MCRX_E_PORT_ZERO);
    expect_parse_fails("232.77.1.60", PORT(6), NULL, NULL, MCRX_E_ASM_ON_SSM_GROUP);
    expect_parse_fails("232.77.1.60", PORT(6), "2001:db8:77::2", NULL,
                       MCRX_E_SOURCE_FAMILY_MISMATCH);
    expect_parse_fails("239.77.1.60", PORT(6), NULL, "2001:db8:77::1",
                       MCRX_E_INTERFACE_FAMILY_MISMATCH);
    expect_parse_fails("192.0.2.1", PORT(6), NULL, NULL,
                       MCRX_E_GROUP_NOT_MULTICAST);
    expect_parse_fails("ff1e::1", PORT(6), "2001:db8:77::2", "v0",
                       MCRX_E_SSM_GROUP_V6_RANGE);
    expect_parse_fails(NULL, PORT(6), NULL, NULL, MCRX_E_INVALID_ARG);
    cr_expect_eq(mcrx_config_parse(NULL, "239.77.1.60", PORT(6), NULL, NULL),
                 MCRX_E_INVALID_ARG);
}

/* ------------------------------------------------------------------ */
/* Context options and backends                                        */
/* ------------------------------------------------------------------ */

Test(validation, options_defaults)
{
    mcrx_ctx_options o;
    memset(&o, 0xee, sizeof o);
    mcrx_ctx_options_init(&o);
    cr_expect_eq(o.backend, MCRX_BACKEND_DEFAULT);
    cr_expect_eq(o.max_payload, 9216u, "whole jumbo datagrams by default");
    cr_expect_eq(o.max_batch, 256u);
    cr_expect_eq(o.turn_budget, 64u);
    cr_expect_eq(o.rcvbuf_bytes, 4u << 20);
    cr_expect_eq(o.sub_ring_size, 64u);
    cr_expect_eq(o.timestamps, false, "timestamps are opt-in");

    mcrx_ctx *ctx = NULL;
    cr_assert_eq(mcrx_ctx_new(&ctx, NULL), MCRX_OK);
    mcrx_ctx_options got;
    memset(&got, 0, sizeof got);
    mcrx_ctx_get_options(ctx, &got);
    cr_expect_eq(got.max_payload, 9216u);
    cr_expect_eq(got.max_batch, 256u);
    cr_expect_eq(got.turn_budget, 64u);
    cr_expect_eq(got.rcvbuf_bytes, 4u << 20);
    cr_expect_eq(got.sub_ring_size, 64u);
    cr_expect(mcrx_backend_compiled(mcrx_ctx_backend(ctx)),
              "default context runs a backend that is not compiled: %s",
              mcrx_backend_name(mcrx_ctx_backend(ctx)));
    mcrx_ctx_free(ctx);
}

static char ctx_sentinel;

static void expect_bad_option(mcrx_ctx_options o, const char *what)
{
    mcrx_ctx *ctx = (mcrx_ctx *)&ctx_sentinel;
    o.backend = mt_backend();
    int rc = mcrx_ctx_new(&ctx, &o);
    cr_expect_eq(rc, MCRX_E_BAD_OPTION, "%s: mcrx_ctx_new = %s", what,
                 mcrx_status_name(rc));
    cr_expect_eq(ctx, (mcrx_ctx *)&ctx_sentinel, "%s: *out changed on failure",
                 what);
    if (rc == MCRX_OK && ctx != (mcrx_ctx *)&ctx_sentinel)
        mcrx_ctx_free(ctx);
}

static void expect_good_option(mcrx_ctx_options o, const char *what)
{
    mcrx_ctx *ctx = mt_ctx_new(&o);
    mcrx_ctx_options got;
    mcrx_ctx_get_options(ctx, &got);
    cr_expect_eq(got.max_payload, o.max_payload, "%s", what);
    cr_expect_eq(got.max_batch, o.max_batch, "%s", what);
    cr_expect_eq(got.turn_budget, o.turn_budget, "%s", what);
    cr_expect_eq(got.sub_ring_size, o.sub_ring_size, "%s", what);
    cr_expect_eq(got.rcvbuf_bytes, o.rcvbuf_bytes, "%s", what);
    mcrx_ctx_free(ctx);
}

Test(validation, bad_options)
{
    mcrx_ctx_options o;
    o = mt_opts(); o.max_payload = 0;     expect_bad_option(o, "max_payload 0");
    o = mt_opts(); o.max_payload = 65536; expect_bad_option(o, "max_payload 65536");
    o = mt_opts(); o.max_payload = 1u << 31; expect_bad_option(o, "max_payload 2^31");
    o = mt_opts(); o.max_batch = 0;       expect_bad_option(o, "max_batch 0");
    o = mt_opts(); o.max_batch = 4097;    expect_bad_option(o, "max_batch 4097");
    o = mt_opts(); o.turn_budget = 0;     expect_bad_option(o, "turn_budget 0");
    o = mt_opts(); o.turn_budget = 4097;  expect_bad_option(o, "turn_budget 4097");
    o = mt_opts(); o.coalesce_us = 100001; expect_bad_option(o, "coalesce_us 100001");
    o = mt_opts(); o.busy_poll_us = 100001; expect_bad_option(o, "busy_poll_us 100001");
}

Test(validation, latency_options)
{
    mcrx_ctx_options d;
    mcrx_ctx_options_init(&d);
    cr_expect_eq(d.coalesce_us, 0u, "coalescing is opt-in");
    cr_expect_eq(d.busy_poll_us, 0u, "busy polling is opt-in");
    mcrx_ctx_options o = mt_opts();
    o.coalesce_us = 100000;
    o.busy_poll_us = 100000;
    mcrx_ctx *ctx = mt_ctx_new(&o);
    mcrx_ctx_options got;
    mcrx_ctx_get_options(ctx, &got);
    cr_expect_eq(got.coalesce_us, 100000u);
    cr_expect_eq(got.busy_poll_us, 100000u);
    mcrx_ctx_free(ctx);
}

Test(validation, bad_option_ring_not_power_of_two)
{
    mcrx_ctx_options o = mt_opts();
    o.sub_ring_size = 3;
    expect_bad_option(o, "sub_ring_size 3");
    o.sub_ring_size = 100;
    expect_bad_option(o, "sub_ring_size 100");
}

Test(validation, option_limits_accepted)
{
    mcrx_ctx_options o;
    o = mt_opts(); o.max_payload = 1;     expect_good_option(o, "max_payload 1");
    o = mt_opts(); o.max_payload = 65535; expect_good_option(o, "max_payload 65535");
    o = mt_opts(); o.max_batch = 1;       expect_good_option(o, "max_batch 1");
    o = mt_opts(); o.max_batch = 4096;    expect_good_option(o, "max_batch 4096");
    o = mt_opts(); o.turn_budget = 1;     expect_good_option(o, "turn_budget 1");
    o = mt_opts(); o.turn_budget = 4096;  expect_good_option(o, "turn_budget 4096");
    o = mt_opts(); o.rcvbuf_bytes = 0;    expect_good_option(o, "rcvbuf_bytes 0");
    o = mt_opts(); o.sub_ring_size = 16;  expect_good_option(o, "sub_ring_size 16");
}

Test(validation, ctx_new_null_out)
{
    cr_expect_eq(mcrx_ctx_new(NULL, NULL), MCRX_E_INVALID_ARG);
}

Test(validation, backend_names_and_parse)
{
    cr_expect_str_eq(mcrx_backend_name(MCRX_BACKEND_RECVMMSG), "recvmmsg");
    cr_expect_str_eq(mcrx_backend_name(MCRX_BACKEND_IOURING), "io_uring");
    cr_expect_str_eq(mcrx_backend_name((mcrx_backend_kind)99), "unknown");

    cr_expect_str_eq(mcrx_backend_name(MCRX_BACKEND_IOCP), "iocp");
    cr_expect_str_eq(mcrx_backend_name(MCRX_BACKEND_WSAPOLL), "wsapoll");
    cr_expect_not(mcrx_backend_compiled(MCRX_BACKEND_KQUEUE));
#ifdef _WIN32
    cr_expect(mcrx_backend_compiled(MCRX_BACKEND_IOCP));
    cr_expect(mcrx_backend_compiled(MCRX_BACKEND_WSAPOLL));
    cr_expect_not(mcrx_backend_compiled(MCRX_BACKEND_RECVMMSG));
    const char *native = "iocp";
    const mcrx_backend_kind native_kind = MCRX_BACKEND_IOCP;
#else
    cr_expect(mcrx_backend_compiled(MCRX_BACKEND_RECVMMSG));
    cr_expect_not(mcrx_backend_compiled(MCRX_BACKEND_IOCP));
    cr_expect_not(mcrx_backend_compiled(MCRX_BACKEND_WSAPOLL));
    const char *native = "recvmmsg";
    const mcrx_backend_kind native_kind = MCRX_BACKEND_RECVMMSG;
#endif

    mcrx_backend_kind k = (mcrx_backend_kind)77;
    cr_expect_eq(mcrx_backend_parse(native, &k), MCRX_OK);
    cr_expect_eq(k, native_kind);
    cr_expect_eq(mcrx_backend_parse("default", &k), MCRX_OK);
    cr_expect_eq(k, MCRX_BACKEND_DEFAULT);

    const char *uring[] = { "iouring", "io_uring" };
    for (size_t i = 0; i < 2; i++) {
        k = (mcrx_backend_kind)77;
        int rc = mcrx_backend_parse(uring[i], &k);
        if (mcrx_backend_compiled(MCRX_BACKEND_IOURING)) {
            cr_expect_eq(rc, MCRX_OK, "%s", uring[i]);
            cr_expect_eq(k, MCRX_BACKEND_IOURING, "%s", uring[i]);
        } else {
            cr_expect_eq(rc, MCRX_E_BACKEND_UNAVAILABLE, "%s", uring[i]);
            cr_expect_eq(k, (mcrx_backend_kind)77, "%s: out changed", uring[i]);
        }
    }
    k = (mcrx_backend_kind)77;
    cr_expect_eq(mcrx_backend_parse("bogus", &k), MCRX_E_BACKEND_UNAVAILABLE);
    cr_expect_eq(mcrx_backend_parse("kqueue", &k), MCRX_E_BACKEND_UNAVAILABLE);
    cr_expect_eq(k, (mcrx_backend_kind)77, "out changed on failure");
}

Test(validation, explicit_backends)
{
    mcrx_ctx_options o;
    mcrx_ctx_options_init(&o);
#ifdef _WIN32
    const mcrx_backend_kind native = MCRX_BACKEND_IOCP, absent = MCRX_BACKEND_RECVMMSG;
#else
    const mcrx_backend_kind native = MCRX_BACKEND_RECVMMSG, absent = MCRX_BACKEND_IOCP;
#endif
    o.backend = native;
    mcrx_ctx *ctx = NULL;
    cr_assert_eq(mcrx_ctx_new(&ctx, &o), MCRX_OK);
    cr_expect_eq(mcrx_ctx_backend(ctx), native);
    cr_expect_not(mcrx_ctx_backend_fell_back(ctx));
    mcrx_ctx_free(ctx);

    const mcrx_backend_kind none[] = { MCRX_BACKEND_KQUEUE, absent };
    for (size_t i = 0; i < 2; i++) {
        o.backend = none[i];
        ctx = (mcrx_ctx *)&ctx_sentinel;
        cr_expect_eq(mcrx_ctx_new(&ctx, &o), MCRX_E_BACKEND_UNAVAILABLE,
                     "explicit %s", mcrx_backend_name(none[i]));
        cr_expect_eq(ctx, (mcrx_ctx *)&ctx_sentinel);
    }
    o.backend = (mcrx_backend_kind)42;
    ctx = (mcrx_ctx *)&ctx_sentinel;
    int rc = mcrx_ctx_new(&ctx, &o);
    cr_expect(rc == MCRX_E_BAD_OPTION || rc == MCRX_E_BACKEND_UNAVAILABLE,
              "backend 42: %s", mcrx_status_name(rc));
    cr_expect_eq(ctx, (mcrx_ctx *)&ctx_sentinel);
}

/* NULL context: MCRX_E_INVALID_ARG everywhere, as the header promises
 * (join/leave/remove/take returned MCRX_E_NOT_FOUND before). */
Test(validation, null_context_is_invalid_arg)
{
    mcrx_sub *sub = NULL;
    cr_expect_eq(mcrx_ctx_join(NULL, 1), MCRX_E_INVALID_ARG);
    cr_expect_eq(mcrx_ctx_leave(NULL, 1), MCRX_E_INVALID_ARG);
    cr_expect_eq(mcrx_ctx_remove(NULL, 1), MCRX_E_INVALID_ARG);
    cr_expect_eq(mcrx_ctx_take(NULL, 1, &sub), MCRX_E_INVALID_ARG);
    cr_expect_null(sub);
    mcrx_ctx *ctx = mt_ctx_new(NULL);
    cr_expect_eq(mcrx_ctx_take(ctx, 1, NULL), MCRX_E_INVALID_ARG);
    cr_expect_eq(mcrx_ctx_take(ctx, 1, &sub), MCRX_E_NOT_FOUND);
    cr_expect_eq(mcrx_ctx_add_with_socket(ctx, NULL, MCRX_INVALID_SOCKET, NULL),
                 MCRX_E_INVALID_ARG);
    mcrx_ctx_free(ctx);
}
