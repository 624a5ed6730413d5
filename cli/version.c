/* version.c - what `ticketd --version` prints: the release, the commit it
 * was built from and the store schema versions it reads and writes.
 *
 * TICKETD_COMMIT is given by the Makefile (`git describe --always
 * --dirty`), only to this file, so a new commit recompiles one file; a
 * build outside a git checkout says "unknown". */
#include "cli.h"
#include "core/store/store.h"

#include <stdio.h>

#ifndef TICKETD_COMMIT
#define TICKETD_COMMIT "unknown"
#endif

const char *cli_commit(void)
{
    return TICKETD_COMMIT;
}

void cli_print_version(FILE *f)
{
    fprintf(f, "ticketd %s (commit %s)\nstore schema: sqlite %d, mongodb %d\n", TICKETD_VERSION,
            TICKETD_COMMIT, store_sqlite_schema_version(), store_mongo_schema_version());
}
