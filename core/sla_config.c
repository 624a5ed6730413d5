/* sla_config.c - [calendar NAME] and [sla NAME] into a policy table
 * (sla.h). Strict like the rest of the config: every key is read here,
 * so config_check_unread reports a misspelt one; anything malformed stops
 * ticketd with the section and key named. */
#include "sla.h"
#include "mem.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define SLA_MAX_MS (366LL * 24 * 3600 * 1000)

struct sla_calendar {
    char *name;
    struct calendar *cal;
    int64_t day_ms; /* its average working day, for "d" */
};

struct sla_table {
    struct sla_calendar *cals;
    size_t n_cals;
    struct sla_policy *v;
    size_t n;
    sla_members_fn members;
};

static const char *const weekdays[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

bool sla_duration_parse(const char *s, int64_t *ms, int64_t *days)
{
    if (s == NULL)
        return false;
    int64_t total = 0, d = 0;
    const char *p = s;
    while (*p == ' ')
        p++;
    if (*p == '\0')
        return false;
    while (*p != '\0' && *p != ' ') {
        if (!isdigit((unsigned char)*p))
            return false;
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            n = n * 10 + (*p++ - '0');
            if (n > 100000)
                return false;
        }
        switch (*p++) {
        case 'd': d += n; break;
        case 'h': total += n * 3600 * 1000; break;
        case 'm': total += n * 60 * 1000; break;
        case 's': total += n * 1000; break;
        default: return false;
        }
    }
    while (*p == ' ')
        p++;
    if (*p != '\0' || (total == 0 && d == 0) || total > SLA_MAX_MS || d > 366)
        return false;
    *ms = total;
    *days = d;
    return true;
}

struct load_ctx {
    struct sla_table *tab;
};

static bool load_calendar(struct td_config *cfg, const char *section, const char *name,
                          void *arg, struct td_err *err)
{
    struct sla_table *tab = ((struct load_ctx *)arg)->tab;
    const char *tz = NULL;
    struct td_err e = { TD_OK, "" };
    if (!config_require(cfg, section, "timezone", &tz, err))
        return false;
    struct calendar *cal = NULL;
    if (!calendar_new(tz, &cal, &e))
        return td_fail(err, TD_INVALID, "[%s] timezone: %s", section, e.msg);
    for (int d = 0; d < 7; d++) {
        const char *spec = config_str(cfg, section, weekdays[d], "closed");
        if (!calendar_set_day(cal, d, spec, &e)) {
            calendar_free(cal);
            return td_fail(err, TD_INVALID, "[%s] %s: %s", section, weekdays[d], e.msg);
        }
    }
    char *hol = td_strdup(config_str(cfg, section, "holidays", ""));
    bool ok = true;
    for (char *save = NULL, *tok = strtok_r(hol, ", ", &save); ok && tok;
         tok = strtok_r(NULL, ", ", &save))
        if (!calendar_add_holiday(cal, tok, &e))
            ok = td_fail(err, TD_INVALID, "[%s] holidays: %s", section, e.msg);
    free(hol);
    if (ok && !calendar_check(cal, &e))
        ok = td_fail(err, TD_INVALID, "[%s]: %s", section, e.msg);
    if (!ok) {
        calendar_free(cal);
        return false;
    }
    tab->cals = td_realloc(tab->cals, (tab->n_cals + 1) * sizeof *tab->cals);
    struct sla_calendar *sc = &tab->cals[tab->n_cals++];
    sc->name = td_strdup(name);
    sc->cal = cal;
    sc->day_ms = calendar_day_ms(cal);
    return true;
}

static const struct sla_calendar *find_calendar(const struct sla_table *tab, const char *name)
{
    for (size_t i = 0; i < tab->n_cals; i++)
        if (strcmp(tab->cals[i].name, name) == 0)
            return &tab->cals[i];
    return NULL;
}

static bool target(struct td_config *cfg, const char *section, const char *key, int64_t day_ms,
                   int64_t *out, struct td_err *err)
{
    const char *v = config_str(cfg, section, key, NULL);
    *out = 0;
    if (v == NULL || *v == '\0')
        return true;
    int64_t ms, days;
    if (!sla_duration_parse(v, &ms, &days))
        return td_fail(err, TD_INVALID, "[%s] %s: '%.40s' is no duration (like 4h, 30m, 2d, "
                       "1d4h: business time, up to a year)", section, key, v);
    *out = ms + days * day_ms;
    return true;
}

static bool load_policy(struct td_config *cfg, const char *section, const char *name, void *arg,
                        struct td_err *err)
{
    struct sla_table *tab = ((struct load_ctx *)arg)->tab;
    struct sla_policy p;
    memset(&p, 0, sizeof p);
    const char *prio = NULL;
    if (!config_require(cfg, section, "priority", &prio, err))
        return false;
    if (!priority_parse(prio, &p.priority))
        return td_fail(err, TD_INVALID, "[%s] priority: '%.40s' is not urgent, high, normal or "
                       "low", section, prio);
    const char *group = config_str(cfg, section, "group", NULL);
    const char *calname = config_str(cfg, section, "calendar", NULL);
    const char *esc = config_str(cfg, section, "escalate_to", NULL);
    bool raise = false;
    if (!config_bool(cfg, section, "raise_priority", false, &raise, err))
        return false;
    const struct sla_calendar *sc = NULL;
    if (calname != NULL && *calname != '\0' && (sc = find_calendar(tab, calname)) == NULL)
        return td_fail(err, TD_INVALID, "[%s] calendar: no [calendar %.60s] section", section,
                       calname);
    int64_t day_ms = sc ? sc->day_ms : 24 * 3600 * 1000LL;
    if (!target(cfg, section, "first_response", day_ms, &p.first_response_ms, err) ||
        !target(cfg, section, "resolution", day_ms, &p.resolution_ms, err))
        return false;
    if (p.first_response_ms == 0 && p.resolution_ms == 0)
        return td_fail(err, TD_INVALID, "[%s]: set first_response, resolution or both", section);
    if (esc != NULL && *esc != '\0' && strcmp(esc, "group") != 0 &&
        (strchr(esc, '@') == NULL || strpbrk(esc, " ,;<>\"\r\n") != NULL))
        return td_fail(err, TD_INVALID, "[%s] escalate_to: '%.60s' is neither 'group' nor an "
                       "address", section, esc);
    for (size_t i = 0; i < tab->n; i++) {
        const struct sla_policy *o = &tab->v[i];
        bool same_group = (o->group == NULL && (group == NULL || *group == '\0')) ||
                          (o->group != NULL && group != NULL && strcmp(o->group, group) == 0);
        if (o->priority == p.priority && same_group)
            return td_fail(err, TD_INVALID, "[%s]: [sla %s] already covers priority %s%s%s",
                           section, o->name, priority_name(p.priority),
                           group && *group ? " in group " : "", group && *group ? group : "");
    }
    p.name = td_strdup(name);
    p.group = group && *group ? td_strdup(group) : NULL;
    p.cal = sc ? sc->cal : NULL;
    p.escalate_to = esc && *esc ? td_strdup(esc) : NULL;
    p.raise_priority = raise;
    tab->v = td_realloc(tab->v, (tab->n + 1) * sizeof *tab->v);
    tab->v[tab->n++] = p;
    return true;
}

bool sla_config_load(struct td_config *cfg, struct sla_table **out, struct td_err *err)
{
    struct load_ctx ctx = { td_calloc(1, sizeof(struct sla_table)) };
    if (!config_each_section(cfg, "calendar ", load_calendar, &ctx, err) ||
        !config_each_section(cfg, "sla ", load_policy, &ctx, err)) {
        sla_table_free(ctx.tab);
        return false;
    }
    *out = ctx.tab;
    return true;
}

bool sla_config_load_string(const char *text, struct sla_table **out, struct td_err *err)
{
    struct td_config *cfg = NULL;
    if (!config_load_string(text, &cfg, err))
        return false;
    bool ok = sla_config_load(cfg, out, err);
    if (ok && !config_check_unread(cfg, err)) {
        sla_table_free(*out);
        *out = NULL;
        ok = false;
    }
    config_free(cfg);
    return ok;
}

void sla_table_free(struct sla_table *tab)
{
    if (tab == NULL)
        return;
    for (size_t i = 0; i < tab->n; i++) {
        free(tab->v[i].name);
        free(tab->v[i].group);
        free(tab->v[i].escalate_to);
    }
    for (size_t i = 0; i < tab->n_cals; i++) {
        free(tab->cals[i].name);
        calendar_free(tab->cals[i].cal);
    }
    free(tab->v);
    free(tab->cals);
    free(tab);
}

size_t sla_table_count(const struct sla_table *tab)
{
    return tab ? tab->n : 0;
}

void sla_set_members(struct sla_table *tab, sla_members_fn fn)
{
    tab->members = fn;
}

sla_members_fn sla_members(const struct sla_table *tab)
{
    return tab ? tab->members : NULL;
}

const struct sla_policy *sla_policy_for(const struct sla_table *tab, enum td_priority priority,
                                        const char *queue)
{
    if (tab == NULL)
        return NULL;
    const struct sla_policy *any = NULL;
    for (size_t i = 0; i < tab->n; i++) {
        const struct sla_policy *p = &tab->v[i];
        if (p->priority != priority)
            continue;
        if (p->group == NULL)
            any = p;
        else if (queue != NULL && strcmp(p->group, queue) == 0)
            return p; /* the most specific wins */
    }
    return any;
}
