/* cmd_ticket.c - `ticketd ticket merge SOURCE TARGET`: what an agent does
 * with POST /tickets/{n}/merge, for an operator at the console (the
 * system acts: no user is needed). Running it again after an
 * interruption finishes the merge (core/merge.h). */
#include "cli.h"
#include "core/merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: ticketd [--config FILE] ticket merge SOURCE TARGET\n"
          "merge: moves the comments, attachments and participants of ticket SOURCE\n"
          "into ticket TARGET and closes SOURCE (merged_into TARGET); mail to either\n"
          "thread lands in TARGET from then on. Safe to run again.\n",
          f);
}

static bool number_arg(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0')
        return false;
    if (*s == '#')
        s++;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || v <= 0)
        return false;
    *out = v;
    return true;
}

int cmd_ticket(int argc, char **argv, const char *config_path)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return EXIT_OK;
    }
    int64_t source = 0, target = 0;
    if (argc != 4 || strcmp(argv[1], "merge") != 0 || !number_arg(argv[2], &source) ||
        !number_arg(argv[3], &target)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (source == target) {
        fputs("ticketd: ticket merge: a ticket cannot be merged into itself\n", stderr);
        return EXIT_USAGE;
    }
    struct td_app env;
    int rc = cli_env_open(config_path, &env);
    if (rc != EXIT_OK)
        return rc;
    struct td_ticket t;
    struct td_err err;
    td_err_clear(&err);
    if (!ticket_merge(&env.core, NULL, source, target, &t, &err)) {
        /* Not a configuration problem (cli_fail's exit 3): a runtime one. */
        rc = err.code == TD_INVALID ? (cli_fail("ticket merge", &err), EXIT_FAILURE_RUNTIME)
                                    : cli_fail("ticket merge", &err);
    } else {
        printf("ticket #%lld merged into #%lld (%zu participants there now)\n", (long long)source,
               (long long)target, t.participants.n);
        ticket_clear(&t);
    }
    cli_env_close(&env);
    return rc;
}
