/* store_mongo.c - the MongoDB storage backend: open, pool, indexes.
 *
 * The handle is a mongoc_client_pool_t: every operation pops one client,
 * uses it and pushes it back, so one struct store serves many threads
 * (a mongoc_client_t itself is not thread-safe). Several ticketd
 * processes may share one database: everything that must happen once is
 * decided by the server with a unique index, findAndModify or a
 * conditional update (see store_mongo_int.h for the documents).
 *
 * Open fails fast when the server is down: unless the URI says otherwise,
 * server selection gives up after MG_SELECT_TIMEOUT_MS and a connection
 * attempt after MG_CONNECT_TIMEOUT_MS, and that becomes TD_UNAVAILABLE. */
#include "store_mongo_int.h"

#include "core/log.h"
#include "core/mem.h"

#include <pthread.h>
#include <string.h>

#define MG_DEFAULT_DB "ticketd"
#define MG_SELECT_TIMEOUT_MS 3000
#define MG_CONNECT_TIMEOUT_MS 2000

static pthread_once_t mg_once = PTHREAD_ONCE_INIT;

/* The driver's own diagnostics (heartbeat failures, URI complaints) go
 * to our structured log instead of its printf-to-stderr default. */
static void mg_log(mongoc_log_level_t level, const char *domain, const char *message,
                   void *data)
{
    enum log_level l;
    (void)data;
    switch (level) {
    case MONGOC_LOG_LEVEL_ERROR:
    case MONGOC_LOG_LEVEL_CRITICAL:
        l = LOG_ERROR;
        break;
    case MONGOC_LOG_LEVEL_WARNING:
        l = LOG_WARN;
        break;
    case MONGOC_LOG_LEVEL_MESSAGE:
    case MONGOC_LOG_LEVEL_INFO:
        l = LOG_INFO;
        break;
    case MONGOC_LOG_LEVEL_DEBUG:
        l = LOG_DEBUG;
        break;
    default:
        return; /* TRACE: far too much, even for debug */
    }
    if (log_enabled(l))
        log_event(l, "mongoc", LF_S("domain", domain), LF_S("msg", message));
}

/* mongoc_init is process-wide and must run once before anything else;
 * mongoc_cleanup is never called: another store may still be open, and
 * the OS reclaims the rest at exit. */
static void mg_global_init(void)
{
    mongoc_log_set_handler(mg_log, NULL);
    mongoc_init();
}

mongoc_client_t *mg_pop(struct store *st)
{
    struct mongo_store *ms = (struct mongo_store *)st;
    /* Blocks while maxPoolSize clients are out; never NULL in that mode. */
    return mongoc_client_pool_pop(ms->pool);
}

void mg_push(struct store *st, mongoc_client_t *client)
{
    struct mongo_store *ms = (struct mongo_store *)st;
    mongoc_client_pool_push(ms->pool, client);
}

mongoc_collection_t *mg_coll(struct store *st, mongoc_client_t *client, const char *name)
{
    struct mongo_store *ms = (struct mongo_store *)st;
    return mongoc_client_get_collection(client, ms->db, name);
}

mongoc_database_t *mg_db(struct store *st, mongoc_client_t *client)
{
    struct mongo_store *ms = (struct mongo_store *)st;
    return mongoc_client_get_database(client, ms->db);
}

/* Indexes created (if missing) on every open. Names are spelled out so a
 * second open finds them identical; the GridFS ones use the names the
 * driver itself would choose. Things keyed by _id need none: ticket
 * numbers, the Message-ID map, mailboxes, counters. */
static const struct {
    const char *coll;
    const char *spec; /* one element of createIndexes' "indexes", JSON */
} mg_indexes[] = {
    { MG_USERS, "{\"key\": {\"email\": 1}, \"name\": \"email_1\", \"unique\": true}" },
    /* One Message-ID, one thread: unique across tickets (multikey), and
     * what ticket_find_by_msgid looks up. Sparse because a ticket without
     * Message-IDs has no such field (an empty array would be indexed as
     * one key that every such ticket shares). */
    { MG_TICKETS, "{\"key\": {\"message_ids\": 1}, \"name\": \"message_ids_1\","
                  " \"unique\": true, \"sparse\": true}" },
    /* ticket_list (store_mongo_list.c): one per filter, in list order,
     * and the search words (multikey) */
    { MG_TICKETS, "{\"key\": {\"status\": 1, \"_id\": -1}, \"name\": \"status_1__id_-1\"}" },
    { MG_TICKETS, "{\"key\": {\"priority\": 1, \"_id\": -1}, \"name\": \"priority_1__id_-1\"}" },
    { MG_TICKETS,
      "{\"key\": {\"assignee_id\": 1, \"_id\": -1}, \"name\": \"assignee_id_1__id_-1\"}" },
    { MG_TICKETS,
      "{\"key\": {\"requester_id\": 1, \"_id\": -1}, \"name\": \"requester_id_1__id_-1\"}" },
    { MG_TICKETS, "{\"key\": {\"tags\": 1, \"_id\": -1}, \"name\": \"tags_1__id_-1\"}" },
    { MG_TICKETS, "{\"key\": {\"queue\": 1, \"_id\": -1}, \"name\": \"queue_1__id_-1\"}" },
    { MG_TICKETS, "{\"key\": {\"updated\": 1}, \"name\": \"updated_1\"}" },
    /* the console's order, last updated first, alone and after each
     * filter it combines with it; "or participant" (a customer's own) */
    { MG_TICKETS,
      "{\"key\": {\"updated\": -1, \"_id\": -1}, \"name\": \"updated_-1__id_-1\"}" },
    { MG_TICKETS, "{\"key\": {\"status\": 1, \"updated\": -1, \"_id\": -1},"
                  " \"name\": \"status_1_updated_-1__id_-1\"}" },
    { MG_TICKETS, "{\"key\": {\"assignee_id\": 1, \"updated\": -1, \"_id\": -1},"
                  " \"name\": \"assignee_id_1_updated_-1__id_-1\"}" },
    { MG_TICKETS, "{\"key\": {\"requester_id\": 1, \"updated\": -1, \"_id\": -1},"
                  " \"name\": \"requester_id_1_updated_-1__id_-1\"}" },
    { MG_TICKETS, "{\"key\": {\"queue\": 1, \"updated\": -1, \"_id\": -1},"
                  " \"name\": \"queue_1_updated_-1__id_-1\"}" },
    { MG_TICKETS,
      "{\"key\": {\"participants\": 1, \"_id\": -1}, \"name\": \"participants_1__id_-1\"}" },
    { MG_TICKETS, "{\"key\": {\"wsub\": 1}, \"name\": \"wsub_1\"}" },
    { MG_TICKETS, "{\"key\": {\"wpub\": 1}, \"name\": \"wpub_1\"}" },
    { MG_TICKETS, "{\"key\": {\"wint\": 1}, \"name\": \"wint_1\"}" },
    /* comment_list: its sort is this index's order, so comments created in
     * the same millisecond come back in insertion order */
    { MG_COMMENTS,
      "{\"key\": {\"ticket\": 1, \"created\": 1}, \"name\": \"ticket_1_created_1\"}" },
    /* sparse: comments without a Message-ID have no such field */
    { MG_COMMENTS, "{\"key\": {\"message_id\": 1}, \"name\": \"message_id_1\","
                   " \"unique\": true, \"sparse\": true}" },
    /* outbox_claim's query and its whole sort (store_sqlite_outbox.c,
     * migration 16: rows planned together share next_attempt) */
    { MG_OUTBOX, "{\"key\": {\"state\": 1, \"next_attempt\": 1, \"created\": 1}, "
                 "\"name\": \"state_1_next_attempt_1_created_1\"}" },
    /* outbox_list, with and without a state */
    { MG_OUTBOX, "{\"key\": {\"created\": 1}, \"name\": \"created_1\"}" },
    { MG_OUTBOX, "{\"key\": {\"state\": 1, \"created\": 1}, \"name\": \"state_1_created_1\"}" },
    { MG_BUCKET ".files",
      "{\"key\": {\"filename\": 1, \"uploadDate\": 1}, \"name\": \"filename_1_uploadDate_1\"}" },
    { MG_BUCKET ".chunks",
      "{\"key\": {\"files_id\": 1, \"n\": 1}, \"name\": \"files_id_1_n_1\", \"unique\": true}" },
    /* REST API (store_mongo_tokens.c): revoking a refresh token family,
     * purging expired tokens, and an attachment's comment. */
    { MG_TOKENS, "{\"key\": {\"family\": 1}, \"name\": \"family_1\"}" },
    { MG_TOKENS, "{\"key\": {\"expires\": 1}, \"name\": \"expires_1\"}" },
    { MG_COMMENTS, "{\"key\": {\"attachments.id\": 1}, \"name\": \"attachments.id_1\"}" },
    /* Mail gateway (store_mongo_quarantine.c): quarantine_list's order. */
    { MG_QUARANTINE, "{\"key\": {\"created\": -1}, \"name\": \"created_-1\"}" },
    /* REST API access tokens (store_mongo_pat.c): the lookup by secret
     * hash (one token per secret) and one owner's list. */
    { MG_PATS, "{\"key\": {\"hash\": 1}, \"name\": \"hash_1\", \"unique\": true}" },
    { MG_PATS, "{\"key\": {\"user_id\": 1, \"created\": -1}, \"name\": \"user_id_1_created_-1\"}" },
    /* Webhooks (store_mongo_webhooks.c): the claim's scan, its in-order
     * check per endpoint and ticket, and an endpoint's delivery log. */
    { MG_DELIVERIES,
      "{\"key\": {\"state\": 1, \"next_attempt\": 1}, \"name\": \"state_1_next_attempt_1\"}" },
    { MG_DELIVERIES, "{\"key\": {\"endpoint_id\": 1, \"ticket\": 1, \"seq\": 1},"
                     " \"name\": \"endpoint_id_1_ticket_1_seq_1\"}" },
    { MG_DELIVERIES,
      "{\"key\": {\"endpoint_id\": 1, \"created\": -1}, \"name\": \"endpoint_id_1_created_-1\"}" },
    /* Groups (store_mongo_groups.c): the key is the _id (unique by
     * itself); the groups an agent is a member of. */
    { MG_GROUPS, "{\"key\": {\"members\": 1}, \"name\": \"members_1\"}" },
    /* Idempotency-Key records (store_mongo_idem.c): the purge. */
    { MG_IDEM, "{\"key\": {\"expires\": 1}, \"name\": \"expires_1\"}" },
    /* Agents' aliases (store_mongo_aliases.c): a user's list, confirm. */
    { MG_ALIASES, "{\"key\": {\"user_id\": 1, \"_id\": 1}, \"name\": \"user_id_1__id_1\"}" },
    { MG_ALIASES, "{\"key\": {\"token_hash\": 1}, \"name\": \"token_hash_1\"}" },
    /* SLAs (store_mongo_sla.c): the overdue / due_before filters and the
     * escalation scan. */
    { MG_TICKETS, "{\"key\": {\"sla.next_due\": 1}, \"name\": \"sla.next_due_1\"}" },
    { MG_TICKETS,
      "{\"key\": {\"sla.next_escalation\": 1}, \"name\": \"sla.next_escalation_1\"}" },
    /* Issue 14 (store_mongo_desk.c): the desk counts and the oldest open
     * ticket (idle tickets walk status_1_updated_-1__id_-1 backwards). */
    { MG_TICKETS, "{\"key\": {\"status\": 1, \"queue\": 1}, \"name\": \"status_1_queue_1\"}" },
    { MG_TICKETS,
      "{\"key\": {\"status\": 1, \"created\": 1}, \"name\": \"status_1_created_1\"}" },
};

static bool create_index(mongoc_database_t *db, const char *coll, const char *spec,
                         struct td_err *err)
{
    bson_t *index, cmd = BSON_INITIALIZER, arr, reply;
    bson_error_t e;

    index = bson_new_from_json((const uint8_t *)spec, -1, &e);
    if (index == NULL)
        return td_fail(err, TD_INTERNAL, "mongodb index spec for %s: %s", coll, e.message);
    bool ok = BSON_APPEND_UTF8(&cmd, "createIndexes", coll) &&
              BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
    if (ok) {
        ok = BSON_APPEND_DOCUMENT(&arr, "0", index);
        ok = bson_append_array_end(&cmd, &arr) && ok;
    }
    bson_destroy(index);
    if (!ok) {
        bson_destroy(&cmd);
        return mg_fail_build(err, "createIndexes");
    }
    ok = mongoc_database_write_command_with_opts(db, &cmd, NULL, &reply, &e);
    if (!ok)
        mg_fail(err, &e, "createIndexes");
    bson_destroy(&reply); /* initialised by the driver on every path */
    bson_destroy(&cmd);
    return ok;
}

static bool create_indexes(struct store *st, struct td_err *err)
{
    mongoc_client_t *client = mg_pop(st);
    mongoc_database_t *db = mg_db(st, client);
    bool ok = true;

    for (size_t i = 0; ok && i < sizeof mg_indexes / sizeof mg_indexes[0]; i++)
        ok = create_index(db, mg_indexes[i].coll, mg_indexes[i].spec, err);
    mongoc_database_destroy(db);
    mg_push(st, client);
    return ok;
}

static bool mg_ping(struct store *st, struct td_err *err)
{
    mongoc_client_t *client = mg_pop(st);
    bson_t cmd = BSON_INITIALIZER, reply;
    bson_error_t e;

    bool ok = BSON_APPEND_INT32(&cmd, "ping", 1);
    if (!ok) {
        mg_fail_build(err, "ping");
    } else {
        ok = mongoc_client_command_simple(client, "admin", &cmd, NULL, &reply, &e);
        if (!ok)
            mg_fail(err, &e, "ping");
        bson_destroy(&reply); /* initialised by the driver on every path */
    }
    bson_destroy(&cmd);
    mg_push(st, client);
    return ok;
}

static void mg_close(struct store *st)
{
    struct mongo_store *ms = (struct mongo_store *)st;
    if (ms == NULL)
        return;
    mongoc_client_pool_destroy(ms->pool);
    free(ms->db);
    free(ms);
}

static const struct store_ops mongo_ops = {
    .name = "mongodb",
    .close = mg_close,
    .ping = mg_ping,
    .user_insert = mg_user_insert,
    .user_update = mg_user_update,
    .user_get = mg_user_get,
    .user_get_by_email = mg_user_get_by_email,
    .user_list = mg_user_list,
    .ticket_next_number = mg_ticket_next_number,
    .ticket_insert = mg_ticket_insert,
    .ticket_update = mg_ticket_update,
    .ticket_get = mg_ticket_get,
    .ticket_list = mg_ticket_list,
    .ticket_add_msgid = mg_ticket_add_msgid,
    .ticket_thread_ids = mg_ticket_thread_ids,
    .ticket_find_by_msgid = mg_ticket_find_by_msgid,
    .comment_insert = mg_comment_insert,
    .comment_list = mg_comment_list,
    .comment_find_by_msgid = mg_comment_find_by_msgid,
    .comment_get = mg_comment_get,
    .history_list = mg_history_list,
    .comment_move = mg_comment_move,
    .alias_insert = mg_alias_insert,
    .alias_get = mg_alias_get,
    .alias_list = mg_alias_list,
    .alias_delete = mg_alias_delete,
    .alias_confirm = mg_alias_confirm,
    .group_insert = mg_group_insert,
    .group_get = mg_group_get,
    .group_list = mg_group_list,
    .group_update = mg_group_update,
    .group_delete = mg_group_delete,
    .group_member_add = mg_group_member_add,
    .group_member_remove = mg_group_member_remove,
    .attachment_put = mg_attachment_put,
    .attachment_get = mg_attachment_get,
    .msgid_put = mg_msgid_put,
    .msgid_get = mg_msgid_get,
    .lease_acquire = mg_lease_acquire,
    .lease_release = mg_lease_release,
    .msgid_digest_set = mg_msgid_digest_set,
    .msgid_digest_get = mg_msgid_digest_get,
    .lease_takeover = mg_lease_takeover,
    .mailbox_get = mg_mailbox_get,
    .mailbox_set_uid = mg_mailbox_set_uid,
    .outbox_insert = mg_outbox_insert,
    .outbox_claim = mg_outbox_claim,
    .outbox_finish = mg_outbox_finish,
    .outbox_list = mg_outbox_list,
    .outbox_count_recent = mg_outbox_count_recent, /* store_mongo_notify.c */
    .outbox_stats = mg_outbox_stats,               /* store_mongo_outbox_stats.c */
    .outbox_purge = mg_outbox_purge,
    .mark_get = mg_mark_get,                       /* store_mongo_marks.c */
    .mark_raise = mg_mark_raise,
    /* store_mongo_tokens.c (REST API) */
    .token_insert = mg_token_insert,
    .token_get = mg_token_get,
    .token_mark_used_if_unused = mg_token_mark_used_if_unused,
    .token_revoke_family = mg_token_revoke_family,
    .token_purge = mg_token_purge,
    .attachment_owner = mg_attachment_owner,
    /* store_mongo_quarantine.c (mail gateway) */
    .quarantine_put = mg_quarantine_put,
    .quarantine_list = mg_quarantine_list,
    .quarantine_get = mg_quarantine_get,
    .quarantine_delete = mg_quarantine_delete,
    /* store_mongo_pat.c (REST API personal access tokens) */
    .pat_insert = mg_pat_insert,
    .pat_get_by_hash = mg_pat_get_by_hash,
    .pat_list = mg_pat_list,
    .pat_revoke = mg_pat_revoke,
    .pat_touch = mg_pat_touch,
    /* store_mongo_webhooks.c (webhooks) */
    .webhook_insert = mg_webhook_insert,
    .webhook_get = mg_webhook_get,
    .webhook_list = mg_webhook_list,
    .webhook_update = mg_webhook_update,
    .webhook_delete = mg_webhook_delete,
    .webhook_result = mg_webhook_result,
    .webhook_disable = mg_webhook_disable,
    .delivery_insert = mg_delivery_insert,
    .delivery_claim = mg_delivery_claim,
    .delivery_finish = mg_delivery_finish,
    .delivery_list = mg_delivery_list,
    /* store_mongo_idem.c (REST API Idempotency-Key) */
    .idem_insert = mg_idem_insert,
    .idem_get = mg_idem_get,
    .idem_finish = mg_idem_finish,
    .idem_delete = mg_idem_delete,
    .idem_purge = mg_idem_purge,
    /* store_mongo_erase.c (erasure of a customer's personal data) */
    .erase_comments = mg_erase_comments,
    .attachment_delete = mg_attachment_delete,
    .outbox_erase_recipient = mg_outbox_erase_recipient,
    .desk = &mg_desk_ops, /* store_mongo_desk.c */
};

/* Fills in the fail-fast timeouts the URI does not set itself. */
static bool set_default_timeouts(mongoc_uri_t *uri)
{
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS) &&
        !mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
                                        MG_SELECT_TIMEOUT_MS))
        return false;
    if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS) &&
        !mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS,
                                        MG_CONNECT_TIMEOUT_MS))
        return false;
    return true;
}

bool store_mongo_open(const char *uri_str, struct store **out, struct td_err *err)
{
    bson_error_t e;

    if (pthread_once(&mg_once, mg_global_init) != 0)
        return td_fail(err, TD_INTERNAL, "mongodb: cannot initialise the driver");
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_str, &e);
    if (uri == NULL)
        return td_fail(err, TD_INVALID, "bad MongoDB URI: %s", e.message);
    if (!set_default_timeouts(uri)) {
        mongoc_uri_destroy(uri);
        return td_fail(err, TD_INTERNAL, "mongodb: cannot set the URI timeouts");
    }
    const char *db = mongoc_uri_get_database(uri);
    if (db == NULL || *db == '\0')
        db = MG_DEFAULT_DB;

    struct mongo_store *ms = td_calloc(1, sizeof *ms);
    ms->base.ops = &mongo_ops;
    ms->db = td_strdup(db);
    ms->pool = mongoc_client_pool_new_with_error(uri, &e);
    mongoc_uri_destroy(uri);
    if (ms->pool == NULL) {
        mg_close(&ms->base);
        return td_fail(err, TD_INVALID, "mongodb: cannot create the client pool: %s", e.message);
    }
    if (!mongoc_client_pool_set_error_api(ms->pool, MONGOC_ERROR_API_VERSION_2) ||
        !mongoc_client_pool_set_appname(ms->pool, "ticketd")) {
        mg_close(&ms->base);
        return td_fail(err, TD_INTERNAL, "mongodb: cannot configure the client pool");
    }
    if (!mg_schema_check(&ms->base, err) || !create_indexes(&ms->base, err) ||
        !mg_schema_raise(&ms->base, err) || !mg_words_backfill(&ms->base, err)) {
        mg_close(&ms->base);
        return false;
    }
    *out = &ms->base;
    return true;
}
