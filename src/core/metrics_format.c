/*
 * Metrics as text: one JSON line per interval, and OpenMetrics /
 * Prometheus text. Both are driven by the tables below, so every counter
 * is exported under one name everywhere (docs/metrics.md lists them).
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"

/* ---- a bounded text buffer that keeps counting past its end ---- */

struct sb {
    char *buf;
    size_t cap, len; /* len may exceed cap: the length needed */
};

static void sb_printf(struct sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sb *b, const char *fmt, ...)
{
    size_t room = b->len < b->cap ? b->cap - b->len : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? b->buf + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n;
}

static int sb_finish(const struct sb *b, size_t *len_out)
{
    *len_out = b->len;
    if (b->len >= b->cap) {
        if (b->cap)
            b->buf[b->cap - 1] = '\0';
        return MCRX_E_NO_MEMORY;
    }
    return MCRX_OK;
}

/* text with '"', '\\' and control characters escaped (JSON and
 * OpenMetrics label values share these rules for what we emit). */
static void sb_escaped(struct sb *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            sb_printf(b, "\\%c", c);
        else if (c == '\n')
            sb_printf(b, "\\n");
        else if (c < 0x20)
            sb_printf(b, "\\u%04x", c);
        else
            sb_printf(b, "%c", c);
    }
}

static const char *ip_text(const mcrx_ip *ip, char buf[MCRX_IP_STRLEN])
{
    if (ip->family == MCRX_AF_UNSPEC || mcrx_ip_format(ip, buf, MCRX_IP_STRLEN) != MCRX_OK)
        buf[0] = '\0';
    return buf;
}

/* ---- names of the exported text ---- */

static const char *state_name(mcrx_sub_state st)
{
    return st == MCRX_SUB_JOINED ? "joined" : "bound";
}

/* ---- JSON ---- */

static void json_counters(struct sb *b, const struct mcrx_counter_info *info, int n,
                          const uint64_t *total, const uint64_t *delta,
                          const double *rate)
{
    for (int i = 0; i < n; i++) {
        sb_printf(b, ",\"%s_total\":%" PRIu64, info[i].json, total[i]);
        if (delta)
            sb_printf(b, ",\"%s_delta\":%" PRIu64, info[i].json, delta[i]);
        if (delta && rate && info[i].rate)
            sb_printf(b, ",\"%s\":%.3f", info[i].rate, rate[i]);
    }
}

static void json_ip(struct sb *b, const char *key, const mcrx_ip *ip)
{
    char t[MCRX_IP_STRLEN];
    if (ip->family == MCRX_AF_UNSPEC)
        sb_printf(b, ",\"%s\":null", key);
    else
        sb_printf(b, ",\"%s\":\"%s\"", key, ip_text(ip, t));
}

static void json_sub(struct sb *b, const mcrx_sub_metrics *m,
                     const mcrx_sub_delta *d)
{
    sb_printf(b, "{\"id\":%" PRIu64, m->id);
    json_ip(b, "group", &m->config.group);
    json_ip(b, "source", &m->config.source);
    sb_printf(b, ",\"dst_port\":%u,\"state\":\"%s\"", (unsigned)m->config.dst_port,
              state_name(m->state));
    if (d)
        sb_printf(b, ",\"fresh\":%s", d->fresh ? "true" : "false");
    json_counters(b, mcrx_sub_counter_info, MCRX_SC_COUNT, m->counter,
                  d ? d->counter : NULL, d ? d->rate : NULL);
    sb_printf(b, ",\"last_payload_len\":%" PRIu32, m->last_payload_len);
    json_ip(b, "last_source", &m->last_source);
    sb_printf(b, ",\"last_source_port\":%u,\"last_receive_unix_ns\":%" PRId64 "}",
              (unsigned)m->last_source_port, m->last_rx_unix_ns);
}

static void json_process(struct sb *b, const mcrx_process_metrics *p,
                         const mcrx_metrics_interval *d)
{
    sb_printf(b, ",\"process\":{\"available\":%s", p->available ? "true" : "false");
    for (int i = 0; i < MCRX_PC_COUNT; i++) {
        const char *name = mcrx_proc_counter_info[i].name;
        sb_printf(b, ",\"%s_total\":%" PRIu64, name, p->counter[i]);
        if (d)
            sb_printf(b, ",\"%s_delta\":%" PRIu64, name, d->process[i]);
    }
    if (d)
        sb_printf(b, ",\"cpu_percent\":%.3f", d->cpu_percent);
    for (int i = 0; i < MCRX_PG_COUNT; i++)
        sb_printf(b, ",\"%s\":%" PRIu64, mcrx_proc_gauge_info[i].name, p->gauge[i]);
    sb_printf(b, "}");
}

/* ---- a JSON validator for flags_json (copied verbatim into each record,
 * so it must be one valid JSON object on one line) ---- */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    for (; *p != '"'; p++) {
        if ((unsigned char)*p < 0x20) /* control characters, newline, end */
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
    }
    return p + 1;
}

static const char *json_digits(const char *p)
{
    if (*p < '0' || *p > '9')
        return NULL;
    while (*p >= '0' && *p <= '9')
        p++;
    return p;
}

static const char *json_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (!(p = json_digits(p)))
        return NULL;
    if (*p == '.' && !(p = json_digits(p + 1)))
        return NULL;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        p = json_digits(p);
    }
    return p;
}

/* Members of an object (close '}') or elements of an array (close ']'). */
static const char *json_items(const char *p, char close, int depth)
{
    p = json_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (close == '}') {
            p = json_string(p);
            if (!p || *(p = json_ws(p)) != ':')
                return NULL;
            p++;
        }
        p = json_value(p, depth + 1);
        if (!p)
            return NULL;
        p = json_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
        p = json_ws(p);
    }
}

static const char *json_value(const char *p, int depth)
{
    p = json_ws(p);
    if (depth > 32)
        return NULL;
    switch (*p) {
    case '{': return json_items(p, '}', depth);
    case '[': return json_items(p, ']', depth);
    case '"': return json_string(p);
    case 't': return strncmp(p, "true", 4) ? NULL : p + 4;
    case 'f': return strncmp(p, "false", 5) ? NULL : p + 5;
    case 'n': return strncmp(p, "null", 4) ? NULL : p + 4;
    default: return json_number(p);
    }
}

static bool is_json_object(const char *s)
{
    const char *p = json_ws(s);
    if (*p != '{' || !(p = json_value(p, 0)))
        return false;
    return *json_ws(p) == '\0';
}

int mcrx_metrics_format_json(const mcrx_metrics_snapshot *cur,
                             const mcrx_metrics_interval *delta,
                             const mcrx_metrics_json_opts *opts, char *buf,
                             size_t cap, size_t *len_out)
{
    if (!cur || !len_out || (!buf && cap) ||
        (delta && delta->sub_count != cur->sub_count) ||
        (opts && opts->flags_json && !is_json_object(opts->flags_json)))
        return MCRX_E_INVALID_ARG;
    struct sb b = {buf, cap, 0};
    sb_printf(&b, "{\"ts_unix_ms\":%" PRId64, cur->unix_ns / 1000000);
    if (opts && opts->node_id) {
        sb_printf(&b, ",\"node_id\":\"");
        sb_escaped(&b, opts->node_id);
        sb_printf(&b, "\"");
    }
    if (opts && opts->flags_json)
        sb_printf(&b, ",\"flags\":%s", opts->flags_json);
    sb_printf(&b, ",\"backend\":\"%s\"", mcrx_backend_name(cur->backend));
    if (delta)
        sb_printf(&b, ",\"interval_secs\":%.6f,\"counter_reset\":%s",
                  delta->interval_s, delta->reset ? "true" : "false");
    sb_printf(&b, ",\"active_subscriptions\":%" PRIu32 ",\"joined_subscriptions\":%" PRIu32,
              cur->active_subs, cur->joined_subs);
    json_counters(&b, mcrx_ctx_counter_info, MCRX_CC_COUNT, cur->ctx_counter,
                  delta ? delta->ctx_counter : NULL, NULL);
    json_counters(&b, mcrx_sub_counter_info, MCRX_SC_COUNT, cur->total,
                  delta ? delta->total : NULL, delta ? delta->total_rate : NULL);
    json_process(&b, &cur->process, delta);
    sb_printf(&b, ",\"subscriptions\":[");
    for (size_t i = 0; i < cur->sub_count; i++) {
        if (i)
            sb_printf(&b, ",");
        json_sub(&b, &cur->subs[i], delta ? &delta->subs[i] : NULL);
    }
    sb_printf(&b, "]}\n");
    return sb_finish(&b, len_out);
}

/* ---- OpenMetrics / Prometheus text ---- */

struct om {
    struct sb b;
    mcrx_metrics_text_dialect dialect;
    const char *node;
};

/* # TYPE / # UNIT / # HELP of one family. name without _total. */
static void om_family(struct om *o, const char *name, bool counter,
                      const char *unit, const char *help)
{
    const char *suffix = counter && o->dialect == MCRX_TEXT_PROMETHEUS ? "_total" : "";
    sb_printf(&o->b, "# TYPE mcrx_%s%s %s\n", name, suffix, counter ? "counter" : "gauge");
    if (unit && o->dialect == MCRX_TEXT_OPENMETRICS)
        sb_printf(&o->b, "# UNIT mcrx_%s %s\n", name, unit);
    sb_printf(&o->b, "# HELP mcrx_%s%s %s\n", name, suffix, help);
}

/* Sample name and labels, up to the value. */
static void om_sample(struct om *o, const char *name, bool counter,
                      const mcrx_sub_metrics *m)
{
    sb_printf(&o->b, "mcrx_%s%s", name, counter ? "_total" : "");
    if (!m && !o->node) {
        sb_printf(&o->b, " ");
        return;
    }
    sb_printf(&o->b, "{");
    if (m) {
        char g[MCRX_IP_STRLEN], s[MCRX_IP_STRLEN];
        sb_printf(&o->b, "sub_id=\"%" PRIu64 "\",group=\"%s\",source=\"%s\",port=\"%u\"",
                  m->id, ip_text(&m->config.group, g), ip_text(&m->config.source, s),
                  (unsigned)m->config.dst_port);
    }
    if (o->node) {
        sb_printf(&o->b, "%snode=\"", m ? "," : "");
        sb_escaped(&o->b, o->node);
        sb_printf(&o->b, "\"");
    }
    sb_printf(&o->b, "} ");
}

static void om_value(struct om *o, const char *name, bool counter,
                     const mcrx_sub_metrics *m, uint64_t v)
{
    om_sample(o, name, counter, m);
    sb_printf(&o->b, "%" PRIu64 "\n", v);
}

static void om_subs(struct om *o, const mcrx_metrics_snapshot *s)
{
    char name[64];
    for (int k = 0; k < MCRX_SC_COUNT; k++) {
        snprintf(name, sizeof name, "sub_%s", mcrx_sub_counter_info[k].name);
        om_family(o, name, true, k == MCRX_SC_BYTES ? "bytes" : NULL,
                  mcrx_sub_counter_info[k].help);
        for (size_t i = 0; i < s->sub_count; i++)
            om_value(o, name, true, &s->subs[i], s->subs[i].counter[k]);
    }
    om_family(o, "sub_joined", false, NULL, "1 while the subscription is joined, else 0.");
    for (size_t i = 0; i < s->sub_count; i++)
        om_value(o, "sub_joined", false, &s->subs[i], s->subs[i].state == MCRX_SUB_JOINED);
    om_family(o, "sub_last_payload_bytes", false, "bytes",
              "Wire length of the last delivered datagram (0: none yet).");
    for (size_t i = 0; i < s->sub_count; i++)
        om_value(o, "sub_last_payload_bytes", false, &s->subs[i], s->subs[i].last_payload_len);
    om_family(o, "sub_last_receive_timestamp_seconds", false, "seconds",
              "Unix time of the last delivered datagram (0: none yet).");
    for (size_t i = 0; i < s->sub_count; i++) {
        int64_t ns = s->subs[i].last_rx_unix_ns;
        om_sample(o, "sub_last_receive_timestamp_seconds", false, &s->subs[i]);
        sb_printf(&o->b, "%" PRId64 ".%09" PRId64 "\n", ns / 1000000000, ns % 1000000000);
    }
}

static void om_context(struct om *o, const mcrx_metrics_snapshot *s)
{
    char help[160];
    for (int k = 0; k < MCRX_CC_COUNT; k++) {
        const struct mcrx_counter_info *c = &mcrx_ctx_counter_info[k];
        om_family(o, c->name, true, NULL, c->help);
        om_value(o, c->name, true, NULL, s->ctx_counter[k]);
    }
    for (int k = 0; k < MCRX_SC_COUNT; k++) {
        const struct mcrx_counter_info *c = &mcrx_sub_counter_info[k];
        snprintf(help, sizeof help, "All subscriptions, removed ones included: %s", c->help);
        om_family(o, c->name, true, k == MCRX_SC_BYTES ? "bytes" : NULL, help);
        om_value(o, c->name, true, NULL, s->total[k]);
    }
    om_family(o, "subscriptions_active", false, NULL, "Subscriptions in the context.");
    om_value(o, "subscriptions_active", false, NULL, s->active_subs);
    om_family(o, "subscriptions_joined", false, NULL, "Joined subscriptions in the context.");
    om_value(o, "subscriptions_joined", false, NULL, s->joined_subs);
}

static void om_process(struct om *o, const mcrx_process_metrics *p)
{
    if (!p->available)
        return;
    for (int k = 0; k < MCRX_PC_COUNT; k++) {
        const struct mcrx_proc_info *c = &mcrx_proc_counter_info[k];
        om_family(o, c->om, true, c->unit, c->help);
        om_sample(o, c->om, true, NULL);
        if (c->div == 1)
            sb_printf(&o->b, "%" PRIu64 "\n", p->counter[k]);
        else
            sb_printf(&o->b, "%.9f\n", (double)p->counter[k] / c->div);
    }
    for (int k = 0; k < MCRX_PG_COUNT; k++) {
        const struct mcrx_proc_info *g = &mcrx_proc_gauge_info[k];
        om_family(o, g->om, false, g->unit, g->help);
        om_value(o, g->om, false, NULL, p->gauge[k]);
    }
}

int mcrx_metrics_format_openmetrics(const mcrx_metrics_snapshot *snap,
                                    mcrx_metrics_text_dialect dialect,
                                    const char *node_id, char *buf, size_t cap,
                                    size_t *len_out)
{
    if (!snap || !len_out || (!buf && cap) ||
        (dialect != MCRX_TEXT_OPENMETRICS && dialect != MCRX_TEXT_PROMETHEUS))
        return MCRX_E_INVALID_ARG;
    struct om o = {{buf, cap, 0}, dialect, node_id};
    om_context(&o, snap);
    om_subs(&o, snap);
    om_process(&o, &snap->process);
    if (dialect == MCRX_TEXT_OPENMETRICS)
        sb_printf(&o.b, "# EOF\n");
    return sb_finish(&o.b, len_out);
}
