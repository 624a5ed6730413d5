/* cmd_alias.c - `ticketd alias add|list|remove AGENT_EMAIL [ALIAS]`: an
 * agent's extra sending addresses (core/alias.h), for an operator. The
 * command line acts as the system, so an alias added here is confirmed at
 * once (agents who add their own over the API confirm by a mailed link). */
#include "cli.h"
#include "core/alias.h"
#include "core/user.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: ticketd [--config FILE] alias add AGENT_EMAIL ALIAS\n"
          "       ticketd [--config FILE] alias remove AGENT_EMAIL ALIAS\n"
          "       ticketd [--config FILE] alias list AGENT_EMAIL\n"
          "Mail from ALIAS with the agent's reply token counts as the agent's.\n",
          f);
}

int cmd_alias(int argc, char **argv, const char *config_path)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return EXIT_OK;
    }
    const char *op = argc >= 2 ? argv[1] : "";
    bool list = strcmp(op, "list") == 0 && argc == 3;
    bool edit = (strcmp(op, "add") == 0 || strcmp(op, "remove") == 0) && argc == 4;
    if (!list && !edit) {
        usage(stderr);
        return EXIT_USAGE;
    }
    struct td_app env;
    int rc = cli_env_open(config_path, &env);
    if (rc != EXIT_OK)
        return rc;
    struct td_user agent;
    struct td_err err;
    td_err_clear(&err);
    if (!user_find_by_email(&env.core, argv[2], &agent, &err)) {
        rc = cli_fail("alias", &err);
        cli_env_close(&env);
        return rc == EXIT_CONFIG ? EXIT_FAILURE_RUNTIME : rc;
    }
    bool ok;
    if (list) {
        struct td_alias_list l = { NULL, 0 };
        ok = alias_list_of(&env.core, NULL, agent.id, &l, &err);
        for (size_t i = 0; ok && i < l.n; i++)
            printf("%s\t%s\n", l.v[i].email, l.v[i].confirmed ? "confirmed" : "waiting for confirmation");
        alias_list_clear(&l);
    } else if (strcmp(op, "add") == 0) {
        ok = alias_add(&env.core, NULL, agent.id, argv[3], NULL, NULL, &err);
        if (ok)
            printf("%s is now an address of %s\n", argv[3], agent.email);
    } else {
        ok = alias_remove(&env.core, NULL, agent.id, argv[3], &err);
    }
    if (!ok) {
        /* A refused alias is no configuration problem (cli_fail's 3). */
        rc = cli_fail("alias", &err);
        if (rc == EXIT_CONFIG)
            rc = EXIT_FAILURE_RUNTIME;
    }
    user_clear(&agent);
    cli_env_close(&env);
    return rc;
}
