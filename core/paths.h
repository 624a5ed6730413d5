/* paths.h - where an installed ticketd finds its read-only data.
 *
 * `make install PREFIX=/opt/ticketd` puts the binary in PREFIX/bin and
 * the templates (and web assets) in PREFIX/share/ticketd; with DESTDIR
 * (packages, tests) the whole tree moves. So the data is found relative
 * to the running binary, not at a path fixed at build time. */
#ifndef TD_PATHS_H
#define TD_PATHS_H

#include <stdbool.h>
#include <stddef.h>

/* "<dir of the binary>/../share/ticketd/<name>" if that exists, else
 * fallback (a path relative to the working directory: the source tree).
 * Writes into out; returns out. */
const char *paths_share(const char *name, const char *fallback, char *out, size_t len);

#endif
