/* authorship.c - see authorship.h. */
#include "authorship.h"

#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "core/merge.h"
#include "core/participant.h"
#include "core/policy.h"
#include "core/text.h"
#include "core/user.h"
#include "loop.h"

const char *authorship_domain(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    return at ? at + 1 : "";
}

/* Local parts that are machines, not people (compared up to a '+' or
 * the '@'; "bounce" also as a prefix, as list servers write it). */
static const char *const robots[] = {
    "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply",
    "mailer-daemon", "postmaster", "listserv", "majordomo", "notifications", "notification",
};

/* The address inside a List-Post value "<mailto:list@x>", or NULL. */
static char *list_post(const struct mime_msg *m)
{
    const char *v = mime_header(m, "List-Post");
    const char *p = v ? strcasestr(v, "mailto:") : NULL;
    if (p == NULL)
        return NULL;
    p += 7;
    size_t n = strcspn(p, ">?, \t");
    return n ? td_strndup(p, n) : NULL;
}

bool authorship_address_is_robot(const struct mime_msg *m, const char *addr)
{
    const char *at = strrchr(addr, '@');
    if (at == NULL)
        return true;
    size_t ll = strcspn(addr, "+@");
    for (size_t i = 0; i < sizeof robots / sizeof *robots; i++)
        if (strlen(robots[i]) == ll && strncasecmp(addr, robots[i], ll) == 0)
            return true;
    if (strncasecmp(addr, "bounce", 6) == 0 || strncasecmp(addr, "owner-", 6) == 0)
        return true;
    if (ll > 8 && strncasecmp(addr + ll - 8, "-request", 8) == 0)
        return true;
    char *list = m ? list_post(m) : NULL;
    bool is_list = list && strcasecmp(list, addr) == 0;
    free(list);
    return is_list;
}

static bool free_mail(const struct mailgw_settings *set, const char *domain)
{
    for (size_t i = 0; i < set->free_mail.n; i++)
        if (strcasecmp(set->free_mail.v[i], domain) == 0)
            return true;
    return false;
}

/* Whether sender's domain is that of the requester or a participant of
 * t, and no free-mail domain. */
static bool same_company(struct td_core *c, const struct mailgw_settings *set,
                         const struct td_user *sender, const struct td_ticket *t,
                         struct td_err *err)
{
    const char *dom = authorship_domain(sender->email);
    if (dom[0] == '\0' || free_mail(set, dom))
        return false;
    size_t n = t->participants.n + 1;
    for (size_t i = 0; i < n; i++) {
        const char *id = i == 0 ? t->requester_id : t->participants.v[i - 1];
        struct td_user u;
        struct td_err e;
        td_err_clear(&e);
        if (!c->store->ops->user_get(c->store, id, &u, &e)) {
            if (e.code != TD_NOT_FOUND) {
                if (err)
                    *err = e;
                return false;
            }
            continue;
        }
        bool same = u.role == ROLE_CUSTOMER && strcasecmp(authorship_domain(u.email), dom) == 0;
        user_clear(&u);
        if (same)
            return true;
    }
    return false;
}

bool authorship_decide(struct td_core *c, const struct mailgw_settings *set,
                       const struct td_user *sender, int64_t thread_ticket, enum thread_how how,
                       int64_t token_ticket, struct author_verdict *out, struct td_err *err)
{
    memset(out, 0, sizeof *out);
    int64_t named = token_ticket > 0 ? token_ticket : thread_ticket;
    if (named <= 0)
        return true; /* a new conversation: nobody's ticket */
    int64_t n = 0;
    struct td_err e;
    td_err_clear(&e);
    if (!ticket_follow_merges(c, named, &n, &e)) {
        if (e.code == TD_NOT_FOUND || e.code == TD_CONFLICT)
            return true; /* the thread names no usable ticket: a new one */
        if (err)
            *err = e;
        return false;
    }
    out->ticket = n;
    struct td_ticket t;
    td_err_clear(&e);
    if (!c->store->ops->ticket_get(c->store, n, &t, &e)) {
        if (err)
            *err = e;
        return false;
    }
    bool member = policy_in_conversation(sender, &t);
    bool ok = true;
    if (token_ticket > 0) {
        out->rule = AUTHOR_TOKEN;
        out->add_participant = !member;
    } else if (member && how != THREAD_NONE) {
        out->rule = AUTHOR_MEMBER;
    } else if (how == THREAD_IN_REPLY_TO || how == THREAD_REFERENCES) {
        td_err_clear(&e);
        if (same_company(c, set, sender, &t, &e)) {
            out->rule = AUTHOR_SAME_DOMAIN;
            out->add_participant = true;
        } else if (e.code != TD_OK) {
            ok = false;
            if (err)
                *err = e;
        }
    }
    ticket_clear(&t);
    return ok;
}

bool authorship_cc_participants(struct td_core *c, const struct mailgw_settings *set,
                                const struct mime_msg *m, const char *sender,
                                struct strv *out, struct td_err *err)
{
    if (!set->cc_participants)
        return true;
    for (size_t i = 0; i < m->recipients.n && out->n < PARTICIPANT_MAX_ADD; i++) {
        char *addr = NULL;
        if (!email_normalize(m->recipients.v[i], "cc", &addr, NULL))
            continue; /* not a usable address: nobody to add */
        bool skip = (sender && strcmp(addr, sender) == 0) || loop_is_own_address(&set->own, addr) ||
                    authorship_address_is_robot(m, addr);
        struct td_user u;
        struct td_err e;
        td_err_clear(&e);
        if (!skip && c->store->ops->user_get_by_email(c->store, addr, &u, &e)) {
            /* Agents follow a ticket on purpose, not by being on Cc;
             * disabled accounts take part in nothing. */
            skip = u.role != ROLE_CUSTOMER || u.disabled;
            user_clear(&u);
        } else if (!skip && e.code != TD_NOT_FOUND) {
            free(addr);
            if (err)
                *err = e;
            return false;
        }
        if (!skip) {
            if (!user_ensure_customer(c, addr, NULL, &u, err)) {
                free(addr);
                return false;
            }
            if (!strv_contains(out, u.id))
                strv_push(out, u.id);
            user_clear(&u);
        }
        free(addr);
    }
    return true;
}

const char *author_rule_name(enum author_rule r)
{
    switch (r) {
    case AUTHOR_STRANGER: return "stranger";
    case AUTHOR_TOKEN: return "reply-token";
    case AUTHOR_MEMBER: return "participant";
    case AUTHOR_SAME_DOMAIN: return "same-domain";
    }
    return "?";
}
