/* route.c - see route.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "route.h"
#include "group.h"
#include "log.h"
#include "mem.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bounds on one subject match: far above what a sane pattern needs on a
 * one-line subject, far below what a catastrophic one would burn. */
#define ROUTE_MATCH_LIMIT 100000
#define ROUTE_DEPTH_LIMIT 2000

struct route_rule {
    char *name;
    struct strv to;          /* lower case */
    struct strv domains;     /* lower case */
    pcre2_code *subject;     /* NULL = any */
    char *group;
};

struct route_table {
    struct route_rule *v;
    size_t n;
    pcre2_match_context *mctx;
};

static void rule_clear(struct route_rule *r)
{
    free(r->name);
    strv_clear(&r->to);
    strv_clear(&r->domains);
    pcre2_code_free(r->subject);
    free(r->group);
    memset(r, 0, sizeof *r);
}

void route_table_free(struct route_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        rule_clear(&t->v[i]);
    free(t->v);
    pcre2_match_context_free(t->mctx);
    free(t);
}

size_t route_table_count(const struct route_table *t)
{
    return t ? t->n : 0;
}

/* "a, B ,c" -> {"a", "b", "c"}: trimmed, lower-cased, empty items left out. */
static void split_lower(const char *s, struct strv *out)
{
    while (s && *s) {
        size_t n = strcspn(s, ",");
        const char *b = s, *e = s + n;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > b) {
            char *item = td_strndup(b, (size_t)(e - b));
            for (char *p = item; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
            strv_push(out, item);
            free(item);
        }
        s += n + (s[n] == ',');
    }
}

static bool load_rule(struct td_config *cfg, const char *section, const char *name, void *arg,
                      struct td_err *err)
{
    struct route_table *t = arg;
    struct route_rule r;
    memset(&r, 0, sizeof r);
    r.name = td_strdup(name);
    split_lower(config_str(cfg, section, "to", ""), &r.to);
    split_lower(config_str(cfg, section, "from_domain", ""), &r.domains);
    const char *subject = config_str(cfg, section, "subject", "");
    const char *group = config_str(cfg, section, "group", "");
    bool ok = true;
    if (group[0] == '\0')
        ok = td_fail(err, TD_INVALID, "[%s] group: a route needs the group its tickets go to",
                     section);
    else if (!group_key_valid(group))
        ok = td_fail(err, TD_INVALID,
                     "[%s] group: '%.64s' is no group key (1-64 of A-Z a-z 0-9 . _ -)", section,
                     group);
    else if (r.to.n == 0 && r.domains.n == 0 && subject[0] == '\0')
        ok = td_fail(err, TD_INVALID,
                     "[%s]: a route needs at least one of to, from_domain, subject", section);
    if (ok && subject[0] != '\0') {
        int code;
        PCRE2_SIZE off;
        r.subject = pcre2_compile((PCRE2_SPTR)subject, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code,
                                  &off, NULL);
        if (r.subject == NULL) {
            PCRE2_UCHAR msg[160];
            if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
                snprintf((char *)msg, sizeof msg, "error %d", code);
            ok = td_fail(err, TD_INVALID, "[%s] subject: bad pattern at offset %zu: %s", section,
                         (size_t)off, (const char *)msg);
        }
    }
    if (!ok) {
        rule_clear(&r);
        return false;
    }
    r.group = td_strdup(group);
    t->v = td_realloc(t->v, (t->n + 1) * sizeof *t->v);
    t->v[t->n++] = r;
    return true;
}

bool route_table_load(struct td_config *cfg, struct route_table **out, struct td_err *err)
{
    struct route_table *t = td_calloc(1, sizeof *t);
    t->mctx = pcre2_match_context_create(NULL);
    if (t->mctx == NULL)
        td_oom();
    pcre2_set_match_limit(t->mctx, ROUTE_MATCH_LIMIT);
    pcre2_set_depth_limit(t->mctx, ROUTE_DEPTH_LIMIT);
    if (!config_each_section(cfg, "route ", load_rule, t, err)) {
        route_table_free(t);
        return false;
    }
    *out = t;
    return true;
}

static bool to_matches(const struct route_rule *r, const struct strv *recipients)
{
    if (r->to.n == 0)
        return true;
    for (size_t i = 0; recipients && i < recipients->n; i++)
        for (size_t k = 0; k < r->to.n; k++)
            if (strcasecmp(recipients->v[i], r->to.v[k]) == 0)
                return true;
    return false;
}

/* The sender's domain is one of the rule's, or a subdomain of one. */
static bool domain_matches(const struct route_rule *r, const char *sender)
{
    if (r->domains.n == 0)
        return true;
    const char *at = sender ? strrchr(sender, '@') : NULL;
    if (at == NULL)
        return false;
    const char *dom = at + 1;
    size_t dl = strlen(dom);
    for (size_t k = 0; k < r->domains.n; k++) {
        const char *want = r->domains.v[k];
        size_t wl = strlen(want);
        if (dl == wl && strcasecmp(dom, want) == 0)
            return true;
        if (dl > wl && dom[dl - wl - 1] == '.' && strcasecmp(dom + dl - wl, want) == 0)
            return true;
    }
    return false;
}

static bool subject_matches(const struct route_table *t, const struct route_rule *r,
                            const char *subject)
{
    if (r->subject == NULL)
        return true;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->subject, NULL);
    if (md == NULL)
        td_oom();
    const char *s = subject ? subject : "";
    int rc = pcre2_match(r->subject, (PCRE2_SPTR)s, strlen(s), 0, 0, md, t->mctx);
    pcre2_match_data_free(md);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
        log_event(LOG_WARN, "route_subject_error", LF_S("route", r->name), LF_I("code", rc));
    return rc >= 0;
}

const char *route_pick(const struct route_table *t, const struct route_input *in,
                       const char *def, const char **rule)
{
    if (rule)
        *rule = NULL;
    for (size_t i = 0; t && i < t->n; i++) {
        const struct route_rule *r = &t->v[i];
        if (to_matches(r, in->recipients) && domain_matches(r, in->sender) &&
            subject_matches(t, r, in->subject)) {
            if (rule)
                *rule = r->name;
            return r->group;
        }
    }
    return def;
}
