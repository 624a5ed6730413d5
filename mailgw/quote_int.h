/* quote_int.h - internal to quote*.c: the line view of a text and the
 * recognisers each quote file provides to quote.c.
 *
 * A text is split into lines (pointers into the caller's text, no
 * copies); every recogniser looks at lines only and never allocates
 * more than a short join buffer. */
#ifndef MGW_QUOTE_INT_H
#define MGW_QUOTE_INT_H

#include <stdbool.h>
#include <stddef.h>

struct line {
    const char *s;
    size_t n; /* without the '\n' */
};

/* ---- quote_text.c: small line predicates ---------------------------- */
bool quote_line_blank(struct line l);
/* Starts with '>' after optional spaces. */
bool quote_line_quoted(struct line l);
/* ">" with nothing else but blanks and more '>'. */
bool quote_line_quoted_empty(struct line l);
/* White space, CR and Gmail's "*bold*" markers removed at both ends. */
struct line quote_line_trim(struct line l);
bool quote_mem_ends_with_ci(const char *s, size_t n, const char *suffix);
bool quote_mem_contains_ci(const char *s, size_t n, const char *word);
bool quote_mem_starts_with_ci(const char *s, size_t n, const char *prefix);
bool quote_mem_has_digit(const char *s, size_t n);

/* ---- quote_attrib.c: where quoted history starts -------------------- */
/* Number of lines (1 to 3) from i that form an attribution line such as
 * "On <date>, <name> wrote:" in one of the known languages, possibly
 * wrapped by the client; 0 if none. */
size_t quote_attribution_at(const struct line *lines, size_t n, size_t i);
/* Lines i..i+k-1 hold an address or a time: strong enough to cut the
 * unquoted text under them as history. */
bool quote_attribution_dated(const struct line *lines, size_t i, size_t k);
/* "-----Original Message-----" and its translations; Lotus Notes'
 * flattened "Name ---<date>---" attribution. */
bool quote_original_message(struct line l);
/* A mail client's header block of the previous message ("From:",
 * then "Sent:"/"Date:" and "Subject:" within a few lines), optionally
 * after a line of underscores; returns true and the first line of it. */
bool quote_header_block_at(const struct line *lines, size_t n, size_t i);
/* "---------- Forwarded message ---------", "Begin forwarded message:". */
bool quote_forward_marker(struct line l);
/* A subject that says the mail is a forward ("Fwd:", "WG:", "TR:"...). */
bool quote_subject_is_forward(const char *subject);

/* ---- quote_sig.c: what closes a mail ------------------------------ */
/* The new end of lines[0..end) once a trailing signature block
 * (one kind per call: "-- " signature, phone signature, mailing-list
 * footer, corporate closing or disclaimer) is removed; end itself when
 * there is none. Only what is certainly a signature goes. */
size_t quote_sig_trim(const struct line *lines, size_t end);
/* "Sent from my iPhone" and the like: a client or device, nothing else. */
bool quote_phone_line(struct line l);

#endif
