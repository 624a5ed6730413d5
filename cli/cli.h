/* cli.h - the ticketd command line: shared setup for the subcommands. */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stdbool.h>

#include "core/config.h"
#include "core/core.h"

#define TICKETD_VERSION "0.1.0"

/* Exit codes (documented in README): */
enum {
    EXIT_OK = 0,
    EXIT_FAILURE_RUNTIME = 1, /* something failed while running */
    EXIT_USAGE = 2,           /* bad command line */
    EXIT_CONFIG = 3,          /* bad configuration */
    EXIT_UNAVAILABLE = 4      /* store or server unreachable */
};

/* What every subcommand needs: the config, the store, the core. */
struct cli_env {
    struct td_config *cfg;
    struct store *store;
    struct td_core core;
};

/* Loads config (path may be NULL), sets up logging, opens the store and
 * the core. Prints a one-line error to stderr and returns an exit code
 * (EXIT_OK on success). */
int cli_env_open(const char *config_path, struct cli_env *env);
void cli_env_close(struct cli_env *env);
/* Prints "ticketd: <what>: <msg>" on stderr and returns the exit code for
 * the error's kind. */
int cli_fail(const char *what, const struct td_err *err);

int cmd_user(int argc, char **argv, const char *config_path);
int cmd_serve(int argc, char **argv, const char *config_path, const char *role);
int cmd_check_config(int argc, char **argv, const char *config_path);
int cmd_quarantine(int argc, char **argv, const char *config_path); /* cmd_quarantine.c */

#endif
