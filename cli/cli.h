/* cli.h - the ticketd command line: shared setup for the subcommands. */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "core/app.h"

/* Exit codes (documented in README): */
enum {
    EXIT_OK = 0,
    EXIT_FAILURE_RUNTIME = 1, /* something failed while running */
    EXIT_USAGE = 2,           /* bad command line */
    EXIT_CONFIG = 3,          /* bad configuration */
    EXIT_UNAVAILABLE = 4      /* store or server unreachable */
};

/* app_open() for a subcommand: prints a one-line error to stderr and
 * returns an exit code (EXIT_OK on success). */
int cli_env_open(const char *config_path, struct td_app *env);
/* app_quarantine_retry_fn over the mail gateway (cmd_quarantine.c). */
bool cli_quarantine_retry(struct td_app *env, const char *id, struct app_retry_outcome *out,
                          struct td_err *err);
void cli_env_close(struct td_app *env);
/* Prints "ticketd: <what>: <msg>" on stderr and returns the exit code for
 * the error's kind. */
int cli_fail(const char *what, const struct td_err *err);

/* Like cli_fail, for a command acting on what the user named (user,
 * quarantine): bad input is exit 2 like a bad command line, something
 * named that does not exist or clashes is 1, the store 4. */
int cli_fail_op(const char *what, const struct td_err *err);

/* version.c */
const char *cli_commit(void);
void cli_print_version(FILE *f);

int cmd_user(int argc, char **argv, const char *config_path);
int cmd_serve(int argc, char **argv, const char *config_path, const char *role);
int cmd_check_config(int argc, char **argv, const char *config_path);
int cmd_backup(int argc, char **argv, const char *config_path); /* backup and restore */
int cmd_quarantine(int argc, char **argv, const char *config_path); /* cmd_quarantine.c */
int cmd_token(int argc, char **argv, const char *config_path);      /* cmd_token.c */
int cmd_ticket(int argc, char **argv, const char *config_path);     /* cmd_ticket.c */
int cmd_alias(int argc, char **argv, const char *config_path);      /* cmd_alias.c */
int cmd_group(int argc, char **argv, const char *config_path);      /* cmd_group.c */

#endif
