/* ingest_author.c - the mail gateway's side of authorship.h: who a
 * mail speaks for, where it goes (merges followed), who joins the
 * conversation on the way, and the note a stranger's mail leaves on the
 * ticket it named. Private to ingest.c (ingest_int.h). */
#include "ingest_int.h"

#include "authorship.h"
#include "core/log.h"
#include "core/merge.h"
#include "core/participant.h"
#include "trust.h"

bool ingest_decide_author(struct job *j, const struct td_user *actor, bool staff,
                          int64_t *ticket, enum thread_how how, bool automatic,
                          int64_t *related)
{
    struct td_core *core = j->c->core;
    const struct mailgw_settings *set = j->c->set;
    struct td_err e;
    td_err_clear(&e);
    if (staff || *ticket <= 0) {
        if (*ticket > 0 && !ticket_follow_merges(core, *ticket, ticket, &e) &&
            e.code != TD_NOT_FOUND && e.code != TD_CONFLICT) {
            ingest_error(j, "merged ticket", &e);
            return false;
        }
        return true;
    }
    int64_t token_ticket = 0;
    if (set->verify) {
        struct trust_cfg tc = { &set->own, &set->authserv_ids, set->verify, set->verify_ctx };
        struct trust_result tr;
        trust_check(&tc, &j->m, j->sender, &tr);
        if (tr.how == TRUST_REPLY_TOKEN)
            token_ticket = tr.token_ticket;
    }
    struct author_verdict av;
    if (!authorship_decide(core, set, actor, *ticket, how, token_ticket, &av, &e)) {
        ingest_error(j, "authorship", &e);
        return false;
    }
    log_event(LOG_DEBUG, "mail_author", LF_S("sender", j->sender), LF_I("ticket", av.ticket),
              LF_S("rule", author_rule_name(av.rule)));
    if (automatic) { /* recorded as a note wherever it threads */
        *ticket = av.ticket;
        return true;
    }
    if (av.rule == AUTHOR_STRANGER) {
        *related = av.ticket;
        *ticket = 0;
        return true;
    }
    *ticket = av.ticket;
    if (av.add_participant) {
        struct strv ids = STRV_INIT;
        strv_push(&ids, actor->id);
        bool ok = participant_add(core, NULL, av.ticket, &ids, NULL, &e);
        strv_clear(&ids);
        if (!ok) {
            ingest_error(j, "add participant", &e);
            return false;
        }
    }
    return true;
}

void ingest_note_related(struct job *j, int64_t related)
{
    /* Best effort: the new ticket is what counts. */
    struct td_err e;
    td_err_clear(&e);
    if (!participant_note_related(j->c->core, related, j->out->ticket, j->sender, &e))
        log_event(LOG_WARN, "mail_related_note_failed", LF_I("ticket", related),
                  LF_S("error", e.msg));
}
