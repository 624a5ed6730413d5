/* config.h - the configuration: one INI file, every key overridable by
 * an environment variable, secrets readable from files.
 *
 *   [section]
 *   key = value          ; comment      # comment
 *
 * TICKETD_<SECTION>_<KEY> (upper-case, '.' and '-' as '_') overrides the
 * file. A key "foo" may instead be given as "foo_file = /path", whose
 * content (without a trailing newline) is the value: secrets stay out of
 * the file and the environment.
 *
 * Modules read their own keys (api/ reads [api], mailgw/ [imap] ...);
 * config remembers which keys were read so that a typo is reported by
 * config_check_unread() as "unknown key", naming it. */
#ifndef TD_CONFIG_H
#define TD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct td_config;

/* path NULL: no file, defaults and environment only. */
bool config_load(const char *path, struct td_config **out, struct td_err *err);
/* From a string (tests). */
bool config_load_string(const char *text, struct td_config **out, struct td_err *err);
void config_free(struct td_config *cfg);

/* Borrowed, valid until config_free. def may be NULL. */
const char *config_str(struct td_config *cfg, const char *section, const char *key,
                       const char *def);
bool config_int(struct td_config *cfg, const char *section, const char *key, int64_t def,
                int64_t min, int64_t max, int64_t *out, struct td_err *err);
bool config_bool(struct td_config *cfg, const char *section, const char *key, bool def,
                 bool *out, struct td_err *err);
/* Required string: TD_INVALID naming the key when missing or empty. */
bool config_require(struct td_config *cfg, const char *section, const char *key,
                    const char **out, struct td_err *err);
/* Sections whose name starts with prefix ("mailbox " for [mailbox support]);
 * calls fn for each with the part after the prefix. */
bool config_each_section(struct td_config *cfg, const char *prefix,
                         bool (*fn)(struct td_config *cfg, const char *section,
                                    const char *name, void *arg, struct td_err *err),
                         void *arg, struct td_err *err);
/* TD_INVALID naming the first of: a *_file a config_str() could not
 * read; a key of the file nobody read ("unknown key [s] k"); a TICKETD_*
 * environment variable that is no key anybody read (except
 * TICKETD_CONFIG, and the test suite's TICKETD_SRCDIR, TICKETD_TEST_* and
 * TICKETD_MONGO_MOCK_*).
 * Loading already refused a key set twice in a section ("duplicate
 * key"), and "k" with "k_file" (in the file, or in the environment). */
bool config_check_unread(struct td_config *cfg, struct td_err *err);
/* Every key asked for so far, whether it was set or not, once each, in
 * the order first asked ("foo" also stands for "foo_file"). For
 * `ticketd check-config --keys` and the test that keeps the example
 * config complete. fn must not call config functions. */
void config_each_asked(struct td_config *cfg,
                       void (*fn)(void *arg, const char *section, const char *key), void *arg);

#endif
