/* store.c - picks a storage backend by URI scheme. */
#include "core/store/store.h"

#include <string.h>

bool store_open(const char *uri, struct store **out, struct td_err *err)
{
    if (uri == NULL || *uri == '\0')
        return td_fail(err, TD_INVALID, "storage URI is empty (use sqlite:PATH or mongodb://...)");
    if (strncmp(uri, "sqlite:", 7) == 0) {
        if (uri[7] == '\0')
            return td_fail(err, TD_INVALID, "storage URI 'sqlite:' needs a file path");
        return store_sqlite_open(uri + 7, out, err);
    }
    if (strncmp(uri, "mongodb://", 10) == 0 || strncmp(uri, "mongodb+srv://", 14) == 0)
        return store_mongo_open(uri, out, err);
    return td_fail(err, TD_INVALID, "unknown storage URI scheme in '%.64s' (use sqlite:PATH or mongodb://...)", uri);
}

void store_close(struct store *st)
{
    if (st != NULL)
        st->ops->close(st);
}
