/* cmd_quarantine.c - `ticketd quarantine list|show|retry|delete`: the mail
 * the gateway would not ingest, with the reason, for an admin to look at,
 * ingest again (mailgw_quarantine_retry) or discard. */
#include "cli.h"
#include "core/log.h"
#include "mailgw/mailgw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
    fputs("usage: ticketd [--config FILE] quarantine list [--limit N]\n"
          "       ticketd [--config FILE] quarantine show ID [--raw]\n"
          "       ticketd [--config FILE] quarantine retry ID\n"
          "       ticketd [--config FILE] quarantine delete ID\n"
          "list: newest first, with the reason each mail was kept back.\n"
          "show --raw: writes the mail as it arrived to standard output.\n"
          "retry: ingests the mail again (no rate limit; automatic mail becomes a\n"
          "ticket); it leaves the quarantine when that works.\n",
          f);
}

/* Text from mail may hold terminal escapes: print control characters as '?'. */
static void put_safe(const char *s, size_t max)
{
    size_t n = 0;
    for (const char *c = s ? s : ""; *c && n < max; c++, n++)
        putchar((unsigned char)*c < 0x20 || *c == 0x7F ? '?' : *c);
    if (s && strlen(s) > max)
        fputs("...", stdout);
}

static void put_time(td_time ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[32];
    if (gmtime_r(&t, &tm) && strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm))
        fputs(buf, stdout);
    else
        fputs("?", stdout);
}

static int do_list(struct td_app *env, size_t limit)
{
    struct td_quarantine_list l = { NULL, 0 };
    struct td_err err;
    td_err_clear(&err);
    if (!env->store->ops->quarantine_list(env->store, limit, &l, &err))
        return cli_fail_op("quarantine list", &err);
    if (l.n == 0)
        puts("the quarantine is empty");
    for (size_t i = 0; i < l.n; i++) {
        const struct td_quarantine *q = &l.v[i];
        printf("%s  ", q->id);
        put_time(q->created);
        printf("  x%lld  ", (long long)q->attempts);
        put_safe(q->sender ? q->sender : "(no sender)", 60);
        fputs("  \"", stdout);
        put_safe(q->subject ? q->subject : "", 60);
        fputs("\"\n    ", stdout);
        put_safe(q->reason, 300);
        putchar('\n');
    }
    quarantine_list_clear(&l);
    return EXIT_OK;
}

static int do_show(struct td_app *env, const char *id, bool raw)
{
    struct td_quarantine q;
    struct td_err err;
    td_err_clear(&err);
    if (!env->store->ops->quarantine_get(env->store, id, &q, &err))
        return cli_fail_op("quarantine show", &err);
    if (raw) {
        bool ok = fwrite(q.raw ? (const void *)q.raw : "", 1, q.raw_len, stdout) == q.raw_len;
        quarantine_clear(&q);
        if (!ok || fflush(stdout) != 0) {
            fprintf(stderr, "ticketd: quarantine show: cannot write the mail\n");
            return EXIT_FAILURE_RUNTIME;
        }
        return EXIT_OK;
    }
    printf("id:       %s\nreason:   ", q.id);
    put_safe(q.reason, 1000);
    fputs("\nfrom:     ", stdout);
    put_safe(q.sender ? q.sender : "(none)", 300);
    fputs("\nsubject:  ", stdout);
    put_safe(q.subject ? q.subject : "(none)", 300);
    fputs("\nkey:      ", stdout);
    put_safe(q.msg_key, 300);
    printf("\nmailbox:  ");
    put_safe(q.mailbox && q.mailbox[0] ? q.mailbox : "(none)", 100);
    printf(" (UIDVALIDITY %u, UID %u)\nsize:     %zu bytes", q.uidvalidity, q.uid, q.raw_size);
    if (q.raw_len < q.raw_size)
        printf(" (only the first %zu are kept here; the mail stays on the server)", q.raw_len);
    printf("\nattempts: %lld\ncreated:  ", (long long)q.attempts);
    put_time(q.created);
    fputs("\nupdated:  ", stdout);
    put_time(q.updated);
    putchar('\n');
    quarantine_clear(&q);
    return EXIT_OK;
}

bool cli_quarantine_retry(struct td_app *env, const char *id, struct app_retry_outcome *out,
                          struct td_err *err)
{
    struct ingest_outcome o;
    memset(&o, 0, sizeof o);
    memset(out, 0, sizeof *out);
    if (!mailgw_quarantine_retry(env, id, &o, err))
        return false;
    static const char *const names[] = {
        [INGEST_TICKET] = "ticket", [INGEST_COMMENT] = "comment", [INGEST_DUPLICATE] = "duplicate",
        [INGEST_QUARANTINED] = "quarantined", [INGEST_RETRY] = "retry",
    };
    out->result = (size_t)o.result < sizeof names / sizeof names[0] && names[o.result]
                      ? names[o.result] : "retry";
    out->ticket = o.ticket;
    snprintf(out->why, sizeof out->why, "%s", o.why);
    return true;
}

static int do_retry(struct td_app *env, const char *id)
{
    struct ingest_outcome o;
    struct td_err err;
    td_err_clear(&err);
    memset(&o, 0, sizeof o);
    if (!mailgw_quarantine_retry(env, id, &o, &err))
        return cli_fail_op("quarantine retry", &err);
    switch (o.result) {
    case INGEST_TICKET:
        printf("ticket #%lld opened; removed from the quarantine\n", (long long)o.ticket);
        return EXIT_OK;
    case INGEST_COMMENT:
        printf("added to ticket #%lld; removed from the quarantine\n", (long long)o.ticket);
        return EXIT_OK;
    case INGEST_DUPLICATE:
        printf("already ingested (ticket #%lld); removed from the quarantine\n", (long long)o.ticket);
        return EXIT_OK;
    case INGEST_QUARANTINED:
        fputs("still quarantined: ", stdout);
        put_safe(o.why, 400);
        putchar('\n');
        return EXIT_FAILURE_RUNTIME;
    case INGEST_RETRY:
        break;
    }
    fputs("not ingested, try again later: ", stdout);
    put_safe(o.why, 400);
    putchar('\n');
    return EXIT_UNAVAILABLE;
}

static int do_delete(struct td_app *env, const char *id)
{
    struct td_err err;
    td_err_clear(&err);
    if (!env->store->ops->quarantine_delete(env->store, id, &err))
        return cli_fail_op("quarantine delete", &err);
    log_event(LOG_INFO, "quarantine_deleted", LF_S("id", id));
    printf("deleted %s\n", id);
    return EXIT_OK;
}

int cmd_quarantine(int argc, char **argv, const char *config_path)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *verb = argv[1];
    const char *id = NULL;
    bool raw = false;
    long limit = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--raw") == 0 && strcmp(verb, "show") == 0) {
            raw = true;
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc && strcmp(verb, "list") == 0) {
            char *end = NULL;
            limit = strtol(argv[++i], &end, 10);
            if (end == NULL || *end != '\0' || limit < 1 || limit > 1000) {
                fprintf(stderr, "ticketd: quarantine list: --limit takes 1 to 1000\n");
                return EXIT_USAGE;
            }
        } else if (argv[i][0] != '-' && id == NULL && strcmp(verb, "list") != 0) {
            id = argv[i];
        } else {
            fprintf(stderr, "ticketd: quarantine %s: unexpected argument '%s'\n", verb, argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    bool known = strcmp(verb, "list") == 0 || strcmp(verb, "show") == 0 ||
                 strcmp(verb, "retry") == 0 || strcmp(verb, "delete") == 0;
    if (!known || (strcmp(verb, "list") != 0 && id == NULL)) {
        if (!known)
            fprintf(stderr, "ticketd: quarantine: unknown command '%s'\n", verb);
        else
            fprintf(stderr, "ticketd: quarantine %s: which ID? (see `ticketd quarantine list`)\n", verb);
        return EXIT_USAGE;
    }
    struct td_app env;
    int rc = cli_env_open(config_path, &env);
    if (rc != EXIT_OK)
        return rc;
    if (strcmp(verb, "list") == 0)
        rc = do_list(&env, (size_t)limit);
    else if (strcmp(verb, "show") == 0)
        rc = do_show(&env, id, raw);
    else if (strcmp(verb, "retry") == 0)
        rc = do_retry(&env, id);
    else
        rc = do_delete(&env, id);
    cli_env_close(&env);
    return rc;
}
