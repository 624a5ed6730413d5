/* ingest.c - see ingest.h.
 *
 * The order of decisions, each a function below:
 *   1. size and MIME (mime_parse): hostile or broken -> quarantine
 *   2. the key, and "was it done already?" (ingest_done_before,
 *      ingest_dedupe.c)
 *   3. the sender (a valid address), loops (loop.h): our own mail -> quarantine
 *   4. the thread (thread.h), trust (trust.h): an agent only with proof
 *   5. bounces and automatic mail: internal notes on their ticket
 *   6. a comment on the thread, else a new ticket (rate limited)
 * Every error from core goes through ingest_error -> disposition_of
 * (ingest_quarantine.c, with the keys and the quarantine itself). */
#include "ingest_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alias.h"
#include "core/buf.h"
#include "core/comment.h"
#include "core/id.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/text.h"
#include "core/ticket.h"
#include "core/user.h"
#include "authorship.h"
#include "loop.h"
#include "mime.h"
#include "quote.h"
#include "ratelimit.h"
#include "thread.h"
#include "trust.h"
#include "agent_guard.h"

#define FULL_TEXT_NAME COMMENT_FULL_TEXT_NAME
#define BODY_RESERVE 4096 /* room for notes under core's body limit */

/* ---- bodies and attachments ------------------------------------------------ */

struct payload {
    char *body;
    struct attachment_in *atts;
    size_t n_atts;
    char *full;            /* the full text, when attached */
};

static void payload_clear(struct payload *p)
{
    free(p->body);
    free(p->atts);
    free(p->full);
    memset(p, 0, sizeof *p);
}

/* text + the notes about what happened to the mail; attachments; the
 * full text as an attachment when text is not all of it. */
static void payload_build(struct job *j, const char *prefix, const char *text, bool stripped,
                          struct payload *p)
{
    const struct mime_msg *m = &j->m;
    size_t max = j->c->core->max_body > BODY_RESERVE ? j->c->core->max_body - BODY_RESERVE : 1024;
    struct buf b = BUF_INIT;
    if (prefix)
        buf_puts(&b, prefix);
    size_t tl = strlen(text);
    bool cut = false;
    if (b.len + tl > max) {
        tl = max > b.len ? max - b.len : 0;
        while (tl > 0 && ((unsigned char)text[tl] & 0xC0) == 0x80)
            tl--;
        cut = true;
    }
    buf_append(&b, text, tl);
    if (cut)
        buf_puts(&b, "\n[ticketd: the text was cut here; the whole text is attached as "
                     FULL_TEXT_NAME "]");
    for (size_t i = 0; i < m->notes.n; i++)
        buf_printf(&b, "%s[ticketd: %s]", b.len ? "\n" : "", m->notes.v[i]);
    if (b.len == 0 && m->n_atts == 0)
        buf_puts(&b, "(empty message)");
    p->body = buf_steal(&b);
    p->atts = td_calloc(m->n_atts + 1, sizeof *p->atts);
    for (size_t i = 0; i < m->n_atts; i++)
        p->atts[p->n_atts++] = (struct attachment_in){ m->atts[i].name, m->atts[i].content_type,
                                                       m->atts[i].data, m->atts[i].size,
                                                       m->atts[i].is_inline };
    if (cut || stripped) {
        p->full = td_strdup(m->text);
        p->atts[p->n_atts++] = (struct attachment_in){ FULL_TEXT_NAME, "text/plain; charset=utf-8",
                                                       (const unsigned char *)p->full,
                                                       strlen(p->full), false };
    }
}

/* ---- writing ----------------------------------------------------------------- */

/* A comment on ticket. *not_participant is set when core says the actor
 * may not write there (then the caller opens a ticket instead). */
static bool add_comment(struct job *j, const struct td_user *actor, int64_t ticket,
                        const char *prefix, const char *text, bool stripped, bool internal,
                        bool *not_participant)
{
    struct payload p;
    memset(&p, 0, sizeof p);
    payload_build(j, prefix, text, stripped, &p);
    struct comment_new in = {
        .body = p.body,
        .internal = internal,
        .source = SOURCE_EMAIL,
        .message_id = j->key,
        .attachments = p.atts,
        .n_attachments = p.n_atts,
        .drop_oversize_attachments = true,
    };
    struct td_err e;
    td_err_clear(&e);
    bool ok = comment_add(j->c->core, actor, ticket, &in, NULL, &e);
    payload_clear(&p);
    if (ok) {
        j->out->result = INGEST_COMMENT;
        j->out->ticket = ticket;
        return true;
    }
    if (e.code == TD_NOT_FOUND || e.code == TD_FORBIDDEN) {
        *not_participant = true;
        return false;
    }
    if (e.code == TD_CONFLICT) {
        /* Another process wrote this mail meanwhile? */
        int64_t t = 0;
        struct td_err e2;
        if (ingest_done_before(j, &t, &e2) == DONE_YES) {
            j->out->result = INGEST_DUPLICATE;
            j->out->ticket = t;
            return true;
        }
    }
    ingest_error(j, "add comment", &e);
    return true;
}

static bool open_ticket(struct job *j, const struct td_user *actor, bool auto_submitted)
{
    /* The Cc'd colleagues take part from the start (authorship.h). */
    struct strv cc = STRV_INIT;
    struct td_err e;
    td_err_clear(&e);
    if (!auto_submitted &&
        !authorship_cc_participants(j->c->core, j->c->set, &j->m, j->sender, &cc, &e)) {
        strv_clear(&cc);
        ingest_error(j, "participants", &e);
        return false;
    }
    char *subject = thread_subject_clean(&j->c->set->token, j->m.subject, CORE_MAX_SUBJECT);
    struct payload p;
    memset(&p, 0, sizeof p);
    payload_build(j, NULL, j->m.text, false, &p);
    struct ticket_new in = {
        .subject = subject,
        .body = p.body,
        .requester_id = actor->id,
        .queue = ingest_route(j),
        .source = SOURCE_EMAIL,
        .message_id = j->key,
        .attachments = p.atts,
        .n_attachments = p.n_atts,
        .drop_oversize_attachments = true,
        .auto_submitted = auto_submitted,
        .participants = &cc,
    };
    struct td_ticket t;
    bool ok = ticket_open(j->c->core, actor, &in, &t, &e);
    payload_clear(&p);
    free(subject);
    strv_clear(&cc);
    if (ok) {
        j->out->result = INGEST_TICKET;
        j->out->ticket = t.number;
        ticket_clear(&t);
        return true;
    }
    /* TD_CONFLICT: the key joined a thread meanwhile (another poller, or
     * a ticket inserted before a crash): the next attempt sees it, and a
     * conflict that never resolves ends in the quarantine. */
    ingest_error(j, "open ticket", &e);
    return false;
}

/* ---- the steps ------------------------------------------------------------------- */

static bool first_line_is(const char *text, const char *prefix, const char **rest)
{
    const char *p = text;
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    size_t k = strlen(prefix);
    if (strncasecmp(p, prefix, k) != 0 || (p[k] != '\0' && p[k] != '\n' && p[k] != ' ' && p[k] != '\r'))
        return false;
    const char *nl = strchr(p + k, '\n');
    *rest = nl ? nl + 1 : p + k + strlen(p + k);
    return true;
}

/* A bounce: an internal note on the ticket whose mail bounced. */
static void ingest_bounce(struct job *j, int64_t thread_ticket, const struct loop_verdict *v)
{
    int64_t t = 0;
    struct td_err e;
    td_err_clear(&e);
    if (j->m.dsn_original_id && !thread_find_msgid(ingest_store(j), j->m.dsn_original_id, &t, &e)) {
        if (e.code != TD_NOT_FOUND) {
            ingest_error(j, "find bounced mail", &e);
            return;
        }
        t = 0;
    }
    if (t == 0)
        t = thread_ticket;
    if (t == 0) {
        ingest_quarantine(j, "a bounce (%s) for a mail ticketd does not know", v->reason);
        return;
    }
    struct buf pre = BUF_INIT;
    buf_printf(&pre, "Delivery failure report from %s:\n", j->sender ? j->sender : "(unknown)");
    if (j->m.dsn_summary)
        buf_printf(&pre, "%s", j->m.dsn_summary);
    buf_puts(&pre, "\n");
    bool np = false;
    if (!add_comment(j, NULL, t, pre.data, j->m.text, false, true, &np) && np)
        ingest_quarantine(j, "bounce for ticket #%lld could not be recorded", (long long)t);
    buf_free(&pre);
}

static void ingest_person(struct job *j, int64_t thread_ticket, enum thread_how how,
                          const struct loop_verdict *v)
{
    const struct mailgw_settings *set = j->c->set;
    struct td_user user;
    struct td_err e;
    td_err_clear(&e);
    /* An agent's confirmed alias speaks for the agent (core/alias.h), if
     * the mail proves it below; it never becomes a customer account. */
    bool via_alias = alias_owner(j->c->core->store, j->sender, &user, &e);
    if (!via_alias && e.code != TD_NOT_FOUND) {
        ingest_error(j, "sender alias", &e);
        return;
    }
    td_err_clear(&e);
    if (!via_alias && !user_ensure_customer(j->c->core, j->sender, j->m.from_name, &user, &e)) {
        ingest_error(j, "sender", &e);
        return;
    }
    if (user.disabled) {
        ingest_quarantine(j, "the sender %s has a disabled account", j->sender);
        user_clear(&user);
        return;
    }
    struct td_user actor;
    memset(&actor, 0, sizeof actor);
    user_copy(&actor, &user);
    user_clear(&user);
    int64_t ticket = thread_ticket;
    bool staff = actor.role == ROLE_AGENT || actor.role == ROLE_ADMIN;
    const char *trust_how = "customer";
    if (staff && j->sender_from != NULL) {
        /* An address from Reply-To or Sender names a requester, never
         * an agent: anyone can write those fields. */
        actor.role = ROLE_CUSTOMER;
        staff = false;
        trust_how = "fallback";
    }
    if (staff) {
        struct trust_cfg tc = { &set->own, &set->authserv_ids, set->verify, set->verify_ctx };
        struct trust_result tr;
        trust_check(&tc, &j->m, j->sender, &tr);
        if (tr.how == TRUST_NONE) {
            /* From names an agent, nothing proves it (agent_guard.c). */
            agent_guard_untrusted(j, &actor);
            goto out;
        } else {
            trust_how = trust_how_name(tr.how);
            if (tr.token_ticket > 0)
                ticket = tr.token_ticket;
        }
    }
    bool automatic = v->kind == LOOP_AUTO && !j->src->retry;
    int64_t related = 0; /* a ticket a stranger's mail named (rule 4) */
    if (!ingest_decide_author(j, &actor, staff, &ticket, how, automatic, &related))
        goto out;
    if (ticket > 0) {
        bool np = false;
        if (automatic) {
            /* Recorded, never answered: an internal note by the system. */
            struct buf pre = BUF_INIT;
            buf_printf(&pre, "Automatic mail from %s (%s):\n\n", j->sender, v->reason);
            bool done = add_comment(j, NULL, ticket, pre.data, j->m.text, false, true, &np);
            buf_free(&pre);
            if (done || !np)
                goto out;
        } else {
            char *stripped = quote_strip_reply(j->m.text, j->m.subject);
            const char *text = stripped ? stripped : j->m.text;
            const char *rest = NULL;
            bool internal = staff && first_line_is(text, set->note_prefix, &rest);
            bool done = add_comment(j, &actor, ticket, NULL, internal ? rest : text,
                                    stripped != NULL, internal, &np);
            free(stripped);
            if (done || !np)
                goto out;
        }
        /* Not a participant of that thread (a forged token or a stranger
         * replying): their mail opens a ticket of their own. */
        log_event(LOG_INFO, "mail_not_participant", LF_S("sender", j->sender),
                  LF_I("ticket", ticket), LF_S("how", thread_how_name(how)));
    }
    if (!staff && !j->src->retry) {
        bool allowed = true;
        int64_t count = 0;
        td_err_clear(&e);
        if (!ratelimit_allow(j->c->core->store, actor.id, set->rate_limit, set->rate_window_ms,
                             td_now(), &allowed, &count, &e)) {
            ingest_error(j, "rate limit", &e);
            goto out;
        }
        if (!allowed) {
            ingest_quarantine(j, "rate limit: %s opened %lld tickets by mail within %lld s",
                       j->sender, (long long)count, (long long)(set->rate_window_ms / 1000));
            goto out;
        }
    }
    if (open_ticket(j, &actor, automatic) && related > 0 && j->out->result == INGEST_TICKET)
        ingest_note_related(j, related);
out:
    if (j->out->result == INGEST_TICKET || j->out->result == INGEST_COMMENT)
        log_event(LOG_DEBUG, "mail_sender", LF_S("sender", j->sender), LF_S("trust", trust_how));
    user_clear(&actor);
}

/* From is garbage or empty: the next field that names an address,
 * for the requester only (ingest_person never lets it name an agent),
 * and the comment says which one was used. A second From is the same
 * author; Reply-To is where the author wants answers; Sender is the
 * system that sent it on the author's behalf. */
static void sender_fallback(struct job *j)
{
    static const struct { const char *field; size_t nth; } order[] = {
        { "From", 1 }, { "Reply-To", 0 }, { "Sender", 0 },
    };
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        char *addr = mime_addr_extract(mime_header_nth(&j->m, order[i].field, order[i].nth));
        char *norm = NULL;
        bool ok = addr && email_normalize(addr, "sender", &norm, NULL);
        free(addr);
        if (!ok)
            continue;
        j->sender = norm;
        j->sender_from = order[i].nth ? "a second From" : order[i].field;
        struct buf note = BUF_INIT;
        buf_printf(&note, "the From field (%.80s) has no usable address; the sender %s was taken "
                          "from %s", j->m.from_addr ? j->m.from_addr : "missing", norm,
                   j->sender_from);
        strv_push(&j->m.notes, note.data);
        buf_free(&note);
        log_event(LOG_WARN, "mail_sender_fallback", LF_S("sender", norm),
                  LF_S("field", j->sender_from));
        return;
    }
}

static void ingest_parsed(struct job *j)
{
    const struct mailgw_settings *set = j->c->set;
    struct ingest_outcome *o = j->out;
    struct td_err e;

    /* The sender, before dedupe: a reused Message-ID is told apart by it. */
    char *norm = NULL;
    if (j->m.from_addr && email_normalize(j->m.from_addr, "sender", &norm, NULL)) {
        j->sender = norm;
        j->sender_from = j->m.from_field;
    } else {
        sender_fallback(j);
    }

    j->digest = ingest_digest_key(&j->m, j->raw, j->len);
    ingest_set_key(j, ingest_usable_msgid(j->m.message_id) ? td_strdup(j->m.message_id)
                                                           : td_strdup(j->digest));
    int64_t ticket = 0;
    switch (ingest_done_before(j, &ticket, &e)) {
    case DONE_YES:
        o->result = INGEST_DUPLICATE;
        o->ticket = ticket;
        return;
    case DONE_ERROR:
        ingest_error(j, "dedupe", &e);
        return;
    case DONE_HALF:
    case DONE_NO:
        break;
    }
    if (j->sender == NULL) {
        ingest_quarantine(j, "no usable sender address (From: %.100s)",
                   j->m.from_addr ? j->m.from_addr : "missing");
        return;
    }
    struct loop_verdict v;
    loop_check(&set->own, set->loop_id, &j->m, j->sender, &v);
    if (v.kind == LOOP_OWN) {
        ingest_quarantine(j, "mail loop: %s", v.reason);
        return;
    }
    enum thread_how how = THREAD_NONE;
    if (ticket == 0) {
        td_err_clear(&e);
        if (!thread_resolve(ingest_store(j), &set->token, &j->m, &ticket, &how, &e)) {
            ingest_error(j, "threading", &e);
            return;
        }
    } else {
        /* DONE_HALF: finish what a crash interrupted. */
        how = THREAD_IN_REPLY_TO;
        log_event(LOG_WARN, "mail_finish_half_done", LF_S("key", j->key), LF_I("ticket", ticket));
    }
    if (v.kind == LOOP_BOUNCE) {
        ingest_bounce(j, ticket, &v);
        return;
    }
    ingest_person(j, ticket, how, &v);
}

void ingest_mail(const struct ingest_ctx *c, const struct ingest_src *src, const char *raw,
                 size_t len, struct ingest_outcome *out)
{
    memset(out, 0, sizeof *out);
    struct job j = { .c = c, .src = src, .raw = raw, .len = len, .out = out };
    struct td_err e;
    td_err_clear(&e);
    if (src->full_size > len) {
        ingest_quarantine(&j, "the mail is %zu bytes, over the limit of %zu; its first %zu bytes are "
                       "kept here and the mail stays in the mailbox",
                   src->full_size, c->set->limits.max_bytes, len);
    } else if (!mime_parse(raw, len, &c->set->limits, &j.m, &e)) {
        ingest_quarantine(&j, "%s", e.msg);
    } else {
        j.parsed = true;
        ingest_parsed(&j);
        if (out->result != INGEST_QUARANTINED && out->result != INGEST_RETRY && j.key &&
            out->ticket > 0) {
            /* The map is a fast path for later lookups and holds the
             * digest that tells a reused Message-ID apart; failure is
             * harmless (a repeat then falls back to the sender check). */
            struct store *st = c->core->store;
            (void)st->ops->msgid_put(st, j.key, out->ticket, NULL);
            if (j.digest && out->result != INGEST_DUPLICATE)
                (void)st->ops->msgid_digest_set(st, j.key, j.digest, NULL);
        }
    }
    ingest_log(&j, j.parsed ? (j.m.is_dsn ? "dsn" : "mail") : "raw");
    mime_msg_clear(&j.m);
    free(j.key);
    free(j.digest);
    free(j.sender);
}

const char *ingest_result_name(enum ingest_result r)
{
    switch (r) {
    case INGEST_TICKET: return "ticket";
    case INGEST_COMMENT: return "comment";
    case INGEST_DUPLICATE: return "duplicate";
    case INGEST_QUARANTINED: return "quarantined";
    case INGEST_RETRY: return "retry";
    }
    return "?";
}
