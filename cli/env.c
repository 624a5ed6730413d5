/* env.c - a subcommand's td_app (core/app.h), with its errors turned into
 * one line on stderr and an exit code. */
#include "cli.h"

#include <stdio.h>

int cli_fail(const char *what, const struct td_err *err)
{
    fprintf(stderr, "ticketd: %s: %s\n", what, err->msg[0] ? err->msg : td_code_name(err->code));
    switch (err->code) {
    case TD_UNAVAILABLE: return EXIT_UNAVAILABLE;
    case TD_INVALID: return EXIT_CONFIG;
    default: return EXIT_FAILURE_RUNTIME;
    }
}

int cli_fail_op(const char *what, const struct td_err *err)
{
    fprintf(stderr, "ticketd: %s: %s\n", what, err->msg[0] ? err->msg : td_code_name(err->code));
    switch (err->code) {
    case TD_UNAVAILABLE: return EXIT_UNAVAILABLE;
    case TD_INVALID: return EXIT_USAGE;
    default: return EXIT_FAILURE_RUNTIME;
    }
}

int cli_env_open(const char *config_path, struct td_app *env)
{
    struct td_err err;
    td_err_clear(&err);
    enum app_stage stage;
    if (app_open(config_path, env, &stage, &err)) {
        env->quarantine_retry = cli_quarantine_retry; /* for the API's admins */
        return EXIT_OK;
    }
    switch (stage) {
    case APP_STAGE_INIT:
        return cli_fail("init", &err);
    case APP_STAGE_STORE:
        /* A store URI that makes no sense is configuration; anything
         * else means the store is not there. */
        return cli_fail("store", &err) == EXIT_CONFIG ? EXIT_CONFIG : EXIT_UNAVAILABLE;
    case APP_STAGE_CONFIG:
    default:
        cli_fail("config", &err);
        return EXIT_CONFIG;
    }
}

void cli_env_close(struct td_app *env)
{
    app_close(env);
}
