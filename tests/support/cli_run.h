/* cli_run.h - runs the built `ticketd` command as a sysadmin would, for
 * tests of the command line (tests/cli/): arguments, standard input,
 * environment, a bounded wait, and what it printed. */
#ifndef TD_TEST_CLI_RUN_H
#define TD_TEST_CLI_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

struct cli_result {
    int status;      /* exit code; -1 killed by a signal or past the deadline */
    struct buf out;  /* stdout, always NUL-terminated ("" when empty) */
    struct buf err;  /* stderr, the same */
};

/* BUILD/ticketd, found from this test binary (BUILD/tests/DIR/test_x). */
bool cli_ticketd_path(char *out, size_t len);

/* Runs bin with args (NULL-terminated, without argv[0]); env: extra
 * "NAME=value" entries (NULL-terminated, may be NULL) on top of an
 * environment without any TICKETD_* of the caller (but TICKETD_TEST_* and
 * TICKETD_SRCDIR); stdin_text NULL means /dev/null. dir: a directory for
 * the captured output. Kills the child past timeout_ms. */
void cli_run(const char *bin, const char *dir, const char *const *env, const char *const *args,
             const char *stdin_text, int timeout_ms, struct cli_result *r);
void cli_result_clear(struct cli_result *r);
/* Number of '\n' in s. */
size_t cli_lines(const char *s);

#endif
