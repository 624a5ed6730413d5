/* deliver.c - one claimed outbox row, from its payload to its outcome.
 * See sender.h for the steps and why the Message-ID is recorded first. */
#include "notify/deliver_files.h"
#include "notify/message.h"
#include "notify/sender_int.h"
#include "core/buf.h"
#include "core/id.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/stats.h"

#include <jansson.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_REFERENCES 10
/* Read of a thread: its first id and the most recent, with room for the
 * agents' own ids that a customer's mail leaves out. */
#define THREAD_IDS_READ (2 * MAX_REFERENCES)

static void set_outcome(struct deliver_outcome *o, enum td_outbox_state state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_outcome(struct deliver_outcome *o, enum td_outbox_state state, const char *fmt, ...)
{
    o->state = state;
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(o->error, sizeof o->error, fmt, ap);
    va_end(ap);
}

/* A store error: retry when the store was away, give up otherwise. */
static void store_outcome(struct deliver_outcome *o, const char *what, const struct td_err *e)
{
    set_outcome(o, e->code == TD_UNAVAILABLE ? OUTBOX_PENDING : OUTBOX_FAILED, "%s: %s", what,
                e->msg);
}

/* Builds m into j->mail, to be sent; or says in j->out why it cannot be. */
static void build(const struct message_in *m, struct deliver_job *j)
{
    struct td_err e;
    td_err_clear(&e);
    if (!message_build(m, &j->mail, &e)) {
        buf_free(&j->mail);
        set_outcome(&j->out, OUTBOX_FAILED, "building the mail: %s", e.msg);
    }
}

static td_time backoff(const struct sender_config *c, int attempts)
{
    int64_t d = c->retry_base_ms;
    for (int i = 1; i < attempts && d < c->retry_max_ms; i++)
        d *= 2;
    if (d > c->retry_max_ms)
        d = c->retry_max_ms;
    /* Up to 10% jitter, so rows that failed together do not retry in
     * lock-step against a server that is just coming back. */
    uint32_t j = d >= 10 ? randombytes_uniform((uint32_t)(d / 10 > UINT32_MAX ? UINT32_MAX : d / 10)) : 0;
    return d + (int64_t)j;
}

struct rendering {
    json_t *payload;
    struct template_var vars[32];
    size_t n_vars;
    const char *recipient_id;
    const char *recipient_name;
    struct template_output out;
};

static bool render(struct sender *s, const struct td_outbox *row, struct rendering *r,
                   struct deliver_outcome *o)
{
    json_error_t je;
    r->payload = json_loads(row->payload ? row->payload : "", 0, &je);
    json_t *vars = r->payload ? json_object_get(r->payload, "vars") : NULL;
    if (!json_is_object(vars)) {
        set_outcome(o, OUTBOX_FAILED, "payload is not the planner's JSON: %s", je.text);
        return false;
    }
    r->recipient_id = json_string_value(json_object_get(r->payload, "recipient_id"));
    const char *key;
    json_t *v;
    json_object_foreach(vars, key, v) {
        if (r->n_vars < sizeof r->vars / sizeof r->vars[0] && json_is_string(v))
            r->vars[r->n_vars++] = (struct template_var){ key, json_string_value(v) };
    }
    r->recipient_name = json_string_value(json_object_get(vars, "recipient"));
    struct td_err e;
    td_err_clear(&e);
    pthread_rwlock_rdlock(&s->tpl_lock);
    bool ok = template_render(s->tpl, row->kind, r->vars, r->n_vars, &r->out, &e);
    pthread_rwlock_unlock(&s->tpl_lock);
    if (!ok)
        set_outcome(o, OUTBOX_FAILED, "template: %s", e.msg);
    return ok;
}

static void rendering_clear(struct rendering *r)
{
    template_output_clear(&r->out);
    json_decref(r->payload);
}

/* The subject always carries the ticket token, whatever the template. */
static char *subject_with_token(const char *subject, int64_t ticket)
{
    char token[40];
    snprintf(token, sizeof token, "[#%lld]", (long long)ticket);
    struct buf b = BUF_INIT;
    if (strstr(subject, token) == NULL)
        buf_printf(&b, "%s %s", token, subject);
    else
        buf_puts(&b, subject);
    return buf_steal(&b);
}

/* Whether id ("<...>") may appear in a customer's mail: one of ours
 * (<ticketd.*@domain>), or the Message-ID of a customer's comment. An id
 * the store cannot place is left out: leaving a reference out costs a
 * little threading, showing the wrong one leaks a host name. */
static bool id_shareable(struct store *st, const char *domain, const char *id)
{
    size_t n = strlen(id), dl = strlen(domain);
    if (strncmp(id, "<ticketd.", 9) == 0 && n > dl + 2 && id[n - dl - 2] == '@' &&
        strncasecmp(id + n - dl - 1, domain, dl) == 0)
        return true;
    char *bare = n > 2 ? td_strndup(id + 1, n - 2) : td_strdup(id);
    struct td_comment c;
    bool ok = false;
    if (st->ops->comment_find_by_msgid(st, bare, &c, NULL) ||
        st->ops->comment_find_by_msgid(st, id, &c, NULL)) {
        struct td_user u;
        if (c.author_id[0] == '\0') {
            ok = false; /* the system: automatic mail, bounces */
        } else if (st->ops->user_get(st, c.author_id, &u, NULL)) {
            ok = u.role == ROLE_CUSTOMER;
            user_clear(&u);
        }
        comment_clear(&c);
    }
    free(bare);
    return ok;
}

/* "{agent} via {support}" filled in; from_name when the format is off. */
static char *from_via(const struct sender_config *c, const char *agent)
{
    if (c->from_via[0] == '\0' || agent == NULL || agent[0] == '\0')
        return td_strdup(c->from_name);
    struct buf b = BUF_INIT;
    for (const char *p = c->from_via; *p;) {
        if (strncmp(p, "{agent}", 7) == 0) {
            buf_puts(&b, agent);
            p += 7;
        } else if (strncmp(p, "{support}", 9) == 0) {
            buf_puts(&b, c->from_name);
            p += 9;
        } else {
            buf_putc(&b, *p++);
        }
    }
    return buf_steal(&b);
}

/* The template's text (or HTML) with the file list added (HTML: before
 * </body> when there is one). Caller frees. */
static char *with_list(const char *doc, const struct buf *list, bool html)
{
    struct buf b = BUF_INIT;
    const char *end = html ? strstr(doc, "</body>") : NULL;
    size_t head = end ? (size_t)(end - doc) : strlen(doc);
    buf_append(&b, doc, head);
    if (list->len)
        buf_append(&b, list->data, list->len);
    buf_puts(&b, doc + head);
    return buf_steal(&b);
}

/* Splits "a, b" into cc (pointers into the copy *hold). */
static size_t split_cc(const char *list, char **hold, const char *cc[], size_t max)
{
    *hold = td_strdup(list ? list : "");
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(*hold, ", ", &save); tok && n < max;
         tok = strtok_r(NULL, ", ", &save))
        if (message_addr_safe(tok))
            cc[n++] = tok;
    return n;
}

/* Step 3 of sender.h: the mail of a ticket's row into j. */
static void compose(struct sender *s, const struct td_outbox *row, enum notify_kind kind,
                    struct rendering *r, struct deliver_job *j)
{
    struct deliver_outcome *o = &j->out;
    struct store *st = s->st;
    struct td_err e;
    td_err_clear(&e);
    char msgid[400], root[400];
    sender_row_msgid(s->domain, row->id, msgid, sizeof msgid);
    sender_ticket_msgid(s->domain, row->ticket, root, sizeof root);
    struct strv thread = STRV_INIT;
    if (!st->ops->ticket_thread_ids(st, row->ticket, THREAD_IDS_READ, &thread, &e)) {
        store_outcome(o, "reading the ticket's thread", &e);
        strv_clear(&thread);
        return;
    }
    /* The claim recorded root and msgid in the thread (sender.c); a
     * store without batches may have lost the race to a reader: refer to
     * root all the same (msgid itself is never referred to). */
    if (!strv_contains(&thread, root))
        strv_push(&thread, root);
    /* In-Reply-To: the thread's first id (the customer's first mail, or
     * our root); References: that one and the most recent others. The
     * mail gateway stores ids without their angle brackets: add them. */
    const char *refs[MAX_REFERENCES];
    size_t n_refs = 0;
    size_t n_ids = thread.n;
    char **ids = thread.v;
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i][0] != '<') {
            struct buf b = BUF_INIT;
            buf_printf(&b, "<%s>", ids[i]);
            free(ids[i]);
            ids[i] = buf_steal(&b);
        }
    /* A customer's mail refers only to our own ids and the customers':
     * an agent's mail client Message-ID names the agent's host. */
    if (!notify_kind_staff_only(kind)) {
        size_t keep = 0;
        for (size_t i = 0; i < n_ids; i++) {
            if (id_shareable(st, s->domain, ids[i]))
                ids[keep++] = ids[i];
            else
                free(ids[i]);
        }
        n_ids = thread.n = keep;
    }
    const char *first = NULL;
    for (size_t i = 0; i < n_ids && first == NULL; i++)
        if (strcmp(ids[i], msgid) != 0 && message_id_safe(ids[i]))
            first = ids[i];
    if (first)
        refs[n_refs++] = first;
    size_t start = n_ids > MAX_REFERENCES ? n_ids - (MAX_REFERENCES - 1) : 0;
    for (size_t i = start; i < n_ids && n_refs < MAX_REFERENCES; i++)
        if (ids[i] != first && strcmp(ids[i], msgid) != 0 && message_id_safe(ids[i]))
            refs[n_refs++] = ids[i];

    char reply_to[320] = "";
    if (reply_keys_enabled(&s->cfg.keys) && r->recipient_id != NULL &&
        !reply_address_make(&s->cfg.keys, s->cfg.notify.support_address, row->ticket,
                            r->recipient_id, reply_to, sizeof reply_to, &e)) {
        log_event(LOG_WARN, "reply_address_unsigned", LF_S("id", row->id), LF_S("error", e.msg));
        reply_to[0] = '\0';
    }
    /* Files: attached within the limit, listed beyond it (always listed
     * for agents). */
    struct deliver_files files;
    json_t *vars = json_object_get(r->payload, "vars");
    const char *url = json_string_value(json_object_get(vars, "ticket_url"));
    if (!deliver_files_load(st, json_object_get(r->payload, "attachments"),
                            (size_t)s->cfg.attachments_max_bytes, notify_kind_staff_only(kind),
                            url, &files, &e)) {
        store_outcome(o, "reading attachments", &e);
        strv_clear(&thread);
        return;
    }
    char *text = with_list(r->out.text, &files.text, false);
    char *html = r->out.html ? with_list(r->out.html, &files.html, true) : NULL;
    /* The others of the conversation in Cc, only when Reply-To carries no
     * token: a reply-all would hand this recipient's token to them. */
    const char *cc[32];
    char *cc_hold = NULL;
    size_t n_cc = reply_to[0] ? 0
                              : split_cc(json_string_value(json_object_get(vars, "cc")), &cc_hold,
                                         cc, sizeof cc / sizeof *cc);
    char *from_name = from_via(&s->cfg, json_string_value(json_object_get(vars, "via")));
    char *subject = subject_with_token(r->out.subject, row->ticket);
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)row->ticket);
    struct message_in m = {
        .from_name = from_name,
        .cc = cc,
        .n_cc = n_cc,
        .attachments = files.v,
        .n_attachments = files.n,
        .from_addr = s->cfg.from_addr,
        .to_name = r->recipient_name,
        .to_addr = row->recipient,
        .reply_to_name = s->cfg.from_name,
        .reply_to_addr = reply_to[0] ? reply_to : s->cfg.notify.support_address,
        .subject = subject,
        .message_id = msgid,
        .in_reply_to = first,
        .references = refs,
        .n_references = n_refs,
        .auto_submitted = notify_kind_auto_submitted(kind),
        .x_loop = s->cfg.notify.support_address,
        .ticket = num,
        .date = td_now(),
        .text = text,
        .html = html,
    };
    build(&m, j);
    free(subject);
    free(from_name);
    free(cc_hold);
    free(text);
    free(html);
    deliver_files_clear(&files);
    strv_clear(&thread);
}

/* An account mail (notify.h "Account mails"): it belongs to no ticket,
 * so there is no thread to record or refer to, no [#N] in the subject
 * and no signed Reply-To (replies go to the support address and open a
 * ticket as any mail does). Fills j. */
static void account_mail(struct sender *s, const struct td_outbox *row, struct rendering *r,
                         struct deliver_job *j)
{
    char msgid[400];
    sender_row_msgid(s->domain, row->id, msgid, sizeof msgid);
    struct message_in m = {
        .from_name = s->cfg.from_name,
        .from_addr = s->cfg.from_addr,
        .to_name = r->recipient_name,
        .to_addr = row->recipient,
        .reply_to_name = s->cfg.from_name,
        .reply_to_addr = s->cfg.notify.support_address,
        .subject = r->out.subject,
        .message_id = msgid,
        .auto_submitted = "auto-generated",
        .x_loop = s->cfg.notify.support_address,
        .date = td_now(),
        .text = r->out.text,
        .html = r->out.html,
    };
    build(&m, j);
}

bool deliver_record_ids(struct sender *s, const struct td_outbox *row)
{
    enum notify_account_kind account;
    if (notify_account_kind_parse(row->kind, &account)) /* no ticket, no thread */
        return true;
    char ids[2][400];
    sender_ticket_msgid(s->domain, row->ticket, ids[0], sizeof ids[0]);
    sender_row_msgid(s->domain, row->id, ids[1], sizeof ids[1]);
    bool ok = true;
    for (size_t i = 0; i < 2; i++) {
        struct td_err e;
        td_err_clear(&e);
        if (!s->st->ops->ticket_add_msgid(s->st, row->ticket, ids[i], &e)) {
            log_event(LOG_WARN, "outbox_msgid_not_recorded", LF_S("id", row->id),
                      LF_S("msgid", ids[i]), LF_S("error", e.msg));
            ok = false;
        }
    }
    return ok;
}

void deliver_prepare(struct sender *s, const struct td_outbox *row, struct deliver_job *j)
{
    memset(j, 0, sizeof *j); /* j->mail: BUF_INIT */
    struct deliver_outcome *o = &j->out;
    o->state = OUTBOX_FAILED;
    enum notify_kind kind = NK_COUNT;
    struct rendering r;
    memset(&r, 0, sizeof r);
    enum notify_account_kind account;
    bool is_account = notify_account_kind_parse(row->kind, &account); /* no ticket */
    if (!is_account && !notify_kind_parse(row->kind, &kind))
        set_outcome(o, OUTBOX_FAILED, "unknown kind of mail '%.64s'", row->kind ? row->kind : "");
    else if (notify_address_blocked(&s->cfg.notify, row->recipient))
        set_outcome(o, OUTBOX_FAILED, "loop guard: never mail %.200s", row->recipient ? row->recipient : "");
    else if (!message_addr_safe(row->recipient))
        set_outcome(o, OUTBOX_FAILED, "recipient address cannot be used in a mail");
    else if (render(s, row, &r, o)) {
        if (is_account) /* no ticket: notify.h "Account mails" */
            account_mail(s, row, &r, j);
        else
            compose(s, row, kind, &r, j);
    }
    rendering_clear(&r);
}

bool deliver_job_has_mail(const struct deliver_job *j)
{
    return j->mail.len > 0;
}

void deliver_settle(struct sender *s, const struct td_outbox *row, struct deliver_job *j,
                    const struct smtp_result *res)
{
    struct deliver_outcome *o = &j->out;
    if (res != NULL) {
        o->code = res->code;
        if (res->outcome == SMTP_SENT)
            set_outcome(o, OUTBOX_SENT, "%s", "");
        else
            set_outcome(o, res->outcome == SMTP_PERMANENT ? OUTBOX_FAILED : OUTBOX_PENDING, "%s",
                        res->message);
    }
    buf_free(&j->mail);
    if (o->state == OUTBOX_PENDING) {
        if (td_now() - row->created > s->cfg.give_up_after_ms) {
            char why[300];
            snprintf(why, sizeof why, "gave up after %d attempts: %.240s", row->attempts, o->error);
            set_outcome(o, OUTBOX_FAILED, "%s", why);
        } else {
            o->next_attempt = td_now() + backoff(&s->cfg, row->attempts);
        }
    }
}

void deliver_hand_back(struct deliver_outcome *o)
{
    memset(o, 0, sizeof *o);
    o->state = OUTBOX_PENDING;
    o->handed_back = true;
    o->next_attempt = td_now();
}

/* One row's outcome into the store, counted and logged. */
static bool record_one(struct sender *s, const char *owner, const struct td_outbox *row,
                       const struct deliver_outcome *o, struct td_err *err)
{
    const char *error = o->state == OUTBOX_SENT || o->handed_back ? NULL : o->error;
    if (!s->st->ops->outbox_finish(s->st, row->id, owner, o->state, error, o->next_attempt, err)) {
        log_event(LOG_WARN, "outbox_finish_failed", LF_S("id", row->id),
                  LF_S("error", err ? err->msg : ""));
        return false;
    }
    if (o->handed_back)
        return true;
    switch (o->state) {
    case OUTBOX_SENT:
        stats_outbox_sent();
        log_event(LOG_INFO, "mail_sent", LF_S("id", row->id), LF_I("ticket", row->ticket),
                  LF_S("kind", row->kind), LF_S("to", row->recipient), LF_I("attempt", row->attempts));
        break;
    case OUTBOX_PENDING:
        stats_outbox_retried();
        log_event(LOG_WARN, "mail_retry", LF_S("id", row->id), LF_I("ticket", row->ticket),
                  LF_I("attempt", row->attempts), LF_I("retry_in_ms", o->next_attempt - td_now()),
                  LF_S("error", o->error));
        break;
    default:
        stats_outbox_failed();
        log_event(LOG_ERROR, "mail_failed", LF_S("id", row->id), LF_I("ticket", row->ticket),
                  LF_S("kind", row->kind), LF_S("to", row->recipient), LF_I("smtp_code", o->code),
                  LF_S("error", o->error));
        break;
    }
    return true;
}

bool deliver_record_rows(struct sender *s, const char *owner, const struct td_outbox *rows,
                         const struct deliver_outcome *outs, size_t n, struct td_err *err)
{
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        struct td_err e;
        td_err_clear(&e);
        /* A row taken over after its lease ran out (TD_CONFLICT) is the
         * new owner's: it undoes only itself, the others still count. */
        if (!record_one(s, owner, &rows[i], &outs[i], &e) && e.code != TD_CONFLICT) {
            if (ok && err)
                *err = e;
            ok = false;
        }
    }
    return ok;
}

bool deliver_record(struct sender *s, const char *owner, const struct td_outbox *rows,
                    const struct deliver_outcome *outs, size_t n, struct td_err *err)
{
    struct store *st = s->st;
    bool batch = n > 1 && st->ops->batch_begin != NULL && st->ops->batch_end != NULL;
    struct td_err e;
    td_err_clear(&e);
    if (batch && !st->ops->batch_begin(st, &e))
        batch = false; /* one transaction each, then */
    bool ok = deliver_record_rows(s, owner, rows, outs, n, err);
    if (batch && !st->ops->batch_end(st, true, &e)) {
        log_event(LOG_WARN, "outbox_finish_failed", LF_I("rows", (int64_t)n), LF_S("error", e.msg));
        if (ok && err)
            *err = e;
        ok = false;
    }
    return ok;
}
