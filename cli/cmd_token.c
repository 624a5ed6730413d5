/* cmd_token.c - `ticketd token add|list|revoke`: personal access tokens
 * from the command line (core/pat.h). Runs as the system, so it may
 * issue a token to any user - the way to give the first script or
 * service account its credential without a password session. */
#include "cli.h"
#include "core/id.h"
#include "core/pat.h"
#include "core/user.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
    fputs("usage: ticketd [--config FILE] token add --email ADDR --name NAME\n"
          "                                [--scopes read,write,admin] [--expires-days N]\n"
          "       ticketd [--config FILE] token list [--email ADDR]\n"
          "       ticketd [--config FILE] token revoke ID\n"
          "add prints the token's id, then the secret on a line of its own: it is\n"
          "shown once and cannot be read back (only its hash is kept). Scopes default\n"
          "to read; a token acts as its user, narrowed by its scopes.\n",
          f);
}

static void fmt_time(td_time t, char *out, size_t len)
{
    if (t == 0) {
        snprintf(out, len, "-");
        return;
    }
    time_t s = (time_t)(t / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_pat(const struct td_pat *t)
{
    char scopes[32], created[32], expires[32], used[32];
    pat_scopes_format(t->scopes, scopes, sizeof scopes);
    fmt_time(t->created, created, sizeof created);
    fmt_time(t->expires, expires, sizeof expires);
    fmt_time(t->last_used, used, sizeof used);
    printf("%s\t%s\t%s\t%s\tcreated %s\texpires %s\tlast used %s %s%s\n", t->id, t->user_id,
           t->name, scopes, created, expires, used, t->last_addr[0] ? t->last_addr : "-",
           t->revoked ? "\t(revoked)" : "");
}

int cmd_token(int argc, char **argv, const char *config_path)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *verb = argv[1];
    const char *email = NULL, *name = NULL, *scopes_s = "read";
    long long days = 0;
    static const struct option opts[] = {
        { "email", required_argument, NULL, 'e' },  { "name", required_argument, NULL, 'n' },
        { "scopes", required_argument, NULL, 's' }, { "expires-days", required_argument, NULL, 'x' },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
    };
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'e': email = optarg; break;
        case 'n': name = optarg; break;
        case 's': scopes_s = optarg; break;
        case 'x':
            days = strtoll(optarg, &end, 10);
            if (end == optarg || *end != '\0' || days < 1 || days > 3650) {
                fprintf(stderr, "ticketd: token: --expires-days is 1 to 3650\n");
                return EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    unsigned scopes = 0;
    bool add = strcmp(verb, "add") == 0, list = strcmp(verb, "list") == 0,
         revoke = strcmp(verb, "revoke") == 0;
    if (!add && !list && !revoke) {
        fprintf(stderr, "ticketd: token: unknown command '%s'\n", verb);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (add && (email == NULL || name == NULL)) {
        fprintf(stderr, "ticketd: token add: --email and --name are required\n");
        return EXIT_USAGE;
    }
    if (add && !pat_scopes_parse(scopes_s, &scopes)) {
        fprintf(stderr, "ticketd: token add: --scopes is a comma list of read, write, admin\n");
        return EXIT_USAGE;
    }
    if (revoke && (optind >= argc || !id_valid(argv[optind]))) {
        fprintf(stderr, "ticketd: token revoke: give the token's id (24 hex characters)\n");
        return EXIT_USAGE;
    }

    struct td_app env;
    int rc = cli_env_open(config_path, &env);
    if (rc != EXIT_OK)
        return rc;
    struct td_err err;
    td_err_clear(&err);
    struct td_user u;
    memset(&u, 0, sizeof u);
    if (revoke) {
        if (pat_revoke(&env.core, NULL, argv[optind], &err))
            printf("%s: revoked\n", argv[optind]);
        else
            rc = cli_fail("token revoke", &err);
    } else if (email != NULL && !user_find_by_email(&env.core, email, &u, &err)) {
        rc = cli_fail(verb, &err);
    } else if (add) {
        struct pat_new in = { u.id, name, scopes, days ? td_now() + days * 86400000LL : 0 };
        char secret[PAT_SECRET_LEN + 1];
        struct td_pat t;
        if (pat_create(&env.core, NULL, &in, secret, &t, &err)) {
            print_pat(&t);
            printf("%s\n", secret);
            sodium_memzero(secret, sizeof secret);
            pat_clear(&t);
        } else {
            rc = cli_fail("token add", &err);
        }
    } else {
        struct td_pat_list l = { NULL, 0 };
        if (pat_list_tokens(&env.core, NULL, email ? u.id : NULL, email == NULL, &l, &err)) {
            for (size_t i = 0; i < l.n; i++)
                print_pat(&l.v[i]);
            pat_list_clear(&l);
        } else {
            rc = cli_fail("token list", &err);
        }
    }
    user_clear(&u);
    cli_env_close(&env);
    return rc;
}
