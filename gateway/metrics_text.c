/* The Prometheus text exposition format, version 0.0.4:
 * https://prometheus.io/docs/instrumenting/exposition_formats/ */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/metrics.h"

const double metrics_buckets[METRICS_N_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                   0.25,  0.5,    1,     2.5,  5,     10};

void metrics_hist_observe(metrics_hist_t *h, int64_t ns) {
    if (ns < 0) ns = 0;
    double s = (double)ns / 1e9;
    int i = 0;
    while (i < METRICS_N_BUCKETS && s > metrics_buckets[i]) i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)ns, memory_order_relaxed);
}

uint64_t metrics_hist_count(const metrics_hist_t *h) {
    uint64_t n = 0;
    for (int i = 0; i <= METRICS_N_BUCKETS; i++) n += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
    return n;
}

void metrics_text_free(metrics_text_t *t) {
    free(t->data);
    *t = (metrics_text_t){0};
}

void metrics_text_printf(metrics_text_t *t, const char *fmt, ...) {
    if (t->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int n = vsnprintf(t->data ? t->data + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = true;
            return;
        }
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 16384;
        while (cap - t->len <= (size_t)n) cap *= 2;
        char *p = realloc(t->data, cap);
        if (p == NULL) {
            t->oom = true;
            return;
        }
        t->data = p;
        t->cap = cap;
    }
}

size_t metrics_escape_label(const char *value, char *out, size_t cap) {
    size_t k = 0;
    if (cap == 0) return 0;
    for (const char *p = value; *p; p++) {
        const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
        size_t need = esc ? 2 : 1;
        if (k + need >= cap) break; /* never split an escape */
        if (esc) memcpy(out + k, esc, 2);
        else out[k] = *p;
        k += need;
    }
    out[k] = '\0';
    return k;
}

void metrics_text_family(metrics_text_t *t, const char *name, const char *type, const char *help) {
    metrics_text_printf(t, "# HELP %s ", name);
    /* HELP text escapes only backslash and newline. */
    for (const char *p = help; *p; p++) {
        if (*p == '\\') metrics_text_printf(t, "\\\\");
        else if (*p == '\n') metrics_text_printf(t, "\\n");
        else metrics_text_printf(t, "%c", *p);
    }
    metrics_text_printf(t, "\n# TYPE %s %s\n", name, type);
}

static void sample_head(metrics_text_t *t, const char *name, const char *suffix, const char *labels,
                        const char *extra) {
    bool any = *labels || *extra;
    metrics_text_printf(t, "%s%s%s%s%s%s%s", name, suffix, any ? "{" : "", labels, *labels && *extra ? "," : "", extra,
                        any ? "}" : "");
}

void metrics_text_counter(metrics_text_t *t, const char *name, const char *labels, uint64_t value) {
    sample_head(t, name, "", labels, "");
    metrics_text_printf(t, " %llu\n", (unsigned long long)value);
}

void metrics_text_gauge(metrics_text_t *t, const char *name, const char *labels, double value) {
    sample_head(t, name, "", labels, "");
    metrics_text_printf(t, " %.17g\n", value);
}

void metrics_text_histogram(metrics_text_t *t, const char *name, const char *labels, const metrics_hist_t *h) {
    /* Read each bucket once and derive _count from the same reads, so the
     * +Inf bucket and _count always agree even while requests land. */
    uint64_t cumulative = 0;
    char le[40];
    for (int i = 0; i <= METRICS_N_BUCKETS; i++) {
        cumulative += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
        if (i < METRICS_N_BUCKETS) snprintf(le, sizeof le, "le=\"%g\"", metrics_buckets[i]);
        else snprintf(le, sizeof le, "le=\"+Inf\"");
        sample_head(t, name, "_bucket", labels, le);
        metrics_text_printf(t, " %llu\n", (unsigned long long)cumulative);
    }
    sample_head(t, name, "_sum", labels, "");
    metrics_text_printf(t, " %.9f\n", (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9);
    sample_head(t, name, "_count", labels, "");
    metrics_text_printf(t, " %llu\n", (unsigned long long)cumulative);
}
