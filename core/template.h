/* template.h - notification templates: one file per kind of mail.
 *
 *   templates/<kind>.txt        required: header part, blank line, body
 *   templates/<kind>.html       optional: HTML alternative (body only)
 *
 * The header part holds "Subject: ..." (required, nothing else allowed).
 * {{name}} (white space inside the braces allowed) is replaced by the
 * value of a variable; the names are a fixed list (template_var_known),
 * and a template naming any other is refused when it is loaded, so a typo
 * is a start-up error and never an empty string in a customer's mail.
 *
 * Values are escaped for where they land: in the Subject every control
 * character (CR, LF, TAB, NUL...) becomes a space, so no value can start
 * a header line of its own; in HTML, & < > " ' become entities; in the
 * plain-text body values go in as they are (the MIME layer encodes it).
 *
 * A template set is loaded from a list of directories: for each kind the
 * first directory that has <kind>.txt wins (an admin's override directory
 * first, the shipped templates/ after it), and its .html is taken from
 * the same directory. Sets are immutable once loaded; reload = load a new
 * set and swap. */
#ifndef TD_TEMPLATE_H
#define TD_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define TEMPLATE_MAX_BYTES (256 * 1024)

struct template_set;

/* A variable's value for one rendering (borrowed). */
struct template_var {
    const char *name;
    const char *value; /* NULL = "" */
};

/* The rendered mail: UTF-8, caller frees with template_output_clear. */
struct template_output {
    char *subject;   /* one line, no control characters */
    char *text;      /* plain-text body, LF line ends */
    char *html;      /* NULL when the kind has no .html */
};

/* Loads every kind in kinds[] from the first of dirs[] that has it.
 * A missing kind, a bad header part, invalid UTF-8 or an unknown variable
 * is TD_INVALID naming the file and line. */
bool template_set_load(const char *const *dirs, size_t n_dirs, const char *const *kinds,
                       size_t n_kinds, struct template_set **out, struct td_err *err);
void template_set_free(struct template_set *ts);

/* Which file a kind came from (for logs); NULL for an unknown kind. */
const char *template_set_path(const struct template_set *ts, const char *kind);

/* Renders kind with vars. A variable the template uses but vars lacks is
 * rendered empty; an unknown kind is TD_NOT_FOUND. */
bool template_render(const struct template_set *ts, const char *kind,
                     const struct template_var *vars, size_t n_vars, struct template_output *out,
                     struct td_err *err);
void template_output_clear(struct template_output *o);

/* True if name is one of the variables templates may use. */
bool template_var_known(const char *name);
/* The list of known names, NULL-terminated (for documentation and the
 * planner, which fills every one of them but claim_*: only account mails
 * have those, see notify.h). */
extern const char *const template_var_names[];

#endif
