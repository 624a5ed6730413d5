/* metrics.c - see metrics.h.
 *
 * Publication: a family's series[] and the registry's fams[] are fixed
 * arrays filled in order under a mutex; the count is stored with release
 * after the slot is written and read with acquire before the slots are,
 * so a reader never sees a half-built entry and never needs the lock.
 * Values are relaxed atomics: a scrape may see a histogram's sum a moment
 * apart from its buckets (Prometheus tolerates that), but _count is
 * always computed from the buckets so it equals the +Inf bucket. */
#include "metrics.h"
#include "mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>

struct metric {
    const struct metric_family *fam;
    char *values[METRICS_MAX_LABELS];
    atomic_llong value;                              /* counter, gauge */
    atomic_ullong sum_us;                            /* histogram */
    atomic_ullong buckets[METRICS_MAX_BUCKETS + 1];  /* non-cumulative; last = +Inf */
};

struct metric_family {
    char *name;
    char *help;
    enum metric_type type;
    size_t nlabels;
    char *labels[METRICS_MAX_LABELS];
    size_t nbounds;
    uint64_t bounds_us[METRICS_MAX_BUCKETS];
    pthread_mutex_t lock;
    atomic_size_t n;
    struct metric *series[METRICS_MAX_SERIES];
    struct metric *overflow; /* under lock; "_other" labels */
};

struct metrics {
    pthread_mutex_t lock;
    atomic_size_t n;
    struct metric_family *fams[METRICS_MAX_FAMILIES];
};

struct metrics *metrics_new(void)
{
    struct metrics *m = td_calloc(1, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
    atomic_init(&m->n, 0);
    return m;
}

static void series_free(struct metric *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < METRICS_MAX_LABELS; i++)
        free(s->values[i]);
    free(s);
}

static void family_free(struct metric_family *f)
{
    size_t n = atomic_load(&f->n);
    for (size_t i = 0; i < n; i++)
        series_free(f->series[i]);
    series_free(f->overflow);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->name);
    free(f->help);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void metrics_free(struct metrics *m)
{
    if (m == NULL)
        return;
    size_t n = atomic_load(&m->n);
    for (size_t i = 0; i < n; i++)
        family_free(m->fams[i]);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no ':'; "le" is reserved). */
static bool valid_name(const char *s, bool label)
{
    if (s == NULL || *s == '\0')
        return false;
    if (label && (strcmp(s, "le") == 0 || strncmp(s, "__", 2) == 0))
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (!label && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static struct metric *series_new(const struct metric_family *f, const char *const *values)
{
    struct metric *s = td_calloc(1, sizeof *s);
    s->fam = f;
    for (size_t i = 0; i < f->nlabels; i++)
        s->values[i] = td_strdup(values ? values[i] : "_other");
    atomic_init(&s->value, 0);
    atomic_init(&s->sum_us, 0);
    for (size_t i = 0; i <= METRICS_MAX_BUCKETS; i++)
        atomic_init(&s->buckets[i], 0);
    return s;
}

static struct metric_family *family_find(struct metrics *m, const char *name)
{
    size_t n = atomic_load_explicit(&m->n, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (strcmp(m->fams[i]->name, name) == 0)
            return m->fams[i];
    return NULL;
}

static struct metric_family *family_add(struct metrics *m, const char *name, const char *help,
                                        enum metric_type type, const char *const *labels,
                                        const uint64_t *bounds_us, size_t nbounds)
{
    if (m == NULL || !valid_name(name, false))
        return NULL;
    size_t nlabels = 0;
    for (; labels && labels[nlabels]; nlabels++)
        if (nlabels == METRICS_MAX_LABELS || !valid_name(labels[nlabels], true))
            return NULL;
    if (type == METRIC_HISTOGRAM) {
        if (nbounds == 0 || nbounds > METRICS_MAX_BUCKETS)
            return NULL;
        for (size_t i = 1; i < nbounds; i++)
            if (bounds_us[i] <= bounds_us[i - 1])
                return NULL;
    }
    pthread_mutex_lock(&m->lock);
    struct metric_family *f = family_find(m, name);
    size_t n = atomic_load_explicit(&m->n, memory_order_relaxed);
    if (f != NULL || n == METRICS_MAX_FAMILIES) {
        pthread_mutex_unlock(&m->lock);
        return f;
    }
    f = td_calloc(1, sizeof *f);
    f->name = td_strdup(name);
    f->help = td_strdup(help ? help : "");
    f->type = type;
    f->nlabels = nlabels;
    for (size_t i = 0; i < nlabels; i++)
        f->labels[i] = td_strdup(labels[i]);
    f->nbounds = type == METRIC_HISTOGRAM ? nbounds : 0;
    if (f->nbounds)
        memcpy(f->bounds_us, bounds_us, nbounds * sizeof *bounds_us);
    pthread_mutex_init(&f->lock, NULL);
    atomic_init(&f->n, 0);
    if (nlabels == 0) {
        f->series[0] = series_new(f, NULL);
        atomic_store_explicit(&f->n, 1, memory_order_release);
    }
    m->fams[n] = f;
    atomic_store_explicit(&m->n, n + 1, memory_order_release);
    pthread_mutex_unlock(&m->lock);
    return f;
}

struct metric_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                      const char *const *labels)
{
    return family_add(m, name, help, METRIC_COUNTER, labels, NULL, 0);
}

struct metric_family *metrics_gauge(struct metrics *m, const char *name, const char *help,
                                    const char *const *labels)
{
    return family_add(m, name, help, METRIC_GAUGE, labels, NULL, 0);
}

struct metric_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                        const char *const *labels, const uint64_t *bounds_us,
                                        size_t n)
{
    return family_add(m, name, help, METRIC_HISTOGRAM, labels, bounds_us, n);
}

static bool series_matches(const struct metric *s, size_t nlabels, const char *const *values)
{
    for (size_t i = 0; i < nlabels; i++)
        if (strcmp(s->values[i], values[i]) != 0)
            return false;
    return true;
}

struct metric *metric_at(struct metric_family *f, const char *const *values)
{
    if (f == NULL)
        return NULL;
    size_t nv = 0;
    while (values && nv <= f->nlabels && values[nv])
        nv++;
    if (nv != f->nlabels)
        return NULL;
    size_t n = atomic_load_explicit(&f->n, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (series_matches(f->series[i], f->nlabels, values))
            return f->series[i];
    pthread_mutex_lock(&f->lock);
    struct metric *s = NULL;
    n = atomic_load_explicit(&f->n, memory_order_relaxed);
    for (size_t i = 0; i < n && s == NULL; i++) /* created meanwhile? */
        if (series_matches(f->series[i], f->nlabels, values))
            s = f->series[i];
    if (s == NULL && n < METRICS_MAX_SERIES) {
        s = series_new(f, values);
        f->series[n] = s;
        atomic_store_explicit(&f->n, n + 1, memory_order_release);
    } else if (s == NULL) {
        if (f->overflow == NULL)
            f->overflow = series_new(f, NULL);
        s = f->overflow;
    }
    pthread_mutex_unlock(&f->lock);
    return s;
}

void metric_inc(struct metric *s)
{
    metric_add(s, 1);
}

void metric_add(struct metric *s, int64_t n)
{
    if (s == NULL || s->fam->type == METRIC_HISTOGRAM)
        return;
    if (s->fam->type == METRIC_COUNTER && n < 0)
        return;
    atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void metric_set(struct metric *s, int64_t v)
{
    if (s == NULL || s->fam->type != METRIC_GAUGE)
        return;
    atomic_store_explicit(&s->value, v, memory_order_relaxed);
}

void metric_observe_us(struct metric *s, uint64_t us)
{
    if (s == NULL || s->fam->type != METRIC_HISTOGRAM)
        return;
    const struct metric_family *f = s->fam;
    size_t b = 0;
    while (b < f->nbounds && us > f->bounds_us[b]) /* le: upper bound inclusive */
        b++;
    atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_us, us, memory_order_relaxed);
}

int64_t metric_value(const struct metric *s)
{
    if (s == NULL)
        return 0;
    if (s->fam->type != METRIC_HISTOGRAM)
        return atomic_load_explicit(&s->value, memory_order_relaxed);
    uint64_t total = 0;
    for (size_t i = 0; i <= s->fam->nbounds; i++)
        total += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
    return (int64_t)total;
}

/* ---- exposition ---------------------------------------------------- */

/* Microseconds as exact decimal seconds: 2500000 -> "2.5", 100 -> "0.0001". */
static void put_seconds(struct buf *out, uint64_t us)
{
    unsigned long long whole = us / 1000000, frac = us % 1000000;
    if (frac == 0) {
        buf_printf(out, "%llu", whole);
        return;
    }
    char digits[8];
    int w = 6;
    while (frac % 10 == 0) {
        frac /= 10;
        w--;
    }
    (void)snprintf(digits, sizeof digits, "%0*llu", w, frac);
    buf_printf(out, "%llu.%s", whole, digits);
}

/* Label values: backslash, double quote and line feed escaped. HELP
 * text: backslash and line feed. */
static void put_escaped(struct buf *out, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            buf_puts(out, "\\\\");
        else if (*s == '\n')
            buf_puts(out, "\\n");
        else if (quote && *s == '"')
            buf_puts(out, "\\\"");
        else
            buf_putc(out, *s);
    }
}

/* {a="x",b="y"[,le="..."]}; nothing when there are no labels at all. */
static void put_labels(struct buf *out, const struct metric *s, const char *le_text)
{
    const struct metric_family *f = s->fam;
    if (f->nlabels == 0 && le_text == NULL)
        return;
    buf_putc(out, '{');
    for (size_t i = 0; i < f->nlabels; i++) {
        buf_printf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
        put_escaped(out, s->values[i], true);
        buf_putc(out, '"');
    }
    if (le_text)
        buf_printf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le_text);
    buf_putc(out, '}');
}

static void render_series(struct buf *out, const struct metric *s)
{
    const struct metric_family *f = s->fam;
    if (f->type != METRIC_HISTOGRAM) {
        buf_puts(out, f->name);
        put_labels(out, s, NULL);
        buf_printf(out, " %lld\n", (long long)atomic_load_explicit(&s->value, memory_order_relaxed));
        return;
    }
    uint64_t cum = 0;
    for (size_t b = 0; b <= f->nbounds; b++) {
        cum += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
        struct buf le = BUF_INIT;
        if (b < f->nbounds)
            put_seconds(&le, f->bounds_us[b]);
        else
            buf_puts(&le, "+Inf");
        buf_printf(out, "%s_bucket", f->name);
        put_labels(out, s, le.data);
        buf_printf(out, " %llu\n", (unsigned long long)cum);
        buf_free(&le);
    }
    buf_printf(out, "%s_sum", f->name);
    put_labels(out, s, NULL);
    buf_putc(out, ' ');
    put_seconds(out, atomic_load_explicit(&s->sum_us, memory_order_relaxed));
    buf_printf(out, "\n%s_count", f->name);
    put_labels(out, s, NULL);
    buf_printf(out, " %llu\n", (unsigned long long)cum);
}

void metrics_render(struct metrics *m, struct buf *out)
{
    static const char *const type_names[] = { "counter", "gauge", "histogram" };
    if (m == NULL)
        return;
    size_t nf = atomic_load_explicit(&m->n, memory_order_acquire);
    for (size_t i = 0; i < nf; i++) {
        struct metric_family *f = m->fams[i];
        buf_printf(out, "# HELP %s ", f->name);
        put_escaped(out, f->help, false);
        buf_printf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
        size_t ns = atomic_load_explicit(&f->n, memory_order_acquire);
        for (size_t j = 0; j < ns; j++)
            render_series(out, f->series[j]);
        pthread_mutex_lock(&f->lock);
        struct metric *over = f->overflow;
        pthread_mutex_unlock(&f->lock);
        if (over)
            render_series(out, over);
    }
}
