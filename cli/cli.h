/* cli.h - the ticketd command line: shared setup for the subcommands. */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stdbool.h>

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
void cli_env_close(struct td_app *env);
/* Prints "ticketd: <what>: <msg>" on stderr and returns the exit code for
 * the error's kind. */
int cli_fail(const char *what, const struct td_err *err);

int cmd_user(int argc, char **argv, const char *config_path);
int cmd_serve(int argc, char **argv, const char *config_path, const char *role);
int cmd_check_config(int argc, char **argv, const char *config_path);
int cmd_quarantine(int argc, char **argv, const char *config_path); /* cmd_quarantine.c */
int cmd_ticket(int argc, char **argv, const char *config_path);     /* cmd_ticket.c */
int cmd_alias(int argc, char **argv, const char *config_path);      /* cmd_alias.c */

#endif
