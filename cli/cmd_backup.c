/* cmd_backup.c - `ticketd backup FILE` and `ticketd restore FILE`.
 *
 * Both read only [store] uri from the configuration: restore must not
 * open the store it replaces (that open would itself count as a ticketd
 * holding it). SQLite: the online backup API, consistent while ticketd
 * serves; restore refuses while any ticketd has the database open.
 * MongoDB: mongodump/mongorestore do it better than we could (oplog,
 * replica sets); the commands say so (docs/backup.md). */
#include "cli.h"
#include "core/store/store.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f, const char *cmd)
{
    if (strcmp(cmd, "backup") == 0)
        fputs("usage: ticketd [--config FILE] backup FILE\n"
              "Copies the SQLite database of [store] uri to FILE (mode 0600), consistent\n"
              "while ticketd is serving: what was committed when the backup began. FILE\n"
              "is written whole or not at all. MongoDB: use mongodump (docs/backup.md).\n",
              f);
    else
        fputs("usage: ticketd [--config FILE] restore FILE\n"
              "Replaces the SQLite database of [store] uri with the backup FILE, after\n"
              "checking that FILE is intact and not newer than this ticketd. Refused\n"
              "(exit 1) while any ticketd has the database open: stop it first.\n"
              "MongoDB: use mongorestore --drop (docs/backup.md).\n",
              f);
}

/* cli_fail_op, without saying "restore: restore:" when the store's
 * message already names the operation. */
static int fail(const char *cmd, struct td_err *err)
{
    size_t n = strlen(cmd);
    if (strncmp(err->msg, cmd, n) == 0 && err->msg[n] == ':') {
        const char *rest = err->msg + n + 1;
        while (*rest == ' ')
            rest++;
        struct td_err e = *err;
        snprintf(e.msg, sizeof e.msg, "%s", rest);
        return cli_fail_op(cmd, &e);
    }
    return cli_fail_op(cmd, err);
}

int cmd_backup(int argc, char **argv, const char *config_path)
{
    const char *cmd = argv[0];
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout, cmd);
        return EXIT_OK;
    }
    if (argc != 2 || argv[1][0] == '-') {
        usage(stderr, cmd);
        return EXIT_USAGE;
    }
    struct td_config *cfg = NULL;
    struct td_err err;
    td_err_clear(&err);
    if (!config_load(config_path, &cfg, &err)) {
        cli_fail("config", &err);
        return EXIT_CONFIG;
    }
    const char *uri = config_str(cfg, "store", "uri", "sqlite:ticketd.db");
    int rc = EXIT_OK;
    if (strncmp(uri, "sqlite:", 7) != 0 || uri[7] == '\0') {
        fprintf(stderr, "ticketd: %s: [store] uri is not sqlite:PATH; for MongoDB use %s "
                        "(docs/backup.md)\n", cmd, strcmp(cmd, "backup") == 0 ? "mongodump" : "mongorestore");
        rc = EXIT_USAGE;
    } else if (strcmp(cmd, "backup") == 0) {
        if (store_sqlite_backup(uri + 7, argv[1], &err))
            printf("backup of %s written to %s\n", uri + 7, argv[1]);
        else
            rc = fail("backup", &err);
    } else {
        if (store_sqlite_restore(argv[1], uri + 7, &err))
            printf("%s restored from %s\n", uri + 7, argv[1]);
        else
            rc = fail("restore", &err);
    }
    config_free(cfg);
    return rc;
}
